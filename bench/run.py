"""genlab benchmark (issue 5): one command, one table, PASS/MISS against the targets.

    .venv/bin/python bench/run.py [--tiny] [--data-root DIR] [--threads N] [--out FILE.json|FILE.csv]

1. training samples/s: genlab's loop vs a plain DataLoader loop (bench/plain_loop.py), plus
   'variant' rows (channels_last, fused Adam, bf16 autocast, other thread count, no NaN fill)
2. deep_cnn training GFLOP/s (bench/flops.py) vs this machine's fp32 matmul rate
3. interpolation and sensitivity throughput
4. peak RSS of a real training job (subprocess)
5. workflow: no-op rerun and one-figure rebuild (tests/tiny.yaml on synthetic MNIST)
6. flatness measure cost (bench/measures.py): Hessian-vector products/s, each measure kind at
   config.yaml's reference settings (a reduced count timed, extrapolated linearly), and the
   reference config's measure time as a fraction of its training time on this machine's rates
7. threads per model: what a second thread buys each network's step and evaluation

Everything compared is measured in the same process, in rotation (A, B, C, A, B, C, ...),
because other processes may share these CPUs and the load drifts; we report medians, and
ratios as the median of per-rotation ratios.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "src"), str(REPO / "tests"), str(Path(__file__).parent)]

import torch  # noqa: E402
import torch.utils.deterministic  # noqa: E402

from flops import counted_flops, forward_macs, train_flops_per_sample  # noqa: E402
from genlab.config import TrainConfig  # noqa: E402
from genlab.data import Tensors, load_tensors, make_subset  # noqa: E402
from genlab.device import configure  # noqa: E402
from genlab.experiments.interpolation import interpolation_curve  # noqa: E402
from genlab.measures.jacobian import jacobian_norms  # noqa: E402
from genlab.idx import raw_files  # noqa: E402
from genlab.models import build_model  # noqa: E402
from genlab.training import evaluate_splits, init_model, make_optimizer, train_epoch  # noqa: E402
from mnist_files import write_mnist  # noqa: E402  (tests' synthetic MNIST writer; read only)
from plain_loop import plain_evaluate, plain_train  # noqa: E402
import measures as measure_cost  # noqa: E402  (bench/measures.py)
import genlab.training  # noqa: E402

CPU = torch.device("cpu")
GENLAB_MICRO_BATCH = genlab.training.CPU_MICRO_BATCH  # genlab's own choice, restored after a variant
TORCH_NAN_FILL = torch.utils.deterministic.fill_uninitialized_memory  # torch's default, before genlab sets it
FIGURE = "image/Flatness_vs_gen_p1_inter.png"
EVAL_BATCH_SIZE = 1000  # config.yaml's eval_batch_size: the chunk size of a job's evaluation passes

# (arch, width, batch size, lr) as config.yaml trains them.
CASES = [
    ("deep_cnn", None, 128, 1e-4),  # exp 1, random labels
    ("deep_cnn", None, 1024, 1e-2),  # exp 3, solution A
    ("deep_cnn", None, 64, 1e-3),  # exp 3, solution B
    ("width_cnn", 20, 128, 1e-4),  # exp 2, widest
    ("width_cnn", 2, 128, 1e-4),  # exp 2, narrowest
    *[("shallow_cnn", None, b, 1e-2) for b in (1024, 512, 256, 128, 64, 32)],  # exp 4
]
# Training samples per timed repeat (at least one batch): ~1-3 s each on one Sapphire Rapids core;
# short repeats, many of them, pair better under drifting foreign load than a few long ones.
SAMPLES = {"deep_cnn": 768, "width_cnn": 4096, "shallow_cnn": 4096}
TINY_SAMPLES = {"deep_cnn": 64, "width_cnn": 256, "shallow_cnn": 256}
# Variants of genlab's loop, each measured in the same rotation as genlab and plain. Each forces
# a setting whatever genlab's own choice is (printed above the table): ~1.00x means "already so".
# adam: "fused" or torch's default ("for-loop"). nan_fill: deterministic mode's NaN fill of every
# new tensor (torch.utils.deterministic.fill_uninitialized_memory), a debugging aid.
VARIANTS = {
    "channels_last": dict(channels_last=True),
    "fused_adam": dict(adam="fused"),
    "for-loop_adam": dict(adam="for-loop"),
    "bf16": dict(precision="bf16"),
    "threads": dict(),  # the other thread count (--threads 1: 2)
    "no_nan_fill": dict(nan_fill=False),
    "nan_fill": dict(nan_fill=True),
    "whole_batch": dict(micro=10**9),  # no slicing of large batches (genlab slices by CPU_MICRO_BATCH)
}
VARIANTS_AT = {
    ("deep_cnn", None, 128): ["channels_last", "fused_adam", "for-loop_adam", "bf16", "threads", "no_nan_fill", "nan_fill"],
    ("deep_cnn", None, 1024): ["bf16", "whole_batch"],
    ("width_cnn", 20, 128): ["fused_adam", "for-loop_adam", "bf16", "threads", "no_nan_fill", "nan_fill"],
    ("shallow_cnn", None, 128): ["channels_last", "fused_adam", "for-loop_adam", "bf16", "threads", "no_nan_fill", "nan_fill"],
    ("shallow_cnn", None, 32): ["for-loop_adam"],
}
# --tiny: each variant once, on small data, only to prove the code paths run.
TINY_VARIANTS_AT = {
    ("deep_cnn", None, 128): ["channels_last", "threads", "bf16", "whole_batch"],
    ("width_cnn", 20, 128): ["fused_adam", "for-loop_adam"],
    ("shallow_cnn", None, 128): ["bf16", "nan_fill"],
}
TARGET_RATIO = {"deep_cnn": 1.3, "width_cnn": 2.0, "shallow_cnn": 2.0}

results: list[dict] = []  # every number printed, for --out


def record(section: str, name: str, value: float, unit: str, target: str = "", ok: bool | None = None, **extra) -> str:
    status = "" if ok is None else ("PASS" if ok else "MISS")
    results.append(dict(section=section, name=name, value=value, unit=unit, target=target, status=status, **extra))
    return status


# ---------------------------------------------------------------- machine


def machine(args) -> dict:
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = re.search(r"^model name\s*:\s*(.*)$", cpuinfo, re.M)
    flags = set((re.search(r"^flags\s*:\s*(.*)$", cpuinfo, re.M) or ["", ""])[1].split())
    return {
        "cpu": model.group(1) if model else "unknown",
        "isa": " ".join(f for f in ("avx512f", "avx512_bf16", "amx_bf16") if f in flags) or "-",
        "cores": len(os.sched_getaffinity(0)),
        "torch": torch.__version__,
        "threads": args.threads,
        "device": f"cpu (cuda available: {torch.cuda.is_available()})",
        "loadavg_start": " ".join(Path("/proc/loadavg").read_text().split()[:3]),
    }


# ---------------------------------------------------------------- data


def load_data(data_root: str | None, n_train: int, n_test: int) -> tuple[Tensors, str]:
    """Real MNIST through genlab's own subset/tensor path when present, else random tensors."""
    if data_root and all(p.is_file() for p in raw_files(data_root)):
        subset = make_subset(data_root, {"n_train": n_train, "seed": 0, "random_labels": False})
        return load_tensors(data_root, subset, CPU, n_test=n_test), f"real MNIST from {data_root}"
    g = torch.Generator().manual_seed(0)
    x = torch.rand(n_train + n_test, 1, 28, 28, generator=g)
    y = torch.randint(0, 10, (n_train + n_test,), generator=g)
    return Tensors(x[:n_train], y[:n_train], x[n_train:], y[n_train:]), "synthetic tensors (no MNIST at --data-root)"


