"""Fault injection: each bad input gets one line naming the culprit, before any training."""

from __future__ import annotations

import copy
import shutil
import struct
import subprocess

import pytest
import torch
import yaml

from genlab import plan
from genlab.checkpoint import load_checkpoint, save_checkpoint
from genlab.config import check_config, load_schema
from genlab.data import load_tensors, make_subset, subset_job, subset_spec
from genlab.errors import GenlabError
from genlab.experiments.interpolation import alphas, interpolation_job
from genlab.experiments.sensitivity import sensitivity_job
from genlab.fingerprint import data_fingerprint
from genlab.validate import check_against_data, validate
from genlab.jobs import train_job
from genlab.idx import raw_dir
from genlab.mnist import load_split
from genlab.models import build_model
from genlab.training import train
from helpers import tiny_config
from mnist_files import write_mnist
from workflow_runner import REPO, TINY, snakemake

SCHEMA = load_schema(REPO / "workflow/schemas/config.schema.yaml")
TINY_CONFIG = yaml.safe_load(TINY.read_text())


def _config(**changes):
    config = copy.deepcopy(TINY_CONFIG)
    for dotted, value in changes.items():
        *parents, key = dotted.split("__")
        node = config
        for p in parents:
            node = node[p]
        node[key] = value
    return config


def _check(**changes):
    return check_config(_config(**changes), SCHEMA)


CONFIG_CASES = [
    ("unknown top-level key", dict(foo=1), r"^unknown config key foo \(allowed here: .*data_root"),
    ("unknown nested key", dict(random_labels__lr_decay=0.5), r"^unknown config key random_labels\.lr_decay "),
    ("wrong type", dict(random_labels__epochs="ten"), r"^config key random_labels\.epochs: 'ten' is not of type integer$"),
    ("zero epochs", dict(params_vs_gen__epochs=0), r"^config key params_vs_gen\.epochs: 0 must be > 0$"),
    ("negative batch size in a list", dict(sensitivity__batch_sizes=[64, -1]), r"^config key sensitivity\.batch_sizes\.1: -1 must be > 0$"),
    ("zero learning rate", dict(interpolation__solution_b=dict(batch_size=64, lr=0)), r"^config key interpolation\.solution_b\.lr: 0 must be > 0$"),
    ("zero subset size", dict(sensitivity__n_train=0), r"^config key sensitivity\.n_train: 0 must be > 0$"),
    ("no seeds", dict(seeds=[]), r"^config key seeds: \[\] should be non-empty$"),
    ("unknown device", dict(device="tpu"), r"^config key device: 'tpu' is not one of \['auto', 'cpu', 'cuda'\]$"),
    ("unknown sensitivity output", dict(sensitivity__output="probits"), r"^config key sensitivity\.output: 'probits' is not one of"),
    ("empty zoo list", dict(zoo__width=[]), r"^config key zoo\.width: \[\] should be non-empty$"),
    ("unknown optimizer", dict(zoo__optimizer=["adam", "rmsprop"]), r"^config key zoo\.optimizer\.1: 'rmsprop' is not one of \['adam', 'sgd'\]$"),
    ("dropout of one", dict(zoo__dropout=[0.0, 1.0]), r"^config key zoo\.dropout\.1: 1\.0 must be < 1$"),
    ("negative dropout", dict(zoo__dropout=[-0.1]), r"^config key zoo\.dropout\.0: -0\.1 must be >= 0$"),
    ("zero target loss", dict(zoo__target_train_loss=0.0), r"^config key zoo\.target_train_loss: 0\.0 must be > 0$"),
]


@pytest.mark.parametrize("name,changes,message", CONFIG_CASES, ids=[c[0] for c in CONFIG_CASES])
def test_config_errors_name_the_key(name, changes, message):
    with pytest.raises(GenlabError, match=message):
        _check(**changes)


def test_alpha_range_must_be_increasing():
    config = _check(interpolation__alpha=dict(start=1.0, stop=0.0, step=0.5))
    with pytest.raises(GenlabError, match=r"^config key interpolation\.alpha: stop \(0\.0\) must be greater than start \(1\.0\)$"):
        alphas(config)


def test_subset_larger_than_the_split_fails_at_parse_time(mnist_root):
    config = _check(params_vs_gen__n_train=700, data_root=str(mnist_root))
    with pytest.raises(GenlabError, match=r"^config key params_vs_gen\.n_train: 700 exceeds the 600 training images in "):
        check_against_data(config)


