"""RNNForecaster with its defaults (LSTM, and the GRU variant) against Theta, AutoARIMA and SeasonalNaive.

Run:  TSRNN_DATA_MIRROR=../shared/datasets OMP_NUM_THREADS=1 nice .venv/bin/python benchmarks/retail_rnn.py
      [--suite retail|m4|sales|intermittent|all] [--stride 16] [--out PATH]

- retail: Australian retail turnover (``load_retail``, monthly, m=12): every ``stride``-th series with at least
  60 months, 2 expanding windows of 12 months, refitted each window.
- m4: every 80th M4 Hourly series (6 series), the competition's 48-step test (one window), m=24.
- sales: ``make_sales(n_series=10)`` (daily, some intermittent), the last 28 days (one window), m=7.
- intermittent: a generated intermittent Poisson panel (20 series, 300 days, demand on about 30 % of the days,
  sizes with a slow random level) and the intermittent items of ``make_sales``:
  ``RNNForecaster(distribution="negbin")`` against the Croston family (tsrnn's when it is there, else a
  hand-written SBA; the Markdown says which).

The sizes are small because the run shares 2 cores with other work; they are what was measured.

Every model runs with its defaults (the networks with ``random_state=0`` only) and the period given explicitly to
the classical models. CPU seconds are process time of the whole backtest of each model (fit and predict of all
windows), one model at a time, in one process. Writes ``benchmarks/results/retail_rnn.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from tsrnn.backtest import backtest  # noqa: E402
from tsrnn.base import BaseForecaster  # noqa: E402
from tsrnn.datasets import load_m4, load_retail, make_sales  # noqa: E402
from tsrnn.models import AutoARIMA, Naive2, RNNForecaster, SeasonalNaive, Theta  # noqa: E402

OUT = ROOT / "benchmarks" / "results" / "retail_rnn.md"


class HandSBA(BaseForecaster):
    """Syntetos-Boylan approximation of Croston's method (alpha = 0.1 for sizes and intervals), flat forecast
    ``(1 - alpha / 2) z / p``; used only when tsrnn's Croston family is not installed."""

    def __init__(self, alpha: float = 0.1):
        self.alpha = alpha

    def _fit_series(self, y, X):
        z = p = None
        gap = 0
        for v in y:
            gap += 1
            if v > 0:
                z = v if z is None else z + self.alpha * (v - z)
                p = gap if p is None else p + self.alpha * (gap - p)
                gap = 0
        return 0.0 if z is None else (1 - self.alpha / 2) * z / p

    def _predict_series(self, state, h, X, levels):
        return np.full(h, state), {}


def croston_family() -> tuple[dict, str]:
    try:
        from tsrnn.models import ADIDA, IMAPA, TSB, Croston
    except ImportError:
        return {"SBA (hand-written)": HandSBA()}, "tsrnn's Croston family is not on this branch: a hand-written SBA"
    return ({"Croston": Croston(), "SBA": Croston(method="sba"), "TSB": TSB(), "ADIDA": ADIDA(), "IMAPA": IMAPA()},
            "tsrnn's Croston family (`tsrnn.models.intermittent`)")


def run(models: dict, data, **kw) -> tuple[pd.DataFrame, dict]:
    """One backtest per model (so that each model's CPU seconds are its own), then one leaderboard."""
    frames, cpu = [], {}
    for name, est in models.items():
        t = time.process_time()
        res = backtest({name: est}, data, progress=False, **kw)
        cpu[name] = time.process_time() - t
        frames.append(res.scores)
    scores = pd.concat(frames, ignore_index=True)
    table = scores.pivot_table(index="model", columns="metric", values="value", aggfunc="mean", sort=False)
    table["cpu_s"] = pd.Series(cpu)
    return table.reindex(list(models)), cpu


def networks(**kw) -> dict:
    return {"RNN (LSTM, defaults)": RNNForecaster(random_state=0, **kw),
            "RNN (GRU, defaults)": RNNForecaster(cell="gru", random_state=0, **kw)}


def retail(stride: int):
    data = load_retail()
    data = data[0] if isinstance(data, tuple) else data
    sizes = data.groupby("unique_id").size()
    keep = sizes.index[sizes >= 60][::stride]
    data = data[data.unique_id.isin(keep)]
    models = {**networks(), "Theta": Theta(season_length=12), "AutoARIMA": AutoARIMA(season_length=12),
              "SeasonalNaive": SeasonalNaive(12)}
    table, _ = run(models, data, h=12, n_windows=2, metrics=("mase", "smape"), season_length=12)
    return (f"## Australian retail (monthly, every {stride}th series with >= 60 months: {len(keep)} series; "
            "2 expanding windows of 12 months)", table)


