"""Conformal prediction intervals around any forecaster, from its own backtest errors.

``ConformalForecaster(forecaster, n_windows=3)`` fits ``forecaster`` on the whole history for the point
forecast. For the intervals it refits clones of it at the ``n_windows`` last origins of a rolling-origin backtest
(origins ``n - k h``, ``k = n_windows..1``, each forecasting the ``h`` steps that follow), and keeps the absolute
errors ``|e_{i,w,j}|`` of series ``i``, window ``w``, step ``j``, scaled by the series' in-sample naive MAE ``s_i``
(MASE's scale) so that series of different sizes can be pooled.

The finite-sample (split-conformal) quantile of ``n`` scores at level ``1 - a`` is the ``k``-th smallest with
``k = ceil((n + 1)(1 - a))``; it exists only when ``k <= n``, i.e. ``n >= (1 - a) / a`` (4 scores for 80 %, 19
for 95 %, 99 for 99 %). Three windows of one series give three scores per step: too few. So the scores are pooled:

``method="pooled"`` (default)
    Scores ``r = |e_{i,w,j}| / (s_i d_j)`` pooled over series, windows and steps (``n = N W h``); ``d_j`` is the
    mean scaled error at step ``j`` over series and windows, the horizon profile that makes the steps
    comparable (errors grow with ``j``). Interval: ``f_{i,j} -+ q s_i d_j``.
``method="per_step"``
    One quantile per step over series and windows (``n = N W``), ``f_{i,j} -+ q_j s_i``: needs a panel (or many
    windows) for high levels; too few scores raise ``ValueError``.

Guarantee and assumptions: if the scaled scores of the calibration windows and of the forecast to come are
exchangeable, each interval covers with probability at least ``1 - a`` averaged over the pooled units (series,
and for ``"pooled"`` steps), and at most ``1 - a + 1/(n + 1)``. That assumes the error distribution of the last
``n_windows * h`` periods holds in the next ``h`` (no change of regime), that errors scaled by ``s_i`` are alike
across series, and for ``"pooled"`` that one horizon profile ``d_j`` fits every series; estimating ``d_j`` from
the same scores makes the guarantee approximate. Nothing is promised per series or per step.

For a non-negative target (``clip_at_zero``), the point forecast and the bounds are clipped at 0, which
never lowers coverage.
"""

from __future__ import annotations

import math

import numpy as np
from sklearn.base import clone

from .._validation import check_positive_int
from ..base import BaseForecaster
from ..metrics import mase_scale

__all__ = ["ConformalForecaster", "conformal_quantile"]

_METHODS = ("pooled", "per_step")


def conformal_quantile(scores: np.ndarray, level: float) -> float:
    """The split-conformal quantile: the ``ceil((n + 1) level/100)``-th smallest of the ``n`` scores.

    Raises ``ValueError`` when ``n`` is too small for ``level``.
    """
    scores = np.sort(np.ravel(scores))
    n = len(scores)
    k = math.ceil((n + 1) * level / 100 - 1e-9)
    if k > n:
        need = math.ceil(level / (100 - level) - 1e-9)
        raise ValueError(f"{n} calibration scores cannot give a {level:g} % conformal interval (it needs at least "
                         f"{need}): use more n_windows, a longer horizon, a panel, or method='pooled'")
    return float(scores[k - 1])


def _scale(y: np.ndarray) -> float:
    s = mase_scale(y, 1) if len(y) > 1 else 0.0
    if s > 0:
        return s
    return float(np.mean(np.abs(y))) or 1.0  # a constant series: scale by its size (or 1 for zeros)