def test_an_experiment_may_have_its_own_seeds():
    config = _check(seeds=[0], sensitivity__seeds=[3, 4])
    assert plan.all_runs(config, "sensitivity") == [("batch64", 3), ("batch64", 4), ("batch16", 3), ("batch16", 4)]
    assert plan.all_runs(config, "params_vs_gen") == [("width2", 0), ("width4", 0)]
    with pytest.raises(GenlabError, match=r"^config key sensitivity\.seeds: \[3, 3\] has non-unique elements$"):
        _check(sensitivity__seeds=[3, 3])


def test_unknown_run_is_named():
    with pytest.raises(GenlabError, match=r"^params_vs_gen: no run named 'width3' in the config \(runs: width2, width4\)$"):
        plan.train_config(_check(), "params_vs_gen", "width3", 0)


# ------------------------------------------------------------------ MNIST files


def _corrupt(root, name, data: bytes):
    (raw_dir(root) / name).write_bytes(data)


def _images_header(count):
    return struct.pack(">IIII", 2051, count, 28, 28)


MNIST_CASES = [
    ("missing file", lambda r: (raw_dir(r) / "train-images-idx3-ubyte").unlink(), "train", r"train-images-idx3-ubyte: MNIST file missing"),
    ("truncated images", lambda r: _corrupt(r, "train-images-idx3-ubyte", _images_header(600) + bytes(1000)), "train",
     r"train-images-idx3-ubyte: 1016 bytes, expected 470416 for the 600 images its header declares \(truncated or corrupt\)$"),
    ("truncated header", lambda r: _corrupt(r, "t10k-labels-idx1-ubyte", b"\x00\x00\x08"), "test",
     r"t10k-labels-idx1-ubyte: truncated: 3 bytes, an idx header needs 8$"),
    ("wrong magic number", lambda r: _corrupt(r, "t10k-images-idx3-ubyte", struct.pack(">IIII", 2049, 200, 28, 28) + bytes(200 * 784)), "test",
     r"t10k-images-idx3-ubyte: wrong magic number 2049, expected 2051 for this MNIST file$"),
    ("images and labels disagree", lambda r: _corrupt(r, "train-labels-idx1-ubyte", struct.pack(">II", 2049, 599) + bytes(599)), "train",
     r"train-labels-idx1-ubyte: 599 labels but train-images-idx3-ubyte holds 600 images$"),
    ("label out of range", lambda r: _corrupt(r, "t10k-labels-idx1-ubyte", struct.pack(">II", 2049, 200) + bytes([12]) * 200), "test",
     r"t10k-labels-idx1-ubyte: label 12 found, MNIST labels are 0\.\.9$"),
    ("wrong image size", lambda r: _corrupt(r, "train-images-idx3-ubyte", struct.pack(">IIII", 2051, 600, 32, 32) + bytes(600 * 1024)), "train",
     r"train-images-idx3-ubyte: images are 32x32, expected 28x28$"),
]


@pytest.mark.parametrize("name,damage,split,message", MNIST_CASES, ids=[c[0] for c in MNIST_CASES])
def test_bad_mnist_files_are_named(tmp_path, name, damage, split, message):
    root = write_mnist(tmp_path)
    damage(root)
    with pytest.raises(GenlabError, match=message):
        load_split(root, split)


# ------------------------------------------------------------------ checkpoints and training


def _planned(path):
    return torch.load(path, weights_only=True)["config"]


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory, mnist_root):
    folder = tmp_path_factory.mktemp("ckpt")
    paths = {}
    for name, cfg in {
        "width2": tiny_config(experiment="params_vs_gen", run="width2", arch="width_cnn", width=2, epochs=1),
        "width4": tiny_config(experiment="params_vs_gen", run="width4", arch="width_cnn", width=4, epochs=1),
        "sens": tiny_config(epochs=1),
    }.items():
        model = build_model(cfg.arch, cfg.width)
        paths[name] = folder / f"{name}.pt"
        save_checkpoint(paths[name], model, cfg, {"train_loss": 1.0, "train_accuracy": 0.5, "test_loss": 1.0, "test_accuracy": 0.5})
    subset_job(str(folder / "subset.pt"), mnist_root, subset_spec(200, 0), data_fingerprint(mnist_root))
    return paths, folder


def test_interpolating_different_architectures_fails(checkpoints, mnist_root, tmp_path):
    paths, folder = checkpoints
    with pytest.raises(GenlabError, match=r"width4\.pt: architecture width_cnn/4 cannot be interpolated with .*width2\.pt \(width_cnn/2\)$"):
        interpolation_job(
            str(paths["width2"]), str(paths["width4"]), _planned(paths["width2"]), _planned(paths["width4"]),
            str(folder / "subset.pt"), str(mnist_root), str(tmp_path / "o.csv"), [0.0], 10, 10, None,
        )


