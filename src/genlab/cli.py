"""`genlab`: look inside results and check inputs without running the workflow.

    genlab check-config config.yaml [presets/quick.yaml ...]   # merged like Snakemake's --configfile
    genlab check-mnist ../shared/data
    genlab fetch-mnist resources/data                          # download once (e.g. on a cluster's login node)
    genlab inspect results/runs/interpolation/A/seed0/checkpoint.pt
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import yaml

from . import plan
from .checkpoint import load_checkpoint
from .config import check_config, load_schema
from .errors import GenlabError
from .idx import SPLIT_FILES
from .mnist import ensure_mnist, load_split

SCHEMA = Path(__file__).resolve().parents[2] / "workflow" / "schemas" / "config.schema.yaml"


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
        raise GenlabError(f"{path}: not valid YAML{where}: {problem} (tabs are not allowed for indentation)" if "\t" in open(path).read() else f"{path}: not valid YAML{where}: {problem}") from None
    if data is None:
        raise GenlabError(f"{path}: empty config file (Snakemake rejects it too); write at least one key")
    if not isinstance(data, dict):
        raise GenlabError(f"{path}: a config file must map keys to values, this one holds a {type(data).__name__}")
    return data


def check_config_files(paths: list[str], schema: Path = SCHEMA) -> dict:
    merged: dict = {}
    for path in paths:
        _merge(merged, read_config_file(path))
    config = check_config(merged, load_schema(schema))
    plan.check(config)
    plan.check_against_data(config)
    return config


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
    args = parser.parse_args(argv)
    try:
        if args.command == "check-config":
            config = check_config_files(args.files)
            for experiment in plan.EXPERIMENTS:
                print(f"{experiment}: {len(plan.all_runs(config, experiment))} training jobs ({', '.join(plan.run_names(config, experiment))})")
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
