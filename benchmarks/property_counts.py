"""How many generated inputs each property test tried, per estimator family and per estimator.

Runs ``tests/test_properties.py`` (and ``tests/test_fuzz_loaders.py``) with pytest, collects the counts the
property tests write to ``TSRNN_PROPERTY_COUNTS``, and writes ``benchmarks/results/property_tests.md``.

Usage: ``.venv/bin/python benchmarks/property_counts.py [--scale 1.0]``
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results" / "property_tests.md"


def _run(args, env):
    t0 = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    tail = (proc.stdout + proc.stderr).strip().splitlines()
    return proc.returncode, time.perf_counter() - t0, cpu, tail[-1] if tail else ""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", type=float, default=1.0, help="multiplies every max_examples")
    ap.add_argument("--fuzz-examples", type=int, default=120)
    a = ap.parse_args()
    import hypothesis
    import numpy
    import pandas
    import torch

    with tempfile.TemporaryDirectory() as tmp:
        counts = Path(tmp) / "counts.json"
        env = {**os.environ, "TSRNN_PROPERTY_COUNTS": str(counts), "TSRNN_PROPERTY_SCALE": str(a.scale),
               "TSRNN_FUZZ_EXAMPLES": str(a.fuzz_examples), "OMP_NUM_THREADS": "1"}
        py = [sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", "-p", "no:cacheprovider"]
        rc, wall, cpu, last = _run(py + ["tests/test_properties.py"], env)
        data = json.loads(counts.read_text())
        frc, fwall, fcpu, flast = _run(py + ["tests/test_fuzz_loaders.py"], env)

    fams = data["families"]
    cols = ["inputs", "ok", "clear_error", "nonfinite_guard", "known", "fail"]
    lines = [
        "# Property tests: generated inputs per family",
        "",
        f"Command: `.venv/bin/python benchmarks/property_counts.py --scale {a.scale} --fuzz-examples "
        f"{a.fuzz_examples}` (runs `pytest tests/test_properties.py` and `tests/test_fuzz_loaders.py`).",
        f"Date: {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M UTC}; Python {platform.python_version()}, "
        f"numpy {numpy.__version__}, pandas {pandas.__version__}, torch {torch.__version__}, hypothesis "
        f"{hypothesis.__version__}; torch threads 1, OMP_NUM_THREADS=1; {os.cpu_count()} cores.",
        "",
        "**The machine is shared and was heavily loaded during this run (other helpers' tests and benchmarks): wall "
        "times are inflated; the CPU time of the pytest process is the better guide to the cost on an idle "
        "2-core CI machine.**",
        "",
        f"- `tests/test_properties.py`: {last!r} — wall {wall:.0f} s, CPU {cpu:.0f} s (exit {rc})",
        f"- `tests/test_fuzz_loaders.py` ({a.fuzz_examples} examples per loader test): {flast!r} — wall "
        f"{fwall:.0f} s, CPU {fcpu:.0f} s (exit {frc})",
        "",
        "Outcome of each generated input: **ok** = fitted, output finite and of the right shape; **clear** = "
        "rejected with the contract's `ValueError`/`TypeError` raised by tsrnn (naming the series when a panel "
        "held the bad value); **guard** = the base class caught a non-finite forecast on finite input (a clear "
        "error, but a model weakness); **known** = a bug found by these tests and reported, listed in "
        "`KNOWN` in the test file; **fail** = anything else (a raw dependency error, a NaN forecast, a NaN "
        "accepted). About half of the inputs hold a NaN/inf on purpose, and many are short, so *clear* is "
        "expected to be large.",
        "",
        "| family | " + " | ".join(cols) + " |",
        "|---|" + "---:|" * len(cols),
    ]
    for fam, c in fams.items():
        lines.append(f"| {fam} | " + " | ".join(str(c.get(k, 0)) for k in cols) + " |")
    lines += ["", "## Per estimator", "", "| estimator | " + " | ".join(cols) + " | ms per input |",
              "|---|" + "---:|" * (len(cols) + 1)]
    for name, c in sorted(data["estimators"].items()):
        ms = c.get("ms", 0) / max(1, c["inputs"])
        lines.append(f"| {name} | " + " | ".join(str(c.get(k, 0)) for k in cols) + f" | {ms:.0f} |")
    lines += ["", "## Why finite inputs were rejected (most common messages, digits replaced by #)", ""]
    for name, reasons in sorted(data.get("rejections", {}).items()):
        for msg, n in reasons.items():
            lines.append(f"- {name} ({n}): {msg}")
    lines += ["", "## Bugs found by these tests and counted as *known* (reported; see the xfail tests too)", ""]
    lines += [f"- {k}" for k in data.get("known_issues", [])]
    fails = {k: v for k, v in data.get("failures", {}).items() if v}
    lines += ["", "## Unexpected outcomes", "", "none" if not fails else ""]
    for fam, items in fails.items():
        for name, why, spec in items[:10]:
            lines.append(f"- {fam} / {name}: {why} — `{spec}`")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text("\n".join(lines) + "\n")
    print(OUT.read_text())


if __name__ == "__main__":
    main()