def test_sensitivity_on_a_checkpoint_of_another_experiment_fails(checkpoints, mnist_root, tmp_path):
    paths, _ = checkpoints
    with pytest.raises(GenlabError, match=r"width2\.pt: checkpoint has experiment='params_vs_gen', this step needs experiment='sensitivity'$"):
        sensitivity_job(str(paths["width2"]), _planned(paths["width2"]), str(mnist_root), str(tmp_path / "o.csv"), 10, "softmax", None)


def test_garbage_checkpoint_is_named(tmp_path):
    bad = tmp_path / "checkpoint.pt"
    bad.write_bytes(b"not a checkpoint at all")
    with pytest.raises(GenlabError, match=r"checkpoint\.pt: not a readable checkpoint"):
        load_checkpoint(bad)


def test_checkpoint_whose_weights_do_not_fit_is_named(checkpoints, tmp_path):
    paths, _ = checkpoints
    ckpt = torch.load(paths["width2"], weights_only=True)
    ckpt["config"]["width"] = 3  # claims width 3, holds width-2 weights
    torch.save(ckpt, tmp_path / "lying.pt")
    with pytest.raises(GenlabError, match=r"lying\.pt: weights do not fit architecture width_cnn \(width 3\): "):
        load_checkpoint(tmp_path / "lying.pt")


def test_code_in_a_checkpoint_is_refused(tmp_path):
    torch.save({"format": "genlab-checkpoint-1", "payload": shutil.copy}, tmp_path / "evil.pt")
    with pytest.raises(GenlabError, match=r"evil\.pt: not a readable checkpoint \(Weights only load failed"):
        load_checkpoint(tmp_path / "evil.pt")


def test_non_finite_loss_stops_training_at_its_epoch(mnist_root):
    cfg = tiny_config(epochs=50)
    data = load_tensors(mnist_root, make_subset(mnist_root, subset_spec(cfg.n_train, 0)), torch.device("cpu"), n_test=20)
    data.x_train[0, 0, 0, 0] = float("nan")  # one poisoned pixel
    with pytest.raises(GenlabError, match=r"^non-finite loss at epoch 1 of sensitivity/batch32 seed 0 \(arch shallow_cnn, lr 0\.001, batch 32\)"):
        train(cfg, data, data)


def test_subset_of_another_config_is_refused(checkpoints, mnist_root, tmp_path):
    _, folder = checkpoints
    cfg = tiny_config(n_train=150)
    with pytest.raises(GenlabError, match=r"subset\.pt: subset \{'n_train': 200, .*\} does not match the run's config \{'n_train': 150, "):
        train_job(cfg.to_dict(), str(folder / "subset.pt"), str(mnist_root), str(tmp_path / "c.pt"), str(tmp_path / "h.csv"), str(tmp_path), data_fingerprint(mnist_root))


def test_workflow_reports_a_config_error_in_one_line_before_any_job(tmp_path, mnist_root):
    bad = tmp_path / "bad.yaml"
    bad.write_text(TINY.read_text() + "\nlearning_rate: 0.1\n")
    result = snakemake(tmp_path, "-n", configfile=bad, data_root=mnist_root)
    assert result.returncode != 0
    lines = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    assert lines[-1].startswith("genlab: error: unknown config key learning_rate (allowed here:"), lines[-5:]
    assert "Traceback" not in result.stdout + result.stderr
    assert not (tmp_path / "results").exists()


# ------------------------------------------------------------------ issue 8: more bad input, one line each

MORE_CONFIG_CASES = [
    ("float subset size", dict(params_vs_gen__n_train=200.0), r"^config key params_vs_gen\.n_train: 200\.0 is not an integer \(write 200\)$"),
    ("float seed", dict(seeds=[0.0]), r"^config key seeds\.0: 0\.0 is not an integer \(write 0\)$"),
    ("float width", dict(params_vs_gen__widths=[2.0, 4]), r"^config key params_vs_gen\.widths\.0: 2\.0 is not an integer \(write 2\)$"),
    ("boolean as lower-case text", dict(warm_jobs="false"), r"^config key warm_jobs: 'false' is not a boolean \(write False\)$"),
    ("a list as config", None, r"^the config must be a mapping of keys to values, got list$"),
]


@pytest.mark.parametrize("name,changes,message", MORE_CONFIG_CASES, ids=[c[0] for c in MORE_CONFIG_CASES])
def test_more_config_errors_name_the_key(name, changes, message):
    with pytest.raises(GenlabError, match=message):
        check_config([1, 2], SCHEMA) if changes is None else _check(**changes)


