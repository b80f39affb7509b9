"""The cost model of a plan: every job `snakemake` would run from scratch, with its estimated seconds.

    training job  = epochs x steps_per_epoch x step_time(arch, width, batch_size)
                  + len(cfg.evaluated_epochs()) x (eval train images + eval test images) x eval_time(arch, width)
                    (runs trained to a target loss: their test images once)
                  + fixed cost
    an experiment's own jobs (its module's `jobs(config, model)`), e.g. evaluating a curve of
                    points x images x eval_time, or a per-point measure x point_time
    measure       = the per-checkpoint measure kinds' `cost` (genlab.measures), one job per checkpoint;
                    a kind with jobs of its own (PER_CHECKPOINT False) the same, one job per checkpoint it lists
    subset, metrics jobs (they import torch)         = fixed cost
    provenance, summaries, figures, effective config = light cost

Every time comes from a genlab.rates.Timing (calibrated on this machine, or coarse). Runs that
stop early (trained to fit, converged Lanczos) are counted at their maximum: upper bounds.

Wall time of the plan: jobs run `parallel = max(1, cores // train_threads)` at a time, so
wall = max(critical path, sum of job times / parallel), where the critical path adds up, per
chain of jobs, the longest job of each stage (subset, training, measure, tables, figures).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from . import experiments, plan
from .config import TrainConfig
from .rates import Timing

MNIST_TEST_IMAGES = 10_000  # when the test file is absent (data downloaded by the workflow later)
# A job's cost besides its work: Snakemake starting it, imports, reading its data, writing results.
# Without warm jobs genlab.calibration measures the import part and adds JOB_OVERHEAD_S;
# bench/e2e.py --tiny on the reference machine, loaded by other work: fixed cost median 6.0 s,
# 4.6 s of it before the job's first log line, `import genlab.jobs` 2.6 s.
JOB_OVERHEAD_S = 2.0
# Default fixed cost where nothing is measured: importing genlab.jobs (about 2.5 s) + JOB_OVERHEAD_S.
DEFAULT_FIXED_COST_S = 4.5
# Jobs that never import torch (provenance, tables, figures): Python, pandas, matplotlib and a small file.
LIGHT_JOB_S = 2.0
# With warm jobs (genlab.warm, local runs) every job forks from a process that has imported
# everything: bench/e2e.py on the quick preset (2-core AMD EPYC) measured a training job's fixed
# cost at 0.20 s (median) and provenance, metrics and plot jobs at 0.1 to 0.6 s of wall time.
WARM_JOB_S = 0.5

# Stages of a chain of jobs, for the critical path.
SETUP, TRAIN, MEASURE, TABLE, FIGURE = range(5)


def _depth(depth: int | None) -> dict:
    return {} if depth is None else {"depth": depth}


@dataclass
class CostModel:
    """What an experiment module's `jobs(config, model)` prices its jobs with."""

    timing: Timing
    fixed_s: float  # a job that imports torch
    light_s: float  # a job that does not
    n_test: int = MNIST_TEST_IMAGES  # the test split's size

    # depth (zoo_cnn's) is passed only when there is one: timings of width alone keep working.
    def step_time(self, arch: str, width: int | None, batch_size: int, depth: int | None = None) -> float:
        return self.timing.step_time(arch, width, batch_size, **_depth(depth))

    def eval_time(self, arch: str, width: int | None, depth: int | None = None) -> float:
        return self.timing.eval_time(arch, width, **_depth(depth))

    def point_time(self, arch: str, width: int | None, depth: int | None = None) -> float:
        return self.timing.point_time(arch, width, **_depth(depth))

    def job(self, experiment: str, rule: str, name: str, work_s: float, stage: int = MEASURE,
            reads: Sequence[str] = (), upper_bound: bool = False, **extra) -> dict:
        """A job that works for work_s seconds; `reads`: the training jobs whose checkpoints it reads."""
        return {"experiment": experiment, "rule": rule, "job": name, "stage": stage, "work_s": work_s,
                "fixed_s": self.fixed_s, "total_s": work_s + self.fixed_s, "upper_bound": upper_bound,
                "reads": list(reads), **extra}

    def light_job(self, experiment: str, rule: str, name: str, stage: int = FIGURE, **extra) -> dict:
        return {**self.job(experiment, rule, name, 0.0, stage, **extra), "fixed_s": self.light_s, "total_s": self.light_s}


