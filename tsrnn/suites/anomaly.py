"""The ``anomaly`` benchmark suite: every detector family on NAB (through the data mirror) and on injected anomalies.

Datasets
--------
``nab``
    The NAB series available to :func:`tsrnn.datasets.load_nab` (the shared mirror holds 20), rows as in NAB's
    files, ``label`` 1 inside NAB's anomaly windows.
``injected``
    Eight seeded synthetic series (two daily cycles in a trend with noise, 3000 rows) with six anomalies each from
    :func:`tsrnn.datasets.inject_anomalies` (spike, level shift, trend, variance, flatline, dropout); ``label`` 1
    on the changed rows.

Protocol
--------
:func:`tsrnn.anomaly.evaluate_detectors`: each detector is fitted on the first ``min(floor(0.15 n), 750)`` rows of
each series (NAB's probationary period) and then scores the whole series online. Every detector runs with its own
defaults: its score is Numenta's anomaly likelihood of its raw score, its alarms a label-free threshold on that
likelihood with a cooldown. Two procedures are reported: the detectors' own alarms (``nab_*``, no label seen) and
NAB's scoreboard procedure (``nab_swept_*``: one threshold per detector swept over the corpus labels). Detectors:
the five families (RollingZScore, ResidualDetector, HMMDetector, WaveletDetector, AutoencoderDetector), the three
online learners (OnlineRNNDetector, OnlineHMMDetector, OnlineKNNDetector) and EnsembleDetector. Committed figures:
``benchmarks/results/anomaly_nab.md``.
"""

from __future__ import annotations

import platform
import time
from pathlib import Path

import numpy as np
import pandas as pd

from .base import Suite, SuiteResult

__all__ = ["run", "default_detectors", "load_injected", "DETECTORS", "COMMON", "SUITE"]

#: Settings every detector of the suite gets beyond its defaults (none: the suite measures the defaults).
COMMON: dict = {}


def _anomaly(name: str):
    import importlib

    return getattr(importlib.import_module("tsrnn.anomaly"), name)


#: The suite's detectors, ``{name: builder(common settings) -> detector}``, each with its defaults (and a fixed
#: ``random_state`` where it has one): add a detector here.
DETECTORS = {
    "RollingZScore": lambda c: _anomaly("RollingZScore")(**c),
    "ResidualDetector": lambda c: _anomaly("ResidualDetector")(**c),
    "HMMDetector": lambda c: _anomaly("HMMDetector")(random_state=0, **c),
    "WaveletDetector": lambda c: _anomaly("WaveletDetector")(**c),
    "AutoencoderDetector": lambda c: _anomaly("AutoencoderDetector")(random_state=0, **c),
    "OnlineKNNDetector": lambda c: _anomaly("OnlineKNNDetector")(**c),
    "OnlineHMMDetector": lambda c: _anomaly("OnlineHMMDetector")(random_state=0, **c),
    "OnlineRNNDetector": lambda c: _anomaly("OnlineRNNDetector")(random_state=0, **c),
    "EnsembleDetector": lambda c: _anomaly("EnsembleDetector")(**c),
}


def default_detectors(common: dict | None = None, names=None) -> dict:
    """The suite's detectors with their defaults (plus ``common`` settings, none by default); ``names`` picks
    some."""
    c = dict(COMMON if common is None else common)
    names = list(DETECTORS) if names is None else list(names)
    unknown = [n for n in names if n not in DETECTORS]
    if unknown:
        raise ValueError(f"unknown detector(s) {unknown}; the anomaly suite has {list(DETECTORS)}")
    return {n: DETECTORS[n](c) for n in names}


def load_injected(n_series: int = 8, length: int = 3000, seed: int = 0) -> pd.DataFrame:
    """Seeded clean series with injected anomalies: long frame ``unique_id, ds, y, label``."""
    from ..datasets import inject_anomalies

    rng = np.random.default_rng(seed)
    t = np.arange(length)
    frames = []
    for i in range(n_series):
        period = int(rng.choice([96, 144, 288]))
        y = (10 + 3 * np.sin(2 * np.pi * t / period + rng.uniform(0, 6)) + 0.002 * rng.normal() * t
             + np.cumsum(rng.normal(0, 0.05, length)) + rng.normal(0, 0.5, length))
        frames.append(pd.DataFrame({"unique_id": f"synthetic_{i}", "ds": pd.RangeIndex(length), "y": y}))
    clean = pd.concat(frames, ignore_index=True)
    return inject_anomalies(clean, n=6, seed=seed)


def run(models=None, out=None, progress: bool = True, n_jobs: int = 1, backend=None,
        datasets: tuple = ("nab", "injected")) -> SuiteResult:
    """Run the anomaly suite; with ``out``, write the scores, ``leaderboard.md``, ``meta.json`` and the one
    ``report.html`` there.

    Parameters
    ----------
    models : None, list of names, or dict ``{name: detector}``
        Default: :func:`default_detectors`; an unknown name raises ``ValueError``.
    datasets : tuple of {"nab", "injected"}
        NAB needs the data (``TSRNN_DATA_MIRROR`` or a download); when it is missing the suite notes it in
        ``meta["unavailable"]`` and goes on.
    """
    from ..anomaly import evaluate_detectors

    notes: list[str] = []
    dets = models if isinstance(models, dict) else default_detectors(names=models)
    results = {}
    t0 = time.perf_counter()
    for name in datasets:
        if name == "nab":
            try:
                from ..datasets import load_nab

                data = load_nab()
            except Exception as exc:  # noqa: BLE001 - offline without a mirror: say so and go on
                notes.append(f"nab unavailable: {exc}")
                continue
        elif name == "injected":
            data = load_injected()
        else:
            raise ValueError(f"unknown dataset {name!r}; choose from ('nab', 'injected')")
        results[name] = evaluate_detectors(dets, data, n_jobs=n_jobs, backend=backend, progress=progress)
    meta = {"suite": "anomaly", "description": SUITE.description, "datasets": list(results),
            "detectors": list(dets), "common": COMMON, "wall_s": round(time.perf_counter() - t0, 2),
            "unavailable": notes, "python": platform.python_version(),
            "protocol": "fit on the first min(15%, 750) rows of each series, score the whole series online; "
                        "own alarms (nab_*) never see labels; nab_swept_* sweeps one threshold over the labels"}
    result = SuiteResult("anomaly", detectors=results, meta=meta)
    if out is not None:
        result.write(Path(out))
    return result


SUITE = Suite("anomaly", "every detector family on the NAB series of the data mirror and on 8 generated series "
              "with injected anomalies (spike, level shift, trend, variance, flatline, dropout)",
              "about 5 minutes", ("nab", "generated"), tuple(DETECTORS), run)
