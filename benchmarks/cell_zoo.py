"""The ten architectures of Jozefowicz, Zaremba & Sutskever (2015) side by side: Tanh, LSTM, LSTM-f, LSTM-i, LSTM-o,
LSTM-b, GRU, MUT1, MUT2, MUT3, several seeds each, on

1. the adding problem (T = 100 by default): test MSE after a fixed budget of Adam steps (predicting the mean scores
   1/6 ~ 0.167), the steps needed to get below 0.05, and how many seeds got there;
2. M4 Hourly (a subset of series): a global MIMO RNNForecaster per cell, sMAPE / MASE / OWA against Naive2;
3. the vanishing gradient: ||dL/dx_t|| at initialisation with the loss at the last step, per time step (plot).

    TSRNN_DATA_MIRROR=../shared/datasets .venv/bin/python benchmarks/cell_zoo.py [--device cuda] [--jobs 8]
        [--seeds 3] [--T 100] [--steps 1500] [--m4-series 100] [--m4-epochs 15] [--out PATH]
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ARCHS = {"Tanh": "elman", "LSTM": "lstm", "LSTM-f": "lstm_f", "LSTM-i": "lstm_i", "LSTM-o": "lstm_o",
         "LSTM-b": "lstm_b", "GRU": "gru", "MUT1": "mut1", "MUT2": "mut2", "MUT3": "mut3"}

# What the paper concludes (qualitative; its tables report per-task numbers, not one ranking):
PAPER = [
    "GRU beat LSTM on nearly all tasks (all but language modelling);",
    "LSTM-b (forget-gate bias 1) closed most of the gap between LSTM and GRU;",
    "the forget gate matters most (LSTM-f was the weakest LSTM variant), the output gate least (LSTM-o close to LSTM);",
    "MUT1 matched or beat GRU on arithmetic and XML modelling; MUT2/MUT3 were close to GRU;",
    "no architecture beat GRU and LSTM-b consistently on all tasks.",
]


def _adding_task(arch, seed, T, steps, device, hidden=64, batch=64, lr=1e-2):
    import torch
    from torch import nn

    from tsrnn.nn import RNN, fit_module
    from tsrnn.nn.training import adding_problem, seeded

    torch.set_num_threads(1)
    x, y = adding_problem(64 * 50 + 1000, T, random_state=seed)
    train, valid = (x[:-1000], y[:-1000]), (x[-1000:], y[-1000:])

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn, self.out = RNN(arch, 2, hidden), nn.Linear(hidden, 1)

        def forward(self, x):
            return self.out(self.rnn(x)[0][:, -1])

    with seeded(seed):
        m = Net()
    t0 = time.perf_counter()
    h = fit_module(m, train, valid, max_epochs=10**6, max_steps=steps, batch_size=batch, lr=lr, lr_schedule=None,
                   patience=None, random_state=seed, device=device)
    per_epoch = len(train[0]) // batch
    hit = [i for i, v in enumerate(h.valid_loss) if v < 0.05]
    return dict(arch=arch, seed=seed, final=h.valid_loss[-1], best=min(h.valid_loss),
                steps_to_005=(hit[0] + 1) * per_epoch if hit else None, seconds=time.perf_counter() - t0)


def _m4_task(arch, seed, n_series, epochs, device):
    import torch

    from tsrnn.datasets import load_m4
    from tsrnn.metrics import mase, mase_scale, smape
    from tsrnn.models import RNNForecaster

    torch.set_num_threads(1)
    train, test = load_m4("Hourly")
    ids = train["unique_id"].unique()[:n_series]
    train, test = train[train.unique_id.isin(ids)], test[test.unique_id.isin(ids)]
    t0 = time.perf_counter()
    f = RNNForecaster(cell=arch, hidden_size=32, window=72, strategy="mimo", horizon=48, loss="mae",
                      max_epochs=epochs, batch_size=128, lr=2e-3, max_windows=150, patience=5, device=device,
                      random_state=seed).fit(train)
    fc = f.predict(48)["RNNForecaster"].to_numpy().reshape(-1, 48)
    y = test["y"].to_numpy().reshape(-1, 48)
    scales = np.array([mase_scale(g.to_numpy(), 24) for _, g in train.groupby("unique_id", sort=False)["y"]])
    return dict(arch=arch, seed=seed, smape=float(np.mean([smape(a, b) for a, b in zip(y, fc)])),
                mase=float(np.mean(mase(y, fc, scale=scales))), seconds=time.perf_counter() - t0)


def _naive2(n_series):
    from tsrnn.datasets import load_m4
    from tsrnn.metrics import mase, mase_scale, smape
    from tsrnn.models import Naive2

    train, test = load_m4("Hourly")
    ids = train["unique_id"].unique()[:n_series]
    train, test = train[train.unique_id.isin(ids)], test[test.unique_id.isin(ids)]
    fc = Naive2(season_length=24).fit(train).predict(48)["Naive2"].to_numpy().reshape(-1, 48)
    y = test["y"].to_numpy().reshape(-1, 48)
    scales = np.array([mase_scale(g.to_numpy(), 24) for _, g in train.groupby("unique_id", sort=False)["y"]])
    return float(np.mean([smape(a, b) for a, b in zip(y, fc)])), float(np.mean(mase(y, fc, scale=scales)))


def gradient_profile(T, device, seed=0):
    import torch

    from tsrnn.nn import RNN
    from tsrnn.nn.recurrent import input_gradient_norms
    from tsrnn.nn.training import adding_problem, seeded

    x = torch.as_tensor(adding_problem(64, T, random_state=seed)[0], device=device)
    out = {}
    for name, arch in ARCHS.items():
        with seeded(seed):
            rnn = RNN(arch, 2, 64).to(device)
        g = input_gradient_norms(rnn, x, lambda o: o[0][:, -1].sum()).cpu().numpy()
        out[name] = g / g[-1]
    return out


def plot_profile(prof, png):
    """Semilog plot of each cell's ||dL/dx_t|| / ||dL/dx_T|| against t; returns the PNG's path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    for n, g in prof.items():
        ax.semilogy(np.arange(1, len(g) + 1), g, label=n)
    ax.set_xlabel("time step t (loss at t = T)")
    ax.set_ylabel("||dL/dx_t|| / ||dL/dx_T||")
    ax.set_title(f"Vanishing gradient at initialisation, T = {len(next(iter(prof.values())))}")
    ax.legend(ncol=2, fontsize=7)
    fig.tight_layout()
    fig.savefig(png, dpi=100)
    plt.close(fig)
    return Path(png)


