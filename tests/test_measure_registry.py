"""The registry of measure kinds: the interface of every kind, a kind added at run time, theta_0."""

import dataclasses
import textwrap

import pandas as pd
import pytest
import torch
import yaml
from torch import nn

from genlab import measures, plugins, training
from genlab.checkpoint import save_checkpoint
from genlab.config import TrainConfig, check_config, load_schema
from genlab.data import subset_job
from genlab.errors import GenlabError
from genlab.fingerprint import data_fingerprint
from genlab.measures import checks
from genlab.measures import plan as mp
from genlab.measures.context import MeasureContext
from genlab.measures.jobs import measure_job
from genlab.measures.rows import MEASURE_COLUMNS, ROW_COLUMNS
from genlab.measures.suite import run_measures
from genlab.validate import schema as merged_schema
from helpers import tiny_config, tiny_tensors
from workflow_runner import REPO, TINY

pytestmark = pytest.mark.usefixtures("one_thread")

SCHEMA = load_schema(REPO / "workflow/schemas/config.schema.yaml")


def reference() -> dict:
    return check_config(yaml.safe_load(open(REPO / "config.yaml")), SCHEMA)


def test_every_builtin_kind_exports_the_interface():
    assert measures.names()[: len(measures.BUILTIN)] == list(measures.BUILTIN)
    section = reference()["measures"]
    for kind in measures.BUILTIN:
        module = measures.get(kind)
        assert module.NAME == kind
        assert isinstance(module.KEYS, tuple) and all(isinstance(key, str) for key in module.KEYS)
        assert module.SCHEMA is None  # built-in keys live in the workflow's schema
        assert isinstance(module.PER_CHECKPOINT, bool)
        for name in ("check", "run", "cost", "is_sharpness", "names"):
            assert callable(getattr(module, name)), (kind, name)
        module.check(section, reference())
        assert all(measures.kind_of(name) == kind for name in module.names(section))
        assert module.cost(section, 60000, 10000, 1e-3, 1e-4) > 0
    assert measures.checkpoint_kinds() == ["hessian", "keskar", "average_sharpness", "norms", "pacbayes", "optimisation"]
    # Jiang et al.'s kinds are there to be chosen, not computed by default: the presets' cost stays.
    assert measures.per_checkpoint(reference()) == ["hessian", "keskar", "average_sharpness"]
    with pytest.raises(GenlabError, match="unknown measure kind 'flatness', expected one of hessian"):
        measures.get("flatness")


def test_the_kinds_keys_partition_the_measures_section():
    keys = list(SCHEMA["properties"]["measures"]["properties"])
    owned = [key for kind in measures.BUILTIN for key in measures.get(kind).KEYS]
    assert len(owned) == len(set(owned)), "a key owned by two kinds"
    assert sorted(owned + list(measures.SHARED_KEYS)) == sorted(keys)


def test_sharpness_is_the_top_eigenvalue_and_keskar():
    yes = ["hessian_eig1", "keskar_0.001", "keskar_0.0005", "keskar_1e-05"]
    no = ["hessian_eig2", "hessian_eig_min", "hessian_trace", "hessian_trace_conv1", "average_sharpness_0.001",
          "sensitivity", "landscape"]
    assert [measures.is_sharpness(n) for n in yes] == [True] * len(yes)
    assert [measures.is_sharpness(n) for n in no] == [False] * len(no)
    assert measures.sharpness_names(reference()) == ["hessian_eig1", "keskar_0.001", "keskar_0.0005"]
    assert [measures.kind_of(n) for n in ("hessian_trace_dense1", "average_sharpness_0.01", "sensitivity")] == [
        "hessian", "average_sharpness", None
    ]


