"""Coverage and MSIS of every model's native intervals next to its ConformalForecaster wrapper.

Run:  TSRNN_DATA_MIRROR=../shared/datasets OMP_NUM_THREADS=1 nice .venv/bin/python benchmarks/intervals.py

Data (small subsets, a few CPU minutes in all):
* sales: ``make_sales(n_series=12, length=240, seed=0)`` (a quarter of the items intermittent), h=7, 2 windows;
* M4 Hourly: the first 8 series, the competition's own 48-step test set (1 window), season 24;
* retail: 8 Australian retail turnover series (monthly), h=12, 2 windows, season 12.
Each model is scored as given ("native") and wrapped as ``ConformalForecaster(model)`` (3 calibration windows,
method "pooled"), at levels 80 and 95: coverage per level (best when closest to the level), M4's MSIS at 95 %
(scaled by the in-sample seasonal-naive MAE), CRPS from the point forecast and both levels' bounds, and MASE.
Writes ``benchmarks/results/intervals.md``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tsrnn._tables import markdown_table  # noqa: E402
from tsrnn.backtest import backtest  # noqa: E402
from tsrnn.datasets import load_m4, load_retail, make_sales  # noqa: E402
from tsrnn.models import (  # noqa: E402
    ADIDA,
    ETS,
    IMAPA,
    TSB,
    AutoARIMA,
    ConformalForecaster,
    Croston,
    Naive,
    RNNForecaster,
    SeasonalNaive,
    StateSpace,
    Theta,
)

OUT = ROOT / "benchmarks" / "results" / "intervals.md"
COLUMNS = ["coverage-80", "coverage-95", "msis-95", "crps", "mase"]


def sales_models():
    return {"SeasonalNaive": SeasonalNaive(7), "Theta": Theta(7), "ETS": ETS(7, error="add", damped=False),
            "AutoARIMA": AutoARIMA(7, max_order=3, method="css"), "Croston": Croston(), "CrostonSBA":
            Croston(method="sba"), "TSB": TSB(), "ADIDA": ADIDA(), "IMAPA": IMAPA(),
            "RNN": RNNForecaster(hidden_size=16, window=28, max_epochs=5, season_length=7, random_state=0)}


def datasets(quick: bool):
    n = 4 if quick else 12
    sales = make_sales(n_series=n, length=240, seed=0)
    yield "sales (make_sales)", sales, dict(h=7, n_windows=2, season_length=7), sales_models()
    if not os.environ.get("TSRNN_DATA_MIRROR"):
        print("TSRNN_DATA_MIRROR not set: M4 Hourly and retail skipped")
        return
    train, test = load_m4("Hourly")
    keep = train["unique_id"].unique()[: 3 if quick else 8]
    m4 = pd.concat([train[train.unique_id.isin(keep)], test[test.unique_id.isin(keep)]], ignore_index=True)
    m4 = m4.sort_values(["unique_id", "ds"], kind="stable")
    yield "M4 Hourly", m4, dict(h=48, n_windows=1, season_length=24), {
        "Naive": Naive(), "SeasonalNaive": SeasonalNaive(24), "Theta": Theta(24),
        "StateSpace": StateSpace(season_length=24, harmonics=3)}
    retail = load_retail()
    retail = retail[0] if isinstance(retail, tuple) else retail
    keep = retail["unique_id"].unique()[: 3 if quick else 8]
    yield "retail (aus_retail, monthly)", retail[retail.unique_id.isin(keep)], dict(h=12, n_windows=2, season_length=12), {
        "SeasonalNaive": SeasonalNaive(12), "Theta": Theta(12), "ETS": ETS(12),
        "AutoARIMA": AutoARIMA(12, max_order=3, method="css")}


def run_one(data, settings, models):
    wrapped = {**models, **{f"Conformal({k})": ConformalForecaster(v) for k, v in models.items()}}
    t0 = time.process_time()
    res = backtest(wrapped, data, level=[80, 95], metrics=("mase", "msis", "crps"), progress=False,
                   on_error="record", **settings)
    cpu = time.process_time() - t0
    lb = res.leaderboard("mase")
    rows = []
    for name in models:
        for label, key in (("native", name), ("conformal", f"Conformal({name})")):
            if key in lb.index:
                rows.append({"model": name, "intervals": label, **{c: lb.loc[key].get(c) for c in COLUMNS},
                             "failed": int(lb.loc[key, "n_failed"])})
    return pd.DataFrame(rows), cpu, res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    import torch

    torch.set_num_threads(1)
    parts = ["# Interval coverage and MSIS: native intervals vs ConformalForecaster", "",
             "Command: `TSRNN_DATA_MIRROR=../shared/datasets OMP_NUM_THREADS=1 nice .venv/bin/python "
             f"benchmarks/intervals.py{' --quick' if args.quick else ''}`", "",
             "Coverage is best when closest to its level (80 / 95); MSIS (M4's, at 95 %) and CRPS (from the point "
             "forecast and the 80 / 95 bounds) lower is better. Conformal: `ConformalForecaster(model)`, 3 "
             "calibration windows, scaled errors pooled over series, windows and steps.", ""]
    for title, data, settings, models in datasets(args.quick):
        table, cpu, res = run_one(data, settings, models)
        n_series = data["unique_id"].nunique()
        print(title, f"{cpu:.0f} CPU s")
        print(table.to_string(index=False))
        parts += [f"## {title}", "", f"{n_series} series, h={settings['h']}, {settings['n_windows']} window(s), "
                  f"season {settings['season_length']}; {cpu:.0f} CPU seconds.", "", markdown_table(table, index=False, fixed=True), ""]
        if len(res.errors):
            parts += [f"{len(res.errors)} failure(s): " + "; ".join(
                f"{r.model}: {r.message[:80]}" for r in res.errors.drop_duplicates('model').itertuples()), ""]
    OUT.write_text("\n".join(parts) + "\n", encoding="utf-8")
    print("wrote", OUT)


if __name__ == "__main__":
    main()
