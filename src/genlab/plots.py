"""What every figure shares: tables read through pandas, mean-and-band lines, atomic saving, and
the settings line under every title (which preset, how many images, epochs and seeds made it).

Figures are drawn from CSVs only, so every plotted number is in a file. With
several seeds a line is the mean over seeds and the shaded band spans their
minimum to maximum. The figures themselves live in their experiment's module.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # figures are files; no display on a cluster node
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from .atomic import save_figure  # noqa: E402
from .errors import GenlabError  # noqa: E402

TRAIN, TEST, SENS = "tab:blue", "tab:orange", "tab:green"
SEPARATOR = " \u00b7 "  # between the parts of a settings line
DECADE = 10.0  # positive values spanning more than this ratio get a log axis
SYMLOG_DECADES = 4  # a symlog axis shows at most this many decades below the largest |value| as such


def read_table(path: str | Path, required: Sequence[str] = (), as_text: bool = False) -> pd.DataFrame:
    """One CSV as a DataFrame; a missing column or a junk cell in a numeric column is one line naming the file.

    Numbers parse exactly (round trip); `as_text` keeps every cell as its text, for stacking tables unchanged.
    """
    try:
        # One read: as written (text) when stacking, else with types (floats parse round trip).
        df = pd.read_csv(path, dtype=str, keep_default_na=False) if as_text else pd.read_csv(path)
    except FileNotFoundError:
        raise GenlabError(f"{path}: table missing") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise GenlabError(f"{path}: not a readable CSV table ({str(exc).strip().splitlines()[0][:120]})") from None
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise GenlabError(f"{path}: column {', '.join(missing)} missing (has {', '.join(map(str, df.columns))})")
    for column in df.columns:
        cells = df[column]
        if pd.api.types.is_numeric_dtype(cells) or pd.api.types.is_bool_dtype(cells):
            continue
        present = cells.notna() & ~cells.isin(["", "nan", "NaN"])
        numbers = pd.to_numeric(cells.where(present), errors="coerce")
        junk = present & numbers.isna()
        # A column holding numbers and something else is a numeric column with junk; one of text is text.
        if junk.any() and numbers.notna().any():
            row = int(junk.idxmax())
            raise GenlabError(f"{path}: row {row + 2}, column {column}: {cells[row]!r} is not a number")
    return df


def read_tables(paths: Sequence[str | Path], required: Sequence[str] = ()) -> pd.DataFrame:
    """Same-shaped CSVs stacked; an empty result is an error naming the files."""
    frames = [read_table(path, required) for path in paths]
    df = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    if df.empty:
        raise GenlabError(f"no rows to plot in {', '.join(map(str, paths)) or '(no files)'}")
    return df


def mean_band(df: pd.DataFrame, x: str, y: str) -> pd.DataFrame:
    """Per x (sorted): the mean, min and max of y over the rows (seeds) that share it."""
    return df.groupby(x)[y].agg(["mean", "min", "max", "count"]).sort_index()


def line(ax, df: pd.DataFrame, x: str, y: str, label: str, color: str, marker: str | None = None, **style):
    stats = mean_band(df, x, y)
    (handle,) = ax.plot(stats.index, stats["mean"], label=label, color=color, marker=marker, markersize=4, **style)
    if stats["count"].max() > 1:
        ax.fill_between(stats.index, stats["min"], stats["max"], color=color, alpha=0.2, linewidth=0)
    return handle


def scale_y(ax, values) -> str:
    """Log y when the positive values span more than a decade; symlog when some values are also <= 0,
    linear within the decade of the smallest nonzero |value|, at most SYMLOG_DECADES below the
    largest (an eigenvalue of 1e-11 next to -100 is 0 at this scale). Returns the axis label's note."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    positive = values[values > 0]
    if len(positive) < 2 or positive.max() <= DECADE * positive.min():
        return ""
    if (values <= 0).any():
        magnitudes = np.abs(values[values != 0])
        smallest = max(magnitudes.min(), magnitudes.max() / 10.0**SYMLOG_DECADES)
        ax.set_yscale("symlog", linthresh=10.0 ** math.floor(math.log10(smallest)))
        return ", symlog scale"
    ax.set_yscale("log")
    return ", log scale"