def sized(data: Tensors, n_train: int, n_eval: int) -> tuple[Tensors, Tensors]:
    """(training data, evaluation data) of one measured epoch; both splits evaluated on n_eval images."""
    train = Tensors(data.x_train[:n_train], data.y_train[:n_train], data.x_test[:n_eval], data.y_test[:n_eval])
    return train, data.head(n_eval, n_eval)


# ---------------------------------------------------------------- 1. training loops


def genlab_settings() -> str:
    """What genlab does today, so that a variant at ~1.00x reads as 'genlab already does this'."""
    cfg = TrainConfig("bench", "probe", 0, "deep_cnn", None, 1e-3, 64, 1, 1, 0, False)
    model = init_model(cfg, CPU)
    adam = make_optimizer(model, cfg).defaults
    torch.utils.deterministic.fill_uninitialized_memory = TORCH_NAN_FILL
    configure(torch.get_num_threads(), CPU)
    return (f"Adam fused={bool(adam.get('fused'))} foreach={adam.get('foreach')},"
            f" NaN fill={torch.utils.deterministic.fill_uninitialized_memory},"
            f" ReLU inplace={any(getattr(m, 'inplace', False) for m in model)}, precision={cfg.precision}")


def timed_epoch(train, evaluate) -> tuple[float, float, float, float]:
    """(wall train, wall total, CPU train, CPU total) seconds of one epoch.

    Under foreign load, wall time includes waiting for a core and CPU time does not: with one
    thread, CPU-time ratios are the steadier estimate of what an idle machine would show.
    """
    w0, c0 = time.perf_counter(), time.process_time()
    train()
    w1, c1 = time.perf_counter(), time.process_time()
    evaluate()
    w2, c2 = time.perf_counter(), time.process_time()
    return w1 - w0, w2 - w0, c1 - c0, c2 - c0


def genlab_runner(cfg: TrainConfig, threads: int, channels_last=False, adam: str | None = None,
                  nan_fill: bool | None = None, micro: int | None = None):
    """genlab's loop; the keyword arguments force a variant, None keeps genlab's own choice."""
    model = init_model(cfg, CPU)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    if adam is None:
        optimizer = make_optimizer(model, cfg)
    else:
        optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr, fused=adam == "fused", foreach=False)
    epochs = iter(range(10**9))

    def run(data: Tensors, eval_data: Tensors):
        torch.utils.deterministic.fill_uninitialized_memory = TORCH_NAN_FILL  # undo the previous runner's
        configure(threads, CPU)  # what train_job does: threads, deterministic kernels (and maybe the NaN fill)
        if nan_fill is not None:
            torch.utils.deterministic.fill_uninitialized_memory = nan_fill
        genlab.training.CPU_MICRO_BATCH = micro or GENLAB_MICRO_BATCH
        return timed_epoch(lambda: train_epoch(model, optimizer, data, cfg, next(epochs)),
                           lambda: evaluate_splits(model, eval_data, EVAL_BATCH_SIZE, cfg.precision))

    return run