def m4(stride: int = 80):
    train, test = load_m4("Hourly")
    keep = train["unique_id"].unique()[::stride]
    data = pd.concat([train, test], ignore_index=True)
    data = data[data.unique_id.isin(keep)].sort_values(["unique_id", "ds"], kind="stable")
    models = {**networks(), "Theta": Theta(season_length=24), "SeasonalNaive": SeasonalNaive(24),
              "Naive2": Naive2(season_length=24)}
    table, _ = run(models, data, h=48, n_windows=1, metrics=("mase", "smape"), season_length=24)
    return f"## M4 Hourly (every {stride}th series: {len(keep)} series; the official 48-step test)", table


def sales():
    data = make_sales(n_series=10)
    models = {**networks(), "RNN (negbin)": RNNForecaster(distribution="negbin", random_state=0),
              "Theta": Theta(season_length=7), "AutoARIMA": AutoARIMA(season_length=7),
              "SeasonalNaive": SeasonalNaive(7)}
    table, _ = run(models, data, h=28, n_windows=1, metrics=("mase", "smape"), season_length=7)
    return "## make_sales (10 daily series, 730 days; the last 28 days)", table


def intermittent_panel(n_series=20, n=300, seed=0) -> pd.DataFrame:
    """Daily demand on about 30 % of the days; sizes Poisson(1 + level), the level a slow random walk."""
    g = np.random.default_rng(seed)
    idx = pd.date_range("2023-01-02", periods=n, freq="D")
    frames = []
    for i in range(n_series):
        level = np.exp(np.cumsum(g.normal(0, 0.03, n)) + g.normal(0.5, 0.5))
        occurs = g.random(n) < 0.3
        frames.append(pd.DataFrame({"unique_id": f"i{i:02d}", "ds": idx,
                                    "y": (occurs * (1 + g.poisson(level))).astype(float)}))
    return pd.concat(frames, ignore_index=True)


def intermittent():
    family, note = croston_family()
    out = []
    sales_data = make_sales()
    zeros = sales_data.groupby("unique_id")["y"].apply(lambda s: (s == 0).mean())
    panels = {"generated intermittent Poisson panel (20 series, 300 days, demand on ~30 % of days)":
              intermittent_panel(),
              f"make_sales intermittent items ({int((zeros > 0.3).sum())} series with > 30 % zero days)":
              sales_data[sales_data.unique_id.isin(zeros.index[zeros > 0.3])]}
    for title, data in panels.items():
        models = {"RNN (negbin)": RNNForecaster(distribution="negbin", random_state=0), **family}
        table, _ = run(models, data, h=28, n_windows=2, metrics=("mase", "mae"), season_length=1,
                       level=[80])
        out.append((f"## Intermittent: {title}; 2 windows of 28 days\n\nBaselines: {note}.", table))
    return out


def markdown(sections, args) -> str:
    head = [
        "# RNNForecaster defaults against the classical baselines",
        "",
        f"Command: `TSRNN_DATA_MIRROR=../shared/datasets OMP_NUM_THREADS=1 nice .venv/bin/python "
        f"benchmarks/retail_rnn.py --suite {args.suite} --stride {args.stride}` (see the module docstring)  ",
        f"Date: {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC; Python {platform.python_version()}, "
        f"torch {torch.__version__}, numpy {np.__version__}, pandas {pd.__version__}; "
        f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}; one process, 2 shared cores (busy).  ",
        "Models with their defaults (`RNNForecaster(random_state=0)`: season_length, window and scaling chosen "
        "from the data, early stopping on the last 10 % of windows, 1 torch thread); MASE against the in-sample "
        "seasonal naive (m as given per section). `cpu_s`: process seconds of the model's whole backtest.",
        "",
    ]
    body = []
    for title, table in sections:
        body += [title, "", table.round(3).to_markdown(), ""]
    return "\n".join(head + body)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--suite", choices=("retail", "m4", "sales", "intermittent", "all"), default="all")
    ap.add_argument("--stride", type=int, default=16, help="every stride-th retail series")
    ap.add_argument("--out", default=str(OUT), help="the Markdown written (default benchmarks/results/retail_rnn.md)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    sections = []
    if args.suite in ("retail", "all"):
        sections.append(retail(args.stride))
    if args.suite in ("m4", "all"):
        sections.append(m4())
    if args.suite in ("sales", "all"):
        sections.append(sales())
    if args.suite in ("intermittent", "all"):
        sections += intermittent()
    text = markdown(sections, args)
    print(text)
    Path(args.out).write_text(text)


if __name__ == "__main__":
    main()
