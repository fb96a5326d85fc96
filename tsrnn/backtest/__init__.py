"""Backtesting (layer 2): splitters, ``backtest`` and ``BacktestResult``, ``tune`` (grid search by backtest).

``runner`` is the one task runner (local, joblib, Dask; checkpoint, timeout, failure record) that ``backtest``
and :func:`tsrnn.anomaly.evaluate_detectors` share. Nothing here imports a model.
"""

from .engine import backtest
from .result import BacktestResult
from .splitters import ExpandingWindow, SlidingWindow
from .tune import TuneResult, tune

__all__ = ["backtest", "BacktestResult", "ExpandingWindow", "SlidingWindow", "tune", "TuneResult"]