def test_numbers_given_as_strings_are_numbers_where_the_schema_wants_one():
    """Snakemake's --config 'random_labels={epochs: 40}' hands over the string '40'."""
    config = _check(random_labels__epochs="40", random_labels__lr="1e-3", seeds=["0", "1"])
    assert config["random_labels"]["epochs"] == 40 and config["random_labels"]["lr"] == 0.001 and config["seeds"] == [0, 1]
    with pytest.raises(GenlabError, match=r"^config key random_labels\.epochs: '4\.5' is not of type integer$"):
        _check(random_labels__epochs="4.5")


def test_yaml11_exponents_are_numbers():
    """PyYAML reads 1e-3 as a string; where the schema wants a number it is one."""
    config = yaml.safe_load(TINY.read_text().replace("lr: 1.0e-3, batch_size: 32, epochs: 2,", "lr: 1e-3, batch_size: 32, epochs: 2,", 1))
    assert config["random_labels"]["lr"] == "1e-3"
    assert check_config(config, SCHEMA)["random_labels"]["lr"] == 0.001
    with pytest.raises(GenlabError, match=r"^config key random_labels\.lr: 'fast' is not of type number$"):
        _check(random_labels__lr="fast")


PLAN_CASES = [
    ("alpha step misses 0 and 1", dict(interpolation__alpha=dict(start=-1.0, stop=2.0, step=0.7)),
     r"^config key interpolation\.alpha\.step: 0\.7 does not divide \[-1\.0, 2\.0\]"),
    ("alpha step runs past stop", dict(interpolation__alpha=dict(start=-1.0, stop=2.0, step=0.8)),
     r"^config key interpolation\.alpha\.step: 0\.8 does not divide \[-1\.0, 2\.0\]"),
    ("too many alphas", dict(interpolation__alpha=dict(start=-1.0, stop=2.0, step=1e-7)),
     r"^config key interpolation\.alpha\.step: 1e-07 gives 30000001 points, at most 10001 allowed$"),
    ("batch larger than the subset", dict(random_labels__batch_size=500),
     r"^config key random_labels\.batch_size: batch size 500 exceeds random_labels\.n_train \(100\)$"),
    ("batch size in a list larger than the subset", dict(sensitivity__batch_sizes=[64, 128]),
     r"^config key sensitivity\.batch_sizes\.1: batch size 128 exceeds sensitivity\.n_train \(100\)$"),
    ("solution batch larger than the subset", dict(interpolation__solution_a=dict(batch_size=1024, lr=0.01)),
     r"^config key interpolation\.solution_a\.batch_size: batch size 1024 exceeds interpolation\.n_train \(100\)$"),
    ("zoo batch larger than the subset", dict(zoo__batch_size=[32, 200]),
     r"^config key zoo\.batch_size: batch size 200 exceeds zoo\.n_train \(100\)$"),
    ("zoo over 10000 runs unconfirmed", dict(zoo__width=list(range(1, 101)), zoo__depth=list(range(1, 102)), zoo__optimizer=["adam"]),
     r"^config key zoo: the grid has 10100 training runs \(10100 combinations x 1 seeds\), over 10000: pass --config zoo_confirm=True"),
]


@pytest.mark.parametrize("name,changes,message", PLAN_CASES, ids=[c[0] for c in PLAN_CASES])
def test_cross_key_errors_name_the_key(name, changes, message):
    with pytest.raises(GenlabError, match=message):
        validate(_config(**changes), against_data=False)


def test_cuda_without_cuda_fails_at_parse_time():
    from genlab.parsetime import check_device

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(GenlabError, match=r"^config key device: 'cuda' requested but no CUDA device is visible"):
        check_device("cuda")


def test_divergence_stops_the_run_naming_its_learning_rate(mnist_root):
    cfg = tiny_config(epochs=30, lr=1.0e9)
    data = load_tensors(mnist_root, make_subset(mnist_root, subset_spec(cfg.n_train, 0)), torch.device("cpu"), n_test=20)
    with pytest.raises(GenlabError, match=r"^(diverged|non-finite loss) at epoch \d+ of sensitivity/batch32 seed 0 \(arch shallow_cnn, lr 1000000000\.0, batch 32\)"):
        train(cfg, data, data)