def plain_runner(cfg: TrainConfig, threads: int):
    model = init_model(cfg, CPU)  # same initialisation as genlab's
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr)

    def run(data: Tensors, eval_data: Tensors):
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(False)  # ports do not ask for deterministic kernels
        return timed_epoch(lambda: plain_train(model, optimizer, data.x_train, data.y_train, cfg.batch_size),
                           lambda: plain_evaluate(model, data.x_test, data.y_test, cfg.batch_size))

    return run


def matmul_runner(threads: int, n: int = 2048, count: int = 3):
    """`count` fp32 n x n matmuls, timed like an epoch, so the rate is paired with the step it is compared to."""
    a, b = torch.rand(n, n), torch.rand(n, n)

    def run(*_):
        torch.set_num_threads(threads)
        return timed_epoch(lambda: [torch.mm(a, b) for _ in range(count)], lambda: None)

    run.flop = 2 * n**3 * count
    return run


def rotate(runners: dict, data: Tensors, eval_data: Tensors, warm: tuple[Tensors, Tensors], repeats: int) -> dict:
    """Warm each runner up (first-call allocations, oneDNN kernel selection), then time them in rotation."""
    for run in runners.values():
        run(*warm)
    times = {name: [] for name in runners}
    for _ in range(repeats):
        for name, run in runners.items():
            times[name].append(run(data, eval_data))
    return times


def paired(a: list, b: list, i: int) -> float:
    """Median over repeats of b[i] / a[i]: each against its neighbour in the same rotation."""
    return statistics.median(y[i] / x[i] for x, y in zip(a, b))


def bench_training(args, data: Tensors, alt_threads: int, tiny: bool) -> None:
    samples = TINY_SAMPLES if tiny else SAMPLES
    variants_at = TINY_VARIANTS_AT if tiny else VARIANTS_AT
    cases = [c for c in CASES if c[:3] in TINY_VARIANTS_AT] if tiny else CASES
    print(f"\n1. Training samples/s ({args.threads} thread(s); epoch = N samples + evaluation; median of {args.repeats})")
    print("   genlab: train_epoch on Tensors + evaluate_splits on fixed sets of N*eval_frac/2 train and test images")
    print("   plain:  DataLoader(TensorDataset, shuffle=True), .item() per step, one random test batch per epoch")
    print("   ratio: wall time, paired per rotation (PASS/MISS uses it); cpu: the same from process CPU time")
    print("   genlab's own settings: " + genlab_settings())
    head = (f"   {'arch':<12}{'w':>3}{'batch':>6}{'N':>6}  {'loop':<27}{'samples/s':>10}{'train-only':>11}{'GFLOP/s':>8}"
            f"  {'ratio':>6}{'cpu':>6}  {'vs':<7}{'target':<12}")
    print(head + "\n   " + "-" * (len(head) - 3))
    for arch, width, batch, lr in cases:
        n = samples[arch] if tiny else max(samples[arch], batch)
        n_eval = max(1, int(n * args.eval_frac / 2))
        cfg = TrainConfig("bench", arch, 0, arch, width, lr, batch, 1, n, 0, False)
        flops = train_flops_per_sample(build_model(arch, width))
        runners = {"genlab": genlab_runner(cfg, args.threads), "plain": plain_runner(cfg, args.threads)}
        for v in variants_at.get((arch, width, batch), []):
            opts = dict(VARIANTS[v])
            precision = opts.pop("precision", "fp32")
            threads = alt_threads if v == "threads" else args.threads
            label = f"variant {v}" + (f"={alt_threads}" if v == "threads" else "")
            runners[label] = genlab_runner(TrainConfig(**{**cfg.to_dict(), "precision": precision}), threads, **opts)
        if arch == "deep_cnn":
            runners["matmul"] = mm = matmul_runner(args.threads, *((512, 4) if tiny else (2048, 3)))
        times = rotate(runners, *sized(data, n, n_eval), sized(data, min(n, batch), min(n_eval, 100)), args.repeats)
        case = arch + (f" w{width}" if width else "") + f" b{batch}"
        for name, ts in times.items():
            if name == "matmul":
                continue
            rate = n / statistics.median(t[1] for t in ts)
            train_rate = n / statistics.median(t[0] for t in ts)
            line = (f"   {arch:<12}{width or '':>3}{batch:>6}{n:>6}  {name:<27}{rate:>10.0f}{train_rate:>11.0f}"
                    f"{train_rate * flops / 1e9:>8.1f}")
            extra = dict(case=case, arch=arch, width=width, batch=batch, loop=name, train_only_samples_s=train_rate,
                         gflops=train_rate * flops / 1e9)
            if name == "plain":
                record("training", f"{case} plain", rate, "samples/s", **extra)
                print(line)
                continue
            base = "plain" if name == "genlab" else "genlab"
            ratio = paired(ts, times[base], 1)
            cpu_ratio = None if "threads" in name else paired(ts, times[base], 3)  # CPU time sums the threads
            cpu = "-" if cpu_ratio is None else f"{cpu_ratio:.2f}"
            if name == "genlab":
                if arch == "deep_cnn":  # step GFLOP/s over matmul GFLOP/s, per rotation
                    extra["matmul_gflops"] = mm.flop / statistics.median(t[0] for t in times["matmul"]) / 1e9
                    extra["matmul_frac"] = statistics.median(
                        (n * flops / g[0]) / (mm.flop / m[0]) for g, m in zip(ts, times["matmul"]))
                target = TARGET_RATIO[arch]
                status = record("training", f"{case} genlab", rate, "samples/s", f">={target}x plain",
                                ratio >= target, ratio=ratio, cpu_ratio=cpu_ratio, **extra)
                print(line + f"  {ratio:>6.2f}{cpu:>6}  {'plain':<7}>={target}x {status}")
            else:
                record("variant", f"{case} {name}", rate, "samples/s", ratio=ratio, cpu_ratio=cpu_ratio, **extra)
                print(line + f"  {ratio:>6.2f}{cpu:>6}  genlab")