def training_jobs(configs: Sequence[TrainConfig], model: CostModel) -> list[dict]:
    """One row per training job: its steps, evaluations and estimated seconds.

    A run's evaluation set is its first eval_train_size training images (all n_train if None)
    and its first eval_test_size test images (all n_test if None), measured at each of
    cfg.evaluated_epochs(). Runs with a stopping rule (fit_threshold, target_train_loss) are counted
    at cfg.epochs: upper_bound.
    """
    rows = []
    for cfg in configs:
        steps = cfg.steps_per_epoch()
        step_s = model.step_time(cfg.arch, cfg.width, cfg.batch_size, cfg.depth)
        evaluated = len(cfg.evaluated_epochs())
        train_images = cfg.eval_train_size or cfg.n_train
        test_images = model.n_test if cfg.eval_test_size is None else cfg.eval_test_size
        eval_images = train_images + test_images  # of one evaluation
        tested = evaluated if cfg.test_each_epoch() else 1  # else only where it stops
        train_s = cfg.epochs * steps * step_s
        eval_s = (evaluated * train_images + tested * test_images) * model.eval_time(cfg.arch, cfg.width, cfg.depth)
        rows.append(model.job(
            cfg.experiment, "train", f"{cfg.experiment}/{cfg.run}/seed{cfg.seed}", train_s + eval_s, TRAIN,
            upper_bound=cfg.stop_rule() is not None, arch=cfg.arch, width=cfg.width, batch_size=cfg.batch_size,
            epochs=cfg.epochs, steps_per_epoch=steps, step_s=step_s, train_s=train_s, evaluated_epochs=evaluated,
            eval_images=eval_images, eval_s=eval_s,
        ))
    return rows


def measure_jobs(config: dict, model: CostModel) -> list[dict]:
    """The measure kinds' jobs (genlab.measures): one `measure` job per measured checkpoint, summing
    the per-checkpoint kinds' cost, and one job per checkpoint for each kind with its own job.
    Experiment "measures", chained to the training they measure."""
    from . import measures
    from .measures import plan as measure_plan

    section = config["measures"]
    rows = []
    for rule, checkpoints in measure_plan.jobs_by_kind(config).items():
        per_checkpoint = rule == "measure"  # every listed kind in one job; else a kind with jobs of its own
        kinds = [measures.get(k) for k in measures.per_checkpoint(config)] if per_checkpoint else [measures.get(rule)]
        for experiment, run, seed in checkpoints:
            cfg = plan.train_config(config, experiment, run, seed)
            grad = model.step_time(cfg.arch, cfg.width, 128, cfg.depth) / 128  # one forward and backward pass per image
            eval_s = model.eval_time(cfg.arch, cfg.width, cfg.depth)
            work = sum(k.cost(section, cfg.n_train, model.n_test, grad, eval_s) for k in kinds)
            rows.append(model.job("measures", rule, f"{rule}/{experiment}/{run}/seed{seed}", work, MEASURE,
                                  reads=[f"{experiment}/{run}/seed{seed}"], upper_bound=per_checkpoint, chain=experiment))
    rows += [model.light_job("measures", rule, rule, TABLE) for rule in measure_plan.table_jobs(config)]
    rows += [model.light_job("measures", "plot", f"plot/{figure}") for figure in measure_plan.figure_jobs(config)]
    return rows


