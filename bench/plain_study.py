"""The study (experiments 1-4) as one plain script, written the way ports of the homework are: the
baseline bench/e2e.py runs side by side with genlab's workflow on the same config.

    python bench/plain_study.py --configfile presets/quick.yaml --data-root ../shared/data --out-dir DIR [--threads N]

Same work as genlab's DAG for the targets random_labels, params_vs_gen, interpolation and
sensitivity: the same hyperparameters (config.yaml merged with --configfile, as Snakemake does;
only the config parsing is genlab's), the same networks, the same training subsets (drawn with
the same seeded permutation as genlab.data.make_subset), the same evaluation set sizes, the same
interpolation grid and sensitivity measure, and the same kind of outputs: CSVs and the seven
figures. Written as ports are: MNIST through torchvision into tensors, a DataLoader over a
TensorDataset, `.item()` of the loss and accuracy every step, the training metrics of an epoch
being the running mean over its batches, evaluation every epoch only where a figure needs it
(random labels: the test set), else once at the end of training. Everything runs in this one
process, one run after another, with torch's default thread count (or --threads).
Experiment 5 (corruption) is not ported.
"""

from __future__ import annotations

import time

T_START = time.perf_counter()

import argparse  # noqa: E402
import csv  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402
from torch.utils.data import DataLoader, TensorDataset  # noqa: E402

T_TORCH = time.perf_counter()

REPO = Path(__file__).resolve().parents[1]
EXPERIMENTS = ("random_labels", "params_vs_gen", "interpolation", "sensitivity")
RUN_COLUMNS = ["experiment", "run", "seed", "arch", "width", "n_train", "lr", "batch_size", "epochs", "n_params",
               "train_loss", "train_accuracy", "test_loss", "test_accuracy"]


# ---------------------------------------------------------------- config (genlab's parser: same values)


def load_config(configfiles: list[str], data_root: str) -> dict:
    sys.path.insert(0, str(REPO / "src"))
    from genlab.cli import check_config_files

    config = check_config_files([str(REPO / "config.yaml"), *configfiles])
    config["data_root"] = data_root
    return config


# ---------------------------------------------------------------- data


def load_mnist(data_root: str):
    from torchvision.datasets import MNIST

    train = MNIST(data_root, train=True, download=False)
    test = MNIST(data_root, train=False, download=False)
    to_x = lambda d: d.data.float().div(255).unsqueeze(1)  # noqa: E731  (N, 1, 28, 28)
    return to_x(train), train.targets.long(), to_x(test), test.targets.long()


def draw_subset(n_total: int, n_train: int, seed: int, labels: torch.Tensor, random_labels: bool):
    """The images genlab.data.make_subset draws (same generator, same order of draws), and their labels."""
    g = torch.Generator().manual_seed(seed)
    idx = torch.randperm(n_total, generator=g)[:n_train].sort().values
    y = labels[idx]
    if random_labels:
        y = y[torch.randperm(n_train, generator=g)]
    return idx, y


# ---------------------------------------------------------------- models


def deep_cnn():
    return nn.Sequential(nn.Conv2d(1, 16, 3), nn.ReLU(), nn.Conv2d(16, 32, 3), nn.ReLU(), nn.Conv2d(32, 64, 3), nn.ReLU(),
                         nn.Flatten(), nn.Linear(64 * 22 * 22, 128), nn.ReLU(), nn.Linear(128, 10))


def width_cnn(w):
    return nn.Sequential(nn.Conv2d(1, w, 3), nn.ReLU(), nn.Flatten(), nn.Linear(w * 26 * 26, w), nn.ReLU(), nn.Linear(w, 10))


def shallow_cnn():
    return nn.Sequential(nn.Conv2d(1, 16, 3), nn.ReLU(), nn.Flatten(), nn.Linear(16 * 26 * 26, 10))


# ---------------------------------------------------------------- train / evaluate


def train_one_epoch(model, loader, optimizer):
    model.train()
    losses, accs = [], []
    for xb, yb in loader:
        optimizer.zero_grad()
        out = model(xb)
        loss = F.cross_entropy(out, yb)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        accs.append((out.argmax(1) == yb).float().mean().item())
    return sum(losses) / len(losses), sum(accs) / len(accs)