def test_costs_are_the_estimates_formulas():
    section, grad, ev = reference()["measures"], 3e-4, 2e-5
    n, h, land = section["n_points"], section["hessian"], section["landscape"]
    # Each as genlab.estimate wrote it before the kinds had a cost of their own: n_points x (0.0 + term).
    assert measures.get("hessian").cost(section, 5000, 10000, grad, ev) == n * (0.0 + 2 * (h["iters"] + h["probes"]) * grad)
    assert measures.get("keskar").cost(section, 5000, 10000, grad, ev) == n * (0.0 + 2 * section["keskar_steps"] * grad)
    assert measures.get("average_sharpness").cost(section, 5000, 10000, grad, ev) == n * (0.0 + 2 * 21 * ev)
    points = land["points_1d"] + land["points_2d"] ** 2
    assert measures.get("landscape").cost(section, 5000, 10000, grad, ev) == points * (1000 + 1000) * ev
    whole = {**section, "landscape": {**land, "eval_train_size": None, "eval_test_size": None}}
    assert measures.get("landscape").cost(whole, 5000, 10000, grad, ev) == points * (5000 + 10000) * ev


# A researcher's own measure kind, in a file of its own: the L2 norm of the parameters.
TOY = textwrap.dedent('''
    KIND = "measure"
    NAME = "param_norm"
    KEYS = ("param_norm_power",)
    SCHEMA = {"param_norm_power": {"type": "number", "exclusiveMinimum": 0, "default": 2.0,
                                   "description": "p of the p-norm of all parameters"}}
    PER_CHECKPOINT = True


    def check(section, config):
        pass


    def run(model, data, context):
        import torch

        from genlab.measures.rows import row

        p = context.options["param_norm_power"]
        flat = torch.cat([w.detach().reshape(-1) for w in model.parameters()])
        value = flat.abs().pow(p).sum().pow(1 / p).item()
        return [row(NAME, value, len(data[0]))]  # the row's keys from genlab, whatever columns it adds


    def cost(section, n_train, n_test, grad_s, eval_s):
        return 0.0


    def is_sharpness(measure_name):
        return False


    def names(section):
        return [NAME]
''')


@pytest.fixture
def toy(tmp_path, monkeypatch):
    """The toy kind, loaded from its file as the workflow loads plugins; unregistered afterwards."""
    monkeypatch.setattr(measures._REGISTRY, "plugins", {})
    path = tmp_path / "param_norm.py"
    path.write_text(TOY)
    (module,) = plugins.load([str(path)])
    return module


def test_a_kind_registered_at_run_time_is_run_by_the_suite(toy):
    assert measures.names() == [*measures.BUILTIN, "param_norm"] and measures.get("param_norm") is toy
    measures.register(toy)  # the same module again: a no-op
    net = nn.Linear(2, 1)
    with torch.no_grad():
        net.weight.copy_(torch.tensor([[3.0, 0.0]]))
        net.bias.copy_(torch.tensor([4.0]))
    x, y = torch.zeros(5, 2), torch.zeros(5, dtype=torch.long)
    options = {"measures": ["param_norm"], "n_points": 5, "seed": 0, "param_norm_power": 2.0}
    context = MeasureContext(cfg=None, options=options, seed=0, chunk_size=2, n_train=5, subset=None)
    (row,) = run_measures(net, (x, y), context)
    assert list(row) == ROW_COLUMNS and row["measure"] == "param_norm" and row["value"] == pytest.approx(5.0)
    l1 = dataclasses.replace(context, options={**options, "param_norm_power": 1.0})
    assert run_measures(net, (x, y), l1)[0]["value"] == pytest.approx(7.0)


def test_a_registered_kind_writes_its_rows_in_the_measure_job(toy, mnist_root, tmp_path):
    cfg = tiny_config(seed=1, n_train=40)
    fingerprint = data_fingerprint(mnist_root)
    subset = tmp_path / "subset.pt"
    subset_job(str(subset), str(mnist_root), cfg.subset(), fingerprint)
    model = training.init_model(cfg, torch.device("cpu"))
    checkpoint = tmp_path / "checkpoint.pt"
    save_checkpoint(checkpoint, model, cfg, {}, data=fingerprint["digest"])
    options = {"measures": ["keskar", "param_norm"], "n_points": 10, "seed": 0, "keskar_eps": [1e-3], "keskar_steps": 2,
               "keskar_lr": 0.1, "param_norm_power": 2.0}
    out = tmp_path / "measures.csv"
    measure_job(str(checkpoint), cfg.to_dict(), str(subset), str(mnist_root), str(out), options, fingerprint, device="cpu")
    table = pd.read_csv(out)
    assert list(table.columns) == MEASURE_COLUMNS and list(table["measure"]) == ["keskar_0.001", "param_norm"]
    expected = torch.cat([w.reshape(-1) for w in model.state_dict().values()]).norm().item()
    assert table["value"].iloc[1] == pytest.approx(expected, rel=1e-6) and table["n_points"].iloc[1] == 10


