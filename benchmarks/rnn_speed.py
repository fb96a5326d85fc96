"""Speed of the recurrent core, side by side in one run.

1. Training throughput (windows/s) of RNNForecaster's loop (``fit_module`` on the panel's windows) against a bare
   PyTorch loop around ``nn.LSTM`` on the same windows, batch size, optimiser and clipping. Goal: >= 0.9x.
2. Step time (forward + backward of one batch) of each custom cell (peephole LSTM, MUT1-3), eager and under
   ``torch.compile``, as a ratio to the fused ``nn.LSTM``; compile time reported apart. Goal: <= 1.2x.

Run:  .venv/bin/python benchmarks/rnn_speed.py [--threads 1] [--device cpu] [--no-compile] [--out PATH]
Writes benchmarks/results/rnn_speed.md (or --out).
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tsrnn._validation import to_panel  # noqa: E402
from tsrnn.models import RNNForecaster  # noqa: E402
from tsrnn.models.rnn import WindowNet  # noqa: E402
from tsrnn.nn import RNN, fit_module  # noqa: E402
from tsrnn.nn.training import seeded  # noqa: E402


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


CLOCK = time.perf_counter  # set to time.process_time on a CPU: CPU seconds survive a crowded machine


def synthetic_panel(n_series=40, n=400, seed=0) -> pd.DataFrame:
    g = np.random.default_rng(seed)
    idx = pd.date_range("2020-01-01", periods=n, freq="h")
    t = np.arange(n)
    return pd.concat([pd.DataFrame({"unique_id": f"s{i}", "ds": idx,
                                    "y": 10 + i + np.sin(2 * np.pi * t / 24) + 0.2 * g.normal(size=n)})
                      for i in range(n_series)], ignore_index=True)


def bare_loop(z, y, epochs, batch, hidden, device, seed=0):
    """The reference: nn.LSTM + Linear, Adam, grad clipping 1.0, shuffled mini-batches, nothing else."""
    torch.manual_seed(seed)
    lstm, head = nn.LSTM(1, hidden, batch_first=True).to(device), nn.Linear(hidden, 1).to(device)
    params = list(lstm.parameters()) + list(head.parameters())
    opt = torch.optim.Adam(params, lr=1e-3)
    z, y = torch.as_tensor(z, device=device), torch.as_tensor(y, device=device)
    _sync(device)
    t0 = CLOCK()
    for _ in range(epochs):
        perm = torch.randperm(len(z), device=device)
        for s in range(0, len(z), batch):
            idx = perm[s:s + batch]
            out = head(lstm(z[idx])[0][:, -1])
            loss = nn.functional.mse_loss(out, y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
    _sync(device)
    return CLOCK() - t0


def throughput(device, epochs=3, batch=64, hidden=32, window=24, repeats=3):
    panel = synthetic_panel()
    kw = dict(cell="lstm", hidden_size=hidden, window=window, max_epochs=epochs, batch_size=batch,
              validation_size=0.0, lr_schedule=None, patience=None, random_state=0, device=str(device))
    f = RNNForecaster(**kw)  # only to cut the very windows the forecaster trains on
    f.loc_, f.scale_ = {}, {}
    p = to_panel(panel)
    for s in p.series:
        f.loc_[s.uid], f.scale_[s.uid] = f._scaling(s.y)
    train, _ = f._windows(p)
    z, y = train[0], train[2]
    n_win = len(z)
    rows = []
    for r in range(repeats):  # interleaved, best of `repeats`
        t_bare = bare_loop(z, y, epochs, batch, hidden, device, seed=r)
        with seeded(r):
            net = WindowNet("lstm", 1, hidden, 1, 0.0, 1, 0, 1, {})
        _sync(device)
        t0 = CLOCK()
        fit_module(net, (z, y), max_epochs=epochs, batch_size=batch, lr=1e-3, clip_grad_norm=1.0, patience=None,
                   lr_schedule=None, random_state=r, device=device, amp=False,
                   loss_fn=lambda m, b: nn.functional.mse_loss(m(b[0])[..., 0], b[1]))
        _sync(device)
        t_loop = CLOCK() - t0
        t0 = CLOCK()
        RNNForecaster(**kw).fit(panel)
        t_fit = CLOCK() - t0
        rows.append((t_bare, t_loop, t_fit))
    t_bare, t_loop, t_fit = (min(c) for c in zip(*rows))
    return n_win, epochs, t_bare, t_loop, t_fit


def step_time(rnn, x, n_iter):
    params = list(rnn.parameters())
    times = []
    for i in range(n_iter + 2):
        _sync(x.device)
        t0 = CLOCK()
        out, _ = rnn(x)
        grads = torch.autograd.grad(out.square().mean(), params)
        del grads
        _sync(x.device)
        if i >= 2:  # warm-up
            times.append(CLOCK() - t0)
    return statistics.median(times) if times else float("nan")


def cell_ratios(device, compile_=True, batch=64, T=24, hidden=32, n_iter=30):
    x = torch.randn(batch, T, 1, device=device)
    torch.manual_seed(0)
    base = step_time(RNN("lstm", 1, hidden).to(device), x, n_iter)
    rows = [("lstm (fused nn.LSTM)", "fused", base, 1.0, None, True)]
    for name in ("gru", "elman"):
        t = step_time(RNN(name, 1, hidden).to(device), x, n_iter)
        rows.append((f"{name} (fused)", "fused", t, t / base, None, True))
    for name in ("peephole_lstm", "mut1", "mut2", "mut3"):
        eager = RNN(name, 1, hidden).to(device)
        t = step_time(eager, x, n_iter)
        rows.append((name, "eager", t, t / base, None, True))
        if compile_:
            comp = RNN(name, 1, hidden, impl="compiled").to(device)
            comp.load_state_dict(eager.state_dict())
            t0 = time.perf_counter()  # wall time: inductor compiles in worker processes the CPU clock misses
            with torch.no_grad():
                same = torch.allclose(comp(x)[0], eager(x)[0], atol=1e-5)
            step_time(comp, x, 0)  # compile the backward too
            t_compile = time.perf_counter() - t0
            t = step_time(comp, x, n_iter)
            rows.append((name, "compiled", t, t / base, t_compile, same))
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--no-compile", action="store_true")
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "rnn_speed.md"))
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    global CLOCK
    if device.type == "cpu":
        CLOCK = time.process_time
    n_win, epochs, t_bare, t_loop, t_fit = throughput(device)
    print(f"throughput: bare {n_win * epochs / t_bare:.0f} w/s, fit_module {n_win * epochs / t_loop:.0f} w/s")
    sizes = [(64, 24, 32), (256, 24, 128)]  # (batch, steps, hidden): overhead-bound, then compute-bound
    tables = [cell_ratios(device, compile_=not args.no_compile and i == 0, batch=b, T=T, hidden=hd)
              for i, (b, T, hd) in enumerate(sizes)]
    for r in tables:
        print(r)
    dev_name = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or "cpu"
    cmd = "python benchmarks/rnn_speed.py " + " ".join(sys.argv[1:])
    lines = [
        "# Recurrent core speed", "",
        f"- command: `{cmd.strip()}`",
        f"- date: {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC; torch {torch.__version__}; numpy "
        f"{np.__version__}; python {platform.python_version()}",
        f"- device: {device.type} ({dev_name}); torch threads: {torch.get_num_threads()}",
        f"- clock: {'process CPU time (time.process_time)' if device.type == 'cpu' else 'wall time, synchronised'}"
        ": the CPU machine is shared by many jobs (load ~15 on 2 cores), where wall time inflates long steps more "
        "than short ones; CPU seconds of this single-threaded process do not. Best of 3 interleaved runs "
        "(throughput), medians of 30 steps (cells); read ratios, not absolute numbers.", "",
        "## 1. Training throughput: RNNForecaster's loop vs a bare nn.LSTM loop",
        f"Same {n_win} windows (40 series x 400 hourly points, window 24), LSTM hidden 32, batch 64, Adam, "
        f"clipping 1.0, {epochs} epochs.", "",
        "| loop | seconds | windows/s | ratio to bare |", "| --- | --- | --- | --- |",
        f"| bare torch loop around nn.LSTM | {t_bare:.2f} | {n_win * epochs / t_bare:.0f} | 1.00 |",
        f"| fit_module (RNNForecaster's loop and network, fp32) | {t_loop:.2f} | {n_win * epochs / t_loop:.0f} | "
        f"{t_bare / t_loop:.2f} |",
        f"| RNNForecaster.fit end to end (windows, scaling, residuals) | {t_fit:.2f} | "
        f"{n_win * epochs / t_fit:.0f} | {t_bare / t_fit:.2f} |", "",
        "Goal: fit_module >= 0.9x the bare loop's throughput.", "",
    ]
    for (b, T, hd), rows in zip(sizes, tables):
        lines += [f"## 2. Step time of each cell (forward + backward, batch {b}, {T} steps, hidden {hd})", "",
                  "| cell | path | step ms | ratio to fused LSTM | compile s | same output as eager |",
                  "| --- | --- | --- | --- | --- | --- |"]
        for name, path, t, ratio, tc, same in rows:
            lines.append(f"| {name} | {path} | {t * 1e3:.2f} | {ratio:.2f} | "
                         f"{'' if tc is None else f'{tc:.1f}'} | {'yes' if same else 'NO'} |")
        lines.append("")
    lines += ["Goal: every custom cell's step at most 1.2x the fused LSTM's (compile time apart).",
              "'compiled' = the step function under torch.compile (the Python loop over time stays); compiled "
              "only at the first size."]
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text("\n".join(lines) + "\n")
    print("wrote", args.out)


if __name__ == "__main__":
    main()
