"""The standard Theta method of the M4 competition (Assimakopoulos & Nikolopoulos 2000; M4 benchmark code).

1. Seasonal adjustment: when ``season_length > 1`` and the M4 90 % autocorrelation test
   (:func:`tsrnn.models.baselines.seasonality_test`) finds seasonality, divide ``y`` by the multiplicative
   indices of classical decomposition (:func:`tsrnn.models.baselines.seasonal_indices`).
2. Theta lines of the adjusted series ``x_t``, ``t = 1..n``: the linear trend ``L_t = a + b t`` (least squares,
   theta = 0) and ``Z_t = 2 x_t - L_t`` (theta = 2).
3. ``Z`` is forecast by simple exponential smoothing (SES) with the smoothing weight ``alpha`` and the initial
   level ``l_0`` minimising the in-sample squared one-step errors (R's ``forecast::ses``), the trend line by
   extrapolation; the forecast is ``0.5 * SES(Z) + 0.5 * L``, re-seasonalised, and floored at 0 for
   non-negative data. This equals SES on ``x`` with a drift of half the trend slope, ``b / 2``.
"""

from __future__ import annotations

import numpy as np
from scipy import optimize, signal

from .._validation import check_positive_int
from ..base import BaseForecaster, gaussian_intervals
from ._sm import quiet
from .baselines import seasonal_indices, seasonality_test

__all__ = ["Theta", "ses_fit"]

_ALPHA_BOUNDS = (1e-4, 0.9999)  # forecast::ets' usual bounds


def _ses_errors(y: np.ndarray, alpha: float) -> tuple[np.ndarray, float]:
    """One-step errors of SES with weight ``alpha`` and the best initial level (closed form)."""
    beta = 1.0 - alpha
    # level with zero start: L_t = alpha y_t + beta L_{t-1}; the forecast of y_t is L_{t-1} + beta^(t-1) l0
    lev = signal.lfilter([alpha], [1.0, -beta], y)
    r = y - np.r_[0.0, lev[:-1]]
    v = beta ** np.arange(len(y))
    l0 = float(v @ r / (v @ v))
    return r - v * l0, l0


def ses_fit(y: np.ndarray) -> tuple[float, float, float]:
    """Fit SES ``l_t = l_{t-1} + alpha (y_t - l_{t-1})`` by least squares over ``alpha`` and ``l_0``.

    For fixed ``alpha`` the errors are linear in ``l_0``, which is solved in closed form; ``alpha`` is found
    by a grid search refined with bounded Brent on ``[1e-4, 0.9999]``.

    Returns
    -------
    alpha, l0, last_level : float
    """
    y = np.asarray(y, dtype=float)

    def sse(a):
        e, _ = _ses_errors(y, a)
        return float(e @ e)

    grid = np.linspace(*_ALPHA_BOUNDS, 41)
    vals = [sse(a) for a in grid]
    i = int(np.argmin(vals))
    lo, hi = grid[max(i - 1, 0)], grid[min(i + 1, len(grid) - 1)]
    res = optimize.minimize_scalar(sse, bounds=(lo, hi), method="bounded", options={"xatol": 1e-8})
    alpha = float(res.x) if res.fun <= vals[i] else float(grid[i])
    e, l0 = _ses_errors(y, alpha)
    last = float(y[-1] - (1 - alpha) * e[-1])  # l_n = f_n + alpha e_n with f_n = y_n - e_n
    return alpha, l0, last


class Theta(BaseForecaster):
    """The M4 standard Theta method (see the module docstring for the equations).

    Intervals: normal, with the SES variance ``sigma^2 (1 + (h - 1) alpha^2)`` where ``sigma`` is the standard
    deviation of the in-sample one-step errors of the Theta fit on the adjusted series, re-seasonalised.

    Parameters
    ----------
    season_length : int, default 1
    n_jobs : int, default 1

    Attributes
    ----------
    states_ : list of dict
        Per series: ``alpha``, the SES level, trend ``intercept``/``slope``, seasonal ``indices`` and ``seasonal``
        (whether the test found seasonality).
    """

    @classmethod
    def _test_params(cls) -> dict:
        return {"season_length": 7}

    def __init__(self, season_length: int = 1, n_jobs: int = 1):
        self.season_length = season_length
        self.n_jobs = n_jobs

    def _min_length(self) -> int:
        check_positive_int(self.season_length, "season_length", "Theta")
        return 3

    def _fit_series(self, y, X):
        with quiet():
            return self._fit_one(y)

    def _fit_one(self, y):
        m = self.season_length
        n = len(y)
        seasonal = bool(m > 1 and seasonality_test(y, m) and (y > 0).all())
        si = seasonal_indices(y, m) if seasonal else np.ones(m)
        x = y / si[np.arange(n) % m]
        t = np.arange(1, n + 1, dtype=float)
        slope, intercept = np.polyfit(t, x, 1)
        line0 = intercept + slope * t
        z = 2.0 * x - line0
        alpha, l0, level = ses_fit(z)
        e, _ = _ses_errors(z, alpha)
        fitted = 0.5 * (z - e) + 0.5 * line0
        resid = x - fitted
        sigma = float(np.sqrt(resid @ resid / max(n - 3, 1)))
        return {"alpha": alpha, "level": level, "l0": l0, "intercept": float(intercept), "slope": float(slope),
                "indices": si, "seasonal": seasonal, "n": n, "sigma": sigma, "nonneg": bool((y >= 0).all())}

    def _predict_series(self, st, h, X, levels):
        n, m = st["n"], len(st["indices"])
        steps = np.arange(1, h + 1)
        trend = st["intercept"] + st["slope"] * (n + steps)
        adj = 0.5 * st["level"] + 0.5 * trend
        factor = st["indices"][(n + steps - 1) % m]
        mean = adj * factor
        se = st["sigma"] * np.sqrt(1.0 + (steps - 1) * st["alpha"] ** 2)
        iv = gaussian_intervals(adj, se, levels)
        iv = {lv: (lo * factor, hi * factor) for lv, (lo, hi) in iv.items()}
        if st["nonneg"]:
            mean = np.maximum(mean, 0.0)
            iv = {lv: (np.maximum(lo, 0.0), np.maximum(hi, 0.0)) for lv, (lo, hi) in iv.items()}
        return mean, iv
