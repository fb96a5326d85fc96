"""Exponential smoothing state space models (ETS) with automatic selection by AICc.

An ETS(E, T, S) model (Hyndman, Koehler, Ord & Snyder 2008) has level ``l``, trend ``b`` and seasonal ``s``
states; for example ETS(A, Ad, A):

.. math::

    y_t = l_{t-1} + \\phi b_{t-1} + s_{t-m} + e_t, \\quad
    l_t = l_{t-1} + \\phi b_{t-1} + \\alpha e_t, \\quad
    b_t = \\phi b_{t-1} + \\beta e_t, \\quad
    s_t = s_{t-m} + \\gamma e_t,

and with multiplicative errors ``y_t = \\mu_t (1 + e_t)``. Estimation, forecasts and intervals are those of
:class:`statsmodels.tsa.exponential_smoothing.ets.ETSModel` (maximum likelihood). Candidates follow
``forecast::ets``' restricted set: no multiplicative trend, no additive-error model with multiplicative
seasonality, multiplicative parts only for positive data.
"""

from __future__ import annotations

import numpy as np

from .._validation import check_positive_int
from ..base import BaseForecaster, gaussian_intervals
from ._sm import quiet

__all__ = ["ETS"]

_CHOICES = {"error": ("add", "mul"), "trend": (None, "add"), "seasonal": (None, "add", "mul")}


def _as_tuple(v, key):
    """``"auto"`` means all choices; ``"A"``/``"M"``/``"N"``/``"Ad"`` are accepted as in R."""
    if v == "auto":
        return _CHOICES[key]
    alias = {"A": "add", "M": "mul", "N": None, "Ad": "add", "none": None}
    v = alias.get(v, v)
    if v not in _CHOICES[key]:
        raise ValueError(f"ETS: {key} must be 'auto' or one of {_CHOICES[key]}, got {v!r}")
    return (v,)


