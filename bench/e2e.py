"""End-to-end, same work: genlab's workflow vs a plain one-script port of the study, side by side.

    .venv/bin/python bench/e2e.py [--configfile presets/quick.yaml] [--cores 2] [--data-root ../shared/data]
                                  [--against REV] [--tiny] [--repeats 1] [--keep DIR] [--out FILE.json]

In one invocation, on one machine, on the same config (config.yaml merged with --configfile):

1. plain: `python bench/plain_study.py` (experiments 1-4 one after another in one process,
   --threads = --cores), timed from launch to exit;
2. genlab: `python -m snakemake --cores N random_labels params_vs_gen interpolation sensitivity
   --configfile ... --config data_root=...` in a fresh scratch working directory, timed the same
   way (the targets are experiments 1-4: the work the plain script does);
3. with --against REV, the same Snakemake command on the workflow as it was at git revision REV
   (extracted with git archive, its own src/ on PYTHONPATH): the same targets, config and data;
4. `python -c "import torch"` and `python -c "import genlab.jobs"` in fresh processes, timed in
   the same run, to compare with genlab's per-job fixed cost.

Where genlab's time goes, from Snakemake's own metadata (.snakemake/metadata: each output's
start time, when Snakemake marked the job as running, and end time, the output file's mtime)
and the jobs' logs (logs/<rule>/...: timestamped lines; training jobs log one line per epoch):

- per rule: jobs, sum and mean of job wall times (W = end - start);
- fixed cost of a training job: F = W - T, where T, the training-and-measuring time, is the span
  of its epoch lines: T = t(last epoch line) - t(first epoch line) + the first epoch's logged
  seconds (each epoch line is written when that epoch's training and evaluation are done, and
  carries its duration). F holds the process start, imports, data loading, model set-up and
  writing the outputs; its part before the job's first log line ("startup": Snakemake's
  wrapper, Python, importing torch and genlab) is reported separately;
- Snakemake's own time: from launch to the first job's start (parsing, DAG), and the idle
  core-seconds: N x wall - sum of job walls.

Under load from other processes the absolute times drift; the ratio of the two walls measured
back to back (alternating which goes first with --repeats) is the number to read.
"""

from __future__ import annotations

import argparse
import base64
import csv
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BENCH = Path(__file__).resolve().parent
TARGETS = ("random_labels", "params_vs_gen", "interpolation", "sensitivity")
LOG_TIME = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),(\d{3}) ")
EPOCH_LINE = re.compile(r" epoch (\d+)/(\d+) ([\d.]+)s")

# --tiny: experiments 1-4 on synthetic MNIST (600 + 200 images) in about a minute; corruption and
# measures are shrunk only so that the config passes the size checks (they are not targets).
TINY_CONFIG = """\
experiments: [random_labels, params_vs_gen, interpolation, sensitivity, corruption]  # 6 and 7 need more images
seeds: [0]
train_threads: 1
resume_interval_s: 0
eval_batch_size: 100
random_labels: {n_train: 200, lr: 1.0e-3, batch_size: 32, epochs: 3, eval_test_size: 100}
params_vs_gen: {n_train: 200, widths: [2, 8], lr: 1.0e-3, batch_size: 32, epochs: 2, eval_test_size: 100}
interpolation:
  n_train: 200
  epochs: 2
  solution_a: {batch_size: 100, lr: 1.0e-2}
  solution_b: {batch_size: 20, lr: 1.0e-3}
  alpha: {start: -1.0, stop: 2.0, step: 0.5}
  alpha_eval_train_size: 100
  alpha_eval_test_size: 100
  eval_train_size: 100
  eval_test_size: 100
sensitivity: {n_train: 200, lr: 1.0e-2, epochs: 2, batch_sizes: [100, 20], n_points: 50, eval_test_size: 100}
corruption: {n_train: 100, batch_size: 32, epochs: 1}
measures: {n_points: 50, landscape: {eval_train_size: 50, eval_test_size: 50}}
"""


def run_timed(cmd: list[str], log: Path, env: dict | None = None) -> tuple[float, float]:
    """(wall seconds, launch time as epoch seconds); stdout and stderr go to `log`; fails loudly."""
    launch = time.time()
    t0 = time.perf_counter()
    with open(log, "w") as f:
        proc = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, env=env)
    wall = time.perf_counter() - t0
    if proc.returncode:
        sys.exit(f"e2e: {' '.join(cmd[:4])} ... failed (exit {proc.returncode}); its output:\n{log.read_text()[-4000:]}")
    return wall, launch