class ConformalForecaster(BaseForecaster):
    """Calibrated intervals for any forecaster from the errors of its last ``n_windows`` backtest windows.

    Parameters
    ----------
    forecaster : tsrnn forecaster, optional
        The point forecaster (cloned). Default :class:`~tsrnn.models.Theta`.
    n_windows : int, default 3
        Backtest windows used for calibration; each costs one extra fit.
    h : int, optional
        Calibration horizon. Given, the windows are fitted in ``fit`` and ``predict`` accepts any ``h`` up to
        it. ``None`` calibrates at every ``predict`` for the asked horizon (nothing is stored).
    method : {"pooled", "per_step"}, default "pooled"
        How scores are pooled (see the module notes).
    clip_at_zero : bool or "auto", default "auto"
        Clip forecasts and bounds at 0; ``"auto"`` does so for series whose history is never negative.

    Attributes
    ----------
    forecaster_ : the inner forecaster fitted on the whole history
    calibration_ : ``(scaled absolute errors of shape (n_series, n_windows, h), scales (n_series,))`` or None
    """

    _is_global = True

    def __init__(self, forecaster: BaseForecaster | None = None, n_windows: int = 3, h: int | None = None,
                 method: str = "pooled", clip_at_zero="auto"):
        self.forecaster = forecaster
        self.n_windows = n_windows
        self.h = h
        self.method = method
        self.clip_at_zero = clip_at_zero

    @classmethod
    def _test_params(cls):
        from .baselines import Naive

        return {"forecaster": Naive()}

    def _inner(self) -> BaseForecaster:
        if self.forecaster is None:
            from .theta import Theta

            return Theta()
        if not isinstance(self.forecaster, BaseForecaster):
            raise TypeError(f"ConformalForecaster: forecaster must be a tsrnn forecaster, "
                            f"got {type(self.forecaster).__name__}")
        return clone(self.forecaster)

    def _check_params(self) -> None:
        check_positive_int(self.n_windows, "n_windows", "ConformalForecaster")
        check_positive_int(self.h, "h", "ConformalForecaster", allow_none=True)
        if self.method not in _METHODS:
            raise ValueError(f"ConformalForecaster: method must be one of {_METHODS}, got {self.method!r}")
        if self.clip_at_zero not in (True, False, "auto"):
            raise ValueError(f"ConformalForecaster: clip_at_zero must be True, False or 'auto', "
                             f"got {self.clip_at_zero!r}")

    def _min_length(self) -> int:
        self._check_params()
        return self._inner()._min_length() + self.n_windows * (self.h or 1)

    # ------------------------------------------------------------------ fit / calibrate
    def _fit_panel(self, panel) -> None:
        self.forecaster_ = self._inner().fit(panel)
        self.clip_ = np.array([self.clip_at_zero is True or (self.clip_at_zero == "auto" and (s.y >= 0).all())
                               for s in panel.series])
        self.calibration_ = None if self.h is None else self._calibrate(panel, self.h)

    def _calibrate(self, panel, h: int):
        """Scaled absolute errors ``(n_series, n_windows, h)`` of the backtest windows, and the scales."""
        W = self.n_windows
        lengths = np.array([len(s) for s in panel.series])
        short = [s.uid for s, n in zip(panel.series, lengths) if n - W * h < 2]
        if short:
            raise ValueError(f"ConformalForecaster: series {short[0]!r} is too short for {W} calibration window(s) "
                             f"of h={h}: needs more than {W * h + 1} observations")
        scales = np.array([_scale(s.y) for s in panel.series])
        errors = np.empty((len(lengths), W, h))
        for w in range(W):
            cut = lengths - (W - w) * h
            fitted = self._inner().fit(panel.head(cut))
            for i, (mean, _) in enumerate(fitted._forecast_arrays(h, {}, [])):
                s = panel.series[i]
                errors[i, w] = np.abs(s.y[cut[i]:cut[i] + h] - mean)
        return errors / scales[:, None, None], scales

    # ------------------------------------------------------------------ predict
    def _predict_panel(self, panel, h, X, levels):
        points = self.forecaster_._forecast_arrays(h, X, [])
        if not levels:
            return [self._clip(i, np.asarray(m, dtype=float), {}) for i, (m, _) in enumerate(points)]
        if self.calibration_ is None:
            scores, scales = self._calibrate(panel, h)
        elif h > self.calibration_[0].shape[2]:
            raise ValueError(f"ConformalForecaster: calibrated for h <= {self.h}, asked for h={h}: "
                             f"set h={h} (or h=None)")
        else:
            scores, scales = self.calibration_[0][:, :, :h], self.calibration_[1]
        widths = {lv: self._half_width(scores, lv) for lv in levels}  # (h,) per unit scale
        out = []
        for i, (mean, _) in enumerate(points):
            mean = np.asarray(mean, dtype=float)
            iv = {lv: (mean - scales[i] * wd, mean + scales[i] * wd) for lv, wd in widths.items()}
            out.append(self._clip(i, mean, iv))
        return out

    def _half_width(self, scores: np.ndarray, level: float) -> np.ndarray:
        if self.method == "per_step":
            return np.array([conformal_quantile(scores[:, :, j], level) for j in range(scores.shape[2])])
        profile = scores.mean(axis=(0, 1))
        profile = np.where(profile > 0, profile, max(profile.max(), 1e-12))
        return conformal_quantile(scores / profile, level) * profile

    def _clip(self, i: int, mean: np.ndarray, iv: dict):
        if not self.clip_[i]:
            return mean, iv
        return np.maximum(mean, 0.0), {lv: (np.maximum(lo, 0.0), np.maximum(hi, 0.0)) for lv, (lo, hi) in iv.items()}

    def _update_panel(self, panel) -> None:
        """New observations go to the inner forecaster; the calibration scores are kept."""
        old = {s.uid: len(s) for s in self.forecaster_.panel_.series}
        grown = [s for s in panel.series if len(s) > old[s.uid]]
        tails = [type(s)(s.uid, s.ds[old[s.uid]:], s.y[old[s.uid]:], None if s.X is None else s.X[old[s.uid]:])
                 for s in grown]
        if tails:
            self.forecaster_.update(panel.replace(tails))