def metric_axis(ax, rows: pd.DataFrame, metric: str, label: str) -> None:
    """The y axis of train and test `metric`: a loss on a log axis when it spans more than a decade
    (the label says so); an accuracy linear (its 0 to 1 is the scale that reads)."""
    note = scale_y(ax, rows[[f"train_{metric}", f"test_{metric}"]].to_numpy().ravel()) if metric == "loss" else ""
    ax.set_ylabel(label + note)


def seeds_note(df: pd.DataFrame, key: str = "seed") -> str:
    """What a line and its band are, with several seeds (one seed: the settings line names it)."""
    seeds = df[key].dropna().nunique() if key in df else 0
    return f" (mean and min-max over {seeds} seeds)" if seeds > 1 else ""


def _seeds_text(seeds: Sequence[int]) -> str:
    return f"seed{'s' * (len(seeds) > 1)} {', '.join(map(str, seeds))}"


def _epochs_text(configs) -> str:
    """"20 epochs", "epochs A 20, B 10" when runs differ; "at most" when runs stop once they fit."""
    by_run = {tc.run: tc.epochs for tc in configs}
    bound = "at most " if any(tc.fit_threshold is not None for tc in configs) else ""
    if len(set(by_run.values())) == 1:
        epochs = next(iter(by_run.values()))
        return f"{bound}{epochs} epoch{'s' * (epochs != 1)}"
    return f"{bound}epochs " + ", ".join(f"{run} {epochs}" for run, epochs in by_run.items())


def settings_line(config: dict, experiment: str) -> str:
    """The line under an experiment's figure titles: "quick preset · 1000 training images · 20 epochs · seeds 0, 1".

    From the runs' own training configs, so a run's override (interpolation's B epochs) shows.
    A figure copied out of the report still says which settings made it.
    """
    from . import experiments

    module, seeds = experiments.get(experiment), experiments.seeds(config, experiment)
    configs = [module.train_config(config, run, seeds[0]) for run in module.run_names(config[experiment])]
    parts = [f"{config['preset']} preset"]
    if configs:  # a plugin experiment may plan no run
        low, high = min(tc.n_train for tc in configs), max(tc.n_train for tc in configs)
        parts += [f"{low if low == high else f'{low}-{high}'} training images", _epochs_text(configs)]
    return SEPARATOR.join([*parts, _seeds_text(seeds)])


def measured_settings_line(config: dict, measured: Sequence[str]) -> str:
    """The line under a measure figure's title, whose points mix experiments:
    "quick preset · measured: params_vs_gen, sensitivity · seed 0"."""
    from . import experiments

    seeds = sorted({seed for name in measured for seed in experiments.seeds(config, name)})
    return SEPARATOR.join([f"{config['preset']} preset", f"measured: {', '.join(measured)}", _seeds_text(seeds)])


def titled(title: str, settings: str = "") -> str:
    """A title with the settings line under it (none: the title alone)."""
    return f"{title}\n{settings}" if settings else title


def legend_below(ax, handles=None, ncol: int = 4) -> None:
    """The legend under the axes (below the x label), never over the data; saved figures are cropped tight."""
    kwargs = {"handles": handles} if handles is not None else {}
    ax.legend(**kwargs, loc="upper center", bbox_to_anchor=(0.5, -0.2), fontsize="small", ncol=ncol, frameon=False)


@contextmanager
def figure(path: str | Path, title: str, figsize: tuple[float, float] = (6.4, 4.2), settings: str = "") -> Iterator:
    """A figure with one axis, titled (the settings line under the title), gridded and saved atomically on exit."""
    fig, ax = plt.subplots(figsize=figsize)
    try:
        yield ax
        ax.grid(True, alpha=0.3)
        ax.set_title(titled(title, settings))
        save_figure(fig, path)
    finally:
        plt.close(fig)
