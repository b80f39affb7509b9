"""The workflow on a real Slurm cluster, through profiles/slurm and snakemake-executor-plugin-slurm.

Needs a running controller and node, e.g. the one-node cluster of `bash .ci/slurm-up`.
Without one the tests skip, except under CI=true, where they fail: CI must run them.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor

import pytest
import yaml

from genlab import experiments
from mnist_files import write_mnist
from workflow_runner import FIGURES, REPO, snakemake

pytestmark = pytest.mark.slurm

PROFILE = REPO / "profiles" / "slurm"
METRICS = [f"results/metrics/{name}.csv" for name in experiments.BUILTIN] + [
    "results/corruption/summary.csv", "results/measures/all.csv"]
# Jobs of the tiny config that are submitted (the rest are localrules): 5 + 5 + 2 subsets (one per
# experiment but corruption and double descent, one per corruption run, one per double-descent noise
# level), 1 + 2 + 2 + 2 + 5 + 6 + 4 trainings, 1 interpolation (one seed), 2 sensitivity measures,
# 2 + 2 + 2 + 5 + 4 flatness measures (every checkpoint of experiments 2 to 5 and of the zoo), 2 landscapes.
CLUSTER_JOBS = {"subset": 12, "train": 22, "interpolate": 1, "sensitivity_measure": 2, "measure": 15, "landscape": 2}
SUBMITTED = re.compile(r"Job (\d+) has been submitted with SLURM jobid (\d+)")


def _slurm_problem() -> str | None:
    """Why Slurm cannot be used here, or None when a controller answers and a node is usable."""
    if not shutil.which("sinfo") or not shutil.which("sbatch"):
        return "sinfo/sbatch not found"
    try:
        out = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True, timeout=30)
    except subprocess.TimeoutExpired:
        return "sinfo did not answer within 30 s"
    if out.returncode != 0:
        return f"the Slurm controller does not respond: {(out.stderr or out.stdout).strip()[:300]}"
    states = out.stdout.split()
    if not any(s.rstrip("*~#$@+") in ("idle", "mixed", "allocated", "completing") for s in states):
        return f"no usable Slurm node (states: {states or 'none'})"
    return None


@pytest.fixture(scope="module")
def slurm():
    problem = _slurm_problem()
    if problem:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true but Slurm is not usable: {problem}. Run `bash .ci/slurm-up` before pytest.")
        pytest.skip(f"no Slurm: {problem}; start one with `bash .ci/slurm-up`")


def _node_memory_mb() -> int:
    out = subprocess.run(["sinfo", "-h", "-o", "%m"], capture_output=True, text=True, check=True).stdout
    return min(int(re.match(r"\d+", m).group()) for m in out.split())


def _node_cpus() -> int:
    out = subprocess.run(["sinfo", "-h", "-o", "%c"], capture_output=True, text=True, check=True).stdout
    return min(int(re.match(r"\d+", c).group()) for c in out.split())


def _slurm_args(*targets: str) -> list[str]:
    """Profile plus what a test cluster needs: no accounting database, quick polling.

    The profile's memory requests are kept unless the node is too small to run a job per CPU;
    then all of its resources are passed again with mem_mb capped (a command line
    --set-resources replaces the profile's block as a whole, so nothing else changes).
    """
    args = [
        "--workflow-profile", str(PROFILE),
        *targets,  # here, between single-valued options, no list option swallows them
        # No slurmdbd here, so sacct cannot report job states; squeue can (MinJobAge 300 s).
        "--slurm-status-command", "squeue",
        "--slurm-init-seconds-before-status-checks", "2",
        "--seconds-between-status-checks", "2",
    ]
    profile = yaml.safe_load((PROFILE / "config.yaml").read_text())
    cap = _node_memory_mb() // max(1, _node_cpus())
    requested = [profile["default-resources"].get("mem_mb", 0)]
    requested += [res.get("mem_mb", 0) for res in profile.get("set-resources", {}).values()]
    if max(requested) > cap:
        def entries(res, prefix=""):
            return [f"{prefix}{k}={min(v, cap) if k == 'mem_mb' else v}" for k, v in res.items()]

        args += ["--default-resources", *entries(profile["default-resources"])]
        args += ["--set-resources"]
        for rule, res in profile.get("set-resources", {}).items():
            args += entries(res, f"{rule}:")
    return args


def _job_states(job_ids: list[str]) -> dict[str, str]:
    out = subprocess.run(
        ["squeue", "--states=all", "--noheader", "--format=%i|%T", "--jobs", ",".join(job_ids)],
        capture_output=True, text=True,
    ).stdout
    return dict(line.split("|", 1) for line in out.split())


def _show(capsys, text: str) -> None:
    with capsys.disabled():
        print(f"\n[test_slurm] {text}", flush=True)


def test_workflow_on_slurm_matches_a_local_run(slurm, tmp_path, capsys):
    root = write_mnist(tmp_path / "mnist")
    local, cluster = tmp_path / "local", tmp_path / "slurm"

    # The local reference run shares the CPUs with the cluster jobs, while the Slurm run mostly
    # waits on polling: running both at once keeps the test short.
    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(snakemake, local, data_root=root, timeout=600)
        result = snakemake(cluster, *_slurm_args(), data_root=root, timeout=900)
        reference = pending.result()
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-6000:]
    submitted = SUBMITTED.findall(out)
    job_ids = [slurm_id for _, slurm_id in submitted]
    _show(capsys, f"sbatch job ids: {' '.join(job_ids)}")
    assert len(job_ids) == sum(CLUSTER_JOBS.values()), f"sbatch job ids seen: {job_ids}\n{out[-4000:]}"
    states = _job_states(job_ids)
    _show(capsys, f"squeue states: {states}")
    # Jobs older than MinJobAge (300 s) may have left squeue; those still listed must have completed.
    assert states and set(states) <= set(job_ids) and set(states.values()) == {"COMPLETED"}, states
    # Each job logs the Slurm job it ran in (genlab.device.describe).
    train_logs = sorted((cluster / "logs/train").rglob("*.log"))
    assert len(train_logs) == CLUSTER_JOBS["train"]
    for log in train_logs:
        match = re.search(r"SLURM_JOB_ID=(\d+)", log.read_text())
        assert match and match.group(1) in job_ids, f"{log} does not name one of {job_ids}"
    for figure in FIGURES:
        assert (cluster / figure).stat().st_size > 10_000, figure

    assert reference.returncode == 0, reference.stderr[-4000:]
    for table in METRICS:
        assert (cluster / table).read_bytes() == (local / table).read_bytes(), f"{table} differs between Slurm and local runs"


def test_a_failing_cluster_job_fails_the_run_and_names_its_log(slurm, tmp_path, capsys):
    root = write_mnist(tmp_path / "mnist")
    # Parse time reads only the image headers; the subset job reads the training labels and fails.
    labels = root / "MNIST/raw/train-labels-idx1-ubyte"
    labels.write_bytes(b"\x00\x00\x09\x99" + labels.read_bytes()[4:])
    target = "results/subsets/params_vs_gen.pt"

    work = tmp_path / "work"
    result = snakemake(work, *_slurm_args(target), data_root=root, timeout=600)
    out = result.stdout + result.stderr
    job_ids = [slurm_id for _, slurm_id in SUBMITTED.findall(out)]
    _show(capsys, f"sbatch job ids (failing run): {' '.join(job_ids)}")
    assert result.returncode != 0, out[-4000:]
    assert job_ids, f"nothing was submitted: {out[-4000:]}"
    log = "logs/subset/params_vs_gen.log"
    assert "Error in rule subset" in out and log in out, out[-4000:]
    assert "wrong magic number" in (work / log).read_text()
    assert not (work / target).exists()