# ---------------------------------------------------------------- 2. FLOPs vs matmul


def matmul_gflops(threads: int, dtype=torch.float32, n: int = 2048, repeats: int = 5) -> float:
    a, b = torch.rand(n, n).to(dtype), torch.rand(n, n).to(dtype)
    torch.set_num_threads(threads)
    torch.mm(a, b)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        torch.mm(a, b)
        times.append(time.perf_counter() - t0)
    return 2 * n**3 / statistics.median(times) / 1e9


def check_flops() -> None:
    print("\n2a. FLOP count check (per image; analytic: conv/linear MACs * 2, training = 3x forward)")
    for arch, width in (("deep_cnn", None), ("width_cnn", 20), ("shallow_cnn", None)):
        model = build_model(arch, width)
        fwd = 2 * forward_macs(model)
        counted_fwd, counted_step = counted_flops(model)
        print(f"   {arch:<12} forward {fwd / 1e6:8.3f} MFLOP (FlopCounterMode {counted_fwd / 1e6:8.3f}, {counted_fwd / fwd:.3f}x);"
              f" training {3 * fwd / 1e6:8.3f} MFLOP (counted fwd+bwd {counted_step / 1e6:8.3f}, {counted_step / (3 * fwd):.3f}x)")
        assert abs(counted_fwd / fwd - 1) < 0.01, "analytic forward count disagrees with torch's"


def report_flops(args, alt_threads: int) -> None:
    n = 512 if args.tiny else 2048
    other = {f"fp32 {alt_threads} thread(s)": matmul_gflops(alt_threads, n=n),
             f"bf16 {args.threads} thread(s)": matmul_gflops(args.threads, torch.bfloat16, n=n)}
    print(f"\n2b. deep_cnn training step (genlab, train-only) vs fp32 matmul ({n}x{n} torch.mm, {args.threads} thread(s),"
          " timed in the same rotation)")
    print("   other matmul rates, for reference: " + ", ".join(f"{k} {v:.0f} GFLOP/s" for k, v in other.items()))
    for k, v in other.items():
        record("flops", f"matmul {k}", v, "GFLOP/s")
    for row in [r for r in results if r["section"] == "training" and r["loop"] == "genlab" and "matmul_frac" in r]:
        frac = row["matmul_frac"]
        status = record("flops", f"{row['case']} step / matmul", frac, "fraction", ">=0.70", frac >= 0.70)
        print(f"   deep_cnn batch {row['batch']:>5}: {row['gflops']:6.1f} GFLOP/s, matmul {row['matmul_gflops']:6.1f} GFLOP/s:"
              f" {frac:4.0%}   target >=70% {status}")


# ---------------------------------------------------------------- 3. measures


def bench_measures(args, data: Tensors, tiny: bool) -> None:
    configure(args.threads, CPU)
    n_eval, alphas, n_points = (100, [0.0, 1.0], 100) if tiny else (1000, [-1.0, 0.0, 1.0, 2.0], 1000)
    eval_data = data.head(n_eval, n_eval)
    cfg = TrainConfig("bench", "interp", 0, "deep_cnn", None, 1e-3, 64, 1, 1, 0, False)
    model = init_model(cfg, CPU)
    state_a = {k: v.clone() for k, v in model.state_dict().items()}
    state_b = init_model(TrainConfig(**{**cfg.to_dict(), "seed": 1}), CPU).state_dict()
    shallow = build_model("shallow_cnn")
    x = data.x_test[:n_points]
    t_interp, t_sens = [], []
    repeats = min(args.repeats, 3)  # each interpolation curve is ~8 s here
    for _ in range(repeats):  # in rotation, like everything else
        t0 = time.perf_counter()
        interpolation_curve(model, state_a, state_b, alphas, eval_data)
        t_interp.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        jacobian_norms(shallow, x)
        t_sens.append(time.perf_counter() - t0)
    ti, ts = statistics.median(t_interp), statistics.median(t_sens)
    print(f"\n3. Evaluation throughput ({args.threads} thread(s), median of {repeats})")
    print(f"   interpolation (deep_cnn, {n_eval}+{n_eval} images per alpha): {len(alphas) / ti:6.2f} alpha points/s, {len(alphas) * 2 * n_eval / ti:7.0f} images/s")
    print(f"   sensitivity (shallow_cnn, softmax Jacobian, {n_points} points):  {n_points / ts:6.0f} points/s")
    record("measures", "interpolation", len(alphas) / ti, "points/s", images_s=len(alphas) * 2 * n_eval / ti)
    record("measures", "sensitivity", n_points / ts, "points/s")


