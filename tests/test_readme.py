"""README's commands, run exactly as README writes them.

In a copy of the checkout whose presets are tiny (so "the quick run" takes seconds) and whose
../shared/data holds synthetic MNIST files. Every command in a bash block of README must be
either run here or listed as not run, with the reason: a command README adds or changes that
this file does not know fails the test.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from mnist_files import write_mnist
from workflow_runner import REPO, TINY

pytestmark = pytest.mark.workflow

QUICK_RUN = "snakemake --cores 2 --configfile presets/quick.yaml --config data_root=../shared/data"
SIDE_QUICK = "snakemake --cores 2 --directory runs/quick --configfile presets/quick.yaml --config data_root=../shared/data"
SIDE_HOUR = "snakemake --cores 2 --directory runs/cpu_hour --configfile presets/cpu_hour.yaml --config data_root=../shared/data"
EPOCHS_40 = ("snakemake --cores 2 results/config.yaml --configfile presets/quick.yaml --config data_root=../shared/data "
             "'random_labels={epochs: 40}'")
EXTRA_FILE = ("snakemake --cores 2 results/config.yaml --configfile presets/quick.yaml "
              "docs/examples/longer_random_labels.yaml --config data_root=../shared/data")


def _random_labels_epochs(sandbox: Path) -> int:
    return yaml.safe_load((sandbox / "results/config.yaml").read_text())["random_labels"]["epochs"]


# README command -> a check of (sandbox, completed process) beyond its exit status 0.
RUN = {
    "genlab estimate presets/quick.yaml --cores 2": lambda s, p: "total on this CPU: about" in p.stdout,
    QUICK_RUN: lambda s, p: (s / "results/claims.csv").is_file(),
    "genlab estimate config.yaml --cores 2": lambda s, p: "random_labels" in p.stdout and "(coarse" not in p.stdout,
    EPOCHS_40: lambda s, p: _random_labels_epochs(s) == 40,
    EXTRA_FILE: lambda s, p: _random_labels_epochs(s) == 40,
    "genlab check-config config.yaml presets/quick.yaml docs/examples/longer_random_labels.yaml":
        lambda s, p: p.stdout.startswith("experiments that run:"),
    SIDE_QUICK: lambda s, p: (s / "runs/quick/results/claims.csv").is_file(),
    SIDE_HOUR: lambda s, p: (s / "runs/cpu_hour/results/claims.csv").is_file(),
    "genlab compare runs/quick runs/cpu_hour":
        lambda s, p: "params_vs_gen.epochs" in p.stdout and "claims (verdict, effect):" in p.stdout
        and "final metrics (mean over seeds):" in p.stdout,
    "genlab inspect runs/quick/results/runs/params_vs_gen/width4/seed0/checkpoint.pt":
        lambda s, p: '"width": 4' in p.stdout,
    ("snakemake --cores 2 --directory runs/quick image/Nbr_para_gen_accuracy.png --configfile presets/quick.yaml "
     "--config data_root=../shared/data"): lambda s, p: (s / "runs/quick/image/Nbr_para_gen_accuracy.png").is_file(),
    ("snakemake --cores 2 --directory runs/quick params_vs_gen --configfile presets/quick.yaml "
     "--config data_root=../shared/data"): lambda s, p: "Nothing to be done" in p.stdout + p.stderr,
    "snakemake -n --config data_root=../shared/data": lambda s, p: "This was a dry-run" in p.stdout + p.stderr,
    "genlab check-mnist ../shared/data": lambda s, p: "train:" in p.stdout,
    "snakemake --directory runs/quick --configfile presets/quick.yaml --report report.zip --config data_root=../shared/data":
        lambda s, p: (s / "runs/quick/report.zip").stat().st_size > 10_000,
}
NOT_RUN = {
    'python3 -m venv .venv && . .venv/bin/activate && pip install -e ".[workflow,test]"':
        "installs: CI runs it on a fresh clone (.ci/run)",
    "genlab fetch-mnist /shared/mnist": "downloads MNIST: no network in tests",
    "snakemake --workflow-profile profiles/slurm --config data_root=/shared/mnist": "tests/test_slurm.py runs the profile",
    "snakemake --cores 4 --configfile presets/cpu_hour.yaml --config data_root=../shared/data device=cuda":
        "needs a GPU (tests/test_errors.py checks device: cuda without one)",
    "pytest -q": "the test suite itself",
    'pytest -q -m "not workflow and not slurm"': "the test suite itself",
    "snakemake --cores 2 zoo --configfile presets/zoo.yaml --config data_root=../shared/data":
        "the zoo preset's 64 trainings: tests/test_zoo.py runs the zoo on the tiny config",
}


def readme_commands(text: str) -> list[str]:
    """The commands of README's bash blocks, in order: comments stripped, continued lines joined."""
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", text, flags=re.S):
        for line in block.replace("\\\n", " ").splitlines():
            command = re.sub(r"\s+#\s.*$", "", line).strip()
            if command and not command.startswith("#"):
                commands.append(command)
    return commands


COMMANDS = readme_commands((REPO / "README.md").read_text())


def test_every_readme_command_is_known_here():
    unknown = [c for c in COMMANDS if c not in RUN and c not in NOT_RUN]
    assert not unknown, f"README commands this test does not know (add each to RUN or NOT_RUN): {unknown}"
    stale = [c for c in [*RUN, *NOT_RUN] if c not in COMMANDS]
    assert not stale, f"commands no longer in README: {stale}"


def _tiny_preset(changes: dict) -> str:
    config = yaml.safe_load(TINY.read_text())
    for key, value in changes.items():
        config[key] = {**config.get(key, {}), **value} if isinstance(value, dict) else value
    return yaml.safe_dump(config)


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory) -> Path:
    """The checkout's files (tracked and new, not ignored), tiny presets, synthetic MNIST at ../shared/data."""
    root = tmp_path_factory.mktemp("readme")
    checkout = root / "genlab"
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=REPO, capture_output=True,
                            check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = REPO / name
        if source.is_file():
            (checkout / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, checkout / name)
    write_mnist(root / "shared/data", n_train=60000, n_test=10000)  # full size: the reference config's checks pass
    cheap = ["random_labels", "params_vs_gen"]  # enough for every command; keeps the runs to seconds
    (checkout / "presets/quick.yaml").write_text(_tiny_preset({"experiments": cheap}))
    (checkout / "presets/cpu_hour.yaml").write_text(_tiny_preset({"experiments": cheap, "params_vs_gen": {"epochs": 3}}))
    return checkout


def test_cheap_readme_commands_run_as_written(sandbox):
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    for command in [c for c in COMMANDS if c in RUN]:
        done = subprocess.run(["bash", "-c", command], cwd=sandbox, env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, f"{command}\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
        assert RUN[command](sandbox, done), f"{command}\n{done.stdout[-3000:]}\n{done.stderr[-2000:]}"
