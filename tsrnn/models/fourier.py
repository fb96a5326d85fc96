"""Dynamic harmonic regression: Fourier terms for one or several seasonal periods with ARIMA errors.

    y_t = c + b t + sum_P sum_{k=1}^{K_P} (a_{P,k} sin(2 pi k t / P) + b_{P,k} cos(2 pi k t / P)) + x_t' g + u_t,
    u_t ~ ARIMA(p, d, q)

(Hyndman and Athanasopoulos, *Forecasting: Principles and Practice*, 3rd ed., section 12.1). Long and multiple
seasonalities (24 and 168 on hourly data, 365.25 on daily data) cost only ``2 K`` regressors each, where a
seasonal ARIMA would need ``P`` lags.

Estimation: with ``method="two-step"`` (default) the regression is fitted by ordinary least squares and the
ARIMA by maximum likelihood on its residuals (consistent, and fast enough for thousands of series);
``method="mle"`` estimates both jointly with statsmodels' state-space ARIMA (exact, slower). ``K_P`` is chosen
per period by the AICc of the regression when ``orders`` is None.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Sequence

import numpy as np

from ..base import BaseForecaster, gaussian_intervals
from ..features.spectral import _harmonics, detect_seasonality, fourier_terms
from ._sm import get_forecast

__all__ = ["FourierForecaster"]


def _ols(A: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Least squares by the normal equations (LAPACK's SVD solver is needlessly slow when BLAS threads contend);
    falls back to ``lstsq`` for a singular design."""
    try:
        return np.linalg.solve(A.T @ A, A.T @ y)
    except np.linalg.LinAlgError:
        return np.linalg.lstsq(A, y, rcond=None)[0]


def _log_values(y: np.ndarray, owner: str) -> np.ndarray:
    if (y <= 0).any():
        raise ValueError(f"{owner}(log=True) needs strictly positive values; the series has minimum {y.min():g}")
    return np.log(y)


def _exp_forecast(mean: np.ndarray, intervals: dict) -> tuple:
    """Back-transform a forecast of ``log y``: ``exp`` of the mean (the median of y) and of the bounds."""
    return np.exp(mean), {lv: (np.exp(lo), np.exp(hi)) for lv, (lo, hi) in intervals.items()}


def _aicc(rss: float, n: int, k: int) -> float:
    """AICc of a Gaussian linear regression with ``k`` coefficients (plus the variance)."""
    if rss <= 0 or n - k - 2 <= 0:
        return np.inf
    kk = k + 1
    return n * np.log(rss / n) + 2 * kk + 2 * kk * (kk + 1) / (n - kk - 1)


