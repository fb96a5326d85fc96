"""Backtest wall time and peak memory against the number of series (issue 12).

For 100, 1,000 and 10,000 synthetic daily series (length 120, h=14, one window) it runs, each in a fresh
subprocess so that peak memory is the run's own:
  * SeasonalNaive and Theta (local models) with n_jobs=1, n_jobs=2 (joblib/loky) and a Dask LocalCluster of 2
    workers;
  * a small global GRU (RNNForecaster, the 4 most recent training windows of each series, one epoch), n_jobs=1 (global models train
    once over the whole panel).
It reports seconds, microseconds per series and the peak resident memory of the main process (ru_maxrss; the
memory of loky/Dask worker processes is not included), and the two linear-cost ratios of the issue: time per
series at 10,000 over that at 1,000 (goal <= 1.5) and the GRU's peak memory at 10,000 over that at 1,000 (goal <= 2).

    .venv/bin/python benchmarks/scaling.py [--sizes 100 1000 10000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

LENGTH, H, M = 120, 14, 7


def make_panel(n: int):
    import numpy as np
    import pandas as pd

    r = np.random.default_rng(n)
    t = np.arange(LENGTH)
    Y = (50 + 10 * np.sin(2 * np.pi * t / M) + r.normal(0, 2, (n, LENGTH)) + r.uniform(10, 100, (n, 1)))
    ds = pd.date_range("2021-01-01", periods=LENGTH, freq="D").to_numpy()
    return pd.DataFrame({"unique_id": np.repeat([f"s{i}" for i in range(n)], LENGTH), "ds": np.tile(ds, n),
                         "y": Y.ravel()})


def one(model: str, n: int, mode: str) -> dict:
    from tsrnn.backtest import backtest
    from tsrnn.models import RNNForecaster, SeasonalNaive, Theta

    est = {"SeasonalNaive": lambda: SeasonalNaive(M), "Theta": lambda: Theta(season_length=M),
           "GRU": lambda: RNNForecaster(cell="gru", hidden_size=16, window=28, max_epochs=1, max_windows=4,
                                        batch_size=256, random_state=0)}[model]()
    data = make_panel(n)
    kw = {"n_jobs": 1}
    if mode == "n_jobs=2":
        kw = {"n_jobs": 2}
    elif mode == "dask":
        kw = {"n_jobs": 2, "backend": "dask"}
    t0 = time.perf_counter()
    r = backtest({model: est}, data, h=H, n_windows=1, metrics=("smape",), progress=False, **kw)
    wall = time.perf_counter() - t0
    assert len(r.errors) == 0, r.errors.head()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"model": model, "n": n, "mode": mode, "wall_s": wall, "peak_mb": peak_mb,
            "smape": float(r.scores["value"].mean())}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="*", default=[100, 1000, 10000])
    ap.add_argument("--one", nargs=3, metavar=("MODEL", "N", "MODE"))
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "scaling.md"))
    ap.add_argument("--models", nargs="*", default=["SeasonalNaive", "Theta", "GRU"])
    ap.add_argument("--rows", help="JSON-lines file of rows measured by an earlier run, merged into the table")
    args = ap.parse_args()
    if args.one:
        print(json.dumps(one(args.one[0], int(args.one[1]), args.one[2])))
        return
    all_configs = [(m, mode) for m in ("SeasonalNaive", "Theta") for mode in ("n_jobs=1", "n_jobs=2", "dask")]
    all_configs.append(("GRU", "n_jobs=1"))
    configs = [c for c in all_configs if c[0] in args.models]
    rows = [json.loads(line) for line in Path(args.rows).read_text().splitlines()] if args.rows else []
    for model, mode in configs:
        for n in args.sizes:
            out = subprocess.run([sys.executable, __file__, "--one", model, str(n), mode], capture_output=True,
                                 text=True, check=False)
            if out.returncode:
                print(out.stderr[-2000:], file=sys.stderr)
                rows.append({"model": model, "n": n, "mode": mode, "wall_s": float("nan"), "peak_mb": float("nan"),
                             "smape": float("nan")})
                continue
            rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
            print(rows[-1], flush=True)
    by = {(r["model"], r["mode"], r["n"]): r for r in rows}
    lines = [
        "# Scaling: backtest cost against the number of series",
        "",
        f"Command: `.venv/bin/python benchmarks/scaling.py --sizes {' '.join(map(str, args.sizes))}`",
        f"Date: {dt.date.today()}; Python {platform.python_version()}; {os.cpu_count()} cores; "
        f"1-minute load average at the end: {os.getloadavg()[0]:.1f} (other jobs shared the machine).",
        f"Series: length {LENGTH}, daily, h={H}, one window; each row is a fresh subprocess. Peak memory is the main "
        "process's ru_maxrss (workers not included).",
        "",
        "| model | mode | series | seconds | us per series | peak MB | sMAPE |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(f"| {r['model']} | {r['mode']} | {r['n']} | {r['wall_s']:.2f} | {1e6 * r['wall_s'] / r['n']:.0f} "
                     f"| {r['peak_mb']:.0f} | {r['smape']:.3f} |")
    lines += ["", "Linear cost (time per series at the largest size over that at the middle one; goal <= 1.5):", ""]
    if len(args.sizes) >= 2:
        a, b = sorted(args.sizes)[-2:]
        for model, mode in all_configs:
            ra, rb = by.get((model, mode, a)), by.get((model, mode, b))
            if ra and rb:
                ratio = (rb["wall_s"] / b) / (ra["wall_s"] / a)
                lines.append(f"- {model}, {mode}: {ratio:.2f}")
        ga, gb = by.get(("GRU", "n_jobs=1", a)), by.get(("GRU", "n_jobs=1", b))
        if ga and gb:
            lines.append("")
            lines.append(f"GRU peak memory at {b} over {a} series (goal <= 2): {gb['peak_mb'] / ga['peak_mb']:.2f}")
    text = "\n".join(lines) + "\n"
    if args.rows:
        lines.insert(3, f"(rows of other models measured earlier in the same session: `--rows {args.rows}`)")
        text = "\n".join(lines) + "\n"
    Path(args.out).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
