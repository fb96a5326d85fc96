"""ECG suite benchmark: recurrent classifiers vs wavelet-feature baselines on UCR ECG200 and MIT-BIH inter-record.

Run: TSRNN_DATA_MIRROR=../shared/datasets .venv/bin/python benchmarks/ecg_suite.py [--quick] [--tasks ecg200 mitbih]
Writes benchmarks/results/ecg_suite.md and the figures beside it.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

from tsrnn.suites.ecg import run


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="few epochs: a smoke test")
    ap.add_argument("--tasks", nargs="+", default=["ecg200", "mitbih"])
    ap.add_argument("--threads", type=int, default=1, help="torch threads (the machine is shared)")
    ap.add_argument("--out", default=str(Path(__file__).parent / "results"))
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    res = run(out=args.out, tasks=tuple(args.tasks), quick=args.quick, progress=True)
    total = time.perf_counter() - t0
    md = res.to_markdown()
    md = md.replace("# tsrnn `ecg` suite", "# ECG suite benchmark (`benchmarks/ecg_suite.py`)", 1)
    head = [
        "",
        f"Command: `TSRNN_DATA_MIRROR=../shared/datasets .venv/bin/python benchmarks/ecg_suite.py "
        f"{' '.join(sys.argv[1:])}`",
        "",
        f"Total wall time {total:.0f} s on a CPU machine (2 cores) shared with other jobs at the time: the fit/predict "
        "seconds are noisy and only indicative. Accuracy numbers are deterministic for the given seeds.",
        "",
    ]
    lines = md.split("\n")
    md = "\n".join(lines[:1] + head + lines[1:])
    out = Path(args.out) / "ecg_suite.md"
    out.write_text(md)
    (Path(args.out) / "ecg.md").unlink(missing_ok=True)
    print(res.leaderboard().to_string())
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