def evaluate(model, x, y, batch_size):
    model.eval()
    total, correct = 0.0, 0
    with torch.no_grad():
        for xb, yb in DataLoader(TensorDataset(x, y), batch_size=batch_size):
            out = model(xb)
            total += F.cross_entropy(out, yb, reduction="sum").item()
            correct += (out.argmax(1) == yb).sum().item()
    return total / len(x), correct / len(x)


def train_run(model, x, y, lr, batch_size, epochs, seed, per_epoch=None):
    loader = DataLoader(TensorDataset(x, y), batch_size=batch_size, shuffle=True, generator=torch.Generator().manual_seed(seed))
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    history = []
    for epoch in range(1, epochs + 1):
        train_loss, train_acc = train_one_epoch(model, loader, optimizer)
        row = {"epoch": epoch, "train_loss": train_loss, "train_accuracy": train_acc}
        if per_epoch:
            row.update(per_epoch(model))
        history.append(row)
    return history


def final_metrics(model, x_tr, y_tr, x_te, y_te, eval_batch):
    train_loss, train_acc = evaluate(model, x_tr, y_tr, eval_batch)
    test_loss, test_acc = evaluate(model, x_te, y_te, eval_batch)
    return {"train_loss": train_loss, "train_accuracy": train_acc, "test_loss": test_loss, "test_accuracy": test_acc}


def n_params(model):
    return sum(p.numel() for p in model.parameters())


def write_csv(path: Path, rows: list[dict], columns: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)


# ---------------------------------------------------------------- the study