# ---------------------------------------------------------------- 4. peak RSS

# Peak RSS from VmHWM: ru_maxrss would be inherited from the (large) bench process across
# fork + exec, while VmHWM belongs to the child's own address space.
RSS_CHILD = """
import json, sys
def hwm_kib():
    return int(next(l for l in open("/proc/self/status") if l.startswith("VmHWM")).split()[1])
cfg, root, tmp, threads, micro = json.loads(sys.argv[1])
from genlab.data import subset_job, subset_spec
from genlab.fingerprint import data_fingerprint
from genlab.jobs import train_job
if micro:  # the bench variant: another slice size for large batches
    import genlab.training
    genlab.training.CPU_MICRO_BATCH = micro
after_imports = hwm_kib()
fingerprint = data_fingerprint(root)
subset_job(f"{tmp}/subset.pt", root, subset_spec(cfg["n_train"], cfg["data_seed"], cfg["permuted_labels"]), fingerprint)
train_job(cfg, f"{tmp}/subset.pt", root, f"{tmp}/ckpt.pt", f"{tmp}/history.csv", f"{tmp}/resume", fingerprint,
          threads=threads, device="cpu")
print(json.dumps([after_imports, hwm_kib()]))
"""


def bench_rss(args, data_root: str | None, scratch: Path, tiny: bool) -> None:
    # Full: the reference evaluation (whole subset + whole 10000-image test set each epoch).
    n_train, n_test = (256, 256) if tiny else (4096, None)
    if not (data_root and all(p.is_file() for p in raw_files(data_root))):
        data_root = str(write_mnist(scratch / "rss_mnist", n_train=n_train, n_test=10000))
    cfg = TrainConfig("bench", "rss", 0, "deep_cnn", None, 1e-2, 1024, 1, n_train, 0, False, eval_test_size=n_test)
    gb, floor, wall = rss_job(cfg, data_root, scratch, args.threads)
    status = record("memory", "peak RSS training job", gb, "GB", "<1.5 GB", gb < 1.5, wall_s=wall, after_imports_gb=floor)
    print(f"\n4. Peak RSS of a training job (train_job: deep_cnn, batch 1024, {n_train} images, 1 epoch,"
          f" eval on the subset + {n_test or 'all'} test images)")
    print(f"   {gb:.2f} GB (job wall {wall:.1f} s); {floor:.2f} GB of it already after importing torch + genlab   target <1.5 GB {status}")
    if not tiny:
        for name, job_cfg, micro in (("bf16", replace(cfg, precision="bf16"), None), ("whole_batch", cfg, 10**9)):
            v_gb, _, v_wall = rss_job(job_cfg, data_root, scratch, args.threads, micro)
            record("variant", f"peak RSS {name}", v_gb, "GB", wall_s=v_wall)
            print(f"   variant {name:<15} {v_gb:.2f} GB (job wall {v_wall:.1f} s)")


def rss_job(cfg: TrainConfig, data_root: str, scratch: Path, threads: int, micro: int | None = None) -> tuple[float, float, float]:
    """(peak GB, GB after imports, wall s) of train_job(cfg) in a fresh process."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(Path(__file__).parent)])}
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", RSS_CHILD, json.dumps([cfg.to_dict(), data_root, str(scratch), threads, micro])],
                         capture_output=True, text=True, env=env, check=True).stdout
    floor, peak = (kib * 1024 / 1e9 for kib in json.loads(out.split("\n")[-2]))
    return peak, floor, time.perf_counter() - t0


# ---------------------------------------------------------------- 5. workflow


def snakemake(workdir: Path, data_root: Path, *targets: str) -> tuple[float, str]:
    # Targets before --config: --config swallows the words that follow it.
    cmd = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "-d", str(workdir), "--cores", "2",
           *targets, "--configfile", str(REPO / "tests/tiny.yaml"), "--config", f"data_root={data_root}"]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode:
        raise RuntimeError(f"snakemake {' '.join(targets)} failed:\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}")
    return time.perf_counter() - t0, proc.stdout + proc.stderr


IMPORT_PROBE = """
import sys, time
t = [time.perf_counter()]
for m in ("snakemake.cli", "genlab.plan", "genlab.plots"):
    __import__(m)
    t.append(time.perf_counter())
