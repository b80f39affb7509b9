"""`genlab`: look inside results and check inputs without running the workflow.

    genlab check-config config.yaml [presets/quick.yaml ...]   # merged like Snakemake's --configfile
    genlab check-mnist ../shared/data
    genlab fetch-mnist resources/data                          # download once (e.g. on a cluster's login node)
    genlab inspect results/runs/<experiment>/<run>/seed0/checkpoint.pt
    genlab estimate config.yaml presets/quick.yaml [--config key=value ...] [--device cpu|cuda] [--cores N]
    genlab compare runs/quick runs/cpu_hour                    # two finished runs: settings, claims, metrics
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import yaml

from . import experiments, plan
from .checkpoint import load_checkpoint
from .errors import GenlabError
from .idx import SPLIT_FILES
from .mnist import ensure_mnist, load_split
from .validate import SCHEMA, validate


def _merge(base: dict, update: dict) -> dict:
    for key, value in update.items():
        base[key] = _merge(base.get(key, {}), value) if isinstance(value, dict) and isinstance(base.get(key), dict) else value
    return base


def read_config_file(path: str) -> dict:
    """One config file as a mapping, or one line naming the file and what is wrong with it."""
    try:
        with open(path) as f:
            data = yaml.safe_load(f)
    except FileNotFoundError:
        raise GenlabError(f"{path}: config file not found") from None
    except OSError as exc:
        raise GenlabError(f"{path}: cannot read ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        hint = " (tabs are not allowed for indentation)" if "\t" in problem or "'\\t'" in problem else ""
        raise GenlabError(f"{path}: not valid YAML{where}: {problem}{hint}") from None
    if data is None:
        raise GenlabError(f"{path}: empty config file (Snakemake rejects it too); write at least one key")
    if not isinstance(data, dict):
        raise GenlabError(f"{path}: a config file must map keys to values, this one holds a {type(data).__name__}")
    return data


def check_config_files(paths: list[str], schema: Path = SCHEMA) -> dict:
    """The files merged as Snakemake's --configfile merges them, then genlab.validate (as the workflow)."""
    merged: dict = {}
    for path in paths:
        _merge(merged, read_config_file(path))
    return validate(merged, schema)


def parse_config_overrides(entries: list[str]) -> dict:
    """`--config key=value ...` as Snakemake parses it: int, float, True/False, YAML (strings), else the string."""
    import re

    overrides: dict = {}
    for entry in entries:
        key, sep, value = entry.partition("=")
        if not sep or not re.fullmatch(r"[a-zA-Z_][\w-]*\w", key):
            raise GenlabError(f"--config {entry!r}: expected key=value (config files go before --config)")
        parsed = None
        if value != "":
            for parser in (int, float, {"True": True, "False": False}.__getitem__,
                           lambda v: yaml.load(v, Loader=yaml.BaseLoader), str):
                try:
                    parsed = parser(value)
                    break
                except Exception:
                    pass
        _merge(overrides, {key: parsed})
    return overrides


def load_config(paths: list[str], overrides: dict | None = None) -> dict:
    """check_config_files(paths), with --config overrides merged last (as a file of their own)."""
    if not overrides:
        return check_config_files(paths)
    import tempfile

    with tempfile.TemporaryDirectory(prefix="genlab-config-") as tmp:
        extra = Path(tmp) / "--config.yaml"
        extra.write_text(yaml.safe_dump(overrides))
        return check_config_files([*paths, str(extra)])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="genlab", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("check-config", help="validate config files against the schema; print the runs they define")
    p.add_argument("files", nargs="+")
    p = sub.add_parser("check-mnist", help="read and check the four MNIST files under DIR/MNIST/raw")
    p.add_argument("data_root")
    p = sub.add_parser("fetch-mnist", help="download MNIST into DIR/MNIST/raw if a file is missing, and check it")
    p.add_argument("data_root")
    p = sub.add_parser("inspect", help="print a checkpoint's config, metrics and parameter count as JSON")
    p.add_argument("checkpoint")
    p = sub.add_parser("estimate", help="estimate the wall time of the planned jobs on this machine (a few seconds of calibration)")
    p.add_argument("files", nargs="*", help="config files, merged like --configfile (default: config.yaml)")
    p.add_argument("--config", nargs="+", default=[], metavar="KEY=VALUE", help="overrides, as snakemake --config")
    p.add_argument("--device", choices=("cpu", "cuda"), help="default: the config's device (auto: cuda when visible)")
    p.add_argument("--cores", type=int, default=os.cpu_count() or 1, help="snakemake --cores (default: all CPUs)")
    p.add_argument("--coarse", action="store_true", help="no calibration: the reference machine's throughputs")
    p.add_argument("--fixed-cost", type=float, help="seconds per job besides its work (default: measured)")
    p.add_argument("--jobs", action="store_true", help="also list every training and measuring job")
    p = sub.add_parser("compare", help="two finished runs side by side: settings that differ, claims, final metrics")
    p.add_argument("run_a", help="a run's folder (holding results/): . or one made with snakemake --directory")
    p.add_argument("run_b")
    args = parser.parse_args(argv)
    try:
        if args.command == "check-config":
            config = check_config_files(args.files)
            chosen = experiments.chosen(config)
            print(f"experiments that run: {', '.join(chosen)}")
            for experiment in chosen:
                print(f"{experiment}: {len(plan.all_runs(config, experiment))} training jobs ({', '.join(plan.run_names(config, experiment))})")
            skipped = [name for name in experiments.names() if name not in chosen]
            if skipped:
                print(f"not run (config key experiments): {', '.join(skipped)}")
        elif args.command == "estimate":
            from . import estimate

            config = load_config(args.files or [str(SCHEMA.parents[2] / "config.yaml")], parse_config_overrides(args.config))
            device = args.device or estimate.resolve_device(config["device"])
            estimate.run_cli(config, device, max(1, args.cores), args.coarse, args.fixed_cost, args.jobs)
        elif args.command == "compare":
            from .compare import compare

            print("\n".join(compare(args.run_a, args.run_b)))
        elif args.command == "fetch-mnist":
            for path in ensure_mnist(args.data_root):
                print(f"{path}: ok")
        elif args.command == "check-mnist":
            for split in SPLIT_FILES:
                print(f"{split}: {len(load_split(args.data_root, split).labels)} images, ok")
        else:
            ckpt = load_checkpoint(args.checkpoint)
            print(json.dumps({"config": ckpt["config"].to_dict(), "metrics": ckpt["metrics"], "n_params": ckpt["n_params"]}, indent=2))
    except GenlabError as error:
        print(f"genlab: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
