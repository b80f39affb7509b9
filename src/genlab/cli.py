"""`genlab`: look inside results and check inputs without running the workflow.

    genlab check-config config.yaml [presets/quick.yaml ...]   # merged like Snakemake's --configfile
    genlab check-mnist ../shared/data
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
from .mnist import load_split

SCHEMA = Path(__file__).resolve().parents[2] / "workflow" / "schemas" / "config.schema.yaml"


def _merge(base: dict, update: dict) -> dict:
    for key, value in update.items():
        base[key] = _merge(base.get(key, {}), value) if isinstance(value, dict) and isinstance(base.get(key), dict) else value
    return base


def check_config_files(paths: list[str], schema: Path = SCHEMA) -> dict:
    merged: dict = {}
    for path in paths:
        with open(path) as f:
            _merge(merged, yaml.safe_load(f) or {})
    config = check_config(merged, load_schema(schema))
    plan.alphas(config)
    plan.check_against_data(config)
    return config


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="genlab", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("check-config", help="validate config files against the schema; print the runs they define")
    p.add_argument("files", nargs="+")
    p = sub.add_parser("check-mnist", help="read and check the four MNIST files under DIR/MNIST/raw")
    p.add_argument("data_root")
    p = sub.add_parser("inspect", help="print a checkpoint's config, metrics and parameter count as JSON")
    p.add_argument("checkpoint")
    args = parser.parse_args(argv)
    try:
        if args.command == "check-config":
            config = check_config_files(args.files)
            for experiment in plan.EXPERIMENTS:
                print(f"{experiment}: {len(plan.all_runs(config, experiment))} training jobs ({', '.join(plan.run_names(config, experiment))})")
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