print(*[b - a for a, b in zip(t, t[1:])], "torch" in sys.modules)
"""


def bench_workflow(args, scratch: Path, tiny: bool) -> None:
    data_root = write_mnist(scratch / "wf_mnist")
    workdir = scratch / "wf"
    targets = (FIGURE,) if tiny else ()  # tiny: only the figure's dependencies, to stay under 90 s
    scope = FIGURE if tiny else "all targets"
    t_build, _ = snakemake(workdir, data_root, *targets)
    noop, rebuild = [], []
    for _ in range(1 if tiny else min(args.repeats, 3)):
        t, log = snakemake(workdir, data_root, *targets)
        assert "Nothing to be done" in log, log[-2000:]
        noop.append(t)
        (workdir / FIGURE).unlink()
        t, log = snakemake(workdir, data_root, FIGURE)
        rules = re.findall(r"^(?:local)?rule (\w+):", log, flags=re.M)
        assert (workdir / FIGURE).is_file() and rules == ["plot_interpolation"], log[-2000:]
        rebuild.append(t)
    t_noop, t_fig = statistics.median(noop), statistics.median(rebuild)
    print(f"\n5. Workflow (tests/tiny.yaml, synthetic MNIST, --cores 2; first build of {scope}: {t_build:.1f} s;"
          f" median of {len(noop)})")
    s1 = record("workflow", "no-op rerun", t_noop, "s", "<3 s", t_noop < 3, scope=scope)
    s2 = record("workflow", "one-figure rebuild", t_fig, "s", "<10 s", t_fig < 10)
    print(f"   no-op rerun ({scope}): {t_noop:5.1f} s   target <3 s  {s1}")
    print(f"   rebuild {FIGURE} (plot_interpolation only): {t_fig:5.1f} s   target <10 s {s2}")
    if tiny:
        return
    # Where the time goes: each snakemake run parses the Snakefile, which imports genlab.plan;
    # the plot job imports genlab.plots. Timed cumulatively in one fresh process.
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    out = subprocess.run([sys.executable, "-c", IMPORT_PROBE], capture_output=True, text=True, env=env, check=True).stdout
    *times, torch_loaded = out.split()
    t_smk, t_plan, t_plots = map(float, times)
    print(f"   import times in a fresh python: snakemake.cli {t_smk:.1f} s, then genlab.plan (Snakefile parse) {t_plan:.1f} s,"
          f" then genlab.plots (plot job) {t_plots:.1f} s; torch loaded by them: {torch_loaded}")
    record("workflow", "import snakemake.cli", t_smk, "s")
    record("workflow", "import genlab.plan after snakemake.cli", t_plan, "s")
    record("workflow", "import genlab.plots after genlab.plan", t_plots, "s")


# ---------------------------------------------------------------- 6. flatness measure cost


def _secs(s: float) -> str:
    return f"{s * 1e3:.1f} ms" if s < 1 else f"{s:.2f} s" if s < 10 else f"{s:.0f} s"


def bench_measure_cost(args, data: Tensors, tiny: bool) -> None:
    """Section 6 (issue 11): HVP rate, each measure kind's time at the reference settings, measures / training."""
    from genlab.cli import check_config_files
    from genlab.estimate import duration
    from genlab.rates import Timing

    genlab.training.CPU_MICRO_BATCH = GENLAB_MICRO_BATCH  # a section-1 variant may have left another
    config = check_config_files([str(REPO / "config.yaml")])
    ref = measure_cost.reference(config)
    reduced = measure_cost.TINY if tiny else replace(measure_cost.FULL, repeats=min(args.repeats, measure_cost.FULL.repeats))
    measured = {(a, w): measure_cost.time_arch(a, w, data, ref, reduced, args.threads) for a, w in measure_cost.ARCHS}
    extra = {key: measure_cost.extrapolate(m, ref) for key, m in measured.items()}
    rows = [r for r in results if r["section"] == "training" and r.get("loop") == "genlab"]
    cals = measure_cost.step_calibrations(rows, {k: e["eval_s"] for k, e in extra.items()}, args.threads, ref["chunk"], tiny)
    timing = Timing(cals)
    n, land = reduced.n or ref["n_points"], 2 * (reduced.land_n or ref["land_train"])
    land_ref = (ref["land_train"] or ref["n_points"]) + (ref["land_test"] or ref["n_points"])
    print(f"\n6. Flatness measure cost ({args.threads} thread(s), as a workflow job with train_threads {args.threads};"
          f" chunks of eval_batch_size {ref['chunk']}; untrained networks; median of {reduced.repeats})")
    print(f"   reference (config.yaml measures): {ref['n_points']} points; hessian k {ref['k']}, iters {ref['iters']},"
          f" probes {ref['probes']}; keskar {len(ref['keskar_eps'])} eps x {ref['keskar_steps']} steps;"
          f" average sharpness {len(ref['average_sigma'])} sigmas x {ref['samples']} samples;"
          f" landscape {ref['points_1d']} + {ref['points_2d']}^2 points on {ref['land_train']} + {ref['land_test']} images")
    print("   EXTRAPOLATED: a reduced count of each kind is timed and scaled linearly to the reference counts"
          + (f", and from {n} to {ref['n_points']} points and {land} to {land_ref} landscape images" if tiny else "")
          + f"; Lanczos: + its reorthogonalisation (timed apart, quadratic in steps); Hutchinson: graph once + per probe,"
          f" from {reduced.probes[0]} and {reduced.probes[1]} probes; Lanczos and ascent at their max steps (upper bounds)")
    print(f"\n   6a. Hessian-vector products (genlab.measures.hessian.hvp over n points, chunk {ref['chunk']})")
    head = f"   {'arch':<12}{'w':>3}{'params':>10}{'n':>6}{'ms/HVP':>10}{'HVP/s':>9}{'images/s':>10}"
    print(head + "\n   " + "-" * (len(head) - 3))
    for (arch, width), m in measured.items():
        t = m["seconds"]["hvp"]
        print(f"   {arch:<12}{width or '':>3}{m['params']:>10}{m['n']:>6}{t * 1e3:>10.1f}{1 / t:>9.2f}{m['n'] / t:>10.0f}")
        record("measure_cost", f"{measure_cost.label(arch, width)} hvp", 1 / t, "HVP/s", arch=arch, width=width,
               params=m["params"], n_points=m["n"], chunk=ref["chunk"], threads=args.threads, ms_per_hvp=t * 1e3,
               images_s=m["n"] / t)
    print("\n   6b. One checkpoint at the reference settings (measured: the reduced count timed, its seconds;"
          " model: genlab.estimate's flatness formula on the same step and evaluation rates;"
          " the evaluation rate is the landscape's, so landscape agrees by construction)")
    head = (f"   {'arch':<12}{'w':>3}  {'kind':<18}{'measured':>18}{'s':>8}  {'per unit':<16}{'reference':<26}"
            f"{'extrapolated':>13}{'model':>10}")
    print(head + "\n   " + "-" * (len(head) - 3))
    for (arch, width), e in extra.items():
        model = measure_cost.model_per_checkpoint(arch, width, ref, timing)
        for kind in ("lanczos", "hutchinson", "hessian", "keskar", "average_sharpness", "landscape"):
            r = e["kinds"][kind]
            unit = f"{_secs(r['unit_s'])}/{r['unit']}" if r["unit"] else ""
            ms = model.get(kind)
            print(f"   {arch:<12}{width or '':>3}  {kind:<18}{r['measured']:>18}{r['measured_s']:>8.2f}  {unit:<16}"
                  f"{r['reference']:<26}{_secs(r['reference_s']):>13}{'-' if ms is None else _secs(ms):>10}")
            record("measure_cost", f"{measure_cost.label(arch, width)} {kind}", r["reference_s"], "s", arch=arch,
                   width=width, kind=kind, extrapolated=True, measured=r["measured"], measured_s=r["measured_s"],
                   unit_s=r["unit_s"], per=r["unit"], reference=r["reference"], measured_n_points=measured[(arch, width)]["n"],
                   scale_images=e["scale_land"] if kind == "landscape" else e["scale_n"], model_s=ms)
    cost = measure_cost.reference_cost(config, ref, extra, timing)
    sources = ", ".join(f"{measure_cost.label(c['arch'], c['width'])} {c['source']}" for c in cals)
    exps = ", ".join(f"{e} {k}" for e, k in cost["per_experiment_checkpoints"].items())
    print(f"\n   6c. Reference config (config.yaml): {cost['checkpoints']} measured checkpoints ({exps}),"
          f" {len(cost['landscapes'])} landscapes ({', '.join(cost['landscapes'])})")
    if cost["left_out"]:
        print(f"       left out (networks section 6 does not time): {', '.join(cost['left_out'])}")
    print("       per-checkpoint times of 6b; width_cnn widths between 2 and 20 interpolated linearly in forward FLOPs")
    kinds = ", ".join(f"{k} {duration(s)}" for k, s in cost["by_kind_s"].items())
    print(f"       measures: {kinds}; total {duration(cost['measures_s'])}"
          f" (genlab.estimate's model: {duration(cost['model_measures_s'])})")
    print(f"       training: {cost['training_runs']} runs, {duration(cost['training_s'])}"
          f" (steps {duration(cost['training_steps_s'])} + evaluation {duration(cost['training_eval_s'])};"
          f" genlab.cost.training_jobs; step rates: {sources}; evaluation: 6b's landscape rate)")
    print(f"       measures / training = {cost['fraction']:.2f}   (genlab.estimate's model: {cost['model_fraction']:.2f};"
          f" work only, no per-job fixed cost; one thread both sides; upper bounds both:"
          f" measures at max steps{', runs that stop once they fit at max epochs' if cost['training_upper_bound'] else ''})")
    record("measure_cost", "reference measures", cost["measures_s"], "s", extrapolated=True, checkpoints=cost["checkpoints"],
           landscapes=cost["landscapes"], by_kind_s=cost["by_kind_s"], by_experiment_s=cost["by_experiment_s"],
           model_s=cost["model_measures_s"], model_by_kind_s=cost["model_by_kind_s"])
    record("measure_cost", "reference training", cost["training_s"], "s", runs=cost["training_runs"],
           steps_s=cost["training_steps_s"], eval_s=cost["training_eval_s"], step_rates=sources,
           upper_bound=cost["training_upper_bound"])
    record("measure_cost", "reference measures / training", cost["fraction"], "fraction", extrapolated=True,
           model_fraction=cost["model_fraction"], threads=args.threads)


