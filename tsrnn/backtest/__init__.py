"""Backtesting: splitters, the engine (local, joblib, Dask) and ``BacktestResult`` (layer 2)."""

from .engine import backtest
from .result import BacktestResult
from .splitters import ExpandingWindow, SlidingWindow
from .tune import TuneResult, tune

__all__ = ["backtest", "BacktestResult", "ExpandingWindow", "SlidingWindow", "tune", "TuneResult"]
