"""Capacity curve of the Hopfield network: recall rate against the load P/N for the Hebbian and pseudo-inverse rules.

For each load ``alpha = P/N`` the script stores ``P`` random ±1 patterns in a network of ``N`` units and measures

* ``stable``: the fraction of patterns that, used as the start state, end within 5 % of their bits (overlap
  ``m >= 0.9``) -- the retrieval criterion of Amit, Gutfreund & Sompolinsky (1985), whose critical load for the
  Hebbian rule is ``alpha_c ~ 0.138`` as ``N -> inf``;
* ``exact``: the fraction recalled exactly (every bit) from a cue with 10 % of its bits flipped.

Run ``.venv/bin/python benchmarks/hopfield_capacity.py [--n-units 200] [--trials 4]``; it writes
``benchmarks/results/hopfield_capacity.md`` and ``hopfield_capacity.png``.
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
from tqdm import tqdm

from tsrnn.nn import HopfieldNetwork

RESULTS = Path(__file__).parent / "results"


def measure(n_units: int, alpha: float, rule: str, trials: int, rng: np.random.Generator) -> dict:
    p = max(1, int(round(alpha * n_units)))
    stable, exact = [], []
    for _ in range(trials):
        X = rng.choice([-1.0, 1.0], size=(p, n_units))
        net = HopfieldNetwork(n_units, rule=rule, random_state=int(rng.integers(2**31))).fit(X)
        state, _ = net.recall(X, max_iter=50)
        stable.extend((state * X).mean(1) >= 0.9)
        cue = X.copy()
        for row in cue:
            row[rng.choice(n_units, n_units // 10, replace=False)] *= -1
        state, _ = net.recall(cue, max_iter=50)
        exact.extend((state == X).all(1))
    return {"N": n_units, "rule": rule, "alpha": p / n_units, "P": p, "n": len(stable), "stable": float(np.mean(stable)),
            "exact": float(np.mean(exact))}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-units", type=int, nargs="+", default=[100, 200, 500])
    ap.add_argument("--trials", type=int, default=4, help="networks per load (each stores P patterns)")
    ap.add_argument("--max-alpha", type=float, default=0.3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-progress", action="store_true")
    args = ap.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    alphas = np.round(np.arange(0.02, args.max_alpha + 1e-9, 0.02), 3)
    jobs = [(n, rule, a) for n in args.n_units for rule in ("hebbian", "pseudoinverse") for a in alphas]
    t0 = time.perf_counter()
    rows = [measure(n, a, rule, args.trials, rng) for n, rule, a in tqdm(jobs, disable=args.no_progress)]
    elapsed = time.perf_counter() - t0

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
    big = max(args.n_units)
    for ax, key, title in zip(axes, ("stable", "exact"), ("settles within 5 % of the pattern",
                                                          "exact recall from 10 % flipped bits")):
        for n in args.n_units:
            r = [row for row in rows if row["rule"] == "hebbian" and row["N"] == n]
            ax.plot([row["alpha"] for row in r], [row[key] for row in r], "o-", ms=3, label=f"Hebbian, N = {n}")
        r = [row for row in rows if row["rule"] == "pseudoinverse" and row["N"] == big]
        ax.plot([row["alpha"] for row in r], [row[key] for row in r], "k--", label=f"pseudo-inverse, N = {big}")
        ax.axvline(0.138, color="grey", ls=":", label="$\\alpha_c \\approx 0.138$")
        ax.set_xlabel("load P / N")
        ax.set_title(title)
    axes[0].set_ylabel("fraction of patterns")
    axes[0].legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    RESULTS.mkdir(exist_ok=True)
    fig.savefig(RESULTS / "hopfield_capacity.png", dpi=120)

    def crossing(n, rule, key):
        return next((r["alpha"] for r in rows if r["N"] == n and r["rule"] == rule and r[key] < 0.5), float("nan"))

    pinv_min = min(r["exact"] for r in rows if r["rule"] == "pseudoinverse")
    lines = [
        "# Hopfield capacity curve",
        "",
        f"Command: `.venv/bin/python benchmarks/hopfield_capacity.py {' '.join(sys.argv[1:] if argv is None else argv)}`",
        f"Date: {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC; Python {platform.python_version()}, "
        f"numpy {np.__version__}; threads: OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}; "
        f"N in {args.n_units}, {args.trials} networks per load, seed {args.seed}; {elapsed:.0f} s on a shared, "
        "noisy 2-core machine (timings are indicative only).",
        "",
        "`stable`: fraction of stored patterns that, as start states, settle within 5 % of their bits (overlap >= 0.9)."
        " `exact`: fraction recalled with every bit right from a cue with 10 % of its bits flipped. Asynchronous "
        "updates, at most 50 sweeps. `n`: patterns tested.",
        "",
        "![capacity curve](hopfield_capacity.png)",
        "",
        "| N | rule | P/N | P | n | stable | exact |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    lines += [f"| {r['N']} | {r['rule']} | {r['alpha']:.3f} | {r['P']} | {r['n']} | {r['stable']:.3f} | {r['exact']:.3f} |"
              for r in rows]
    lines += [
        "",
        "Hebbian: load at which each rate first falls below 0.5 (theory for N -> inf: 0.138 for `stable`):",
        "",
        "| N | stable < 0.5 at P/N | exact < 0.5 at P/N |",
        "| --- | --- | --- |",
        *[f"| {n} | {crossing(n, 'hebbian', 'stable'):.2f} | {crossing(n, 'hebbian', 'exact'):.2f} |"
          for n in args.n_units],
        "",
        "Finite N smooths the transition and moves the `stable` crossing above 0.138; it sharpens and moves down as N "
        "grows. Exact recall fails earlier, since one wrong bit counts as a failure. The pseudo-inverse rule keeps "
        f"every pattern a fixed point for P < N; its lowest `exact` rate over this range is {pinv_min:.3f}.",
    ]
    (RESULTS / "hopfield_capacity.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
