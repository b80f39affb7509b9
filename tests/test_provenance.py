"""Never stale, never silent (issue 8): what the real Snakemake rebuilds after a changed key meets a
killed or failed job, a swapped checkpoint, changed MNIST content or a corrupt resume state."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import psutil
import pytest
import torch

from mnist_files import write_mnist
from workflow_runner import TINY, rules_run, snakemake, snakemake_cmd

pytestmark = pytest.mark.workflow
RUN = "results/runs/random_labels/deep/seed0"


def _config(tmp_path, name, **random_labels):
    """tests/tiny.yaml with experiment 1's section replaced."""
    section = {"n_train": 100, "lr": 1.0e-3, "batch_size": 32, "epochs": 2, "eval_test_size": 50, **random_labels}
    text = "\n".join(line for line in TINY.read_text().splitlines() if not line.startswith("random_labels:"))
    path = tmp_path / f"{name}.yaml"
    path.write_text(text + "\nrandom_labels: {" + ", ".join(f"{k}: {v}" for k, v in section.items()) + "}\n")
    return path


def _metrics_epochs(work):
    lines = (work / "results/metrics/random_labels.csv").read_text().splitlines()
    header = lines[0].split(",")
    return int(lines[1].split(",")[header.index("epochs")])


def _sigterm_training_once_it_runs(work, config, root):
    """Start experiment 1, SIGTERM its training job after two epochs (as Slurm does at a time limit)."""
    log = work / "logs/train/random_labels/deep/seed0.log"
    log.unlink(missing_ok=True)  # an earlier run's log also says "epoch 2/"
    proc = subprocess.Popen(
        snakemake_cmd(work, "random_labels", data_root=root, configfile=config),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    deadline = time.monotonic() + 300
    while proc.poll() is None and time.monotonic() < deadline:
        if log.is_file() and "epoch 2/" in log.read_text():
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the run finished before its training job could be stopped"
    jobs = []
    for child in psutil.Process(proc.pid).children(recursive=True):
        try:
            if any(arg.endswith("train.py") for arg in child.cmdline()):
                jobs.append(child)
        except psutil.Error:
            pass
    assert jobs, "no training job found"
    for job in jobs:
        job.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=300) != 0
    return log


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return write_mnist(tmp_path_factory.mktemp("mnist"))


def test_changed_key_then_sigterm_then_rerun_rebuilds_with_the_new_value(root, tmp_path):
    work = tmp_path / "work"
    assert snakemake(work, "random_labels", data_root=root, configfile=_config(tmp_path, "two")).returncode == 0
    assert _metrics_epochs(work) == 2

    longer = _config(tmp_path, "long", n_train=300, epochs=40)
    log = _sigterm_training_once_it_runs(work, longer, root)
    assert "stopped by SIGTERM" in log.read_text() and "resume state saved" in log.read_text()
    assert list((work / "results/resume").glob("random_labels_deep_seed0_*.pt")), "SIGTERM must leave a resume state"

    rerun = snakemake(work, "random_labels", "--rerun-incomplete", data_root=root, configfile=longer)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert "Nothing to be done" not in rerun.stdout + rerun.stderr
    assert _metrics_epochs(work) == 40
    text = log.read_text()
    assert "stopped by SIGTERM" in text and "---- new attempt ----" in text and "resuming" in text, "the log keeps every attempt"
    assert not list((work / "results/resume").glob("*")), "resume state and attempts log go once the run is done"


def test_failed_run_is_retried_not_reported_up_to_date(root, tmp_path):
    work = tmp_path / "work"
    assert snakemake(work, "random_labels", data_root=root, configfile=_config(tmp_path, "ok")).returncode == 0
    exploding = _config(tmp_path, "explode", lr="1.0e+30")
    for attempt in range(2):
        result = snakemake(work, "random_labels", data_root=root, configfile=exploding)
        assert result.returncode != 0, f"attempt {attempt}"
        assert "Nothing to be done" not in result.stdout + result.stderr
        errors = [line for line in result.stderr.splitlines() if line.startswith("genlab: error:")]
        assert errors and ("non-finite loss" in errors[0] or "diverged" in errors[0]) and "lr 1e+30" in errors[0], errors
        assert "Traceback" not in result.stderr


def test_swapped_checkpoint_is_named_and_nothing_is_deleted(root, tmp_path):
    work = tmp_path / "work"
    assert snakemake(work, "params_vs_gen", data_root=root).returncode == 0
    width2 = work / "results/runs/params_vs_gen/width2/seed0/checkpoint.pt"
    width4 = work / "results/runs/params_vs_gen/width4/seed0/checkpoint.pt"
    width2.write_bytes(width4.read_bytes())
    result = snakemake(work, "params_vs_gen", data_root=root)
    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if line.startswith("genlab: error:")]
    assert len(errors) == 1 and f"{width2.relative_to(work)}: not the run planned for this path: " in errors[0], result.stderr[-2000:]
    assert "run='width4' (planned 'width2')" in errors[0] and "width=4 (planned 2)" in errors[0]
    assert width2.is_file() and width4.is_file()


def test_changed_mnist_content_rebuilds_everything_it_feeds(root, tmp_path):
    data = tmp_path / "data"
    write_mnist(data)
    work = tmp_path / "work"
    assert snakemake(work, "params_vs_gen", data_root=data).returncode == 0
    labels = data / "MNIST/raw/train-labels-idx1-ubyte"
    stat = labels.stat()
    content = bytearray(labels.read_bytes())
    content[8:] = bytes(reversed(content[8:]))  # same labels, other order: sizes and headers unchanged
    labels.write_bytes(bytes(content))
    os.utime(labels, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # file times kept, as a careless copy would
    result = snakemake(work, "-n", "params_vs_gen", data_root=data)
    assert result.returncode == 0
    warnings = [line for line in result.stderr.splitlines() if line.startswith("genlab: warning:")]
    assert len(warnings) == 1 and "train-labels-idx1-ubyte" in warnings[0]
    jobs = rules_run(result.stdout + result.stderr)
    assert jobs.count("subset") == 1 and jobs.count("train") == 2 and "plot_params_vs_gen" in jobs


def test_corrupt_resume_state_is_set_aside_and_the_run_starts_over(root, tmp_path):
    work = tmp_path / "work"
    longer = _config(tmp_path, "long", n_train=300, epochs=30)
    _sigterm_training_once_it_runs(work, longer, root)
    (state,) = (work / "results/resume").glob("random_labels_deep_seed0_*.pt")
    state.write_bytes(state.read_bytes()[:1000])  # truncated, as by a full disk or a crash mid-copy
    rerun = snakemake(work, "random_labels", "--rerun-incomplete", data_root=root, configfile=longer)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert "Traceback" not in rerun.stderr
    log = (work / "logs/train/random_labels/deep/seed0.log").read_text()
    assert "unusable resume state" in log and "starting over" in log
    kept = list((work / "results/resume").glob("*.unusable-*"))
    assert len(kept) == 1, "a corrupt resume state is renamed, never deleted"
    assert _metrics_epochs(work) == 30
    ckpt = torch.load(work / RUN / "checkpoint.pt", weights_only=True)
    assert ckpt["config"]["epochs"] == 30
