"""Multiscale forecasting: decompose with a shift-invariant wavelet transform, forecast each scale, add up.

    y_t = D_1(t) + ... + D_J(t) + S_J(t)      (:func:`tsrnn.features.wavelets.causal_mra`)
    y_{T+h|T} = sum_j D_j(T+h|T) + S_J(T+h|T)

The decomposition is the causal "a trous" form of the maximal-overlap DWT (Renaud, Starck and Murtagh, 2005,
*Wavelet-based combined signal filtering and prediction*): each component at ``t`` uses only ``y_0..y_t``, so
the last values that the forecasts start from have no end-of-series boundary effect, and appending data does
not change the past components.

Each component is forecast by a linear autoregression fitted by least squares (default), or by any local
tsrnn forecaster given as ``forecaster`` (cloned per component). Prediction variances of the components are
added (components treated as independent), giving normal intervals.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import clone

from .._validation import check_positive_int
from ..base import BaseForecaster, gaussian_intervals
from ..features.spectral import detect_seasonality
from ..features.wavelets import causal_mra
from .fourier import _exp_forecast, _log_values, _ols

__all__ = ["WaveletForecaster"]


def _fit_ar(x: np.ndarray, p: int) -> dict:
    """Least-squares AR(p) with intercept: ``x_t = c + sum_i phi_i x_{t-i} + e_t``."""
    n = len(x)
    p = max(1, min(p, (n - 2) // 3))
    A = np.column_stack([np.ones(n - p)] + [x[p - i: n - i] for i in range(1, p + 1)])
    beta = _ols(A, x[p:])
    resid = x[p:] - A @ beta
    sigma = float(np.sqrt(np.sum(resid**2) / max(1, len(resid) - p - 1)))
    return {"c": float(beta[0]), "phi": beta[1:], "sigma": sigma, "tail": x[-p:].copy()}


def _predict_ar(st: dict, h: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation of the ``h`` AR forecasts (psi-weights for the variance)."""
    phi, p = st["phi"], len(st["phi"])
    hist = list(st["tail"])
    mean = np.empty(h)
    for k in range(h):
        mean[k] = st["c"] + float(np.dot(phi, hist[::-1][:p]))
        hist.append(mean[k])
    psi = np.zeros(h)
    psi[0] = 1.0
    for k in range(1, h):
        m = min(k, p)
        psi[k] = float(np.dot(phi[:m], psi[k - 1::-1][:m]))
    sd = st["sigma"] * np.sqrt(np.cumsum(psi**2))
    return mean, sd


class WaveletForecaster(BaseForecaster):
    """Forecast each scale of a causal, shift-invariant wavelet decomposition and recombine.

    Parameters
    ----------
    forecaster : tsrnn local forecaster, optional
        Model of every component (cloned per component). Default: a least-squares AR on lags ``1..p_j`` with
        ``p_j = max(2^(j+1), m)`` for detail ``j`` and ``max(2^(J+1), m)`` for the smooth, ``m`` the strongest
        period of :func:`tsrnn.features.detect_seasonality` (1 if none), capped at ``n // 4``.
    wavelet : str, default "haar"
        Any discrete wavelet of PyWavelets (the scaling filter of the transform).
    level : int, default 3
        Number of detail scales ``J``.
    n_lags : int, optional
        Fixed AR order for every component of the default model (overrides the rule above).
    log : bool, default False
        Decompose and forecast ``log y`` (positive series); the forecast is the median ``exp(mean)`` and the
        intervals are exponentiated.
    n_jobs : int, default 1

    Attributes
    ----------
    states_ : list of dict
        Per series: ``components`` (the fitted per-component states).
    """

    def __init__(self, forecaster=None, wavelet: str = "haar", level: int = 3, n_lags: int | None = None,
                 log: bool = False, n_jobs: int = 1):
        self.forecaster = forecaster
        self.wavelet = wavelet
        self.level = level
        self.n_lags = n_lags
        self.log = log
        self.n_jobs = n_jobs

    def _min_length(self) -> int:
        lv = self.level
        check_positive_int(lv, "level", "WaveletForecaster")
        if self.forecaster is not None and (not isinstance(self.forecaster, BaseForecaster)
                                            or self.forecaster._is_global):
            raise ValueError("WaveletForecaster: forecaster must be a local tsrnn forecaster (e.g. ARIMA(), ETS())")
        return 8

    def _lags(self, y: np.ndarray) -> list[int]:
        J = int(self.level)
        if self.n_lags is not None:
            return [int(self.n_lags)] * (J + 1)
        periods = detect_seasonality(y)
        m = int(periods[0]) if len(periods) else 1
        cap = max(1, len(y) // 4)
        return [min(max(2 ** (j + 1), m), cap) for j in range(1, J + 1)] + [min(max(2 ** (J + 1), m), cap)]

    def _fit_series(self, y, X):
        if self.log:
            y = _log_values(y, "WaveletForecaster")
        comps = causal_mra(y, self.wavelet, int(self.level))
        if self.forecaster is None:
            return {"components": [_fit_ar(c, p) for c, p in zip(comps, self._lags(y))], "model": None}
        models = [clone(self.forecaster) for _ in comps]
        for m in models:
            m._min_length()  # validates the model's own parameters
        return {"components": [m._fit_series(c, None) for m, c in zip(models, comps)], "model": models}

    def _predict_series(self, state, h, X, levels):
        mean, intervals = self._predict_components(state, h, levels)
        return _exp_forecast(mean, intervals) if self.log else (mean, intervals)

    def _predict_components(self, state, h, levels):
        if state["model"] is None:
            parts = [_predict_ar(st, h) for st in state["components"]]
            mean = np.sum([p[0] for p in parts], axis=0)
            sd = np.sqrt(np.sum([p[1] ** 2 for p in parts], axis=0))
            return mean, gaussian_intervals(mean, sd, levels)
        preds = [m._predict_series(st, h, None, levels) for m, st in zip(state["model"], state["components"])]
        mean = np.sum([np.asarray(p[0], dtype=float) for p in preds], axis=0)
        intervals = {}
        for lv in levels:  # half-widths of independent components add in quadrature
            up = np.sqrt(np.sum([(np.asarray(p[1][lv][1]) - p[0]) ** 2 for p in preds], axis=0))
            down = np.sqrt(np.sum([(p[0] - np.asarray(p[1][lv][0])) ** 2 for p in preds], axis=0))
            intervals[lv] = (mean - down, mean + up)
        return mean, intervals

    def _update_series(self, state, y, X, n_new):
        """New components from the full history (the past ones do not change); parameters stay fixed."""
        if self.log:
            y = _log_values(y, "WaveletForecaster")
        comps = causal_mra(y, self.wavelet, int(self.level))
        if state["model"] is None:
            new = [dict(st, tail=c[-len(st["tail"]):].copy()) for st, c in zip(state["components"], comps)]
            return {"components": new, "model": None}
        new = [m._update_series(st, c, None, n_new) for m, st, c in zip(state["model"], state["components"], comps)]
        return {"components": new, "model": state["model"]}
