"""M4 Hourly hold-out: ESRNNForecaster beside the global RNNs of ``m4_rnn.py``, their ensembles, AutoARIMA, Theta,
SeasonalNaive and Naive2, in one run.

The M4 protocol of ``m4_rnn.py`` (its scoring is reused): fit on each series' training part, forecast the official
48 hours, sMAPE and MASE (seasonal scale m = 24) averaged over the series, OWA relative to this run's Naive2.
Seconds are CPU (process) seconds of fit + predict; the classical models run in one worker process (n_jobs=1, so
its process time is all of their work) while this process trains the networks.

    TSRNN_DATA_MIRROR=../shared/datasets nice .venv/bin/python benchmarks/m4_esrnn.py [--n-series N]
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
from concurrent.futures import ProcessPoolExecutor  # noqa: E402
from multiprocessing import get_context  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from m4_rnn import H, M, load_hourly, score, write_table  # noqa: E402

from tsrnn.models import AutoARIMA, ESRNNForecaster, Naive2, RNNForecaster, SeasonalNaive, Theta  # noqa: E402

# m4_rnn.py's default network (its first table, OWA 0.604) and its best one (third configuration, OWA 0.596)
RNN_DEFAULT = dict(hidden_size=48, window=72, max_windows=24, lr=3e-3, max_epochs=8, patience=3)
RNN_BEST = dict(hidden_size=64, window=168, max_windows=96, lr=1e-3, max_epochs=12, patience=3)


def rnn(settings):
    return RNNForecaster(cell="lstm", strategy="mimo", horizon=H, loss="mae", batch_size=128, scaler="window",
                         season_length=M, validation_size=0.1, device="cpu", random_state=0, **settings)


def esrnn(args):
    return ESRNNForecaster(season_length=(24, 168), horizon=H, window=24, dilations=((1, 4), (24, 168)),
                           hidden_size=args.hidden_size, max_epochs=args.epochs, lr=args.lr, n_models=args.seeds,
                           n_snapshots=args.snapshots, level_penalty=args.level_penalty, random_state=0,
                           progress=args.progress)


def rnns(args) -> dict:
    if args.skip_rnn:
        return {}
    return {"RNN(lstm), m4_rnn default": rnn(RNN_DEFAULT), "RNN(lstm), m4_rnn best": rnn(RNN_BEST)}


def classical(args) -> dict:
    out = {"SeasonalNaive": SeasonalNaive(season_length=M), "Theta": Theta(season_length=M)}
    if not args.skip_arima:
        out["AutoARIMA"] = AutoARIMA(season_length=M)
    return out


def _forecast(name, model, train, test):
    """Fit and forecast 48 steps; returns ``(name, forecasts aligned with test, CPU seconds, note)``."""
    t0 = time.process_time()
    fc = model.fit(train).predict(H)
    secs = time.process_time() - t0
    fc = fc.set_index(["unique_id", "ds"]).loc[list(zip(test.unique_id, test.ds))].iloc[:, 0].to_numpy()
    note = ""
    if isinstance(model, RNNForecaster):
        h = model.history_
        note = f"{h.n_epochs} epochs (best {h.best_epoch + 1})"
    elif isinstance(model, ESRNNForecaster):
        hs = model.histories_
        note = (f"{sum(h.n_epochs for h in hs)} epochs in all, {len(model.members_)} members, final train loss "
                f"{hs[-1].train_loss[-1]:.4f}")
    return name, fc, secs, note


def _worker(models, train, test):
    torch.set_num_threads(1)
    return [_forecast(n, m, train, test) for n, m in models.items()]


def _combinations(fcs: dict) -> dict:
    """The EnsembleForecaster rules (per-step median / mean) applied to this run's forecasts (no second fit)."""
    out = {}
    nets = [n for n in fcs if n.startswith(("ESRNN", "RNN"))]
    if len(nets) >= 2:
        out[f"Ensemble: median of {' + '.join(nets)}"] = np.median(np.stack([fcs[n] for n in nets]), axis=0)
    for other in ("RNN(lstm), m4_rnn best", "AutoARIMA"):
        if "ESRNN" in fcs and other in fcs:
            out[f"Ensemble: mean of ESRNN + {other}"] = (fcs["ESRNN"] + fcs[other]) / 2
    return out


def _report(args, rows, n_ids, settings):
    lines = ["# M4 Hourly: ESRNNForecaster, global RNNs, their ensembles and classical models (one run)", "",
             f"- command: `python benchmarks/m4_esrnn.py {' '.join(sys.argv[1:])}`",
             f"- date: {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC; torch {torch.__version__}; numpy "
             f"{np.__version__}; pandas {pd.__version__}; python {platform.python_version()}",
             f"- series: {n_ids} of 414; horizon {H}; MASE scale: seasonal naive m={M}; OWA vs this run's Naive2",
             "- CPU, torch threads 1; seconds are CPU (process) seconds of fit + predict; classical models in one "
             "worker process with n_jobs=1, the RNNs in a second one",
             f"- ESRNN settings: {settings}", "",
             "| model | sMAPE | MASE | OWA | CPU seconds | notes |", "| --- | --- | --- | --- | --- | --- |"]
    return write_table(args.out, lines, rows)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n-series", type=int, default=None)
    ap.add_argument("--epochs", type=int, default=None, help="ESRNN max_epochs (default: the estimator's)")
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--hidden-size", type=int, default=40)
    ap.add_argument("--seeds", type=int, default=1, help="ESRNN n_models")
    ap.add_argument("--snapshots", type=int, default=3, help="ESRNN n_snapshots")
    ap.add_argument("--level-penalty", type=float, default=10.0)
    ap.add_argument("--skip-arima", action="store_true")
    ap.add_argument("--skip-rnn", action="store_true", help="leave out the two RNNForecaster networks")
    ap.add_argument("--progress", action="store_true")
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "m4_esrnn.md"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    train, test, ids = load_hourly(args.n_series)
    fcs, rows = {}, {}

    def add(name, fc, secs, note):
        fcs[name] = fc
        rows[name] = (*score(train, test, fc), secs, note)
        print(f"{name}: sMAPE {rows[name][0]:.3f} MASE {rows[name][1]:.3f} ({secs or 0:.0f} CPU s) {note}", flush=True)

    add(*_forecast("Naive2", Naive2(season_length=M), train, test))
    model = esrnn(args)
    # three processes: the classical models and the RNNs in two workers while this one trains ES-RNN
    with ProcessPoolExecutor(2, mp_context=get_context("spawn")) as ex:
        futs = [ex.submit(_worker, group, train, test) for group in (classical(args), rnns(args)) if group]
        add(*_forecast("ESRNN", model, train, test))
        _report(args, rows, len(ids), model.get_params())
        for f in futs:
            for r in f.result():
                add(*r)
            _report(args, rows, len(ids), model.get_params())
    for name, fc in _combinations(fcs).items():
        add(name, fc, None, "per-step combination of the forecasts above")
    print("\n".join(_report(args, rows, len(ids), model.get_params())))


if __name__ == "__main__":
    main()
