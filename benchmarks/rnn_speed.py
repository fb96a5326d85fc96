"""Speed of the recurrent core, side by side in one run.

1. Training throughput (windows/s) of RNNForecaster's loop (``fit_module`` on the panel's windows) against a bare
   PyTorch loop around ``nn.LSTM`` on the same windows, batch size, optimiser and clipping. Goal: >= 0.9x.
2. Step time (forward + backward of one batch) of each custom cell (peephole LSTM, LSTM-f, MUT1-3) on the default
   hand-written BPTT path, on autograd through the eager loop and under ``torch.compile``, as a ratio to the
   fused ``nn.LSTM``; compile time reported apart. Goal: <= 1.2x.

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


def throughput(device, epochs=3, batch=64, hidden=32, window=24, repeats=3, amp_row=False):
    """Seconds of (bare loop, fit_module fp32, RNNForecaster.fit end to end[, fit_module with autocast]) on the
    same windows, best of ``repeats`` interleaved runs."""
    panel = synthetic_panel()
    kw = dict(cell="lstm", hidden_size=hidden, window=window, max_epochs=epochs, batch_size=batch,
              validation_size=0.0, lr_schedule=None, patience=None, random_state=0, device=str(device))
    f = RNNForecaster(**kw)  # only to cut the very windows the forecaster trains on
    f.loc_, f.scale_ = {}, {}
    p = to_panel(panel)
    for s in p.series:
        f.loc_[s.uid], f.scale_[s.uid] = f._scaling(s.y)
    train, _ = f._windows(p)
    cols = train.take(np.arange(len(train)))  # the streamed windows, materialised once for the bare loop
    z, y = cols[0], cols[2]
    n_win = len(z)

    def loop(r, amp):
        with seeded(r):
            net = WindowNet("lstm", 1, hidden, 1, 0.0, 1, 0, 1, {})
        _sync(device)
        t0 = CLOCK()
        fit_module(net, (z, y), max_epochs=epochs, batch_size=batch, lr=1e-3, clip_grad_norm=1.0, patience=None,
                   lr_schedule=None, random_state=r, device=device, amp=amp,
                   loss_fn=lambda m, b: nn.functional.mse_loss(m(b[0])[..., 0], b[1]))
        _sync(device)
        return CLOCK() - t0

    rows = []
    for r in range(repeats):  # interleaved, best of `repeats`
        t_bare = bare_loop(z, y, epochs, batch, hidden, device, seed=r)
        t_loop = loop(r, False)
        t0 = CLOCK()
        RNNForecaster(**kw).fit(panel)
        t_fit = CLOCK() - t0
        rows.append((t_bare, t_loop, t_fit) + ((loop(r, True),) if amp_row else ()))
    return n_win, epochs, tuple(min(c) for c in zip(*rows))


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
    for name in ("peephole_lstm", "lstm_f", "mut1", "mut2", "mut3"):
        eager = RNN(name, 1, hidden, impl="eager").to(device)
        manual = RNN(name, 1, hidden).to(device)  # impl="bptt", the default for these cells
        manual.load_state_dict(eager.state_dict())
        t = step_time(manual, x, n_iter)
        with torch.no_grad():
            same = torch.allclose(manual(x)[0], eager(x)[0], atol=1e-5)
        rows.append((name, "bptt (default)", t, t / base, None, same))
        t = step_time(eager, x, n_iter)
        rows.append((name, "eager autograd", t, t / base, None, True))
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


def _throughput_table(n_win, epochs, times, amp_row):
    t_bare, t_loop, t_fit = times[:3]
    rate = lambda t: n_win * epochs / t  # noqa: E731
    lines = ["| loop | seconds | windows/s | ratio to bare |", "| --- | --- | --- | --- |",
             f"| bare torch loop around nn.LSTM | {t_bare:.2f} | {rate(t_bare):.0f} | 1.00 |",
             f"| fit_module (RNNForecaster's loop and network, fp32) | {t_loop:.2f} | {rate(t_loop):.0f} | "
             f"{t_bare / t_loop:.2f} |"]
    if amp_row:
        lines.append(f"| fit_module with bfloat16 autocast (amp=True) | {times[3]:.2f} | {rate(times[3]):.0f} | "
                     f"{t_bare / times[3]:.2f} |")
    lines.append(f"| RNNForecaster.fit end to end (windows, scaling, residuals; float32, the default) | {t_fit:.2f} | "
                 f"{rate(t_fit):.0f} | {t_bare / t_fit:.2f} |")
    return lines


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--no-compile", action="store_true")
    ap.add_argument("--compare-cpu", action="store_true",
                    help="with --device cuda: also time the throughput loops on this machine's CPU (all its cores)")
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "rnn_speed.md"))
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    cuda = device.type == "cuda"
    global CLOCK
    if not cuda:
        CLOCK = time.process_time
    dev_name = torch.cuda.get_device_name(device) if cuda else platform.processor() or "cpu"
    cmd = "python benchmarks/rnn_speed.py " + " ".join(sys.argv[1:])
    lines = [
        "# Recurrent core speed", "",
        f"- command: `{cmd.strip()}`",
        f"- date: {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC; torch {torch.__version__}; numpy "
        f"{np.__version__}; python {platform.python_version()}",
        f"- device: {device.type} ({dev_name}); torch threads: {torch.get_num_threads()}",
        f"- clock: {'wall time, synchronised (torch.cuda.synchronize)' if cuda else 'process CPU time (time.process_time): the CPU machine is shared by many jobs, where wall time inflates long steps more than short ones; CPU seconds of this single-threaded process do not'}"  # noqa: E501
        ". Best of 3 interleaved runs (throughput), medians of 30 steps (cells); read ratios, not absolute numbers.",
        "",
    ]

    def write():
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text("\n".join(lines) + "\n")

    # (batch, hidden): the course-sized model, then a GPU-sized one (on a GPU only: it is minutes on 1 CPU thread)
    thr_sizes = [(64, 32)] + ([(1024, 128)] if cuda else [])
    measured = {}
    for batch, hidden in thr_sizes:
        n_win, epochs, times = throughput(device, batch=batch, hidden=hidden, amp_row=cuda)
        measured[(batch, hidden)] = (n_win, epochs, times)
        print(f"throughput b{batch} h{hidden}: bare {n_win * epochs / times[0]:.0f} w/s, "
              f"fit_module {n_win * epochs / times[1]:.0f} w/s", flush=True)
        lines += [f"## 1. Training throughput: RNNForecaster's loop vs a bare nn.LSTM loop (batch {batch}, "
                  f"hidden {hidden})",
                  f"Same {n_win} windows (40 series x 400 hourly points, window 24), LSTM hidden {hidden}, batch "
                  f"{batch}, Adam, clipping 1.0, {epochs} epochs.", ""]
        lines += _throughput_table(n_win, epochs, times, cuda) + ["",
                                                                  "Goal: fit_module >= 0.9x the bare loop's throughput.",
                                                                  ""]
        write()
    if cuda and args.compare_cpu:
        n_cpu = torch.get_num_threads()
        torch.set_num_threads(max(1, len(__import__("os").sched_getaffinity(0))))
        lines += [f"## CUDA against this machine's CPU ({torch.get_num_threads()} torch threads), same loops and "
                  "windows, wall time", "",
                  "| batch, hidden | loop | CPU windows/s | CUDA windows/s | CUDA / CPU |",
                  "| --- | --- | --- | --- | --- |"]
        for batch, hidden in thr_sizes:
            n_win, epochs, gpu_times = measured[(batch, hidden)]
            _, _, cpu_times = throughput(torch.device("cpu"), batch=batch, hidden=hidden, repeats=1)
            names = ["bare nn.LSTM loop", "fit_module fp32", "RNNForecaster.fit"]
            for name, tc, tg in zip(names, cpu_times, gpu_times[:3]):
                lines.append(f"| {batch}, {hidden} | {name} | {n_win * epochs / tc:.0f} | "
                             f"{n_win * epochs / tg:.0f} | {tc / tg:.2f} |")
            lines.append(f"| {batch}, {hidden} | fit_module bf16 autocast (CUDA) vs fp32 (CPU) | "
                         f"{n_win * epochs / cpu_times[1]:.0f} | {n_win * epochs / gpu_times[3]:.0f} | "
                         f"{cpu_times[1] / gpu_times[3]:.2f} |")
            print(lines[-4:], flush=True)
            write()
        lines.append("")
        torch.set_num_threads(n_cpu)
    sizes = [(64, 24, 32, False), (256, 24, 128, False)]  # (batch, steps, hidden): overhead-, then compute-bound
    if not args.no_compile:  # last: compiling takes minutes and its table is the one a time limit may cut off
        sizes.append((64, 24, 32, True))
    for b, T, hd, comp in sizes:
        rows = cell_ratios(device, compile_=comp, batch=b, T=T, hidden=hd)
        print(rows, flush=True)
        lines += [f"## 2. Step time of each cell (forward + backward, batch {b}, {T} steps, hidden {hd}"
                  f"{', eager and compiled' if comp else ''})", "",
                  "| cell | path | step ms | ratio to fused LSTM | compile s | same output as eager |",
                  "| --- | --- | --- | --- | --- | --- |"]
        for name, path, t, ratio, tc, same in rows:
            lines.append(f"| {name} | {path} | {t * 1e3:.2f} | {ratio:.2f} | "
                         f"{'' if tc is None else f'{tc:.1f}'} | {'yes' if same else 'NO'} |")
        lines.append("")
        write()
    lines += ["Goal: every custom cell's step at most 1.2x the fused LSTM's (compile time apart).",
              "'bptt' = the hand-written forward/backward loops of tsrnn.nn._bptt (the default for these cells); 'eager "
              "autograd' = autograd through the Python loop of cell.step; 'compiled' = that step under torch.compile "
              "(the Python loop over time stays)."]
    write()
    print("wrote", args.out)


if __name__ == "__main__":
    main()
