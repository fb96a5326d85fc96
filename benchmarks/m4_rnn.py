"""M4 Hourly hold-out: global LSTM and GRU forecasters beside Naive2, SeasonalNaive(24), Theta and AutoARIMA, in one run.

The M4 protocol: fit on each series' training part, forecast the official 48 hours, score sMAPE and MASE (seasonal
scale m = 24) averaged over the series, OWA relative to the Naive2 of the same run. Anchors from the organisers'
results: Theta OWA 1.006; the winner ES-RNN (exponential smoothing + LSTM hybrid) OWA 0.440, sMAPE 9.328, MASE 0.893.

    TSRNN_DATA_MIRROR=../shared/datasets .venv/bin/python benchmarks/m4_rnn.py [--n-series N] [--device cuda]
        [--epochs 30] [--skip-arima] [--out PATH]
"""

from __future__ import annotations

import os

for _v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):  # before numpy: BLAS threads contend
    os.environ.setdefault(_v, "1")

import argparse  # noqa: E402
import datetime as dt  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from concurrent.futures import ProcessPoolExecutor, wait  # noqa: E402
from multiprocessing import get_context  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tsrnn.datasets import load_m4  # noqa: E402
from tsrnn.metrics import mase, mase_scale, owa, smape  # noqa: E402
from tsrnn.models import AutoARIMA, Naive2, RNNForecaster, SeasonalNaive, Theta  # noqa: E402

H, M = 48, 24
ANCHORS = {"Theta (M4 organisers)": (None, None, 1.006), "ES-RNN, M4 winner (organisers)": (9.328, 0.893, 0.440)}


NET = dict(hidden_size=48, window=72, max_windows=24, lr=3e-3, scaler="window", patience=3)  # from the command line


def rnn(cell, device, epochs, seed=0, season_length=M):
    # sized for 2 heavily shared CPU cores: the 24 most recent windows per series, 3 days of input, one 48-step
    # MIMO output
    return RNNForecaster(cell=cell, num_layers=1, strategy="mimo", horizon=H, loss="mae",
                         max_epochs=epochs, batch_size=128, validation_size=0.1,
                         season_length=season_length, device=device, random_state=seed, **NET)


def models(args) -> dict:
    out = {"Naive2": Naive2(season_length=M)}
    for cell in args.cells:  # forecast = seasonal naive (m = --skip) read from the window + the network's correction
        for seed in range(args.seeds):
            name = f"RNN({cell})" + (f" seed {seed}" if args.seeds > 1 else "")
            out[name] = rnn(cell, args.device, args.epochs, seed=seed, season_length=args.skip)
    if args.ablation:
        out["RNN(lstm), no seasonal skip"] = rnn("lstm", args.device, args.epochs, season_length=None)
    out["SeasonalNaive"] = SeasonalNaive(season_length=M)
    if args.skip != M:  # the networks' own baseline
        out[f"SeasonalNaive({args.skip})"] = SeasonalNaive(season_length=args.skip)
    out["Theta"] = Theta(season_length=M, n_jobs=args.n_jobs)
    if not args.skip_arima:
        out["AutoARIMA"] = AutoARIMA(season_length=M, n_jobs=args.n_jobs)
    return out


def score(train: pd.DataFrame, test: pd.DataFrame, fc: np.ndarray) -> tuple[float, float]:
    """Mean over series of sMAPE and MASE (scale: in-sample seasonal naive MAE, m = 24)."""
    y = test["y"].to_numpy().reshape(-1, H)
    f = fc.reshape(-1, H)
    scales = np.array([mase_scale(g.to_numpy(), M) for _, g in train.groupby("unique_id", sort=False)["y"]])
    sm = np.mean([smape(a, b) for a, b in zip(y, f)])
    ms = np.mean(mase(y, f, scale=scales))
    return float(sm), float(ms)


def _fit_score(name, model, train, test, keep=None):
    """Fit, forecast 48 steps, score; returns ``(name, sMAPE, MASE, seconds, note)``; ``keep`` (a dict) receives the
    forecast array under ``name``."""
    t0 = time.perf_counter()
    fc = model.fit(train).predict(H)
    secs = time.perf_counter() - t0
    fc = fc.set_index(["unique_id", "ds"]).loc[list(zip(test.unique_id, test.ds))].iloc[:, 0].to_numpy()
    if keep is not None:
        keep[name] = fc
    note = ""
    if isinstance(model, RNNForecaster):
        h = model.history_
        note = (f"{h.n_epochs} epochs (best {h.best_epoch + 1}), {'early-stopped' if h.stopped_early else 'epoch '}"
                f"{'' if h.stopped_early else 'budget used'}, {h.seconds:.0f} s training, amp={h.amp}")
    return (name, *score(train, test, fc), secs, note)


