"""The ``tsrnn`` command: ``tsrnn benchmark`` runs a suite and writes a report; ``tsrnn datasets`` lists data."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _models_arg(values):
    if not values:
        return None
    out = []
    for v in values:
        out += [x for x in v.split(",") if x]
    return out


def _benchmark(args) -> int:
    from .suites import run_suite

    suites = ["quick", "sales", "m4", "ecg", "anomaly"] if args.suite == "all" else [args.suite]
    for name in suites:
        out = Path(args.out) if len(suites) == 1 else Path(args.out) / name
        print(f"tsrnn benchmark: suite {name!r} -> {out}", file=sys.stderr)
        result = run_suite(name, models=_models_arg(args.models), out=out, n_jobs=args.n_jobs,
                           backend=args.backend, progress=not args.no_progress)
        print(result.to_markdown())
        extras = getattr(result, "extras", {})
        if extras.get("detectors_markdown"):
            print("\nAnomaly detectors on generated series (injected anomalies, synthetic ECG with ectopic beats):\n")
            print(extras["detectors_markdown"])
            print(f"\ndetector report: {out / 'anomaly' / 'report.html'}")
        if extras.get("classifiers_markdown"):
            print("\nBeat classification on a synthetic ECG (normal vs ectopic, later 30 % of beats held out):\n")
            print(extras["classifiers_markdown"])
        for note in getattr(result, "meta", {}).get("unavailable", []):
            print(f"note: {note}", file=sys.stderr)
        print(f"\nreport: {out / 'report.html'}")
    return 0


def _datasets(args) -> int:
    from .datasets import list_datasets

    table = list_datasets()
    import pandas as pd

    with pd.option_context("display.max_colwidth", 60, "display.width", 200):
        print(table.to_string(index=False))
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="tsrnn", description="Forecast and analyse time series; run benchmarks.")
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("benchmark", help="run a benchmark suite and write an HTML report")
    b.add_argument("--suite", default="quick", choices=["quick", "sales", "m4", "ecg", "anomaly", "all"])
    b.add_argument("--models", nargs="*", help="model names of the suite (default: all)")
    b.add_argument("--out", default="tsrnn-report", help="output directory (default ./tsrnn-report)")
    b.add_argument("--n-jobs", type=int, default=1, help="worker processes")
    b.add_argument("--backend", choices=["loky", "dask"], default=None)
    b.add_argument("--no-progress", action="store_true", help="hide progress bars")
    b.set_defaults(func=_benchmark)
    d = sub.add_parser("datasets", help="list the datasets, their sources and whether they are on this machine")
    d.set_defaults(func=_datasets)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, TypeError, FileNotFoundError, ImportError) as e:
        print(f"tsrnn: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
