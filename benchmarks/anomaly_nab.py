"""Anomaly detectors on the 20 shared NAB series: NAB scores (3 profiles), event-wise F1, AUC-PR.

Run: ``TSRNN_DATA_MIRROR=../shared/datasets .venv/bin/python benchmarks/anomaly_nab.py [--n-jobs 1]``
Writes ``benchmarks/results/anomaly_nab.md``.

Protocol (``tsrnn.anomaly.evaluate_detectors``): each detector is fitted on the first min(floor(0.15 n), 750) rows
of each series (NAB's probationary period) and scores the whole series online; the alarms use the suite's shared
threshold setting (``tsrnn.suites.anomaly.COMMON``) and no label. Also reported: (a) a sensitivity grid over
threshold settings recomputed from the same raw scores, (b) NAB's own in-sample procedure (one corpus-wide
threshold per detector tuned on the labels), for scale against NAB's published scoreboard only.
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
import torch

from tsrnn.anomaly import RollingZScore, evaluate_detectors
from tsrnn.anomaly.scoring import nab_best_threshold, nab_series, probationary_length
from tsrnn.anomaly.thresholds import AnomalyLikelihood, apply_cooldown, make_threshold
from tsrnn.datasets import load_nab
from tsrnn.suites.anomaly import COMMON, default_detectors
from tsrnn.suites.anomaly import run as run_suite

OUT = Path(__file__).parent / "results" / "anomaly_nab.md"
NAB_BOARD = "windowed Gaussian 39.6, Twitter ADVec 47.1, random cut forest 51.7, Numenta HTM 70.5, ARTime 74.9"


def detectors() -> dict:
    dets = default_detectors()
    dets["RollingZScore+likelihood"] = AnomalyLikelihood(RollingZScore(window=100), **COMMON)
    return dets


def grid(det: pd.DataFrame) -> pd.DataFrame:
    """NAB standard score of every detector at other threshold settings, from the same raw scores."""
    rows = []
    for model, dm in det.groupby("model", sort=False):
        series = [(g["score"].to_numpy(), g["label"].to_numpy()) for _, g in dm.groupby("unique_id", sort=False)]
        for th in ("quantile", "pot"):
            for c in (0.003, 0.001, 0.0003):
                for cd in (0, 100, 300):
                    parts = []
                    for s, lab in series:
                        head = max(int(probationary_length(len(s))), 2)
                        flags = apply_cooldown(make_threshold(th, c).fit(s[:head]).flags(s), cd)
                        parts.append(nab_series(lab, flags))
                    p = pd.DataFrame(parts)
                    score = 100 * (p["raw"].sum() - p["null"].sum()) / (p["perfect"].sum() - p["null"].sum())
                    rows.append({"setting": f"{th} c={c} cooldown={cd}", "model": model, "nab": score})
    return pd.DataFrame(rows).pivot(index="setting", columns="model", values="nab")[list(pd.unique(det["model"]))]


def md_table(df: pd.DataFrame, digits=1) -> str:
    df = df.round(digits)
    head = f"| {df.index.name or ''} | " + " | ".join(map(str, df.columns)) + " |\n"
    head += "|---" * (len(df.columns) + 1) + "|\n"
    return head + "".join(f"| {i} | " + " | ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in r) + " |\n"
                          for i, r in zip(df.index, df.to_numpy()))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n-jobs", type=int, default=1)
    args = ap.parse_args()
    if not os.environ.get("TSRNN_DATA_MIRROR"):
        print("set TSRNN_DATA_MIRROR to the data mirror (laid out as ../shared/datasets)", file=sys.stderr)
        return 2
    torch.set_num_threads(1)
    data = load_nab()
    t0 = time.perf_counter()
    res = evaluate_detectors(detectors(), data, n_jobs=args.n_jobs, progress=True)
    wall = time.perf_counter() - t0
    lb = res.leaderboard()
    det = res.detections
    for cd in (0, COMMON["cooldown"]):
        tuned = {m: nab_best_threshold(data, g["score"].to_numpy(), cooldown=cd)[1]
                 for m, g in det.groupby("model", sort=False)}
        lb[f"nab_tuned_in_sample_cd{cd}"] = pd.Series(tuned)
    sens = grid(det)
    per = res.scores.query("metric == 'nab_standard'").pivot(index="unique_id", columns="model", values="value")
    per = per[list(lb.index)]
    base = lb.loc["RollingZScore", "nab_standard"]
    best = lb["nab_standard"].drop(["RollingZScore", "RollingZScore+likelihood"]).idxmax()
    gap = lb.loc[best, "nab_standard"] - base
    sens_cd = sens[~sens.index.str.endswith("cooldown=0")]
    others = sens_cd.drop(columns=["RollingZScore", "RollingZScore+likelihood"])
    sens_gap = others.max(axis=1) - sens_cd["RollingZScore"]
    best_best = others.max().idxmax()
    bb_gap = others.max().max() - sens_cd["RollingZScore"].max()
    inj = run_suite(progress=False, datasets=("injected",))
    now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    text = f"""# Anomaly detectors on the 20 shared NAB series