class ETS(BaseForecaster):
    """Exponential smoothing with error, trend and season chosen by AICc (``"auto"``) or fixed.

    Parameters
    ----------
    season_length : int, default 1
    error, trend, seasonal : str, default "auto"
        ``"add"``/``"A"``, ``"mul"``/``"M"`` or ``None``/``"N"`` (trend and seasonal), or ``"auto"``.
    damped : bool or "auto", default "auto"
        Damped trend (``phi``); ``"auto"`` tries both when there is a trend.
    ic : {"aicc", "aic", "bic"}, default "aicc"
    initialization : {"auto", "estimated", "heuristic"}, default "auto"
        ``"estimated"`` optimises the initial states with the smoothing parameters (as ``forecast::ets``);
        ``"heuristic"`` fixes them from the first cycles (Hyndman et al. 2008, sec. 2.6.1), much faster when
        the season is long. ``"auto"``: estimated when there are at most 13 initial states, else heuristic
        (seasonal models with ``season_length > 12``, e.g. hourly data with ``m = 24``).
    random_state : int, default 0
        Seed of the simulated intervals of the models statsmodels has no closed form for.
    n_jobs : int, default 1

    Attributes
    ----------
    states_ : list of dict
        Per series: the chosen ``spec`` (error, trend, damped, seasonal, m), ``params`` and the ``ic`` value.
    """

    @classmethod
    def _test_params(cls) -> dict:
        return {"season_length": 7, "error": "add", "damped": False}

    def __init__(self, season_length: int = 1, error="auto", trend="auto", seasonal="auto", damped="auto",
                 ic: str = "aicc", initialization: str = "auto", random_state=0, n_jobs: int = 1):
        self.season_length = season_length
        self.error = error
        self.trend = trend
        self.seasonal = seasonal
        self.damped = damped
        self.ic = ic
        self.initialization = initialization
        self.random_state = random_state
        self.n_jobs = n_jobs

    def _min_length(self) -> int:
        check_positive_int(self.season_length, "season_length", "ETS")
        if self.ic not in ("aicc", "aic", "bic"):
            raise ValueError(f"ETS: ic must be 'aicc', 'aic' or 'bic', got {self.ic!r}")
        if self.initialization not in ("auto", "estimated", "heuristic"):
            raise ValueError(f"ETS: initialization must be 'auto', 'estimated' or 'heuristic', got {self.initialization!r}")
        for key in ("error", "trend", "seasonal"):
            _as_tuple(getattr(self, key), key)
        if self.seasonal not in ("auto", None, "N", "none") and self.season_length < 2:
            raise ValueError("ETS: a seasonal model needs season_length >= 2")
        return 4

    def _candidates(self, y) -> list[tuple]:
        m = self.season_length
        positive = bool((y > 0).all())
        n = len(y)
        out = []
        for e in _as_tuple(self.error, "error"):
            for t in _as_tuple(self.trend, "trend"):
                damps = [False] if t is None else ([False, True] if self.damped == "auto" else [bool(self.damped)])
                for s in _as_tuple(self.seasonal, "seasonal"):
                    if s is not None and (m < 2 or n < 2 * m + 2):
                        continue
                    if (e == "mul" or s == "mul") and not positive:
                        continue
                    if e == "add" and s == "mul":
                        continue
                    out += [(e, t, dp, s) for dp in damps]
        return out

    def _init_method(self, spec, n) -> str:
        # one rule for all candidates of a series, so that their criteria stay comparable
        if self.initialization != "auto":
            return self.initialization
        seasonal_tried = self.seasonal not in (None, "N", "none")
        if seasonal_tried and self.season_length > 12 and n >= 10 + 2 * self.season_length:
            return "heuristic"
        return "estimated"

    def _model(self, y, spec):
        import pandas as pd
        from statsmodels.tsa.exponential_smoothing.ets import ETSModel

        e, t, dp, s = spec
        # a Series: statsmodels' ETS prediction intervals fail on bare arrays
        return ETSModel(pd.Series(y), error=e, trend=t, damped_trend=dp, seasonal=s,
                        seasonal_periods=self.season_length if s is not None else None,
                        initialization_method=self._init_method(spec, len(y)))

    def _fit_series(self, y, X):
        if np.ptp(y) == 0:  # a constant series (e.g. an item that never sold): every model forecasts the constant
            return {"constant": float(y[-1]), "y": y}
        best = None
        with quiet():
            for spec in self._candidates(y):
                try:
                    res = self._model(y, spec).fit(disp=False)
                except (ValueError, np.linalg.LinAlgError):
                    continue
                score = getattr(res, self.ic)
                if np.isfinite(score) and np.all(np.isfinite(res.params)) and (best is None or score < best[0]):
                    best = (score, spec, np.asarray(res.params))
        if best is None:
            raise ValueError("ETS: no candidate model could be fitted to the series")
        score, spec, params = best
        return {"spec": spec, "params": params, "ic": float(score), "y": y, "init": self._init_method(spec, len(y))}

    def _update_series(self, state, y, X, n_new):
        if "constant" in state:
            return self._fit_series(y, X) if np.ptp(y) else {**state, "y": y}
        return {**state, "y": y}

    def _predict_series(self, state, h, X, levels):
        if "constant" in state:
            mean = np.full(h, state["constant"])
            return mean, {lv: (mean.copy(), mean.copy()) for lv in levels}
        with quiet():
            mod = self._model(state["y"], state["spec"])
            res = mod.smooth(state["params"])
            n = len(state["y"])
            seed = None if self.random_state is None else np.random.default_rng(self.random_state)
            pred = res.get_prediction(start=n, end=n + h - 1, rng=seed)
            mean = np.asarray(pred.predicted_mean, dtype=float)
            if not levels:
                return mean, {}
            iv = {}
            for lv in levels:
                frame = pred.pred_int(alpha=1 - lv / 100.0)
                frame = np.asarray(frame, dtype=float)
                iv[lv] = (frame[:, 0], frame[:, 1])
        if not all(np.isfinite(v).all() for pair in iv.values() for v in pair):  # pragma: no cover
            sd = np.sqrt(np.asarray(pred.forecast_variance, dtype=float))
            iv = gaussian_intervals(mean, sd, levels)
        return mean, iv