def test_a_registered_kind_joins_the_config(toy):
    raw = {**yaml.safe_load(open(REPO / "config.yaml")), **yaml.safe_load(open(TINY))}
    raw["measures"]["measures"] = ["hessian", "param_norm"]
    config = check_config(raw, merged_schema())  # its SCHEMA extends the measures section, with its default
    checks.check(config)
    assert config["measures"]["param_norm_power"] == 2.0
    assert measures.per_checkpoint(config) == ["hessian", "param_norm"]
    options = mp.measure_options(config)
    assert options["measures"] == ["hessian", "param_norm"] and options["param_norm_power"] == 2.0
    assert "keskar_eps" not in options and measures.measure_names(config)[-1] == "param_norm"
    with pytest.raises(GenlabError, match="param_norm_power: 0 must be > 0"):
        check_config({**raw, "measures": {**raw["measures"], "param_norm_power": 0}}, merged_schema())


def test_register_refuses_a_taken_name_a_taken_key_or_a_missing_function(toy, tmp_path):
    for source, message in (
        (TOY.replace('NAME = "param_norm"', 'NAME = "keskar"'), "measure kind 'keskar' is registered already"),
        (TOY.replace('NAME = "param_norm"', 'NAME = "norm2"').replace('("param_norm_power",)', '("samples",)'),
         "config key measures.samples of kind 'norm2' is owned by average_sharpness already"),
        (TOY.replace('NAME = "param_norm"', 'NAME = "norm3"').replace("def cost(", "def _cost("), "'norm3' lacks cost"),
        (TOY.replace('NAME = "param_norm"', 'NAME = "norm 4"'), "needs NAME, an identifier"),
    ):
        path = tmp_path / f"bad_{len(list(tmp_path.iterdir()))}.py"
        path.write_text(source)
        with pytest.raises(GenlabError, match=message):
            measures.register(plugins.import_file(path))
    assert measures.names() == [*measures.BUILTIN, "param_norm"]


def test_initial_state_is_the_weights_training_started_from(mnist_root, monkeypatch):
    cfg = tiny_config(seed=3, epochs=1, n_train=64)
    data = tiny_tensors(mnist_root, cfg, n_test=16)
    started = {}
    make_optimizer = training.make_optimizer

    def capture(model, run_cfg):  # train builds its optimizer right after the model, before any step
        started.update({k: v.detach().clone() for k, v in model.state_dict().items()})
        return make_optimizer(model, run_cfg)

    monkeypatch.setattr(training, "make_optimizer", capture)
    trained = training.train(cfg, data, data).model.state_dict()
    # The context holds the config as a checkpoint gives it back.
    context = MeasureContext(cfg=TrainConfig.from_dict(cfg.to_dict()), options={}, seed=0, chunk_size=64,
                             n_train=len(data.y_train), subset=data)
    rng = torch.get_rng_state()
    theta_0 = context.initial_state()
    assert torch.equal(torch.get_rng_state(), rng), "re-creating theta_0 must not move the global random stream"
    assert started and list(theta_0) == list(started)
    assert all(torch.equal(theta_0[k], started[k]) for k in started)
    assert any(not torch.equal(theta_0[k], trained[k]) for k in started), "training moved the weights"
    other = dataclasses.replace(context, cfg=dataclasses.replace(context.cfg, seed=4)).initial_state()
    assert any(not torch.equal(other[k], theta_0[k]) for k in started)