@pytest.mark.parametrize("damage", [b"", b"PK\x03\x04 truncated", bytes(range(256)) * 40], ids=["empty", "truncated", "random"])
def test_unusable_resume_state_is_set_aside_and_training_starts_over(mnist_root, tmp_path, damage, caplog):
    cfg = tiny_config(epochs=1)
    data = load_tensors(mnist_root, make_subset(mnist_root, subset_spec(cfg.n_train, 0)), torch.device("cpu"), n_test=20)
    state = tmp_path / "state.pt"
    state.write_bytes(damage)
    with caplog.at_level("WARNING", logger="genlab"):
        fresh = train(cfg, data, data, resume_path=state)
    assert fresh.history == train(cfg, data, data).history
    assert not state.exists() and len(list(tmp_path.glob("state.pt.unusable-*"))) == 1
    assert any("unusable resume state" in r.message and "starting over" in r.message for r in caplog.records)


def test_stale_temporary_files_of_a_killed_save_are_removed(mnist_root, tmp_path):
    cfg = tiny_config(epochs=1)
    data = load_tensors(mnist_root, make_subset(mnist_root, subset_spec(cfg.n_train, 0)), torch.device("cpu"), n_test=20)
    state = tmp_path / "state.pt"
    stale = tmp_path / ".state.pt.abc123.tmp"
    stale.write_bytes(bytes(1000))
    other = tmp_path / ".other.pt.abc123.tmp"  # another run's save in progress: not ours to delete
    other.write_bytes(b"x")
    train(cfg, data, data, resume_path=state)
    assert not stale.exists() and other.exists()


def test_junk_row_in_a_history_is_named(tmp_path):
    from genlab.experiments.random_labels import plot

    history = tmp_path / "history.csv"
    history.write_text("epoch,train_loss,train_accuracy,test_loss,test_accuracy,seed,data_seed\n1,2.3,0.1,2.3,0.1,0,0\ngarbage\n")
    with pytest.raises(GenlabError, match=r"history\.csv: row 3, column epoch: 'garbage' is not a number$"):
        plot([str(history)], str(tmp_path / "a.png"), str(tmp_path / "b.png"))


def test_missing_mnist_without_network_is_one_line(tmp_path, monkeypatch):
    from genlab.mnist import ensure_mnist

    # No network: every proxy points at a closed local port, so the real download fails at once.
    for var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        monkeypatch.setenv(var, "http://127.0.0.1:9")
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    with pytest.raises(GenlabError, match=r"train-images-idx3-ubyte: MNIST file missing and the download failed \(.*\); set data_root"):
        ensure_mnist(tmp_path / "nothing-here")


def _mount_tmpfs(folder, options):
    folder.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.decode().strip()[:80]}); needs root")


def test_full_disk_is_one_line_naming_the_file(tmp_path):
    small = tmp_path / "small"
    _mount_tmpfs(small, "size=64k")
    try:
        cfg = tiny_config()
        with pytest.raises(GenlabError, match=r"checkpoint\.pt: no space left on device \(\d+ bytes free in .*small\)$"):
            save_checkpoint(small / "checkpoint.pt", build_model("shallow_cnn"), cfg, {})
        assert not list(small.glob(".*.tmp")), "a failed write leaves no temporary file"
    finally:
        subprocess.run(["umount", str(small)])


def test_read_only_resume_folder_fails_before_training(tmp_path, mnist_root):
    resume = tmp_path / "resume"
    _mount_tmpfs(resume, "ro,size=64k")
    try:
        cfg = tiny_config()
        with pytest.raises(GenlabError, match=r"resume/\.write-probe: cannot write \(Read-only file system\)$"):
            train_job(cfg.to_dict(), "unused-subset.pt", str(mnist_root), str(tmp_path / "c.pt"), str(tmp_path / "h.csv"), str(resume), data_fingerprint(mnist_root))
    finally:
        subprocess.run(["umount", str(resume)])


def test_a_job_refuses_another_checkout_s_package(tmp_path):
    from genlab.scripting import check_code_identity

    check_code_identity(REPO / "workflow" / "scripts")  # this workflow, this package: fine
    other = tmp_path / "other-checkout"
    (other / "src" / "genlab").mkdir(parents=True)
    (other / "workflow" / "scripts").mkdir(parents=True)
    with pytest.raises(GenlabError, match=r"^this job imported genlab from .*/src/genlab, not from its workflow's .*other-checkout/src/genlab; "):
        check_code_identity(other / "workflow" / "scripts")


def test_the_workflow_puts_its_own_package_first_for_jobs(monkeypatch):
    import os

    from genlab.parsetime import put_first_on_pythonpath

    monkeypatch.setenv("PYTHONPATH", "/elsewhere:/repo/src")
    put_first_on_pythonpath("/repo/src")
    assert os.environ["PYTHONPATH"].split(os.pathsep) == ["/repo/src", "/elsewhere"]
