"""Copy task (Graves et al., 2014/2016): a DNC against an LSTM with a similar parameter count, trained on short
sequences and tested on longer ones.

Each input is ``L`` random ``bits``-bit vectors, then a delimiter on an extra channel; the model must then output
the ``L`` vectors again (with no input). Training lengths are drawn uniformly from ``1..train_max``; the test
lengths include lengths never seen in training. The score is bit errors per sequence (thresholded sigmoid outputs
against the targets, summed over the ``L * bits`` output bits), averaged over ``n_test`` sequences per length.

Run ``.venv/bin/python benchmarks/dnc_copy.py [--iters 3000] [--seeds 0 1] [--jobs 2]``; it writes
``benchmarks/results/dnc_copy.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from tsrnn.nn import DNC
from tsrnn.nn.training import copy_task

RESULTS = Path(__file__).parent / "results"


class Model(nn.Module):
    """A recurrent core (DNC or LSTM) and a linear read-out to ``bits`` logits."""

    def __init__(self, kind: str, bits: int, hidden: int, memory_size: int, word_size: int, read_heads: int):
        super().__init__()
        if kind == "dnc":
            self.core = DNC(bits + 1, hidden, memory_size, word_size, read_heads)
        else:
            self.core = nn.LSTM(bits + 1, hidden, batch_first=True)
        self.head = nn.Linear(hidden, bits)

    def forward(self, x):
        return self.head(self.core(x)[0])


def n_params(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


def matched_lstm_hidden(target: int, bits: int) -> int:
    """The LSTM hidden size whose model (with read-out) has the parameter count closest to ``target``."""
    return min(range(8, 512), key=lambda h: abs(n_params(Model("lstm", bits, h, 0, 0, 0)) - target))


def run(cfg: dict) -> dict:
    """Train one model on one seed and score it on every test length."""
    torch.set_num_threads(1)
    torch.manual_seed(cfg["seed"])
    dev = torch.device(cfg["device"])
    model = Model(cfg["kind"], cfg["bits"], cfg["hidden"], cfg["memory_size"], cfg["word_size"],
                  cfg["read_heads"]).to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=cfg["lr"])
    g = torch.Generator().manual_seed(cfg["seed"])
    t0 = time.perf_counter()
    done = 0
    while done < cfg["iters"] and time.perf_counter() - t0 < cfg["max_train_s"]:
        done += 1
        length = int(torch.randint(1, cfg["train_max"] + 1, (1,), generator=g))
        x, y, out = copy_task(g, cfg["batch"], length, cfg["bits"])
        x, y = x.to(dev), y.to(dev)
        loss = nn.functional.binary_cross_entropy_with_logits(model(x)[:, out], y[:, out])
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 10.0)
        opt.step()
    train_s = time.perf_counter() - t0
    errors = {}
    test_g = torch.Generator().manual_seed(10_000 + cfg["seed"])
    with torch.no_grad():
        for length in cfg["test_lengths"]:
            x, y, out = copy_task(test_g, cfg["n_test"], length, cfg["bits"])
            pred = (model(x.to(dev)) > 0).float().cpu()
            errors[length] = float((pred[:, out] != y[:, out]).sum() / cfg["n_test"])
    return {**cfg, "params": n_params(model), "train_s": train_s, "iters_done": done, "errors": errors}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--iters", type=int, default=3000)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--bits", type=int, default=6)
    ap.add_argument("--train-max", type=int, default=10)
    ap.add_argument("--test-lengths", type=int, nargs="+", default=[5, 10, 15, 20, 30])
    ap.add_argument("--hidden", type=int, default=64, help="DNC controller size")
    ap.add_argument("--memory-size", type=int, default=32)
    ap.add_argument("--word-size", type=int, default=16)
    ap.add_argument("--read-heads", type=int, default=1)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--n-test", type=int, default=200)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    ap.add_argument("--jobs", type=int, default=1, help="processes (one model x seed each)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--max-train-s", type=float, default=float("inf"), help="stop training a model after this")
    ap.add_argument("--out", default=str(RESULTS / "dnc_copy.md"))
    ap.add_argument("--no-progress", action="store_true")
    args = ap.parse_args(argv)

    dnc_params = n_params(Model("dnc", args.bits, args.hidden, args.memory_size, args.word_size, args.read_heads))
    lstm_hidden = matched_lstm_hidden(dnc_params, args.bits)
    base = {k: getattr(args, k) for k in ("iters", "batch", "bits", "train_max", "test_lengths", "memory_size",
                                          "word_size", "read_heads", "lr", "n_test", "device",
                                          "max_train_s")}
    cfgs = [{**base, "kind": kind, "hidden": args.hidden if kind == "dnc" else lstm_hidden, "seed": s}
            for s in args.seeds for kind in ("dnc", "lstm")]
    t0 = time.perf_counter()
    if args.jobs > 1:
        with ProcessPoolExecutor(args.jobs) as ex:
            results = list(tqdm(ex.map(run, cfgs), total=len(cfgs), disable=args.no_progress))
    else:
        results = [run(c) for c in tqdm(cfgs, disable=args.no_progress)]
    wall = time.perf_counter() - t0

    cmd = " ".join(sys.argv[1:] if argv is None else argv)
    seen = [n for n in args.test_lengths if n <= args.train_max]
    lines = [
        "# Copy task: DNC vs LSTM, tested on longer sequences than trained on",
        "",
        f"Command: `{f'.venv/bin/python benchmarks/dnc_copy.py {cmd}'.strip()}`",
        f"Date: {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC; Python {platform.python_version()}, "
        f"torch {torch.__version__}, device {args.device}, 1 torch thread per process, {args.jobs} process(es); "
        f"{wall:.0f} s wall on a shared, noisy machine (timings are indicative only).",
        "",
        f"{args.bits}-bit vectors, training lengths uniform in 1..{args.train_max}, {args.iters} Adam steps "
        f"(lr {args.lr}, batch {args.batch}, gradient norm clipped at 10), seeds {args.seeds}. "
        f"DNC: controller {args.hidden}, memory {args.memory_size} x {args.word_size}, {args.read_heads} read head(s). "
        f"LSTM hidden size {lstm_hidden}, chosen to match the DNC's parameter count. "
        f"Test: {args.n_test} sequences per length; lengths above {args.train_max} were never seen in training.",
        "",
        "Bit errors per sequence (mean over seeds; per seed in brackets; a sequence of length L has "
        f"{args.bits} L bits, chance is half of them):",
        "",
        "| model | params | steps done | train s | " + " | ".join(f"L={n}" + ("" if n in seen else " (unseen)")
                                                   for n in args.test_lengths) + " |",
        "| --- | --- | --- | --- | " + " | ".join("---" for _ in args.test_lengths) + " |",
    ]
    for kind in ("dnc", "lstm"):
        rs = [r for r in results if r["kind"] == kind]
        cells = []
        for n in args.test_lengths:
            vals = [r["errors"][n] for r in rs]
            cells.append(f"{np.mean(vals):.2f} [" + ", ".join(f"{v:.2f}" for v in vals) + "]")
        steps = "/".join(str(r["iters_done"]) for r in rs)
        lines.append(f"| {kind.upper()} | {rs[0]['params']} | {steps} | {np.mean([r['train_s'] for r in rs]):.0f} | "
                     + " | ".join(cells) + " |")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
