"""RNNForecaster.fit on a quiet and on a busy CPU, side by side in one run.

A small panel (``make_sales``, 10 daily series) is fitted with torch's intra-op thread count set to 1 (tsrnn's
default) and to torch's own default, each once with the cores otherwise idle ("quiet": nothing started by this
script) and once while ``--busy`` processes (pure-Python spinning loops, started with multiprocessing) compete
for the cores. The four cases are interleaved, ``--repeats`` times, and medians reported, so that slow drifts of
the machine's load fall on all of them. Goal: busy time at most 3x quiet time with the defaults.

The thread count is applied the way the estimators do: with ``n_threads=`` when ``RNNForecaster`` takes it,
otherwise with :func:`tsrnn.nn.training.torch_threads` around ``fit`` (the same helper the estimators use
inside ``fit``/``predict``). Wall seconds, and CPU seconds of this process, are reported; the load average is
read before and after.

Run:  nice python benchmarks/busy_cpu.py [--repeats 3] [--busy 2] [--epochs 2] [--out PATH]
      (do not set OMP_NUM_THREADS: it would change torch's default thread count that is compared here)
Writes benchmarks/results/busy_cpu.md (or --out).
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing as mp
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tsrnn.datasets import make_sales  # noqa: E402
from tsrnn.models import RNNForecaster  # noqa: E402
from tsrnn.nn.training import torch_threads  # noqa: E402

TORCH_DEFAULT_THREADS = torch.get_num_threads()  # read before anything sets it


def _spin(stop) -> None:
    """A busy process: pure-Python arithmetic until ``stop`` is set."""
    x = 0
    while not stop.is_set():
        for i in range(10_000):
            x = (x + i * i) % 1_000_003


class Busy:
    """``n`` spinning processes for the duration of a ``with`` block."""

    def __init__(self, n: int):
        self.n = n

    def __enter__(self):
        self.stop = mp.Event()
        self.procs = [mp.Process(target=_spin, args=(self.stop,), daemon=True) for _ in range(self.n)]
        for p in self.procs:
            p.start()
        time.sleep(0.5)  # let them reach the cores
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for p in self.procs:
            p.join(timeout=5)
            if p.is_alive():
                p.terminate()


def fit_once(panel, threads: int, epochs: int) -> tuple[float, float]:
    """Wall and process CPU seconds of one ``RNNForecaster.fit`` with ``threads`` torch threads."""
    kw = dict(window=14, hidden_size=32, max_epochs=epochs, patience=None, random_state=0, device="cpu")
    takes_threads = "n_threads" in RNNForecaster().get_params()
    model = RNNForecaster(**kw, n_threads=threads) if takes_threads else RNNForecaster(**kw)
    before = torch.get_num_threads()
    w0, c0 = time.perf_counter(), time.process_time()
    with torch_threads(None if takes_threads else threads):
        model.fit(panel)
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    assert torch.get_num_threads() == before, "fit changed torch's thread count"
    return wall, cpu


def run(repeats: int, n_busy: int, epochs: int, default_threads: int) -> dict:
    panel = make_sales(n_series=10, length=365, seed=0)[["unique_id", "ds", "y"]]
    fit_once(panel, 1, 1)  # warm-up (imports, allocator)
    cases = [(t, busy) for t in (1, default_threads) for busy in (False, True)]
    times = {c: [] for c in cases}
    for _ in range(repeats):
        for threads, busy in cases:
            if busy:
                with Busy(n_busy):
                    times[(threads, busy)].append(fit_once(panel, threads, epochs))
            else:
                times[(threads, busy)].append(fit_once(panel, threads, epochs))
    return times


def report(times, args, default_threads, load_before, load_after, seconds) -> str:
    med = {c: (statistics.median(w for w, _ in v), statistics.median(c_ for _, c_ in v)) for c, v in times.items()}
    lines = [
        "# RNNForecaster.fit on a quiet and a busy CPU",
        "",
        f"- command: `{' '.join(['python'] + sys.argv)}`",
        f"- date: {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC; torch {torch.__version__}; python "
        f"{platform.python_version()}; {os.cpu_count()} logical CPUs ({len(os.sched_getaffinity(0))} usable by "
        f"this process); torch's default thread count here: {default_threads}",
        f"- load average (1, 5, 15 min) before: {load_before}; after: {load_after}; run took {seconds:.0f} s",
        f"- task: `RNNForecaster(window=14, hidden_size=32, max_epochs={args.epochs}, patience=None, "
        "random_state=0, device='cpu').fit` on `make_sales(n_series=10, length=365)` (10 daily series)",
        f"- busy: {args.busy} processes spinning pure-Python loops (multiprocessing) during the fit; medians of "
        f"{args.repeats} interleaved repeats; wall seconds and CPU seconds of this process",
        "",
        "| torch threads | quiet wall s | busy wall s | busy / quiet | quiet CPU s | busy CPU s |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for t in sorted({t for t, _ in times}):
        (qw, qc), (bw, bc) = med[(t, False)], med[(t, True)]
        label = f"{t} (tsrnn default)" if t == 1 else f"{t} (torch default)"
        lines.append(f"| {label} | {qw:.2f} | {bw:.2f} | {bw / qw:.1f}x | {qc:.2f} | {bc:.2f} |")
    lines += ["", "All runs (wall s, CPU s):", ""]
    for (t, busy), v in times.items():
        lines.append(f"- threads {t}, {'busy' if busy else 'quiet'}: "
                     + ", ".join(f"({w:.2f}, {c:.2f})" for w, c in v))
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--busy", type=int, default=2, help="number of busy processes")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--default-threads", type=int, default=None,
                    help="the 'torch default' thread count compared (default: torch's own at start-up)")
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "busy_cpu.md"))
    args = ap.parse_args()
    default_threads = args.default_threads or TORCH_DEFAULT_THREADS
    if default_threads == 1:
        print("warning: torch's default thread count is 1 here (OMP_NUM_THREADS set?); the comparison is moot")
    load_before = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    t0 = time.perf_counter()
    times = run(args.repeats, args.busy, args.epochs, default_threads)
    seconds = time.perf_counter() - t0
    load_after = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    text = report(times, args, default_threads, load_before, load_after, seconds)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