def _report(args, rows, n_ids, pending):
    dev = torch.device("cuda" if args.device == "auto" and torch.cuda.is_available() else
                       ("cpu" if args.device == "auto" else args.device))
    dev_name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else "CPU"
    lines = ["# M4 Hourly: global RNN forecasters vs classical models (one run)", "",
             f"- command: `python benchmarks/m4_rnn.py {' '.join(sys.argv[1:])}`",
             f"- date: {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC; torch {torch.__version__}; numpy "
             f"{np.__version__}; pandas {pd.__version__}; python {platform.python_version()}",
             f"- series: {n_ids} of 414; horizon {H}; MASE scale: seasonal naive m={M}; OWA vs this run's Naive2",
             f"- networks trained on: {dev_name}; torch threads {torch.get_num_threads()}; classical models in a "
             f"parallel worker process with n_jobs={args.n_jobs}. Seconds are wall time for fit + predict on a "
             "shared machine (noisy).",
             f"- RNN settings: {rnn('lstm', args.device, args.epochs).get_params()}", "",
             "| model | sMAPE | MASE | OWA | seconds | notes |", "| --- | --- | --- | --- | --- | --- |"]
    pending = {name: f"did not finish within --deadline-s={args.deadline_s}" for name in pending}
    return write_table(args.out, lines, rows, pending)


def load_hourly(n_series: int | None = None):
    """M4 Hourly's training and test frames and series ids, cut to the first ``n_series`` series if given."""
    train, test = load_m4("Hourly")
    ids = train["unique_id"].unique()
    if n_series:
        ids = ids[:n_series]
        train, test = train[train.unique_id.isin(ids)], test[test.unique_id.isin(ids)]
    return train, test, ids


def write_table(out, lines: list, rows: dict, pending: dict | None = None) -> list:
    """Append the results table (``rows``: name -> (sMAPE, MASE, seconds or None, note); OWA against the row
    "Naive2"), the unfinished models (name -> note) and the published anchors to ``lines``; write them to ``out``."""
    s2, m2 = rows["Naive2"][:2]
    for name, (sm, ms, secs, note) in rows.items():
        sec = "" if secs is None else f"{secs:.0f}"
        lines.append(f"| {name} | {sm:.3f} | {ms:.3f} | {owa(sm, ms, s2, m2):.3f} | {sec} | {note} |")
    for name, note in (pending or {}).items():
        lines.append(f"| {name} | | | | | {note} |")
    for name, (sm, ms, o) in ANCHORS.items():
        lines.append(f"| {name} | {'' if sm is None else sm} | {'' if ms is None else ms} | {o} | | published |")
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text("\n".join(lines) + "\n")
    return lines


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n-series", type=int, default=None)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--cells", nargs="+", default=["lstm", "gru"])
    ap.add_argument("--n-jobs", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--skip-arima", action="store_true")
    ap.add_argument("--seeds", type=int, default=1, help="networks per cell (random_state 0..seeds-1)")
    ap.add_argument("--skip", type=int, default=M, help="season length of the seasonal skip connection")
    ap.add_argument("--ablation", action="store_true", help="also an LSTM without the seasonal skip connection")
    ap.add_argument("--deadline-s", type=float, default=3600.0, help="stop waiting for the classical models")
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "m4_rnn.md"))
    for k, v in NET.items():
        ap.add_argument(f"--{k.replace('_', '-')}", type=type(v), default=v)
    args = ap.parse_args()
    NET.update({k: getattr(args, k) for k in NET})
    torch.set_num_threads(args.threads)
    t_start = time.perf_counter()
    train, test, ids = load_hourly(args.n_series)
    rows = {}
    all_models = models(args)
    classical = {n: m for n, m in all_models.items() if not isinstance(m, RNNForecaster) and n != "Naive2"}
    # the classical models run in a worker process while this one trains the networks
    with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as ex:
        futs = {ex.submit(_fit_score, n, m, train, test): n for n, m in classical.items()}
        nets, secs = {}, 0.0
        for name in ["Naive2"] + [n for n, m in all_models.items() if isinstance(m, RNNForecaster)]:
            r = _fit_score(name, all_models[name], train, test, keep=nets if name != "Naive2" else None)
            rows[name] = r[1:]
            secs += r[3] if name != "Naive2" else 0.0
            print(f"{name}: sMAPE {r[1]:.3f} MASE {r[2]:.3f} ({r[3]:.0f} s) {r[4]}", flush=True)
            _report(args, rows, len(ids), [])
        if len(nets) > 1:  # the median forecast of all the networks of this run, per series and step
            ens = np.median(np.stack(list(nets.values())), axis=0)
            rows[f"RNN ensemble (median of {len(nets)})"] = (*score(train, test, ens), secs,
                                                             "the networks above, combined")
        left = max(1.0, args.deadline_s - (time.perf_counter() - t_start))
        done, not_done = wait(futs, timeout=left)
        for f in done:
            r = f.result()
            rows[r[0]] = r[1:]
            print(f"{r[0]}: sMAPE {r[1]:.3f} MASE {r[2]:.3f} ({r[3]:.0f} s)", flush=True)
        lines = _report(args, rows, len(ids), [futs[f] for f in not_done])
        for f in not_done:
            f.cancel()
        if not_done:  # do not wait for a model past the deadline
            for p in list(getattr(ex, "_processes", {}).values()):
                p.terminate()
    print("\n".join(lines))


if __name__ == "__main__":
    main()