class FourierForecaster(BaseForecaster):
    """Regression on Fourier terms (one or several periods) with ARIMA errors.

    Parameters
    ----------
    periods : float or sequence of float, optional
        Seasonal periods in samples, e.g. ``[24, 168]``. Default: up to ``max_periods`` periods of
        :func:`tsrnn.features.detect_seasonality` (each with at least two cycles in the series); a series with no
        season gets no Fourier terms.
    orders : int or sequence of int, optional
        Harmonics ``K`` per period. Default: chosen by AICc among ``1 .. min(max_order, (P - 1) // 2)``.
    arima_order : tuple (p, d, q), default (1, 0, 0)
        Order of the ARIMA model of the regression errors; ``(0, 0, 0)`` gives plain harmonic regression.
    trend : bool, default False
        Add a linear time trend ``b t`` to the regression.
    method : {"two-step", "mle"}, default "two-step"
    max_order : int, default 10
    max_periods : int, default 2
    log : bool, default False
        Model ``log y`` (positive series whose seasonal swings grow with the level); the forecast is then the
        median ``exp(mean)`` and the intervals are exponentiated.
    n_jobs : int, default 1
        Series fitted in parallel.

    Attributes
    ----------
    states_ : list of dict
        Per series: ``periods``, ``orders``, ``coef`` (regression coefficients), ``arima`` (statsmodels results).
    """

    _supports_exog = True

    def __init__(self, periods: float | Sequence[float] | None = None, orders: int | Sequence[int] | None = None,
                 arima_order: tuple = (1, 0, 0), trend: bool = False, method: str = "two-step", max_order: int = 10,
                 max_periods: int = 2, log: bool = False, n_jobs: int = 1):
        self.periods = periods
        self.orders = orders
        self.arima_order = arima_order
        self.trend = trend
        self.method = method
        self.max_order = max_order
        self.max_periods = max_periods
        self.log = log
        self.n_jobs = n_jobs

    def _min_length(self) -> int:
        if self.method not in ("two-step", "mle"):
            raise ValueError(f"FourierForecaster: method must be 'two-step' or 'mle', got {self.method!r}")
        order = tuple(self.arima_order)
        if len(order) != 3 or any(int(o) != o or o < 0 for o in order):
            raise ValueError(f"FourierForecaster: arima_order must be (p, d, q) of non-negative ints, got {order}")
        return max(4, sum(order) + 3)

    # ------------------------------------------------------------------ design
    def _periods(self, y: np.ndarray) -> list[float]:
        if self.periods is not None:
            periods = [float(p) for p in np.atleast_1d(self.periods)]
            if any(p <= 1 for p in periods):
                raise ValueError(f"FourierForecaster: periods must be > 1, got {periods}")
            return periods
        cands = [float(p) for p in detect_seasonality(y) if 2 * p <= len(y)]
        return cands[: self.max_periods]

    def _design(self, t: np.ndarray, periods, orders, X) -> np.ndarray:
        cols = [np.ones((len(t), 1))]
        if self.trend:
            cols.append(t[:, None] / 100.0)
        cols.append(fourier_terms(t, periods, orders))
        if X is not None:
            cols.append(X)
        return np.hstack(cols)

    def _select_orders(self, y, t, periods, X) -> list[int]:
        if self.orders is not None:
            orders = np.broadcast_to(np.atleast_1d(self.orders), (len(periods),))
            return [int(k) for k in orders]
        n = len(y)
        grids = [range(1, max(1, min(int(self.max_order), int((p - 1) // 2))) + 1) for p in periods]
        # one design with every candidate column; each combination solves its small normal equations
        max_orders = [g[-1] for g in grids]
        full = self._design(t, periods, max_orders, X)
        base = 2 if self.trend else 1
        # (period index, k) of each sin and cos column, in design order
        owner = np.array([(periods.index(p), k) for p, k in _harmonics(periods, max_orders) for _ in "sc"],
                         dtype=int).reshape(-1, 2)
        n_fourier = len(owner)
        G, b, yy = full.T @ full, full.T @ y, float(y @ y)
        best, best_orders = np.inf, [1] * len(periods)
        for combo in itertools.product(*grids):
            keep = np.ones(full.shape[1], dtype=bool)
            if n_fourier:
                keep[base: base + n_fourier] = owner[:, 1] <= np.asarray(combo)[owner[:, 0]]
            k = int(keep.sum())
            if k >= n - 3:
                continue
            try:
                beta = np.linalg.solve(G[np.ix_(keep, keep)], b[keep])
            except np.linalg.LinAlgError:
                continue
            score = _aicc(yy - float(beta @ b[keep]), n, k)
            if score < best:
                best, best_orders = score, list(combo)
        return best_orders

    # ------------------------------------------------------------------ hooks
    def _fit_series(self, y, X):
        if self.log:
            y = _log_values(y, "FourierForecaster")
        n = len(y)
        t = np.arange(n, dtype=float)
        periods = self._periods(y)
        orders = self._select_orders(y, t, periods, X) if periods else []
        D = self._design(t, periods, orders, X)
        while D.shape[1] >= n - 2 and orders and max(orders) > 1:  # too many regressors for a short series
            orders = [max(1, k - 1) for k in orders]
            D = self._design(t, periods, orders, X)
        state = {"periods": periods, "orders": orders, "n": n}
        if self.method == "mle":
            state["arima"] = self._arima(y, D[:, 1:], trend="c")
            state["coef"] = None
            return state
        coef = _ols(D, y)
        state["coef"] = coef
        resid = y - D @ coef
        state["sigma"] = float(np.sqrt(np.sum(resid**2) / max(1, n - D.shape[1])))
        state["arima"] = self._arima(resid, None, trend="n") if any(self.arima_order) else None
        return state

    def _arima(self, u, exog, trend):
        from statsmodels.tsa.arima.model import ARIMA as SMARIMA

        order = tuple(int(o) for o in self.arima_order)
        if order[1] > 0:
            trend = "n"
        if exog is not None and exog.shape[1] == 0:
            exog = None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return SMARIMA(u, exog=exog, order=order, trend=trend).fit()

    def _future_design(self, state, h, X):
        t = np.arange(state["n"], state["n"] + h, dtype=float)
        return self._design(t, state["periods"], state["orders"], X)

    def _predict_series(self, state, h, X, levels):
        mean, intervals = self._predict_model(state, h, X, levels)
        return _exp_forecast(mean, intervals) if self.log else (mean, intervals)

    def _predict_model(self, state, h, X, levels):
        D = self._future_design(state, h, X)
        res = state["arima"]
        if self.method == "mle":
            exog = D[:, 1:] if D.shape[1] > 1 else None
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fc = get_forecast(res, h, exog=exog)
            mean, se = np.asarray(fc.predicted_mean), np.asarray(fc.se_mean)
            return mean, gaussian_intervals(mean, se, levels)
        reg = D @ state["coef"]
        if res is None:
            mean = reg
            return mean, gaussian_intervals(mean, np.full(h, state["sigma"]), levels)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fc = get_forecast(res, h)
        mean = reg + np.asarray(fc.predicted_mean)
        return mean, gaussian_intervals(mean, np.asarray(fc.se_mean), levels)

    def _update_series(self, state, y, X, n_new):
        """Append the new observations to the error model; regression and ARIMA parameters stay fixed."""
        if self.log:
            y = _log_values(y, "FourierForecaster")
        n_old = state["n"]
        t = np.arange(n_old, n_old + n_new, dtype=float)
        Xn = None if X is None else X[-n_new:]
        D = self._design(t, state["periods"], state["orders"], Xn)
        state = dict(state, n=n_old + n_new)
        res = state["arima"]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if self.method == "mle":
                exog = D[:, 1:] if D.shape[1] > 1 else None
                state["arima"] = res.append(y[-n_new:], exog=exog)
            elif res is not None:
                state["arima"] = res.append(y[-n_new:] - D @ state["coef"])
        return state

    @staticmethod
    def harmonics(periods, orders) -> list[tuple[float, int]]:
        """The ``(period, k)`` pairs whose sin/cos columns the model uses (duplicate frequencies dropped)."""
        return _harmonics(periods, orders)
