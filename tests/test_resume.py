"""Never lose work: a training job killed with SIGKILL resumes where it stopped, bit for bit."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from genlab.jobs import train_job
from genlab.data import subset_job, subset_spec
from genlab.fingerprint import data_fingerprint
from helpers import tiny_config
from mnist_files import write_mnist
from workflow_runner import REPO, TINY

RUN = "results/runs/random_labels/deep/seed0"
EPOCHS = 6


def _config(tmp_path):
    # The deep CNN makes epochs slow enough (~0.5 s) to kill the job in the middle of a run.
    config = tmp_path / "resume.yaml"
    config.write_text(
        TINY.read_text().replace(
            "random_labels: {n_train: 100, lr: 1.0e-3, batch_size: 32, epochs: 2,",
            f"random_labels: {{n_train: 300, lr: 1.0e-3, batch_size: 32, epochs: {EPOCHS},",
        )
    )
    return config


def _snakemake_cmd(work, config, root, *flags):
    return [
        sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "-d", str(work), "--cores", "2", *flags,
        f"{RUN}/checkpoint.pt", "--configfile", str(config), "--config", f"data_root={root}",
    ]


def _resume_epoch(work):
    states = list((work / "results/resume").glob("random_labels_deep_seed0_*.pt"))
    if not states:
        return 0
    try:
        return torch.load(states[0], weights_only=True)["epoch"]
    except Exception:  # noqa: BLE001 - never half-written (atomic rename), but may vanish between glob and load
        return 0


@pytest.mark.workflow
def test_killed_training_resumes_and_matches_an_uninterrupted_run(tmp_path):
    root = write_mnist(tmp_path / "mnist")
    config = _config(tmp_path)
    whole, killed = tmp_path / "whole", tmp_path / "killed"

    assert subprocess.run(_snakemake_cmd(whole, config, root), capture_output=True).returncode == 0

    # Start the same run, wait until two epochs are saved, then SIGKILL Snakemake and its job together.
    proc = subprocess.Popen(_snakemake_cmd(killed, config, root), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 300
    while _resume_epoch(killed) < 2 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, "the run finished before it could be killed"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    saved = _resume_epoch(killed)
    assert 2 <= saved < EPOCHS
    assert not (killed / RUN / "checkpoint.pt").exists()

    # A SIGKILL leaves Snakemake's lock behind: the documented recovery is --unlock, then a rerun.
    assert subprocess.run(_snakemake_cmd(killed, config, root, "--unlock"), capture_output=True).returncode == 0
    rerun = subprocess.run(_snakemake_cmd(killed, config, root, "--rerun-incomplete"), capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    log = (killed / "logs/train/random_labels/deep/seed0.log").read_text()
    assert f"after epoch {saved}" in log, log[-2000:]

    assert (killed / RUN / "history.csv").read_bytes() == (whole / RUN / "history.csv").read_bytes()
    a = torch.load(killed / RUN / "checkpoint.pt", weights_only=True)
    b = torch.load(whole / RUN / "checkpoint.pt", weights_only=True)
    assert a["config"] == b["config"] and a["metrics"] == b["metrics"]
    assert all(torch.equal(a["state_dict"][k], b["state_dict"][k]) for k in b["state_dict"])
    assert not list((killed / "results/resume").glob("*.pt")), "the resume state must be removed once the run is done"


def test_same_config_and_seed_give_byte_identical_outputs(tmp_path):
    root = write_mnist(tmp_path / "mnist")
    cfg = tiny_config(epochs=2)
    data = data_fingerprint(root)
    subset_job(str(tmp_path / "subset.pt"), root, subset_spec(cfg.n_train, cfg.data_seed, cfg.permuted_labels), data)
    outputs = []
    for name in ("one", "two"):
        train_job(cfg.to_dict(), str(tmp_path / "subset.pt"), str(root), str(tmp_path / name / "c.pt"), str(tmp_path / name / "h.csv"), str(tmp_path / name), data)
        outputs.append(((tmp_path / name / "h.csv").read_bytes(), torch.load(tmp_path / name / "c.pt", weights_only=True)))
    (history_one, ckpt_one), (history_two, ckpt_two) = outputs
    assert history_one == history_two
    assert all(torch.equal(ckpt_one["state_dict"][k], ckpt_two["state_dict"][k]) for k in ckpt_one["state_dict"])
    assert ckpt_one["config"]["seed"] == 0 and ckpt_one["config"]["data_seed"] == 0
    other = tiny_config(epochs=2, seed=1)
    train_job(other.to_dict(), str(tmp_path / "subset.pt"), str(root), str(tmp_path / "c1.pt"), str(tmp_path / "h1.csv"), str(tmp_path), data)
    assert (tmp_path / "h1.csv").read_bytes() != history_one
