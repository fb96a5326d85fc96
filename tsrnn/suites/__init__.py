"""Benchmark suites: datasets x models x backtest x report, run by ``tsrnn benchmark``.

Forecasting suites (``quick``, ``sales``, ``m4``) are :class:`ForecastSuite` records run through
:func:`tsrnn.backtest.backtest`; the ``ecg`` and ``anomaly`` suites have their own modules with a ``run``
function of the same signature.
"""

from __future__ import annotations

import importlib

SUITES = {
    "quick": "tsrnn.suites.forecasting",
    "sales": "tsrnn.suites.forecasting",
    "m4": "tsrnn.suites.forecasting",
    "ecg": "tsrnn.suites.ecg",
    "anomaly": "tsrnn.suites.anomaly",
}


def run_suite(name: str, models=None, out=None, n_jobs: int = 1, backend=None, progress: bool = True):
    """Run the suite ``name``; returns its result (with ``leaderboard()`` and ``to_markdown()``)."""
    if name not in SUITES:
        raise ValueError(f"unknown suite {name!r}; choose from {sorted(SUITES)}")
    mod = importlib.import_module(SUITES[name])
    kwargs = dict(models=models, out=out, progress=progress)
    if mod.__name__.endswith("forecasting"):
        return mod.run(name, n_jobs=n_jobs, backend=backend, **kwargs)
    try:
        return mod.run(n_jobs=n_jobs, backend=backend, **kwargs)
    except TypeError:
        return mod.run(**kwargs)
