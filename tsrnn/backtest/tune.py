"""Tuning a forecaster by backtest: every point of a parameter grid is one model of one backtest.

scikit-learn's ``GridSearchCV`` splits rows of ``X`` at random or by ``KFold`` and calls ``score(X, y)``, which
does not fit a forecaster's ``fit(y)`` / ``predict(h)``; :func:`tune` does the same search over rolling-origin
windows instead, with everything :func:`~tsrnn.backtest.backtest` offers (panels, ``n_jobs``, Dask,
checkpoints, ``on_error``).

Example
-------
>>> from tsrnn.backtest import tune
>>> from tsrnn.models import ETS
>>> best = tune(ETS(), {"trend": [None, "add"], "damped": [False, True]}, y, h=12, metric="mase")
>>> best.best_params, best.table            # doctest: +SKIP
>>> best.best_estimator_.predict(12)          # fitted on all of ``y``
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from sklearn.base import clone
from sklearn.model_selection import ParameterGrid

from ..base import BaseForecaster
from .engine import backtest
from .result import BacktestResult

__all__ = ["tune", "TuneResult"]


@dataclass
class TuneResult:
    """What :func:`tune` found.

    Attributes
    ----------
    best_params : dict
        The grid point with the best mean ``metric`` over series and windows.
    table : pd.DataFrame
        One row per grid point (index ``candidate``, as in ``result``): its parameters, then the backtest
        leaderboard's columns, best first.
    best_estimator_ : forecaster or None
        A clone with ``best_params``, fitted on all of ``y`` (``refit=True``).
    result : BacktestResult
        The backtest of every candidate.
    """

    best_params: dict
    table: pd.DataFrame
    best_estimator_: BaseForecaster | None
    result: BacktestResult


def tune(estimator: BaseForecaster, param_grid, y, h: int, metric: str = "mase", refit: bool = True,
         **backtest_kwargs) -> TuneResult:
    """Backtest ``estimator`` at every point of ``param_grid`` and pick the best on ``metric``.

    Parameters
    ----------
    estimator : forecaster
        Cloned for each grid point (``clone(estimator).set_params(**params)``).
    param_grid : dict or list of dicts
        As scikit-learn's ``ParameterGrid`` (``{"name": [values, ...]}``; nested names such as
        ``forecaster__alpha`` work for meta-estimators).
    y, h
        The series or panel and the horizon, as for :func:`~tsrnn.backtest.backtest`.
    metric : str
        Score to minimise (its mean over series and windows); ``coverage-<level>`` by distance to its level.
    refit : bool
        Fit the best candidate on all of ``y`` (``best_estimator_``).
    **backtest_kwargs
        Passed to :func:`~tsrnn.backtest.backtest` (``n_windows``, ``season_length``, ``n_jobs``, ...).
        ``metrics`` must include ``metric`` (added when missing).
    """
    if not isinstance(estimator, BaseForecaster):
        raise TypeError(f"tune needs a tsrnn forecaster, got {type(estimator).__name__}")
    grid = list(ParameterGrid(param_grid))
    if not grid:
        raise ValueError("param_grid is empty")
    candidates = {f"candidate_{i}": clone(estimator).set_params(**p) for i, p in enumerate(grid)}
    metrics = tuple(backtest_kwargs.pop("metrics", ("mae", "smape", "mase")))
    if metric not in metrics and not metric.startswith("coverage"):
        metrics += (metric,)
    result = backtest(candidates, y, h, metrics=metrics, **backtest_kwargs)
    lb = result.leaderboard(metric)
    params = pd.DataFrame(grid, index=list(candidates)).reindex(lb.index)
    table = pd.concat([params, lb], axis=1)
    table.index.name = "candidate"
    best = grid[list(candidates).index(lb.index[0])]
    fitted = None
    if refit:
        if isinstance(y, pd.DataFrame) and not getattr(estimator, "_supports_exog", False):
            y = y[["unique_id", "ds", "y"]]  # as in the backtest: exogenous columns it takes no part in
        fitted = clone(estimator).set_params(**best).fit(y)
    return TuneResult(best, table, fitted, result)