Command: `TSRNN_DATA_MIRROR=../shared/datasets .venv/bin/python benchmarks/anomaly_nab.py --n-jobs {args.n_jobs}`
Date: {now}. Python {platform.python_version()}, numpy {np.__version__}, pandas {pd.__version__}, torch
{torch.__version__}; torch threads 1, joblib workers {args.n_jobs}; wall time {wall:.0f} s. The machine (2 cores) was
shared with other jobs while this ran: timings are noisy.

Data: {data['unique_id'].nunique()} NAB series ({len(data)} rows; realKnownCause 7, artificialWithAnomaly 6,
artificialNoAnomaly 2, realAWSCloudwatch 5), NAB's combined windows as labels, rows in file order.

Protocol: each detector is fitted on the first min(floor(0.15 n), 750) rows of each series (NAB's probationary
period, not scored) and scores the whole series online (no look-ahead; tested). Alarms: one shared setting for
every detector, `{COMMON}` (peaks-over-threshold at a false-alarm probability of 0.001 per row, fitted on the
training rows' scores; 100 rows muted after an alarm). This setting was picked after a first look at the raw
scores as the best of the grid below *for the RollingZScore baseline*, so it does not favour the other detectors.
No threshold sees a label. `+likelihood` rows pass the raw score through Numenta's anomaly likelihood
(`tsrnn.anomaly.thresholds.AnomalyLikelihood`: mean of the last 10 scores against the mean and deviation of the
1000 before) before the same threshold.

## Leaderboard (sorted by NAB standard)

NAB columns are normalised over the whole corpus (null detector 0, perfect 100); event/point precision and recall
pool all series; `rank` is the mean rank over series on NAB standard; `fit_s` / `predict_s` are total seconds.
`nab_tuned_in_sample_cd0` is NAB's own procedure (one threshold per detector on its raw score, tuned on the labels
of the whole corpus, no cooldown); `..._cd{COMMON['cooldown']}` the same with the shared cooldown. Both are
optimistic, in-sample figures, comparable in spirit to NAB's scoreboard (standard profile, full 58-series corpus:
{NAB_BOARD}), not to the honest columns.

{md_table(lb, 3)}
## Goal: a tsrnn detector beats RollingZScore by at least 10 NAB points

At the shared setting the best non-baseline detector is **{best}** with {lb.loc[best, 'nab_standard']:.1f} against
{base:.1f} for RollingZScore: **{gap:+.1f} points** ({'goal met' if gap >= 10 else 'goal NOT met'}).
Across the settings of the sensitivity grid with a cooldown (without one, every detector whose score stays high
for a while floods NAB with false alarms), the best non-baseline detector beats RollingZScore at the same setting
by {sens_gap.min():+.1f} to {sens_gap.max():+.1f} points (median {sens_gap.median():+.1f}). Each at its own best
setting of the grid (both chosen in-sample): {best_best} {others.max().max():.1f} vs RollingZScore
{sens_cd['RollingZScore'].max():.1f}, {bb_gap:+.1f} points. The margin depends on the setting: read it as a range.

## Injected anomalies (suite dataset `injected`, the suite's detectors, shared setting)

Eight seeded synthetic series (3000 rows, daily-like cycles, trend, noise) with six injected anomalies each
(`tsrnn.datasets.inject_anomalies`: spike, level shift, trend, variance, flatline, dropout); label 1 on the
changed rows, so NAB windows are the anomalies themselves (no early credit before them).

{md_table(inj.leaderboard(), 3)}

## Sensitivity: NAB standard score at other threshold settings (same raw scores)

{md_table(sens)}
## NAB standard score per series (normalised on that series alone; empty: no window)

{md_table(per)}
"""
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
