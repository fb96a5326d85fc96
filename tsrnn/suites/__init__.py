"""Benchmark suites: datasets x models x evaluation x one report, run by ``tsrnn benchmark``.

Every suite is a :class:`Suite` record in :data:`SUITES` (its name is defined there and nowhere else); its
``run`` takes ``models=None, out=None, n_jobs=1, backend=None, progress=True`` and returns a
:class:`~tsrnn.suites.base.SuiteResult`. The model list of each suite lives in one place in its module
(``forecasting._forecasters``, ``forecasting.QUICK_DETECTORS`` / ``QUICK_CLASSIFIERS``, ``anomaly.DETECTORS``,
``ecg.MODELS``): add a model there.
"""

from __future__ import annotations

from .base import Suite, SuiteResult

__all__ = ["Suite", "SuiteResult", "SUITES", "run_suite"]


def _registry() -> dict:
    from . import anomaly, ecg, forecasting

    return {s.name: s for s in (*forecasting.SUITES, ecg.SUITE, anomaly.SUITE)}


SUITES: dict = _registry()


def run_suite(name: str, models=None, out=None, n_jobs: int = 1, backend=None, progress: bool = True) -> SuiteResult:
    """Run the suite ``name`` (see :data:`SUITES`); with ``out``, it writes its files and its one ``report.html``."""
    if name not in SUITES:
        raise ValueError(f"unknown suite {name!r}; choose from {list(SUITES)}")
    suite = SUITES[name]
    return suite.run(models=suite.check_models(models), out=out, n_jobs=n_jobs, backend=backend, progress=progress)