def config_path(arg: str, scratch: Path) -> Path:
    """A config file, or REV:path for the file as it was at a git revision (say, an earlier preset)."""
    if Path(arg).is_file() or ":" not in arg:
        return Path(arg).resolve()
    out = scratch / ("configfile-" + re.sub(r"[^\w.-]", "_", arg))
    out.write_text(subprocess.run(["git", "-C", str(REPO), "show", arg], check=True, capture_output=True, text=True).stdout)
    return out


def checkout(rev: str, scratch: Path) -> Path:
    """The repository's files at `rev`, in a folder of the scratch space."""
    folder = scratch / f"src-{rev}"
    folder.mkdir()
    archive = subprocess.run(["git", "-C", str(REPO), "archive", rev], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    return folder


def snakemake_cmd(repo: Path, workdir: Path, cores: int, configfile: Path, data_root: Path) -> list[str]:
    return [sys.executable, "-m", "snakemake", "-s", str(repo / "Snakefile"), "-d", str(workdir), "--cores", str(cores),
            *TARGETS, "--configfile", str(configfile), "--config", f"data_root={data_root}"]


def probe(code: str, repeats: int = 3) -> float:
    """Median wall time of `python -c code` in a fresh process (genlab's src/ on PYTHONPATH)."""
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, env=env, capture_output=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


# ---------------------------------------------------------------- genlab's jobs


def log_times(path: Path) -> list[tuple[float, str]]:
    """(epoch seconds, line) of every timestamped line of a job's log (logging's asctime, local time)."""
    out = []
    if not path.is_file():
        return out
    for line in path.read_text(errors="replace").splitlines():
        m = LOG_TIME.match(line)
        if m:
            out.append((time.mktime(time.strptime(m.group(1), "%Y-%m-%d %H:%M:%S")) + int(m.group(2)) / 1000, line))
    return out


def snakemake_jobs(workdir: Path) -> list[dict]:
    """One dict per finished job: rule, log, start, end, wall; training jobs also work_s, fixed_s, startup_s."""
    jobs: dict[tuple, dict] = {}
    for record_path in (workdir / ".snakemake/metadata").rglob("*"):
        if not record_path.is_file():
            continue
        try:
            record = json.loads(record_path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError):
            continue
        if not record.get("rule") or record.get("starttime") is None:
            continue
        try:
            output = base64.urlsafe_b64decode(record_path.name.encode()).decode()
        except Exception:
            output = record_path.name
        key = (record["rule"], tuple(record.get("log") or [output]))
        job = jobs.setdefault(key, {"rule": record["rule"], "log": (record.get("log") or [None])[0],
                                    "start": record["starttime"], "end": record["endtime"], "outputs": []})
        job["start"] = min(job["start"], record["starttime"])
        job["end"] = max(job["end"], record["endtime"])
        job["outputs"].append(output)
    result = []
    for job in jobs.values():
        job["wall_s"] = job["end"] - job["start"]
        lines = log_times(workdir / job["log"]) if job["log"] else []
        if lines:
            job["startup_s"] = lines[0][0] - job["start"]
        epochs = [(t, EPOCH_LINE.search(line)) for t, line in lines if EPOCH_LINE.search(line)]
        if job["rule"] == "train" and epochs:
            first_t, first = epochs[0]
            job["epochs"] = len(epochs)
            job["work_s"] = epochs[-1][0] - first_t + float(first.group(3))
            job["fixed_s"] = job["wall_s"] - job["work_s"]
        result.append(job)
    return sorted(result, key=lambda j: j["start"])


def where_time_goes(jobs: list[dict], wall: float, launch: float, cores: int) -> dict:
    rules: dict[str, dict] = {}
    for job in jobs:
        r = rules.setdefault(job["rule"], {"jobs": 0, "sum_s": 0.0})
        r["jobs"] += 1
        r["sum_s"] += job["wall_s"]
    for r in rules.values():
        r["mean_s"] = r["sum_s"] / r["jobs"]
    trains = [j for j in jobs if "fixed_s" in j]
    busy = sum(j["wall_s"] for j in jobs)
    out = {
        "rules": rules,
        "jobs": len(jobs),
        "job_wall_sum_s": busy,
        "before_first_job_s": (jobs[0]["start"] - launch) if jobs else None,
        "after_last_job_s": (launch + wall - max(j["end"] for j in jobs)) if jobs else None,
        "idle_core_s": cores * wall - busy,
    }
    if trains:
        out["train_jobs"] = len(trains)
        out["train_work_sum_s"] = sum(j["work_s"] for j in trains)
        out["fixed_cost_median_s"] = statistics.median(j["fixed_s"] for j in trains)
        out["fixed_cost_mean_s"] = statistics.mean(j["fixed_s"] for j in trains)
        out["fixed_cost_sum_s"] = sum(j["fixed_s"] for j in trains)
        starts = [j["startup_s"] for j in trains if "startup_s" in j]
        out["startup_median_s"] = statistics.median(starts) if starts else None
    return out


# ---------------------------------------------------------------- same work, checked


def read_csv(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def same_work(workdir: Path, plain_out: Path, config: dict) -> dict:
    """The plain script trained the runs genlab trained (hyperparameters), on the same subsets (indices, labels)."""
    import torch

    sys.path.insert(0, str(BENCH))
    from plain_study import draw_subset

    keys = ("experiment", "run", "seed", "n_train", "lr", "batch_size", "epochs", "n_params")
    genlab_rows = [r for t in TARGETS for r in read_csv(workdir / f"results/metrics/{t}.csv")]
    plain_rows = read_csv(plain_out / "runs.csv")

    def norm(r):
        return tuple(float(r[k]) if k in ("lr",) else (int(r[k]) if k in ("seed", "n_train", "batch_size", "epochs", "n_params") else r[k]) for k in keys)

    same_runs = sorted(map(norm, genlab_rows)) == sorted(map(norm, plain_rows))
    from genlab.mnist import load_split

    labels = load_split(config["data_root"], "train").labels  # the whole training split's
    subsets_ok = True
    for experiment in TARGETS:
        subset = torch.load(workdir / f"results/subsets/{experiment}.pt", weights_only=True)
        params = subset["params"]
        idx, y = draw_subset(len(labels), int(params["n_train"]), int(params["seed"]), labels, bool(params["permuted_labels"]))
        subsets_ok &= bool(torch.equal(idx, subset["indices"]) and torch.equal(y, subset["labels"]))
    accuracy = {}
    by_run = {(r["experiment"], r["run"], r["seed"]): r for r in plain_rows}
    for r in genlab_rows:
        p = by_run.get((r["experiment"], r["run"], r["seed"]))
        if p:
            accuracy[f"{r['experiment']}/{r['run']}/seed{r['seed']}"] = (float(r["test_accuracy"]), float(p["test_accuracy"]))
    return {"same_runs": same_runs, "same_subsets": subsets_ok, "runs": len(genlab_rows), "test_accuracy_genlab_plain": accuracy}


def same_final_results(workdir: Path, other: Path) -> dict[str, bool]:
    """Final metrics, sensitivity summary and interpolation curves of two workflow runs, byte for byte."""
    names = sorted({str(p.relative_to(workdir)) for pattern in ("results/metrics/*.csv", "results/sensitivity/summary.csv",
                                                                 "results/interpolation/*.csv") for p in workdir.glob(pattern)})
    return {name: (other / name).is_file() and (workdir / name).read_bytes() == (other / name).read_bytes() for name in names}


# ---------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--configfile", default=str(REPO / "presets/quick.yaml"), help="merged on top of config.yaml")
    parser.add_argument("--cores", type=int, default=2, help="snakemake --cores")
    parser.add_argument("--plain-threads", type=int, help="the plain script's torch threads (default: --cores, as a port uses every core)")
    parser.add_argument("--data-root", default=str(REPO.parent / "shared/data"), help="folder holding MNIST/raw/")
    parser.add_argument("--against", metavar="REV", help="also run the workflow as it was at this git revision, same targets and config")
    parser.add_argument("--tiny", action="store_true", help="tiny config on synthetic MNIST, written here (CI smoke test)")
    parser.add_argument("--repeats", type=int, default=1, help="pairs of runs, alternating which goes first")
    parser.add_argument("--keep", help="scratch folder to keep (default: a temporary one, removed)")
    parser.add_argument("--out", help="write every number to this JSON file")
    args = parser.parse_args()

    scratch = Path(args.keep or tempfile.mkdtemp(prefix="genlab-e2e-")).resolve()
    scratch.mkdir(parents=True, exist_ok=True)
    try:
        run(args, scratch)
    finally:
        if not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)


def run(args, scratch: Path) -> None:
    sys.path[:0] = [str(REPO / "src"), str(REPO / "tests")]
    from genlab import cost, rates
    from genlab.cli import check_config_files
    from genlab.idx import raw_files

    if args.tiny:
        from mnist_files import write_mnist  # the tests' synthetic MNIST writer

        data_root = write_mnist(scratch / "mnist", n_train=600, n_test=200)
        configfile = scratch / "tiny.yaml"
        configfile.write_text(TINY_CONFIG)
    else:
        data_root, configfile = Path(args.data_root).resolve(), config_path(args.configfile, scratch)
        if not all(p.is_file() for p in raw_files(data_root)):
            sys.exit(f"e2e: no MNIST under {data_root}/MNIST/raw (give --data-root, or --tiny for synthetic data)")
    config = check_config_files([str(REPO / "config.yaml"), str(configfile)])
    config["data_root"] = str(data_root)

    # What genlab's coarse estimate says for these four experiments (compared with the measured wall).
    coarse = cost.model_for(config, rates.Timing(rates.coarse_calibrations()), cost.DEFAULT_FIXED_COST_S)
    est_rows = [r for r in cost.plan_jobs(config, coarse) if r["experiment"] in TARGETS]
    est = cost.summarize(est_rows, cost.parallel_jobs(args.cores, config["train_threads"]))["total"]

    cpu = re.search(r"^model name\s*:\s*(.*)$", Path("/proc/cpuinfo").read_text(), re.M)
    info = {"cpu": cpu.group(1) if cpu else "?", "cpus": os.cpu_count(), "cores": args.cores,
            "plain_threads": args.plain_threads or args.cores,
            "train_threads": config["train_threads"], "config": str(configfile), "data_root": str(data_root),
            "tiny": args.tiny, "loadavg_start": " ".join(Path("/proc/loadavg").read_text().split()[:3])}
    print("genlab e2e: genlab's workflow vs a plain one-script port, same config, same machine, back to back")
    for k, v in info.items():
        print(f"   {k:<14}{v}")

    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    plain_walls, genlab_walls, reports, against_walls = [], [], [], []
    against = checkout(args.against, scratch) if args.against else None
    for i in range(args.repeats):
        order = ("plain", "genlab") if i % 2 == 0 else ("genlab", "plain")
        if against:
            order = (*order, "against") if i % 2 == 0 else ("against", *order)
        for side in order:
            if side == "against":
                workdir = scratch / f"against{i}"
                cmd = snakemake_cmd(against, workdir, args.cores, configfile, data_root)
                wall, _ = run_timed(cmd, scratch / f"against{i}.log", {**os.environ, "PYTHONPATH": str(against / "src")})
                against_walls.append(wall)
                print(f"   run {i + 1}: {args.against} {wall:7.1f} s   ({len(snakemake_jobs(workdir))} jobs)")
                continue
            if side == "plain":
                out = scratch / f"plain{i}"
                cmd = [sys.executable, str(BENCH / "plain_study.py"), "--configfile", str(configfile),
                       "--data-root", str(data_root), "--out-dir", str(out), "--threads", str(args.plain_threads or args.cores)]
                wall, _ = run_timed(cmd, scratch / f"plain{i}.log", env)
                plain_walls.append(wall)
                plain_times = json.loads((out / "timings.json").read_text())
                print(f"   run {i + 1}: plain  {wall:7.1f} s   ({', '.join(f'{k} {v:.1f}' for k, v in plain_times.items() if k in TARGETS)})")
            else:
                workdir = scratch / f"genlab{i}"
                cmd = snakemake_cmd(REPO, workdir, args.cores, configfile, data_root)
                wall, launch = run_timed(cmd, scratch / f"genlab{i}.log", env)
                genlab_walls.append(wall)
                jobs = snakemake_jobs(workdir)
                reports.append({**where_time_goes(jobs, wall, launch, args.cores), "job_list": jobs})
                print(f"   run {i + 1}: genlab {wall:7.1f} s   ({reports[-1]['jobs']} jobs)")

    t_torch = probe("import torch", 1 if args.tiny else 3)
    t_jobs = probe("import genlab.jobs", 1 if args.tiny else 3)
    check = same_work(scratch / "genlab0", scratch / "plain0", config)
    ratios = [g / p for g, p in zip(genlab_walls, plain_walls)]
    report = reports[-1]

    print(f"\nSame work: same runs and hyperparameters {check['same_runs']}, same subsets {check['same_subsets']}"
          f" ({check['runs']} training runs)")
    accs = check["test_accuracy_genlab_plain"]
    if accs:
        diffs = [abs(g - p) for g, p in accs.values()]
        print(f"   final test accuracy, genlab vs plain: mean |difference| {statistics.mean(diffs):.3f},"
              f" max {max(diffs):.3f} (different initialisation and shuffling, same hyperparameters)")
    print(f"\nWall time ({args.cores} cores; median of {len(ratios)}):")
    print(f"   plain script   {statistics.median(plain_walls):8.1f} s")
    print(f"   genlab DAG     {statistics.median(genlab_walls):8.1f} s   (coarse estimate: {est['wall_s']:.0f} s)")
    print(f"   genlab / plain {statistics.median(ratios):8.2f}    (per pair: {', '.join(f'{r:.2f}' for r in ratios)})")
    against_ratios = [g / a for g, a in zip(genlab_walls, against_walls)]
    if against_ratios:
        print(f"   genlab at {args.against} {statistics.median(against_walls):8.1f} s")
        print(f"   genlab now / at {args.against} {statistics.median(against_ratios):.2f}"
              f"    (per run: {', '.join(f'{r:.2f}' for r in against_ratios)})")

    print(f"\nWhere genlab's time goes (last run, {report['jobs']} jobs; sum of job walls {report['job_wall_sum_s']:.1f} s"
          f" on {args.cores} cores):")
    print(f"   {'rule':<22}{'jobs':>5}{'sum s':>10}{'mean s':>9}")
    for rule, r in sorted(report["rules"].items(), key=lambda kv: -kv[1]["sum_s"]):
        print(f"   {rule:<22}{r['jobs']:>5}{r['sum_s']:>10.1f}{r['mean_s']:>9.2f}")
    print(f"   snakemake before the first job (parse, DAG): {report['before_first_job_s']:.1f} s;"
          f" after the last job: {report['after_last_job_s']:.1f} s; idle core-seconds {report['idle_core_s']:.1f}")
    if "fixed_cost_median_s" in report:
        print(f"   training jobs: {report['train_jobs']}, training+evaluation {report['train_work_sum_s']:.1f} s,"
              f" fixed cost {report['fixed_cost_sum_s']:.1f} s in all")
        print(f"   fixed cost of a training job (wall - epoch time): median {report['fixed_cost_median_s']:.2f} s,"
              f" mean {report['fixed_cost_mean_s']:.2f} s; of it before its first log line (startup):"
              f" median {report['startup_median_s']:.2f} s")
    print(f"   for comparison, in fresh processes: python -c 'import torch' {t_torch:.2f} s,"
          f" python -c 'import genlab.jobs' {t_jobs:.2f} s")
    identical = same_final_results(scratch / "genlab0", scratch / "against0") if against else None

    speedup = 1 / statistics.median(ratios)
    print("\nTargets (issue 9):")
    print(f"   genlab {speedup:.2f}x as fast as the plain script: 1.5x on the quick preset's work"
          f" {'held' if speedup >= 1.5 else 'missed'}, 2x on a larger study {'held' if speedup >= 2 else 'missed'}")
    if "fixed_cost_median_s" in report:
        over = report["fixed_cost_median_s"] - t_torch
        print(f"   fixed cost of a training job {over:+.2f} s against importing torch (at most +1.5 s): {'held' if over <= 1.5 else 'missed'}")
    if against_ratios:
        now = statistics.median(against_ratios)
        print(f"   wall time {now:.2f} of {args.against}'s (at most 0.60): {'held' if now <= 0.6 else 'missed'}")
        print(f"   final metrics, sensitivity and interpolation tables byte-identical to {args.against}'s:"
              f" {all(identical.values())} ({len(identical)} files{'' if all(identical.values()) else '; differ: ' + ', '.join(k for k, v in identical.items() if not v)})")
    info["loadavg_end"] = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    print(f"   loadavg at end {info['loadavg_end']}")
    if args.out:
        result = {"machine": info, "plain_wall_s": plain_walls, "genlab_wall_s": genlab_walls, "ratio_genlab_over_plain": ratios,
                  "against": args.against, "against_wall_s": against_walls, "ratio_genlab_over_against": against_ratios,
                  "identical_to_against": identical,
                  "import_torch_s": t_torch, "import_genlab_jobs_s": t_jobs, "coarse_estimate_wall_s": est["wall_s"],
                  "genlab": reports, "same_work": check}
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(result, indent=1))
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