def setup_jobs(config: dict, model: CostModel) -> list[dict]:
    """Subsets (one per distinct subset file), metrics tables, provenance records, figures."""
    rows, seen = [], set()
    for experiment in experiments.chosen(config):
        for run in plan.run_names(config, experiment):
            name = plan.subset_name(experiment, run)
            if name not in seen:
                seen.add(name)
                rows.append(model.job(experiment, "subset", f"subset/{name}", 0.0, SETUP))
        rows.append(model.job(experiment, "metrics", f"metrics/{experiment}", 0.0, TABLE))
        rows.append(model.light_job(experiment, "provenance", f"provenance/{experiment}", SETUP))
        figures = experiments.get(experiment).FIGURES.values()
        drawn = [path for path in experiments.outputs(experiment, config) if path in figures]
        if drawn:  # an experiment drawing no figure (none, or none for this config) has no plot job
            rows.append(model.light_job(experiment, "plot", f"plot/{experiment}", figures=len(drawn)))
    return rows


def plan_jobs(config: dict, model: CostModel) -> list[dict]:
    """Every job `snakemake` would run for this config from scratch, with its estimate."""
    chosen = experiments.chosen(config)
    configs = [cfg for experiment in chosen for cfg in plan.planned_configs(config, experiment)]
    own = [row for experiment in chosen for row in experiments.jobs(experiment, config, model)]
    return training_jobs(configs, model) + own + measure_jobs(config, model) + setup_jobs(config, model) + study_jobs(model)


STUDY = "(study)"  # the jobs of no one experiment; counted in the total, not a row of the table


def study_jobs(model: CostModel) -> list[dict]:
    """The effective config, the claims table, and rule all (which runs nothing), as `snakemake -n` counts them."""
    final = {**model.job(STUDY, "all", "all", 0.0, FIGURE), "fixed_s": 0.0, "total_s": 0.0}
    return [model.light_job(STUDY, "effective_config", "effective_config", SETUP),
            model.light_job(STUDY, "claims", "claims", TABLE), final]


def critical_path(rows: Sequence[dict]) -> float:
    """The longest job of each stage added up: subset -> training -> measure -> tables -> figures."""
    longest: dict[int, float] = {}
    for row in rows:
        longest[row["stage"]] = max(longest.get(row["stage"], 0.0), row["total_s"])
    return sum(longest.values())


def summarize(rows: Sequence[dict], parallel: int) -> dict:
    """Per experiment and in all: jobs, job time (sum), longest job, critical path, and the wall time
    max(critical path, job time / parallel) with `parallel` jobs at a time."""
    parallel = max(1, int(parallel))
    groups: dict[str, list[dict]] = {}
    for row in rows:
        groups.setdefault(row["experiment"], []).append(row)

    def stats(group: Sequence[dict], critical: float) -> dict:
        job_s = sum(r["total_s"] for r in group)
        return {"jobs": len(group), "job_s": job_s, "longest_s": max((r["total_s"] for r in group), default=0.0),
                "critical_s": critical, "wall_s": max(critical, job_s / parallel),
                "upper_bound": any(r["upper_bound"] for r in group)}

    chains: dict[str, list[dict]] = {}
    for row in rows:  # a measure of a checkpoint waits for its training: same chain
        chains.setdefault(row.get("chain", row["experiment"]), []).append(row)
    by_experiment = {name: stats(group, critical_path(group)) for name, group in groups.items()}
    crit = max((critical_path(chain) for chain in chains.values()), default=0.0)
    return {"parallel": parallel, "experiments": by_experiment, "total": stats(rows, crit)}


def parallel_jobs(cores: int, train_threads: int) -> int:
    return max(1, int(cores) // max(1, int(train_threads)))


def test_split_size(config: dict) -> int:
    from .idx import split_size

    try:
        return split_size(config["data_root"], "test") or MNIST_TEST_IMAGES
    except Exception:  # an unreadable file is check-mnist's business, not the estimate's
        return MNIST_TEST_IMAGES


def model_for(config: dict, timing: Timing, fixed_s: float, light_s: float | None = None) -> CostModel:
    """Light jobs cost LIGHT_JOB_S, or the fixed cost if lower (a warm job starts faster than a fresh Python imports pandas)."""
    light = min(fixed_s, LIGHT_JOB_S) if light_s is None else light_s
    return CostModel(timing, fixed_s, light, test_split_size(config))
