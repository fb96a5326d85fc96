"""Accuracy and speed of tsrnn's classical models on M4 Hourly (and Australian retail), next to statsforecast.

Run: ``TSRNN_DATA_MIRROR=<mirror> .venv/bin/python benchmarks/auto_arima_speed.py [--dataset m4|retail]
[--stride-slow 6] [--stride-default 30] [--n-jobs 1]``.

* Fast models run on every series; tsrnn's slower ones (``--stride-slow``) on every k-th series,
  statsforecast's AutoARIMA(approximation=True) and AutoETS on every ``--stride-peer``-th, its default
  AutoARIMA (about 24 s per hourly series) on every ``--stride-default``-th series. Each table lists every
  model that ran on all series of its subset, so the ratios are like for like.
* sMAPE and MASE are the M4 definitions (MASE scaled by the in-sample seasonal naive error); OWA is
  ``(sMAPE / sMAPE_Naive2 + MASE / MASE_Naive2) / 2`` over the same subset.
* Time is the wall time and the CPU time (``time.process_time``) of fit + predict of one series in one
  worker process, BLAS limited to one thread (mean seconds per series), measured in the same run for every
  model; statsforecast is warmed up (numba compilation) before timing. On a shared, loaded machine the CPU
  time is the fairer measure.

Writes ``benchmarks/results/auto_arima_speed[_retail].md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

PUBLISHED_M4_HOURLY = {  # the M4 organisers' results (Makridakis et al. 2020), as quoted in tsrnn issue 4
    "Naive2": (18.383, 2.395, 1.000),
    "Theta": (18.138, 2.455, 1.006),
}


# ------------------------------------------------------------------------------------------------ data
def load(dataset: str):
    root = os.environ.get("TSRNN_DATA_MIRROR")
    if not root:
        sys.exit("set TSRNN_DATA_MIRROR to the data mirror (laid out as ../shared/datasets)")
    root = Path(root)
    if dataset == "m4":
        tr = pd.read_csv(root / "m4/hourly/Hourly-train.csv", index_col=0)
        te = pd.read_csv(root / "m4/hourly/Hourly-test.csv", index_col=0)
        series = [(uid, tr.loc[uid].dropna().to_numpy(float), te.loc[uid].dropna().to_numpy(float))
                  for uid in tr.index]
        return series, 48, 24
    wide = pd.read_csv(root / "retail/aus_retail/aus_retail_turnover_wide.csv", index_col=0)
    series = []
    for uid in wide.columns:
        y = wide[uid].dropna().to_numpy(float)
        if len(y) >= 24 + 3 * 12:
            series.append((uid, y[:-24], y[-24:]))
    return series, 24, 12


def smape(y, f):
    return float(np.mean(200 * np.abs(y - f) / (np.abs(y) + np.abs(f))))


def mase(insample, y, f, m):
    scale = np.mean(np.abs(insample[m:] - insample[:-m]))
    return float(np.mean(np.abs(y - f)) / scale)


# ------------------------------------------------------------------------------------------------ models
def tsrnn_models(m):
    from tsrnn.models import ETS, AutoARIMA, Naive2, SeasonalNaive, StateSpace, Theta

    return {
        "Naive2": lambda: Naive2(season_length=m),
        "SeasonalNaive": lambda: SeasonalNaive(season_length=m),
        "Theta": lambda: Theta(season_length=m),
        "AutoARIMA": lambda: AutoARIMA(season_length=m),
        "ETS": lambda: ETS(season_length=m),
        "StateSpace": lambda: StateSpace(season_length=m, harmonics=min(6, m // 2)),
    }


def peer_models(m):
    try:
        from statsforecast import models as sf
    except ImportError:
        return {}
    return {
        "sf.AutoARIMA(approx)": lambda: sf.AutoARIMA(season_length=m, approximation=True),
        "sf.AutoETS": lambda: sf.AutoETS(season_length=m),
        "sf.Theta": lambda: sf.Theta(season_length=m),
        "sf.AutoARIMA(default)": lambda: sf.AutoARIMA(season_length=m),
    }


def forecast(name, make, y, h):
    warnings.simplefilter("ignore")
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        t0, c0 = time.perf_counter(), time.process_time()
        if name.startswith("sf."):
            f = make().fit(y).predict(h)["mean"]
        else:
            f = make().fit(y).predict(h).to_numpy()
        return np.asarray(f, dtype=float), time.perf_counter() - t0, time.process_time() - c0


def run(args):
    series, h, m = load(args.dataset)
    ours, peers = tsrnn_models(m), peer_models(m)
    slow = {"ETS", "StateSpace"}
    peer_slow = {"sf.AutoARIMA(approx)", "sf.AutoETS"}
    stride = {name: (args.stride_default if name == "sf.AutoARIMA(default)" else args.stride_peer if name in peer_slow
                     else args.stride_slow if name in slow else 1) for name in {**ours, **peers}}
    if peers:  # numba compilation is not part of the timing
        for name, make in peers.items():
            forecast(name, make, series[0][1][: 6 * m], 2)
    from joblib import Parallel, delayed

    # finished models are checkpointed, so an interrupted run resumes where it stopped
    ckpt = Path(__file__).parent / "results" / f".auto_arima_speed_{args.dataset}_rows.csv"
    done = pd.read_csv(ckpt) if ckpt.exists() and not args.fresh else pd.DataFrame()
    frames = [done]
    for name, make in {**ours, **peers}.items():
        idx = list(range(0, len(series), stride[name]))
        if len(done) and set(done.loc[done.model == name, "i"]) == set(idx):
            print(f"{name:24s} from the checkpoint", flush=True)
            continue
        if args.report_only:
            print(f"{name:24s} not run (--report-only)", flush=True)
            continue
        t0 = time.perf_counter()
        out = Parallel(n_jobs=args.n_jobs)(delayed(forecast)(name, make, series[i][1], h) for i in idx)
        rows = []
        for i, (f, sec, cpu) in zip(idx, out):
            uid, y, yt = series[i]
            rows.append({"model": name, "i": i, "smape": smape(yt, f), "mase": mase(y, yt, f, m), "sec": sec,
                         "cpu": cpu})
        frames.append(pd.DataFrame(rows))
        pd.concat(frames, ignore_index=True).to_csv(ckpt, index=False)
        print(f"{name:24s} {len(idx):4d} series  {time.perf_counter() - t0:8.1f} s", flush=True)
    df = pd.concat(frames, ignore_index=True)
    return df[df.model.isin(list({**ours, **peers}))], len(series), stride, h, m


def table(df: pd.DataFrame, idx: set, published: dict) -> str:
    sub = df[df.i.isin(idx)]
    counts = sub.groupby("model").i.nunique()
    full = counts[counts == len(idx)].index
    g = sub[sub.model.isin(full)].groupby("model", sort=False)[["smape", "mase", "sec", "cpu"]].mean()
    base = g.loc["Naive2"]
    g["owa"] = 0.5 * (g.smape / base.smape + g.mase / base.mase)
    lines = ["| model | sMAPE | MASE | OWA | wall s / series | CPU s / series | published sMAPE / MASE / OWA |",
             "|---|---|---|---|---|---|---|"]
    for name, r in g.iterrows():
        pub = published.get(name)
        pub_s = f"{pub[0]:.3f} / {pub[1]:.3f} / {pub[2]:.3f}" if pub else ""
        lines.append(f"| {name} | {r.smape:.3f} | {r.mase:.3f} | {r.owa:.3f} | {r.sec:.3f} | {r.cpu:.3f} | {pub_s} |")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--dataset", choices=["m4", "retail"], default="m4")
    ap.add_argument("--stride-slow", type=int, default=6)
    ap.add_argument("--stride-peer", type=int, default=12)
    ap.add_argument("--stride-default", type=int, default=144)
    ap.add_argument("--fresh", action="store_true", help="ignore the checkpoint of an earlier run")
    ap.add_argument("--report-only", action="store_true", help="write the tables from the checkpoint, run nothing")
    ap.add_argument("--n-jobs", type=int, default=1)
    args = ap.parse_args()
    df, n, stride, h, m = run(args)
    import sklearn
    import statsmodels

    try:
        import statsforecast

        sf_v = statsforecast.__version__
    except ImportError:
        sf_v = "not installed"
    published = PUBLISHED_M4_HOURLY if args.dataset == "m4" else {}
    name = "M4 Hourly (414 series, h=48, m=24)" if args.dataset == "m4" else \
        f"Australian retail ({n} series, last 24 months held out, m=12)"
    out = [f"# Classical models on {name}", "",
           f"Command: `TSRNN_DATA_MIRROR=<mirror> .venv/bin/python benchmarks/auto_arima_speed.py "
           f"--dataset {args.dataset} --stride-slow {args.stride_slow} --stride-peer {args.stride_peer} "
           f"--stride-default {args.stride_default} "
           f"--n-jobs {args.n_jobs}`", "",
           f"Date: {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC; Python {platform.python_version()}, "
           f"numpy {np.__version__}, pandas {pd.__version__}, statsmodels {statsmodels.__version__}, "
           f"scikit-learn {sklearn.__version__}, statsforecast {sf_v}; {args.n_jobs} worker process(es), "
           f"OMP/BLAS threads as set in the environment (OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}); "
           f"{os.cpu_count()} cores. The machine is shared with other jobs and noisy: times are indicative, "
           "ratios were measured side by side in this one run.", ""]
    sets = [("All series", set(range(n)))]
    for s in sorted(set(stride.values()) - {1}):
        sets.append((f"Every {s}-th series ({len(range(0, n, s))} series)", set(range(0, n, s))))
    for title, idx in sets:
        out += [f"## {title}", "", table(df, idx, published if len(idx) == n else {}), ""]
    res = Path(__file__).parent / "results"
    res.mkdir(exist_ok=True)
    path = res / ("auto_arima_speed.md" if args.dataset == "m4" else "auto_arima_speed_retail.md")
    path.write_text("\n".join(out) + "\n")
    df.to_csv(path.with_suffix(".csv"), index=False)
    print("\n".join(out))


if __name__ == "__main__":
    main()