class Study:
    def __init__(self, config: dict, out: Path):
        self.config, self.out = config, out
        self.x_train, self.y_train, self.x_test, self.y_test = load_mnist(config["data_root"])
        self.eval_batch = config["eval_batch_size"]
        self.runs: list[dict] = []

    def subset(self, section: dict, random_labels: bool = False):
        idx, y = draw_subset(len(self.y_train), section["n_train"], self.config["data_seed"], self.y_train, random_labels)
        return self.x_train[idx], y

    def eval_sets(self, section: dict, x, y):
        n_tr, n_te = section.get("eval_train_size"), section.get("eval_test_size")
        return x[:n_tr], y[:n_tr], self.x_test[:n_te], self.y_test[:n_te]

    def record(self, experiment, run, seed, arch, width, section, lr, batch_size, model, metrics, epochs=None):
        self.runs.append({"experiment": experiment, "run": run, "seed": seed, "arch": arch, "width": width,
                          "n_train": section["n_train"], "lr": lr, "batch_size": batch_size,
                          "epochs": epochs or section["epochs"], "n_params": n_params(model), **metrics})

    def random_labels(self):
        s = self.config["random_labels"]
        x, y = self.subset(s, random_labels=True)
        _, _, x_te, y_te = self.eval_sets(s, x, y)
        rows = []
        for seed in self.config["seeds"]:
            torch.manual_seed(seed)
            model = deep_cnn()

            def test_metrics(m):
                loss, acc = evaluate(m, x_te, y_te, self.eval_batch)
                return {"test_loss": loss, "test_accuracy": acc}

            history = train_run(model, x, y, s["lr"], s["batch_size"], s["epochs"], seed, per_epoch=test_metrics)
            rows += [{**r, "seed": seed} for r in history]
            self.record("random_labels", "deep", seed, "deep_cnn", None, s, s["lr"], s["batch_size"], model,
                        {k: history[-1][k] for k in ("train_loss", "train_accuracy", "test_loss", "test_accuracy")})
        write_csv(self.out / "random_labels/history.csv", rows,
                  ["epoch", "train_loss", "train_accuracy", "test_loss", "test_accuracy", "seed"])
        import matplotlib.pyplot as plt

        for metric, name in (("loss", "Random_label_loss"), ("accuracy", "Random_label_accuracy")):
            fig, ax = plt.subplots()
            for seed in self.config["seeds"]:
                h = [r for r in rows if r["seed"] == seed]
                ax.plot([r["epoch"] for r in h], [r[f"train_{metric}"] for r in h], label=f"train seed {seed}")
                ax.plot([r["epoch"] for r in h], [r[f"test_{metric}"] for r in h], label=f"test seed {seed}")
            ax.set_xlabel("epoch")
            ax.set_ylabel(metric)
            ax.legend()
            fig.savefig(self.out / f"image/{name}.png")
            plt.close(fig)

    def params_vs_gen(self):
        s = self.config["params_vs_gen"]
        x, y = self.subset(s)
        sets = self.eval_sets(s, x, y)
        rows = []
        for w in s["widths"]:
            for seed in self.config["seeds"]:
                torch.manual_seed(seed)
                model = width_cnn(w)
                train_run(model, x, y, s["lr"], s["batch_size"], s["epochs"], seed)
                metrics = final_metrics(model, *sets, self.eval_batch)
                self.record("params_vs_gen", f"width{w}", seed, "width_cnn", w, s, s["lr"], s["batch_size"], model, metrics)
                rows.append({"width": w, "n_params": n_params(model), "seed": seed, **metrics})
        write_csv(self.out / "params_vs_gen/metrics.csv", rows,
                  ["width", "n_params", "seed", "train_loss", "train_accuracy", "test_loss", "test_accuracy"])
        import matplotlib.pyplot as plt

        for metric, name in (("loss", "Nbr_para_gen_loss"), ("accuracy", "Nbr_para_gen_accuracy")):
            fig, ax = plt.subplots()
            ax.scatter([r["n_params"] for r in rows], [r[f"train_{metric}"] for r in rows], label="train")
            ax.scatter([r["n_params"] for r in rows], [r[f"test_{metric}"] for r in rows], label="test")
            ax.set_xscale("log")
            ax.set_xlabel("number of parameters")
            ax.set_ylabel(metric)
            ax.legend()
            fig.savefig(self.out / f"image/{name}.png")
            plt.close(fig)

    def interpolation(self):
        s = self.config["interpolation"]
        x, y = self.subset(s)
        sets = self.eval_sets(s, x, y)
        a = s["alpha"]
        count = round((a["stop"] - a["start"]) / a["step"])
        alphas = [round(a["start"] + i * a["step"], 10) for i in range(count + 1)]
        x_a, y_a = x[: s["alpha_eval_train_size"]], y[: s["alpha_eval_train_size"]]
        x_at, y_at = self.x_test[: s["alpha_eval_test_size"]], self.y_test[: s["alpha_eval_test_size"]]
        rows = []
        for seed in self.config["seeds"]:
            states = {}
            for run, key in (("A", "solution_a"), ("B", "solution_b")):
                lr, batch = s[key]["lr"], s[key]["batch_size"]
                epochs = s[key].get("epochs") or s["epochs"]  # a solution may train for its own epochs
                torch.manual_seed(seed)
                model = deep_cnn()
                train_run(model, x, y, lr, batch, epochs, seed)
                self.record("interpolation", run, seed, "deep_cnn", None, s, lr, batch, model,
                            final_metrics(model, *sets, self.eval_batch), epochs)
                states[run] = {k: v.clone() for k, v in model.state_dict().items()}
            model = deep_cnn()
            for alpha in alphas:
                model.load_state_dict({k: (1 - alpha) * states["A"][k] + alpha * states["B"][k] for k in states["A"]})
                train_loss, train_acc = evaluate(model, x_a, y_a, self.eval_batch)
                test_loss, test_acc = evaluate(model, x_at, y_at, self.eval_batch)
                rows.append({"alpha": alpha, "train_loss": train_loss, "train_accuracy": train_acc,
                             "test_loss": test_loss, "test_accuracy": test_acc, "seed": seed})
        write_csv(self.out / "interpolation/curve.csv", rows,
                  ["alpha", "train_loss", "train_accuracy", "test_loss", "test_accuracy", "seed"])
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots()
        ax.plot([r["alpha"] for r in rows], [r["train_loss"] for r in rows], label="train loss")
        ax.plot([r["alpha"] for r in rows], [r["test_loss"] for r in rows], label="test loss")
        ax.set_yscale("log")
        acc = ax.twinx()
        acc.plot([r["alpha"] for r in rows], [r["train_accuracy"] for r in rows], "--", label="train accuracy")
        acc.plot([r["alpha"] for r in rows], [r["test_accuracy"] for r in rows], "--", label="test accuracy")
        ax.set_xlabel("alpha")
        ax.legend()
        fig.savefig(self.out / "image/Flatness_vs_gen_p1_inter.png")
        plt.close(fig)

    def sensitivity(self):
        s = self.config["sensitivity"]
        x, y = self.subset(s)
        sets = self.eval_sets(s, x, y)
        points = self.x_test[: s["n_points"]]
        rows = []
        for batch in s["batch_sizes"]:
            for seed in self.config["seeds"]:
                torch.manual_seed(seed)
                model = shallow_cnn()
                train_run(model, x, y, s["lr"], batch, s["epochs"], seed)
                metrics = final_metrics(model, *sets, self.eval_batch)
                self.record("sensitivity", f"batch{batch}", seed, "shallow_cnn", None, s, s["lr"], batch, model, metrics)
                # Frobenius norm of d f(x) / dx per point: one forward, one backward per output class.
                model.eval()
                xg = points.clone().requires_grad_(True)
                out = model(xg)
                if s["output"] == "softmax":
                    out = out.softmax(1)
                sq = torch.zeros(len(xg))
                for k in range(10):
                    (grad,) = torch.autograd.grad(out[:, k].sum(), xg, retain_graph=k < 9)
                    sq += grad.flatten(1).pow(2).sum(1)
                rows.append({"batch_size": batch, "seed": seed, "sensitivity": sq.sqrt().mean().item(), **metrics})
        write_csv(self.out / "sensitivity/summary.csv", rows,
                  ["batch_size", "seed", "sensitivity", "train_loss", "train_accuracy", "test_loss", "test_accuracy"])
        import matplotlib.pyplot as plt

        for metric, name in (("accuracy", "Flatness_vs_gen_p2_sens_acc"), ("loss", "Flatness_vs_gen_p2_sens_loss")):
            fig, ax = plt.subplots()
            ax.plot([r["batch_size"] for r in rows], [r[f"train_{metric}"] for r in rows], "o-", label=f"train {metric}")
            ax.plot([r["batch_size"] for r in rows], [r[f"test_{metric}"] for r in rows], "o-", label=f"test {metric}")
            ax.set_xscale("log", base=2)
            sens = ax.twinx()
            sens.plot([r["batch_size"] for r in rows], [r["sensitivity"] for r in rows], "s-r", label="sensitivity")
            ax.set_xlabel("batch size")
            ax.legend()
            fig.savefig(self.out / f"image/{name}.png")
            plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--configfile", nargs="*", default=[], help="merged on top of config.yaml, as snakemake --configfile")
    parser.add_argument("--data-root", required=True, help="folder holding MNIST/raw/")
    parser.add_argument("--out-dir", required=True)
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's own choice)")
    parser.add_argument("--experiments", nargs="+", default=list(EXPERIMENTS), choices=EXPERIMENTS)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    import matplotlib

    matplotlib.use("Agg")
    out = Path(args.out_dir)
    (out / "image").mkdir(parents=True, exist_ok=True)
    config = load_config(args.configfile, args.data_root)
    times = {"import_torch_s": T_TORCH - T_START}
    t0 = time.perf_counter()
    study = Study(config, out)
    times["load_s"] = time.perf_counter() - t0
    for name in args.experiments:
        t0 = time.perf_counter()
        getattr(study, name)()
        times[name] = time.perf_counter() - t0
        print(f"{name}: {times[name]:.1f} s", flush=True)
    write_csv(out / "runs.csv", study.runs, RUN_COLUMNS)
    times["total_s"] = time.perf_counter() - T_START
    (out / "timings.json").write_text(json.dumps({"threads": torch.get_num_threads(), **times}, indent=1))
    print(f"plain study: {times['total_s']:.1f} s in one process ({torch.get_num_threads()} threads)")


if __name__ == "__main__":
    main()