# ---------------------------------------------------------------- 7. threads per model


THREAD_CASES = (("deep_cnn", None), ("width_cnn", 20), ("width_cnn", 2), ("shallow_cnn", None))


def bench_threads(args, tiny: bool) -> None:
    """What a second thread buys each network (issue 9: do jobs get the threads their model can use?).

    Training steps at batch 128 and 1024 and an evaluation pass over 1000 images, genlab's model,
    fused Adam and job settings (configure), 1 and 2 threads alternating in rotation; random data.
    Two one-thread jobs side by side do 2.0x the work of one, so a second thread pays only where
    it gives close to 2x (or where one job would otherwise run alone).
    """
    import torch.nn.functional as F

    print("\n7. Threads per model: speedup of 2 threads over 1 (steps and evaluation; median of rotations)")
    batches = (32,) if tiny else (128, 1024)
    repeats = 2 if tiny else args.repeats
    x_eval = torch.randn(100 if tiny else 1000, 1, 28, 28)
    for arch, width in THREAD_CASES:
        cfg = TrainConfig(experiment="bench", run="threads", seed=0, arch=arch, width=width, lr=1e-3, batch_size=128,
                          epochs=1, n_train=1024, data_seed=0, permuted_labels=False)
        model = build_model(arch, width)
        opt = make_optimizer(model, cfg)
        cells = []
        for batch in (*batches, "eval"):
            x = x_eval if batch == "eval" else torch.randn(batch, 1, 28, 28)
            y = torch.randint(0, 10, (len(x),))

            def work():
                if batch == "eval":
                    with torch.no_grad():
                        model(x)
                    return
                opt.zero_grad()
                F.cross_entropy(model(x), y).backward()
                opt.step()

            times = {1: [], 2: []}
            steps = 1 if batch == 1024 else 5
            for _ in range(repeats):
                for threads in (1, 2):
                    configure(threads, CPU)
                    work()  # warm-up at this thread count
                    t0 = time.perf_counter()
                    for _ in range(steps):
                        work()
                    times[threads].append((time.perf_counter() - t0) / steps)
            speedup = statistics.median(a / b for a, b in zip(times[1], times[2]))
            label = "eval 1000" if batch == "eval" else f"batch {batch}"
            cells.append(f"{label} {speedup:.2f}x")
            record("threads", f"2 threads {arch}{'' if width is None else f' w{width}'} {label}", speedup, "x")
        print(f"   {arch + ('' if width is None else f' w{width}'):<16}" + ", ".join(cells))
    configure(args.threads, CPU)