def _run(tasks, jobs, partial=None):
    """Run the tasks; with ``partial`` (a JSON-lines file) each result is appended as it finishes and the results
    already there are reused, so that a run cut off by a time limit resumes where it stopped."""
    import json

    done = {}
    if partial and Path(partial).exists():
        for line in Path(partial).read_text().splitlines():
            r = json.loads(line)
            done[(r["kind"], r["arch"], r["seed"])] = r
    key = lambda fn, a: ("adding" if fn is _adding_task else "m4", a[0], a[1])  # noqa: E731
    todo = [(fn, a) for fn, a in tasks if key(fn, a) not in done]

    def keep(fn, a, r):
        r = dict(r, kind=key(fn, a)[0])
        done[key(fn, a)] = r
        if partial:
            with open(partial, "a") as fh:
                fh.write(json.dumps(r) + "\n")

    if jobs <= 1:
        for fn, a in todo:
            keep(fn, a, fn(*a))
    else:
        with ProcessPoolExecutor(jobs, mp_context=get_context("spawn")) as ex:
            futs = {ex.submit(fn, *a): (fn, a) for fn, a in todo}
            for f in as_completed(futs):
                keep(*futs[f], f.result())
    return [done[key(fn, a)] for fn, a in tasks]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--T", type=int, default=100)
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--m4-series", type=int, default=100)
    ap.add_argument("--m4-epochs", type=int, default=15)
    ap.add_argument("--skip-m4", action="store_true")
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "cell_zoo.md"))
    ap.add_argument("--partial", help="JSON-lines file of finished runs: appended to, and reused on a rerun")
    args = ap.parse_args()
    import pandas as pd
    import torch

    t0 = time.perf_counter()
    tasks = [(_adding_task, (arch, s, args.T, args.steps, args.device, args.hidden)) for arch in ARCHS.values()
             for s in range(args.seeds)]
    if not args.skip_m4:
        tasks += [(_m4_task, (arch, s, args.m4_series, args.m4_epochs, args.device)) for arch in ARCHS.values()
                  for s in range(args.seeds)]
    res = _run(tasks, args.jobs, args.partial)
    add = pd.DataFrame([r for r in res if r.get("kind", "adding" if "final" in r else "m4") == "adding"])
    names = {v: k for k, v in ARCHS.items()}
    add["name"] = add.arch.map(names)
    a = add.groupby("name", sort=False).agg(final_mse=("final", "mean"), final_sd=("final", "std"),
                                            best_mse=("best", "mean"),
                                            solved=("steps_to_005", lambda s: f"{s.notna().sum()}/{len(s)}"),
                                            median_steps=("steps_to_005", "median"), seconds=("seconds", "mean"))
    a["rank"] = a.final_mse.rank().astype(int)
    lines = ["# Cell zoo: the ten architectures of Jozefowicz, Zaremba & Sutskever (2015)", "",
             f"- command: `python benchmarks/cell_zoo.py {' '.join(sys.argv[1:])}`",
             f"- date: {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC; torch {torch.__version__}; python "
             f"{platform.python_version()}; device {args.device}"
             + (f" ({torch.cuda.get_device_name()})" if args.device.startswith("cuda") else "")
             + f"; {args.jobs} worker processes, 1 torch thread each; total {time.perf_counter() - t0:.0f} s",
             f"- machine: {platform.node() or '?'}, {__import__('os').cpu_count()} CPUs; timings are wall seconds of one "
             "worker process among several, so noisy.", "",
             f"## 1. Adding problem, T = {args.T}: {args.steps} Adam steps (lr 1e-2, batch 64, hidden {args.hidden}, clipping 1), "
             f"{args.seeds} seeds", "Mean predictor: MSE 0.167. 'solved' = seeds whose test MSE got below 0.05.", "",
             "| cell | final test MSE (mean ± sd) | best MSE | solved | median steps to < 0.05 | s per run | rank |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for n, r in a.iterrows():
        med = "" if np.isnan(r.median_steps) else f"{r.median_steps:.0f}"
        lines.append(f"| {n} | {r.final_mse:.4f} ± {0 if np.isnan(r.final_sd) else r.final_sd:.4f} | "
                     f"{r.best_mse:.4f} | {r.solved} | {med} | {r.seconds:.0f} | {int(r['rank'])} |")
    if not args.skip_m4:
        m4 = pd.DataFrame([r for r in res if "smape" in r])
        m4["name"] = m4.arch.map(names)
        s2, m2 = _naive2(args.m4_series)
        m4["owa"] = 0.5 * (m4.smape / s2 + m4.mase / m2)
        b = m4.groupby("name", sort=False).agg(smape=("smape", "mean"), mase=("mase", "mean"), owa=("owa", "mean"),
                                               owa_sd=("owa", "std"), seconds=("seconds", "mean"))
        b["rank"] = b.owa.rank().astype(int)
        lines += ["", f"## 2. M4 Hourly, first {args.m4_series} series, horizon 48 ({args.seeds} seeds)",
                  f"Global MIMO RNNForecaster (hidden 32, window 72, MAE loss, <= {args.m4_epochs} epochs). "
                  f"Naive2 on the same series: sMAPE {s2:.3f}, MASE {m2:.3f}.", "",
                  "| cell | sMAPE | MASE | OWA (mean ± sd) | s per run | rank |", "| --- | --- | --- | --- | --- | --- |"]
        for n, r in b.iterrows():
            lines.append(f"| {n} | {r.smape:.3f} | {r.mase:.3f} | {r.owa:.3f} ± {r.owa_sd:.3f} | {r.seconds:.0f} | "
                         f"{int(r['rank'])} |")
        a = a.join(b[["rank"]], rsuffix="_m4")
    prof = gradient_profile(args.T, args.device)
    lines += ["", "## 3. Vanishing gradient at initialisation",
              f"||dL/dx_t|| / ||dL/dx_T|| with the loss at the last step of T = {args.T} (batch 64, hidden 64):", "",
              "| cell | t = T-10 | t = T-50 | t = 1 |", "| --- | --- | --- | --- |"]
    for n, g in prof.items():
        lines.append(f"| {n} | {g[-11]:.2e} | {g[max(0, len(g) - 51)]:.2e} | {g[0]:.2e} |")
    try:
        png = plot_profile(prof, Path(args.out).with_suffix(".png"))
        lines += ["", f"![gradient norm per step]({png.name})"]
    except Exception as e:  # plotting is optional
        lines += ["", f"(plot failed: {e})"]
    lines += ["", "## The paper's conclusions, for comparison",
              "(summarised from the paper's text from memory, not copied from its tables: check against the course's "
              "table before quoting)", ""] + [f"- {p}" for p in PAPER]
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
