"""Shared test settings: warnings from tsrnn are errors, the seed is printed and can be set from the environment
(TSRNN_TEST_SEED), torch uses one thread so that parallel test workers do not oversubscribe the cores."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

SEED = int(os.environ.get("TSRNN_TEST_SEED", "0"))


def pytest_report_header(config):
    return f"tsrnn test seed: {SEED} (set TSRNN_TEST_SEED to change); data mirror: {os.environ.get('TSRNN_DATA_MIRROR')}"


def pytest_configure(config):
    # one BLAS/OpenMP thread per test worker: the suite runs 2 workers on 2 cores, and oversubscribed BLAS
    # threads make small least-squares problems ~100x slower on a busy machine
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:  # pragma: no cover
        pass
    os.environ.setdefault("OMP_NUM_THREADS", "1")


class ThreadSpy:
    """Records torch's thread count at every call of the watched functions (``watch``): ``before`` is the caller's
    setting, ``target`` another one for the estimator's ``n_threads``."""

    def __init__(self, monkeypatch):
        import torch

        self._monkeypatch, self.seen = monkeypatch, []
        self.before = torch.get_num_threads()
        self.target = 1 if self.before != 1 else 2

    def watch(self, owner, name: str = "forward") -> None:
        """Record the thread count whenever ``owner.name`` (a method or a module's function) is called."""
        import torch

        real = getattr(owner, name)

        def spy(*args, **kwargs):
            self.seen.append(torch.get_num_threads())
            return real(*args, **kwargs)

        self._monkeypatch.setattr(owner, name, spy)

    def check(self) -> None:
        """The watched code ran, only with ``target`` threads, and the caller's setting is back; then forget."""
        import torch

        assert self.seen and set(self.seen) == {self.target} and torch.get_num_threads() == self.before
        self.seen.clear()


@pytest.fixture
def thread_spy(monkeypatch) -> ThreadSpy:
    """A :class:`ThreadSpy`: checks that ``n_threads`` applies inside fit and predict only."""
    return ThreadSpy(monkeypatch)


@pytest.fixture
def joblib_roundtrip():
    """``roundtrip(obj)``: ``obj`` dumped with joblib into memory and loaded back (the estimator checks' own)."""
    from tsrnn.utils.estimator_checks import _roundtrip

    return _roundtrip


@pytest.fixture
def rng():
    return np.random.default_rng(SEED)


@pytest.fixture
def mirror() -> Path:
    """The real-data mirror (TSRNN_DATA_MIRROR); tests that need it skip with the reason when absent."""
    path = os.environ.get("TSRNN_DATA_MIRROR")
    if not path or not Path(path).is_dir():
        pytest.skip("real data mirror absent: set TSRNN_DATA_MIRROR to a folder laid out as ../shared/datasets")
    return Path(path)


@pytest.fixture
def daily_series():
    """120 days with a weekly cycle and noise."""
    r = np.random.default_rng(SEED)
    idx = pd.date_range("2020-01-06", periods=120, freq="D")
    return pd.Series(50 + 10 * np.sin(np.arange(120) * 2 * np.pi / 7) + r.normal(0, 1, 120), index=idx, name="y")


@pytest.fixture
def daily_panel(daily_series):
    """Three shifted copies of ``daily_series`` as a long frame."""
    return pd.concat(
        [pd.DataFrame({"unique_id": f"s{i}", "ds": daily_series.index, "y": daily_series.values + 3 * i})
         for i in range(3)],
        ignore_index=True,
    )