# ---------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tiny", action="store_true", help="a few cases, small sizes: proves it works in < 90 s")
    parser.add_argument("--data-root", default="/work/shared/data", help="folder holding MNIST/raw/ (synthetic if absent)")
    # 1 by default: with other processes on a 2-core machine a 2-thread OpenMP team waits for its
    # descheduled thread at every op (the 'threads' variant rows show by how much).
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5, help="timed repeats per loop (--tiny: at most 3)")
    parser.add_argument("--eval-frac", type=float, default=0.25, help="genlab evaluates this fraction of N images per epoch")
    parser.add_argument("--out", help="also write every number to this .json or .csv")
    parser.add_argument("--only", choices=["measure_cost", "threads"], help="run one section alone (measure_cost calibrates the rates it needs)")
    args = parser.parse_args()
    if args.tiny:
        args.repeats = min(args.repeats, 3)
    t_start = time.perf_counter()
    alt_threads = 2 if args.threads == 1 else 1
    info = machine(args)
    samples = TINY_SAMPLES if args.tiny else SAMPLES
    data, source = load_data(args.data_root, max(samples.values()), 2000)
    info["data"] = source
    print("genlab bench" + (" --tiny" if args.tiny else ""))
    for k, v in info.items():
        print(f"   {k:<14}{v}")

    def timed(f, *a):
        t0 = time.perf_counter()
        f(*a)
        print(f"   ({time.perf_counter() - t0:.0f} s)")

    if not args.only:
        timed(bench_training, args, data, alt_threads, args.tiny)
        check_flops()
        report_flops(args, alt_threads)
        timed(bench_measures, args, data, args.tiny)
        with tempfile.TemporaryDirectory(prefix="genlab-bench-") as scratch:
            timed(bench_rss, args, args.data_root, Path(scratch), args.tiny)
            timed(bench_workflow, args, Path(scratch), args.tiny)
    if args.only in (None, "measure_cost"):
        timed(bench_measure_cost, args, data, args.tiny)
    if args.only in (None, "threads"):
        timed(bench_threads, args, args.tiny)

    print("\nVariants: speedup of genlab's loop with the change (same rotation; >1 helps)")
    by_variant: dict[str, list[str]] = {}
    for r in results:
        if r["section"] == "variant" and "loop" in r:
            by_variant.setdefault(r["loop"].removeprefix("variant "), []).append(f"{r['case']} {r['ratio']:.2f}x")
        elif r["section"] == "variant":  # peak RSS
            by_variant.setdefault(r["name"].removeprefix("peak RSS "), []).append(f"peak RSS {r['value']:.2f} GB")
    for name, cells in by_variant.items():
        print(f"   {name:<22}" + ", ".join(cells))

    print("\nTargets" + (" (--tiny: sizes far too small for these to mean anything)" if args.tiny else ""))
    for r in results:
        if r["status"]:
            print(f"   {r['status']:<5} {r['name']:<36} {r['value']:8.2f} {r['unit']:<10} (ratio {r['ratio']:.2f}x)  {r['target']}"
                  if "ratio" in r else f"   {r['status']:<5} {r['name']:<36} {r['value']:8.2f} {r['unit']:<10} {r['target']}")
    wall = time.perf_counter() - t_start
    cpu = sum(getattr(resource.getrusage(w), f) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN) for f in ("ru_utime", "ru_stime"))
    print(f"\nloadavg at end {' '.join(Path('/proc/loadavg').read_text().split()[:3])}; bench wall time {wall:.0f} s, CPU time {cpu:.0f} s")
    if args.out:
        write_out(Path(args.out), info, wall)


def write_out(path: Path, info: dict, wall: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".csv":
        keys = list(dict.fromkeys(k for r in results for k in r))
        with open(path, "w", newline="") as f:
            writer = csv.DictWriter(f, keys)
            writer.writeheader()
            writer.writerows(results)
    else:
        path.write_text(json.dumps({"machine": info, "wall_s": wall, "results": results}, indent=1))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
