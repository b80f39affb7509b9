"""Run the real Snakemake on this repository's workflow, in a scratch working directory."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TINY = Path(__file__).parent / "tiny.yaml"
FIGURES = [
    "image/Random_label_loss.png",
    "image/Random_label_accuracy.png",
    "image/Nbr_para_gen_loss.png",
    "image/Nbr_para_gen_accuracy.png",
    "image/Flatness_vs_gen_p1_inter.png",
    "image/Flatness_vs_gen_p2_sens_acc.png",
    "image/Flatness_vs_gen_p2_sens_loss.png",
    "image/Corruption_learning_curves.png",
    "image/Corruption_time_to_fit.png",
    "image/Corruption_test_error.png",
    "image/Corruption_memorization.png",
    "image/Sharpness_vs_batch_size.png",
    "image/Flatness_landscape_1d.png",
    "image/Flatness_landscape_2d.png",
    "image/Measures_vs_generalization.png",
]


def snakemake_cmd(workdir: Path, *args: str, data_root: Path | str | None = None, configfile: Path | None = TINY, extra: tuple = ()):
    # Targets and flags first: --config swallows the words that follow it.
    cmd = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "-d", str(workdir), "--cores", "2", *args]
    if configfile:
        cmd += ["--configfile", str(configfile)]
    if data_root or extra:
        cmd += ["--config", *([f"data_root={data_root}"] if data_root else []), *extra]
    return cmd


def snakemake(workdir: Path, *args: str, data_root: Path | str | None = None, configfile: Path | None = TINY, timeout: int = 600, extra: tuple = ()):
    cmd = snakemake_cmd(workdir, *args, data_root=data_root, configfile=configfile, extra=extra)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def rules_run(output: str) -> list[str]:
    """Rules of the jobs Snakemake started (or would start, with -n), in order."""
    return re.findall(r"^(?:local)?rule (\w+):", output, flags=re.M)
