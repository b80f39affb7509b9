"""`genlab estimate`: how long will a config take here? The report of the cost model (genlab.cost).

    genlab estimate [configfiles...] [--config key=value ...] [--device cpu|cuda] [--cores N] [--coarse]

By default a few seconds of calibration on this machine (genlab.calibration) give the time
functions; `--coarse` uses the reference machine's rates (genlab.rates), as does the one line
the workflow prints when it starts (`start_line`: no torch import, well under a second).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from .cost import DEFAULT_FIXED_COST_S, JOB_OVERHEAD_S, STUDY, WARM_JOB_S, model_for, parallel_jobs, plan_jobs, summarize
from .rates import Timing, coarse_calibrations

REPO = Path(__file__).resolve().parents[2]
DAY_S = 86_400.0

# ---------------------------------------------------------------- text


def duration(seconds: float) -> str:
    """42 s, 3 min 20 s, 2 h 05 min, 1 day 4 h, 12 days 3 h."""
    s = int(round(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    if s < DAY_S:
        return f"{s // 3600} h {s % 3600 // 60:02d} min"
    days = s // 86_400
    return f"{days} day{'s' if days > 1 else ''} {s % 86_400 // 3600} h"


def _presets_hint() -> str:
    extra = " (or presets/cpu_hour.yaml)" if (REPO / "presets/cpu_hour.yaml").is_file() else ""
    return f"try presets/quick.yaml{extra}"


def total_line(summary: dict, device: str, prefix: str | None = None) -> str:
    """The one-line total: wall time, jobs at once, job time, longest job, and the advice past a day."""
    total = summary["total"]
    where = "this CPU" if device == "cpu" else "this GPU"
    prefix = prefix or f"total on {where}:"
    study = summary["experiments"].get(STUDY, {}).get("jobs", 0)
    with_study = f" (with {study} of the whole study: effective config, claims, rule all)" if study else ""
    line = (f"{prefix} about {duration(total['wall_s'])} for {total['jobs']} jobs{with_study}"
            f" ({summary['parallel']} at a time; {duration(total['job_s'])} of job time,"
            f" longest job {duration(total['longest_s'])})")
    if total["upper_bound"]:
        line += "; an upper bound where runs stop early (fit, convergence)"
    if total["wall_s"] > DAY_S:
        line += f" -- more than a day on {where}: {_presets_hint()}"
    return line


def one_line_total(config: dict, cores: int) -> str:
    """A coarse one-line estimate for the workflow to print at start: no torch import, no timing (well
    under a second). Uses the reference machine's throughputs (COARSE_*), fp32, and WARM_JOB_S (or,
    with warm_jobs off, DEFAULT_FIXED_COST_S) per job; `genlab estimate` measures this machine instead."""
    fixed = WARM_JOB_S if config.get("warm_jobs") else DEFAULT_FIXED_COST_S
    rows = plan_jobs(config, model_for(config, Timing(coarse_calibrations()), fixed))
    summary = summarize(rows, parallel_jobs(cores, config["train_threads"]))
    return total_line(summary, "cpu", prefix="genlab: estimated (coarse: the reference machine's CPU rates; `genlab estimate` measures this one):")


def start_line(config: dict, cores: int | None) -> str:
    """What the workflow prints when it starts; an estimate that fails says so instead of stopping the run."""
    try:
        return one_line_total(config, int(cores or 1))
    except Exception as exc:  # noqa: BLE001 - an estimate must never stop a run
        return f"genlab: no estimate ({type(exc).__name__}: {exc})"


def table(rows: Sequence[dict], summary: dict) -> list[str]:
    lines = [f"{'experiment':<15}{'jobs':>5}  {'job time':>14}  {'longest job':>14}  {'critical path':>14}"]
    for name, s in summary["experiments"].items():
        if name == STUDY:
            continue
        note = ("  upper bound: Lanczos and ascent counted at their max steps" if name == "measures" else
                "  upper bound: runs stop once they fit, counted at their max epochs") if s["upper_bound"] else ""
        lines.append(f"{name:<15}{s['jobs']:>5}  {duration(s['job_s']):>14}  {duration(s['longest_s']):>14}"
                     f"  {duration(s['critical_s']):>14}{note}")
    return lines


def calibration_lines(cals: Sequence[dict]) -> list[str]:
    lines = []
    for cal in cals:
        name = cal["arch"] + (f" w{cal['width']}" if cal["width"] else "") + (f" d{cal['depth']}" if cal.get("depth") else "")
        steps = ", ".join(f"b{b} {s * 1e3:.1f} ms" for b, s in sorted(cal["step_s"].items()))
        point = f"; Jacobian {cal['point_s'] * 1e3:.2f} ms/point" if cal.get("point_s") else ""
        lines.append(f"  {name:<14} step {steps}; eval {cal['eval_s'] * 1e6:.0f} us/image{point}")
    return lines


def job_lines(rows: Sequence[dict]) -> list[str]:
    """Every job that does work, with what its estimate counts (`what`, or a training's steps)."""
    lines = []
    for r in rows:
        if r["rule"] == "train":
            what = (f"{r['epochs']} ep x {r['steps_per_epoch']} steps x {r['step_s'] * 1e3:.1f} ms"
                    f" + {r['evaluated_epochs']} evals x {r['eval_images']} images")
        elif r["work_s"] > 0 or r.get("what"):
            what = r.get("what", "")
        else:
            continue
        lines.append(f"  {r['job']:<36}{duration(r['total_s']):>14}  {what}{'  (upper bound)' if r['upper_bound'] else ''}")
    return lines


def resolve_device(requested: str) -> str:
    if requested in ("cpu", "cuda"):
        return requested
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def run_cli(config: dict, device: str, cores: int, coarse: bool = False, fixed_cost: float | None = None,
            per_job: bool = False, print_=print) -> dict:
    """`genlab estimate`: calibrate (or not), estimate every job, print the table and the total line."""
    threads = config["train_threads"]
    parallel = parallel_jobs(cores, threads)
    print_(f"genlab estimate: device {device}, {config['precision']}, {threads} thread(s) per job,"
           f" {cores} core(s): {parallel} job(s) at a time")
    t0 = time.perf_counter()
    if coarse:
        cals = coarse_calibrations()
        print_("throughputs: the reference machine's (coarse, not measured here)")
    else:
        from .calibration import calibrate_plan

        cals = calibrate_plan(config, device, threads)
        print_(f"calibrated on this machine in {time.perf_counter() - t0:.0f} s:")
    for line in calibration_lines(cals):
        print_(line)
    if fixed_cost is None:
        if config.get("warm_jobs"):
            fixed_cost = WARM_JOB_S
            print_(f"fixed cost per job: {fixed_cost:.1f} s (warm jobs, as bench/e2e.py measured; a local run's"
                   " jobs fork from one process that imported torch once)")
        elif coarse:
            fixed_cost = DEFAULT_FIXED_COST_S
            print_(f"fixed cost per job: {fixed_cost:.1f} s (default)")
        else:
            from .calibration import measure_fixed_cost

            fixed_cost, imports = measure_fixed_cost()
            print_(f"fixed cost per job: {fixed_cost:.1f} s (python + imports {imports:.1f} s, measured;"
                   f" + {JOB_OVERHEAD_S:.1f} s Snakemake, data and checkpoint)")
    else:
        print_(f"fixed cost per job: {fixed_cost:.1f} s (given)")
    rows = plan_jobs(config, model_for(config, Timing(cals), fixed_cost))
    summary = summarize(rows, parallel)
    if per_job:
        for line in job_lines(rows):
            print_(line)
    for line in table(rows, summary):
        print_(line)
    if device == "cuda" and parallel > 1:
        print_(f"note: the {parallel} jobs at a time share the GPU; assumed not to slow each other down")
    where = "this CPU" if device == "cpu" else "this GPU"
    print_(total_line(summary, device, prefix=f"total on {where} (coarse rates, not measured here):" if coarse else None))
    return {"rows": rows, "summary": summary, "calibrations": cals, "fixed_cost": fixed_cost}
