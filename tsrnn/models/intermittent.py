"""Intermittent-demand forecasters: Croston (classic, SBA, optimized), TSB, ADIDA and IMAPA.

All four follow the definitions of statsforecast (and of the papers below); every forecast is flat over the
horizon. Notation: ``y_1..y_n >= 0`` the demand per period, ``z`` the non-zero demands in order, ``p`` the
inter-demand intervals (``p_1`` = the position of the first demand, then the gaps between demands).

Simple exponential smoothing (SES) of a sequence ``x`` starts its level at the first value and runs over every
value, ``l_0 = x_1``, ``l_k = alpha x_k + (1 - alpha) l_{k-1}``; the forecast is ``l_n``. *Optimized* SES
chooses ``alpha`` in ``[0.1, 0.3]`` minimising the in-sample one-step squared error
``sum_{k>=2} (x_k - l_{k-1})^2``.

* **Croston** (1972): ``f = SES(z, 0.1) / SES(p, 0.1)``; ``method="sba"`` multiplies by ``1 - 0.1/2 = 0.95``
  (Syntetos and Boylan, 2005); ``method="optimized"`` uses optimized SES for ``z`` and ``p``.
* **TSB** (Teunter, Syntetos and Babai, 2011): ``f = SES(1[y > 0], alpha_p) * SES(z, alpha_d)``, the demand
  probability smoothed every period, the demand size only when a demand occurs.
* **ADIDA** (Nikolopoulos et al., 2011): aggregate ``y`` into non-overlapping buckets of ``k = round(mean(p))``
  periods (dropping the oldest ``n mod k`` values), forecast the bucket sums with optimized SES, divide by ``k``.
* **IMAPA** (Petropoulos and Kourentzes, 2015): the mean of the ADIDA forecasts at every level ``k = 1..round(
  mean(p))``.

A series with no demand forecasts 0. ``round`` is Python's (half to even), as in statsforecast.

Intervals: these methods give a mean demand per period and no error model (statsforecast offers conformal
intervals only). The intervals here are the empirical ``(1 -+ level/100) / 2`` quantiles of the observed demand
per period, widened to contain the point forecast: they describe the demand of one period under the methods'
own assumption of a stationary demand process, are never negative, and do not grow with the horizon. For
calibrated intervals wrap the model in :class:`~tsrnn.models.ConformalForecaster`.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import lfilter

from ..base import BaseForecaster

__all__ = ["Croston", "TSB", "ADIDA", "IMAPA"]

_BOUNDS = (0.1, 0.3)


# ------------------------------------------------------------------------------ SES and demand decomposition


def _ses_levels(x: np.ndarray, alpha: float) -> np.ndarray:
    """Levels ``l_1..l_n`` of SES started at ``l_0 = x_1``."""
    return lfilter([alpha], [1.0, alpha - 1.0], x, zi=[(1.0 - alpha) * x[0]])[0]


def ses_forecast(x: np.ndarray, alpha: float) -> float:
    """One-step SES forecast of ``x`` (level started at ``x[0]``)."""
    return float(_ses_levels(np.asarray(x, dtype=float), alpha)[-1])


def _ses_sse(x: np.ndarray, alpha: float) -> float:
    if len(x) < 2:
        return 0.0
    levels = _ses_levels(x, alpha)
    return float(np.cumsum((x[1:] - levels[:-1]) ** 2)[-1])  # summed in order, so exact ties stay ties


def optimal_alpha(x: np.ndarray, bounds=_BOUNDS, tol: float = 1e-12) -> float:
    """The ``alpha`` in ``bounds`` minimising SES's in-sample one-step squared error, by golden-section search
    as statsforecast does it: the bracket shrinks until narrower than ``tol`` or until the two interior points
    tie exactly (a flat error, e.g. fewer than 3 values), and its midpoint is returned. On an error curve with
    several local minima this finds one of them, the same one statsforecast finds."""
    x = np.asarray(x, dtype=float)
    inv_phi = 2.0 / (1.0 + np.sqrt(5.0))
    a, b = float(bounds[0]), float(bounds[1])
    c, d = b - (b - a) * inv_phi, a + (b - a) * inv_phi
    fc, fd = _ses_sse(x, c), _ses_sse(x, d)
    while abs(b - a) >= tol and fc != fd:
        if fc < fd:  # the minimum lies in [a, d]
            b, d, fd = d, c, fc
            c = b - (b - a) * inv_phi
            fc = _ses_sse(x, c)
        else:  # in [c, b]
            a, c, fc = c, d, fd
            d = a + (b - a) * inv_phi
            fd = _ses_sse(x, d)
    return 0.5 * (a + b)


def demand_sizes(y: np.ndarray) -> np.ndarray:
    """The non-zero demands ``z`` in order."""
    return y[y > 0]


def demand_intervals(y: np.ndarray) -> np.ndarray:
    """Inter-demand intervals ``p``: the 1-based position of the first demand, then the gaps between demands."""
    pos = np.flatnonzero(y > 0) + 1
    return np.diff(pos, prepend=0).astype(float)


def aggregate(y: np.ndarray, k: int) -> np.ndarray:
    """Sums of non-overlapping buckets of ``k`` periods ending at the last one (the oldest ``n mod k`` dropped)."""
    cut = y[len(y) % k:]
    return cut.reshape(-1, k).sum(axis=1)


def _check_alpha(value, name: str, owner: str) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not 0 < value <= 1:
        raise ValueError(f"{owner}: {name} must be a number in (0, 1], got {value!r}")
    return float(value)


# ------------------------------------------------------------------------------ shared shell


class _Intermittent(BaseForecaster):
    """Flat forecasts from ``_estimate(y, params) -> (mean, params)``; ``params=None`` estimates them and
    ``update`` re-uses them (smoothing constants and aggregation levels are not re-estimated)."""

    def _estimate(self, y: np.ndarray, params):  # pragma: no cover - abstract
        raise NotImplementedError

    def _fit_series(self, y, X):
        return self._state(y, None)

    def _update_series(self, state, y, X, n_new):
        return self._state(y, state[1])

    def _state(self, y, params):
        if (y < 0).any():
            raise ValueError(f"{self.name} models non-negative demand; the series has negative values "
                             f"(minimum {y.min():g})")
        if not (y > 0).any():
            return 0.0, params, y.copy()
        mean, params = self._estimate(y, params)
        return float(mean), params, y.copy()

    def _predict_series(self, state, h, X, levels):
        mean, _, y = state
        f = np.full(h, mean)
        out = {}
        for lv in levels:
            a = (1 - lv / 100) / 2
            lo, hi = np.quantile(y, [a, 1 - a])
            out[lv] = (np.full(h, min(lo, mean)), np.full(h, max(hi, mean)))
        return f, out


class Croston(_Intermittent):
    """Croston's method for intermittent demand: smoothed demand size over smoothed inter-demand interval.

    Parameters
    ----------
    method : {"classic", "sba", "optimized"}, default "classic"
        ``"classic"``: SES with ``alpha = 0.1`` for both parts (Croston, 1972). ``"sba"``: the classic forecast
        times ``0.95``, the Syntetos-Boylan (2005) bias correction ``1 - alpha/2``. ``"optimized"``: each part's
        ``alpha`` chosen in ``[0.1, 0.3]`` by in-sample squared error (statsforecast's ``CrostonOptimized``).

    Attributes (per series, in ``states_``): ``(mean, (alpha_z, alpha_p), y)``.
    """

    def __init__(self, method: str = "classic"):
        self.method = method

    def _min_length(self):
        if self.method not in ("classic", "sba", "optimized"):
            raise ValueError(f"Croston: method must be 'classic', 'sba' or 'optimized', got {self.method!r}")
        return 1

    def _estimate(self, y, params):
        z, p = demand_sizes(y), demand_intervals(y)
        if params is None:
            params = (optimal_alpha(z), optimal_alpha(p)) if self.method == "optimized" else (0.1, 0.1)
        zf, pf = ses_forecast(z, params[0]), ses_forecast(p, params[1])
        mean = zf / pf if pf != 0 else zf
        return (0.95 * mean if self.method == "sba" else mean), params


class TSB(_Intermittent):
    """Teunter-Syntetos-Babai: smoothed demand probability times smoothed demand size.

    ``f = SES(d, alpha_p) * SES(z, alpha_d)`` with ``d_t = 1[y_t > 0]`` updated every period and ``z`` the
    non-zero demands, so that the forecast decays towards 0 while no demand occurs (obsolescence).

    Parameters
    ----------
    alpha_d : float, default 0.1
        Smoothing constant of the demand size, in (0, 1].
    alpha_p : float, default 0.1
        Smoothing constant of the demand probability, in (0, 1].
    """

    def __init__(self, alpha_d: float = 0.1, alpha_p: float = 0.1):
        self.alpha_d = alpha_d
        self.alpha_p = alpha_p

    def _min_length(self):
        _check_alpha(self.alpha_d, "alpha_d", "TSB")
        _check_alpha(self.alpha_p, "alpha_p", "TSB")
        return 1

    def _estimate(self, y, params):
        d = (y > 0).astype(float)
        return ses_forecast(d, self.alpha_p) * ses_forecast(demand_sizes(y), self.alpha_d), params


def _adida_at(y: np.ndarray, k: int, alpha: float | None):
    sums = aggregate(y, k)
    alpha = optimal_alpha(sums) if alpha is None else alpha
    return ses_forecast(sums, alpha) / k, alpha


def _max_level(y: np.ndarray) -> int:
    return max(1, round(float(np.mean(demand_intervals(y)))))


class ADIDA(_Intermittent):
    """Aggregate-Disaggregate Intermittent Demand Approach (Nikolopoulos et al., 2011).

    Buckets of ``k = round(mean inter-demand interval)`` periods, optimized SES on the bucket sums, the forecast
    spread evenly over the ``k`` periods. ``states_`` hold ``(mean, (k, alpha), y)``.
    """

    def _estimate(self, y, params):
        k, alpha = params if params is not None else (_max_level(y), None)
        mean, alpha = _adida_at(y, k, alpha)
        return mean, (k, alpha)


class IMAPA(_Intermittent):
    """Intermittent Multiple Aggregation Prediction Algorithm (Petropoulos and Kourentzes, 2015).

    The mean of the ADIDA forecasts at every aggregation level ``k = 1..round(mean inter-demand interval)``.
    ``states_`` hold ``(mean, alphas, y)``, one optimized ``alpha`` per level.
    """

    def _estimate(self, y, params):
        alphas = params if params is not None else [None] * _max_level(y)
        parts = [_adida_at(y, k, a) for k, a in enumerate(alphas, start=1)]
        return float(np.mean([m for m, _ in parts])), tuple(a for _, a in parts)
