"""Run the real Snakemake on this repository's workflow, in a scratch working directory."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TINY = Path(__file__).parent / "tiny.yaml"


def planned(configfile: Path | None = TINY) -> dict:
    """The checked config of config.yaml (and configfile), as the workflow sees it."""
    from genlab.cli import check_config_files

    return check_config_files([str(REPO / "config.yaml"), *([str(configfile)] if configfile else [])])


def planned_figures(configfile: Path | None = TINY) -> list[str]:
    """Every figure the config draws: the chosen experiments' (registry) and the measures'."""
    from genlab import experiments
    from genlab.measures import plan as measure_plan

    config = planned(configfile)
    paths = [p for name in experiments.chosen(config) for p in experiments.outputs(name, config)]
    return [p for p in [*paths, *measure_plan.outputs(config)] if p.endswith(".png")]


def planned_trainings(configfile: Path | None = TINY) -> int:
    from genlab import experiments, plan

    config = planned(configfile)
    return sum(len(plan.all_runs(config, name)) for name in experiments.chosen(config))


FIGURES = planned_figures()


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
