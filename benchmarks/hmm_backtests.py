"""HMMForecaster in the M4 Hourly and Australian retail backtests, next to the naive benchmarks.

Run:  TSRNN_DATA_MIRROR=../shared/datasets .venv/bin/python benchmarks/hmm_backtests.py [--suite m4|retail] [--quick]

M4 Hourly: 414 series, the competition's own 48-step test set (one window), sMASE/MASE/OWA and 80 % coverage.
Retail: 152 monthly ABS turnover series, 3 expanding windows of 12 months, refitted each window.
Writes ``benchmarks/results/hmm_backtests_{m4,retail}.md`` and a regime plot ``benchmarks/results/hmm_regimes.png``.
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

from tsrnn._tables import markdown_table  # noqa: E402
from tsrnn.backtest import backtest  # noqa: E402
from tsrnn.datasets import load_m4, load_retail  # noqa: E402
from tsrnn.models import HMMForecaster, Naive, Naive2, SeasonalNaive  # noqa: E402

OUT = ROOT / "benchmarks" / "results"
M4_NOTE = ("Check of the data and the metrics: the sMAPE of Naive, SeasonalNaive and Naive2 equal the M4 competition's "
           "published Hourly values (43.003, 13.912, 18.383).\n")


def hmm_models(m: int, seed: int = 0) -> dict:
    return {
        "HMM-levels": HMMForecaster(on="levels", scale="series", random_state=seed),
        "HMM-diff": HMMForecaster(on="differences", scale="series", random_state=seed),
        f"HMM-sdiff{m}": HMMForecaster(on="differences", season_length=m, scale="series", random_state=seed),
    }


def m4_hourly(quick: bool):
    train, test = load_m4("Hourly")
    if quick:
        keep = train["unique_id"].unique()[:40]
        train, test = train[train.unique_id.isin(keep)], test[test.unique_id.isin(keep)]
    data = pd.concat([train, test], ignore_index=True).sort_values(["unique_id", "ds"], kind="stable")
    models = {"Naive": Naive(), "SeasonalNaive": SeasonalNaive(season_length=24), "Naive2": Naive2(season_length=24),
              **hmm_models(24)}
    return backtest(models, data, h=48, n_windows=1, metrics=("smape", "mase", "owa"), season_length=24,
                    level=[80], progress=False, on_error="record")


def retail(quick: bool):
    data = load_retail()
    data = data[0] if isinstance(data, tuple) else data
    sizes = data.groupby("unique_id").size()
    data = data[data.unique_id.isin(sizes.index[sizes >= 60])]  # 3 windows of 12 need 36 + a training span
    if quick:
        data = data[data.unique_id.isin(data["unique_id"].unique()[:20])]
    models = {"Naive": Naive(), "SeasonalNaive": SeasonalNaive(season_length=12), **hmm_models(12)}
    return backtest(models, data, h=12, n_windows=3, metrics=("smape", "mase"), season_length=12, level=[80],
                    progress=False, on_error="record")


def regime_plot(path: Path) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    data = load_retail()
    data = data[0] if isinstance(data, tuple) else data
    uid = data["unique_id"].unique()[0]
    y = data[data.unique_id == uid].set_index("ds")["y"].asfreq("MS").rename(uid)
    f = HMMForecaster(on="returns", random_state=0).fit(y)
    fig, axes = plt.subplots(2, 1, figsize=(11, 5.5), sharex=True)
    f.plot_regimes(ax=axes[0])
    f.plot_regimes(online=True, ax=axes[1])
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return f"retail series {uid!r}, HMM on monthly log returns, {f.n_states_} states chosen by BIC"


def md_table(frame: pd.DataFrame, digits: int = 3) -> str:
    """A DataFrame as a Markdown table (index included) through the package's one writer."""
    return markdown_table(frame.reset_index(), index=False, digits=digits, fixed=True)


def timing_table(result) -> str:
    return md_table(result.timings.groupby("model")[["fit_s", "predict_s"]].sum(), digits=1)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="40 M4 series and 20 retail series")
    ap.add_argument("--suite", choices=("m4", "retail", "all", "plot"), default="all",
                    help="'plot' only redraws the regime plot")
    args = ap.parse_args()
    if args.suite == "plot":
        print(regime_plot(OUT / "hmm_regimes.png"))
        return
    import hmmlearn
    import sklearn

    OUT.mkdir(parents=True, exist_ok=True)
    suites = {"m4": ("M4 Hourly (official 48-step test set, 414 series)", m4_hourly),
              "retail": ("Australian retail (monthly series with >= 60 months, 3 windows of 12, refit each)", retail)}
    for key in (suites if args.suite == "all" else [args.suite]):
        name, fn = suites[key]
        t0 = time.perf_counter()
        res = fn(args.quick)
        wall = time.perf_counter() - t0
        lb = res.leaderboard()
        errs = "" if res.errors.empty else f"\n\nFailures:\n\n{md_table(res.errors)}"
        section = (f"## {name}\n\n{res.meta.get('n_series')} series; wall time {wall:.0f} s.\n\n{md_table(lb)}\n\n"
                   f"Seconds summed over windows:\n\n{timing_table(res)}{errs}\n")
        if key == "m4" and not args.quick:
            section += "\n" + M4_NOTE
        print(section, flush=True)
        if key == "retail":
            caption = regime_plot(OUT / "hmm_regimes.png")
            section += (f"\n## Regime plot\n\n![regimes](hmm_regimes.png)\n\n{caption}: Viterbi (top) and online "
                        "filtered (bottom).\n")
        cmd = (f"TSRNN_DATA_MIRROR=../shared/datasets .venv/bin/python benchmarks/hmm_backtests.py --suite {key}"
               + (" --quick" if args.quick else ""))
        header = (
            f"# HMMForecaster backtest: {key}\n\n"
            f"Command: `{cmd}`  \n"
            f"Date: {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC; Python {platform.python_version()}, "
            f"numpy {np.__version__}, pandas {pd.__version__}, hmmlearn {hmmlearn.__version__}, scikit-learn "
            f"{sklearn.__version__}; OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}, one process, "
            f"{os.cpu_count()} cores shared.  \n"
            "The machine is shared with other jobs and noisy (load average about 15 on 2 cores during the run): "
            "timings are indicative only.\n\n"
            "Models: `HMM-levels` = `HMMForecaster(scale=\"series\")` (Gaussian emissions on the levels, number "
            "of states by BIC among 1..6), `HMM-diff` = the same on first differences, `HMM-sdiffM` on seasonal "
            "differences `y_t - y_{t-M}` (`on=\"differences\", season_length=M`); intervals of the differenced "
            "models from 1000 simulated paths. All are fitted once per window across the whole panel (global), "
            "with each series standardised on its own. `coverage-80` is the share of test values inside the 80 % "
            "interval (target 0.80).\n\n"
        )
        (OUT / f"hmm_backtests_{key}.md").write_text(header + section, encoding="utf-8")


if __name__ == "__main__":
    main()
