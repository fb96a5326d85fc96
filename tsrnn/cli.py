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
    from .suites import SUITES, run_suite

    names = list(SUITES) if args.suite == "all" else [args.suite]
    for name in names:
        out = Path(args.out) if len(names) == 1 else Path(args.out) / name
        print(f"tsrnn benchmark: suite {name!r} ({SUITES[name].runtime}) -> {out}", file=sys.stderr)
        result = run_suite(name, models=_models_arg(args.models), out=out, n_jobs=args.n_jobs,
                           backend=args.backend, progress=not args.no_progress)
        print(result.to_markdown())
        for note in result.meta.get("unavailable", []):
            print(f"note: {note}", file=sys.stderr)
        print(f"\nreport: {out / 'report.html'}")
    return 0


def _suites_help() -> str:
    """What each suite holds and roughly how long it runs, from the registry."""
    import textwrap

    from .suites import SUITES

    lines = ["suites:"]
    for s in SUITES.values():
        text = (f"{s.description}. Datasets: {', '.join(s.datasets)}. Models: {', '.join(s.models)}. "
                f"Runs in {s.runtime}.")
        lines.append(f"  {s.name}")
        lines += textwrap.wrap(text, width=100, initial_indent="      ", subsequent_indent="      ")
    lines.append("  all\n      every suite above, one folder each under --out.")
    return "\n".join(lines)


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
    from .suites import SUITES

    b = sub.add_parser("benchmark", help="run a benchmark suite and write an HTML report",
                       description="Run a benchmark suite: print its leaderboards and write the raw frames and one "
                                   "self-contained HTML report into --out.",
                       epilog=_suites_help(), formatter_class=argparse.RawDescriptionHelpFormatter)
    b.add_argument("--suite", default="quick", choices=[*SUITES, "all"],
                   help="which suite to run (default: quick; see below)")
    b.add_argument("--models", nargs="*", help="model names of the suite, space or comma separated (default: all; "
                                               "see below)")
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
