"""Benchmark forecasters: Naive, SeasonalNaive, Drift, Mean and the M4 Naive2.

Prediction intervals use the residual-based formulas of Hyndman and Athanasopoulos, *Forecasting: Principles
and Practice* (3rd ed., section 5.5): with ``sigma`` the standard deviation of the one-step (fitted) residuals,

=============== =====================================================
Mean            ``sigma_h = sigma * sqrt(1 + 1/T)``
Naive           ``sigma_h = sigma * sqrt(h)``
SeasonalNaive   ``sigma_h = sigma * sqrt(k + 1)``, ``k = floor((h - 1) / m)``
Drift           ``sigma_h = sigma * sqrt(h * (1 + h / (T - 1)))``
=============== =====================================================

and normal quantiles. ``sigma^2 = sum(e^2) / (T_e - K)`` over the ``T_e`` available residuals with ``K``
estimated parameters.
"""

from __future__ import annotations

import numpy as np

from .._validation import check_positive_int
from ..base import BaseForecaster, gaussian_intervals

__all__ = ["Naive", "SeasonalNaive", "Drift", "Mean", "Naive2", "seasonality_test", "seasonal_indices"]


def _sigma(resid: np.ndarray, n_params: int = 0) -> float:
    dof = len(resid) - n_params
    if dof <= 0:
        return 0.0
    return float(np.sqrt(np.sum(resid**2) / dof))


class Naive(BaseForecaster):
    """Random walk: every forecast is the last observation, ``y_{T+h|T} = y_T``."""

    def _fit_series(self, y, X):
        return y[-1], _sigma(np.diff(y))

    def _predict_series(self, state, h, X, levels):
        last, sigma = state
        mean = np.full(h, last)
        return mean, gaussian_intervals(mean, sigma * np.sqrt(np.arange(1, h + 1)), levels)


class SeasonalNaive(BaseForecaster):
    """Seasonal random walk: ``y_{T+h|T} = y_{T+h-m(k+1)}``, ``k = floor((h-1)/m)``.

    Parameters
    ----------
    season_length : int, default 1
        The period ``m`` in observations (``m=1`` is :class:`Naive`).
    """

    def __init__(self, season_length: int = 1):
        self.season_length = season_length

    def _min_length(self):
        return check_positive_int(self.season_length, "season_length", "SeasonalNaive")

    def _fit_series(self, y, X):
        m = self.season_length
        resid = y[m:] - y[:-m]
        return y[-m:].copy(), _sigma(resid)

    def _predict_series(self, state, h, X, levels):
        last_season, sigma = state
        m = len(last_season)
        mean = np.resize(last_season, h)  # repeats the last season
        k = np.arange(h) // m
        return mean, gaussian_intervals(mean, sigma * np.sqrt(k + 1), levels)


class Drift(BaseForecaster):
    """Random walk with drift: ``y_{T+h|T} = y_T + h (y_T - y_1) / (T - 1)``."""

    def _min_length(self):
        return 2

    def _fit_series(self, y, X):
        T = len(y)
        slope = (y[-1] - y[0]) / (T - 1)
        resid = np.diff(y) - slope
        return y[-1], slope, _sigma(resid, 1), T

    def _predict_series(self, state, h, X, levels):
        last, slope, sigma, T = state
        steps = np.arange(1, h + 1)
        mean = last + slope * steps
        return mean, gaussian_intervals(mean, sigma * np.sqrt(steps * (1 + steps / (T - 1))), levels)


class Mean(BaseForecaster):
    """Historical mean: ``y_{T+h|T} = mean(y_1..y_T)``."""

    def _fit_series(self, y, X):
        mu = float(np.mean(y))
        return mu, _sigma(y - mu, 1), len(y)

    def _predict_series(self, state, h, X, levels):
        mu, sigma, T = state
        mean = np.full(h, mu)
        return mean, gaussian_intervals(mean, np.full(h, sigma * np.sqrt(1 + 1 / T)), levels)


# ---------------------------------------------------------------------------------------- M4's Naive2


def _acf(y: np.ndarray, k: int) -> float:
    d = y - y.mean()
    den = float(d @ d)
    return float(d[k:] @ d[:-k]) / den if den > 0 else 0.0


def seasonality_test(y: np.ndarray, m: int) -> bool:
    """The M4 competition's 90 % seasonality test.

    Seasonal when ``|r_m| > 1.645 * sqrt((1 + 2 * s) / n)`` with ``r_k`` the autocorrelation at lag ``k`` and
    ``s = r_1 + sum_{k=2}^{m-1} r_k^2``, exactly as the reference implementation of the M4 benchmarks computes
    it (it adds ``r_1`` unsquared). Needs ``n >= 3 m``.
    """
    y = np.asarray(y, dtype=float)
    if m <= 1 or len(y) < 3 * m:
        return False
    s = _acf(y, 1) + sum(_acf(y, k) ** 2 for k in range(2, m))
    limit = 1.645 * np.sqrt((1 + 2 * s) / len(y))
    return abs(_acf(y, m)) > limit


def seasonal_indices(y: np.ndarray, m: int) -> np.ndarray:
    """Multiplicative seasonal indices (mean 1) of classical decomposition, for positions ``0..m-1``.

    The trend is the centred moving average of order ``m`` (``2 x m`` for even ``m``); the indices are the
    means of ``y / trend`` per position in the cycle, normalised to average 1.
    """
    y = np.asarray(y, dtype=float)
    n = len(y)
    if m % 2:
        k = m // 2
        c = np.convolve(y, np.ones(m) / m, mode="valid")
        trend = np.full(n, np.nan)
        trend[k:n - k] = c
    else:
        w = np.r_[0.5, np.ones(m - 1), 0.5] / m
        k = m // 2
        c = np.convolve(y, w, mode="valid")
        trend = np.full(n, np.nan)
        trend[k:n - k] = c
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = y / trend
    ratio[~np.isfinite(ratio)] = np.nan
    pad = (-n) % m
    grid = np.r_[ratio, np.full(pad, np.nan)].reshape(-1, m)
    si = np.nanmean(grid, axis=0)
    if not np.isfinite(si).all() or si.sum() == 0:
        return np.ones(m)
    return si / si.mean()


class Naive2(BaseForecaster):
    """The M4 competition's Naive2: Naive on the seasonally adjusted series, re-seasonalised.

    When ``season_length > 1`` and the 90 % autocorrelation test (:func:`seasonality_test`) finds seasonality,
    the series is divided by multiplicative seasonal indices from classical decomposition; the forecast is the
    last adjusted value times the indices of the forecast stamps. Otherwise it equals :class:`Naive`.
    Intervals are Naive's, computed on the adjusted series and re-seasonalised.

    Parameters
    ----------
    season_length : int, default 1
    """

    def __init__(self, season_length: int = 1):
        self.season_length = season_length

    def _min_length(self):
        check_positive_int(self.season_length, "season_length", "Naive2")
        return 1

    def _fit_series(self, y, X):
        m = self.season_length
        n = len(y)
        si = seasonal_indices(y, m) if seasonality_test(y, m) and (y > 0).all() else np.ones(m)
        adj = y / si[np.arange(n) % m]
        return adj[-1], _sigma(np.diff(adj)), si, n

    def _predict_series(self, state, h, X, levels):
        last, sigma, si, n = state
        m = len(si)
        factor = si[(n + np.arange(h)) % m]
        mean = last * factor
        iv = gaussian_intervals(np.full(h, last), sigma * np.sqrt(np.arange(1, h + 1)), levels)
        return mean, {lv: (lo * factor, hi * factor) for lv, (lo, hi) in iv.items()}
