"""Forecast accuracy metrics (layer 0): pure, vectorised numpy.

Every point metric reduces over the last axis: 1-D input gives a float, ``(n_series, h)`` input gives one value
per row. ``y_true`` and ``y_pred`` must have the same shape.
"""

from __future__ import annotations

import numpy as np

__all__ = ["mae", "rmse", "mape", "smape", "mase", "mase_scale", "owa", "coverage", "pinball_loss", "msis", "crps",
           "crps_from_intervals", "METRICS", "INTERVAL_METRICS"]


def _pair(y_true, y_pred):
    a = np.asarray(y_true, dtype=float)
    b = np.asarray(y_pred, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"y_true has shape {a.shape} but y_pred has shape {b.shape}")
    if a.size == 0:
        raise ValueError("metrics need at least one value")
    return a, b


def _reduce(x: np.ndarray):
    out = x.mean(axis=-1)
    return float(out) if np.ndim(out) == 0 else out


def mae(y_true, y_pred):
    r"""Mean absolute error, :math:`\frac{1}{h}\sum_t |y_t - \hat y_t|`."""
    a, b = _pair(y_true, y_pred)
    return _reduce(np.abs(a - b))


def rmse(y_true, y_pred):
    r"""Root mean squared error, :math:`\sqrt{\frac{1}{h}\sum_t (y_t - \hat y_t)^2}`."""
    a, b = _pair(y_true, y_pred)
    return np.sqrt(_reduce((a - b) ** 2))


def mape(y_true, y_pred):
    r"""Mean absolute percentage error in percent, :math:`\frac{100}{h}\sum_t |y_t - \hat y_t| / |y_t|`.

    A zero actual with a non-zero error contributes ``inf`` (MAPE is undefined there); an exact forecast of a
    zero contributes 0.
    """
    a, b = _pair(y_true, y_pred)
    err = np.abs(a - b)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(err == 0, 0.0, err / np.abs(a))
    return _reduce(100.0 * r)


def smape(y_true, y_pred):
    r"""Symmetric MAPE as defined by the M4 competition, in percent (0 to 200).

    :math:`\mathrm{sMAPE} = \frac{200}{h}\sum_t \frac{|y_t - \hat y_t|}{|y_t| + |\hat y_t|}`; a term where
    both the actual and the forecast are 0 counts as 0.
    """
    a, b = _pair(y_true, y_pred)
    num = np.abs(a - b)
    den = np.abs(a) + np.abs(b)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(den == 0, 0.0, num / den)
    return _reduce(200.0 * r)


def mase_scale(y_train, season_length: int = 1) -> float:
    r"""In-sample seasonal-naive MAE, :math:`\frac{1}{n-m}\sum_{t=m+1}^{n} |y_t - y_{t-m}|` (MASE's denominator)."""
    y = np.asarray(y_train, dtype=float)
    m = int(season_length)
    if len(y) <= m:
        raise ValueError(f"MASE needs more than season_length={m} training values, got {len(y)}")
    return float(np.mean(np.abs(y[m:] - y[:-m])))


def mase(y_true, y_pred, y_train=None, season_length: int = 1, scale=None):
    r"""Mean absolute scaled error (Hyndman and Koehler, 2006), as in M4.

    :math:`\mathrm{MASE} = \frac{\frac{1}{h}\sum_t |y_t - \hat y_t|}{\frac{1}{n-m}\sum_{t=m+1}^{n}|y_t - y_{t-m}|}`
    with the in-sample seasonal-naive error of the training series as the scale. Give ``y_train`` (one
    series) or a precomputed ``scale`` (a float, or one per row for 2-D input). A zero scale (a constant
    training series) gives ``inf`` for a non-zero error and 0 for an exact forecast.
    """
    a, b = _pair(y_true, y_pred)
    if scale is None:
        if y_train is None:
            raise ValueError("mase needs y_train (or a precomputed scale)")
        scale = mase_scale(y_train, season_length)
    scale = np.asarray(scale, dtype=float)
    err = np.abs(a - b).mean(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(err == 0, 0.0, err / scale)
    return float(out) if np.ndim(out) == 0 else out


def owa(smape_model, mase_model, smape_naive2, mase_naive2) -> float:
    r"""Overall weighted average of the M4 competition: the mean of sMAPE and MASE relative to Naive2,

    :math:`\mathrm{OWA} = \tfrac12\left(\frac{\mathrm{sMAPE}}{\mathrm{sMAPE}_{\mathrm{Naive2}}} +
    \frac{\mathrm{MASE}}{\mathrm{MASE}_{\mathrm{Naive2}}}\right)`, computed on the averages over all series.
    """
    return 0.5 * (float(smape_model) / float(smape_naive2) + float(mase_model) / float(mase_naive2))


def coverage(y_true, lo, hi):
    r"""Share of actuals inside their interval, :math:`\frac1h\sum_t \mathbb{1}[l_t \le y_t \le u_t]`."""
    a, lo_ = _pair(y_true, lo)
    _, hi_ = _pair(y_true, hi)
    if (lo_ > hi_).any():
        raise ValueError("coverage: some lower bounds exceed their upper bounds")
    inside = ((a >= lo_) & (a <= hi_)).astype(float)
    inside[np.isnan(a) | np.isnan(lo_) | np.isnan(hi_)] = np.nan  # no bound, no verdict
    return _reduce(inside)


def pinball_loss(y_true, y_pred, quantile: float):
    r"""Pinball (quantile) loss, :math:`\frac1h\sum_t \max(q (y_t - \hat y_t), (q - 1)(y_t - \hat y_t))`."""
    if not 0 < quantile < 1:
        raise ValueError(f"quantile must lie in (0, 1), got {quantile}")
    a, b = _pair(y_true, y_pred)
    d = a - b
    return _reduce(np.maximum(quantile * d, (quantile - 1) * d))


def msis(y_true, lo, hi, insample=None, m: int = 1, level: float = 95, scale=None):
    r"""Mean scaled interval score of the M4 competition (Makridakis et al., 2020, eq. 4).

    .. math:: \mathrm{MSIS} = \frac{\frac1h \sum_t (U_t - L_t) + \frac{2}{a}(L_t - Y_t)\mathbb{1}[Y_t < L_t]
              + \frac{2}{a}(Y_t - U_t)\mathbb{1}[Y_t > U_t]}{\frac{1}{n-m}\sum_{t=m+1}^{n}|Y_t - Y_{t-m}|}

    with ``a = 1 - level/100`` (M4 scored ``level=95``, ``a = 0.05``) and the in-sample seasonal-naive MAE of
    ``insample`` (period ``m``) as the scale, MASE's. Give ``insample`` or a precomputed ``scale`` (a float, or
    one per row for 2-D input). Lower is better; reduces over the last axis like the point metrics.
    """
    if not 0 < level < 100:
        raise ValueError(f"msis: level must lie in (0, 100), got {level}")
    a, lo_ = _pair(y_true, lo)
    _, hi_ = _pair(y_true, hi)
    if scale is None:
        if insample is None:
            raise ValueError("msis needs the in-sample series (insample) or a precomputed scale")
        scale = mase_scale(insample, m)
    alpha = 1.0 - level / 100.0
    score = (hi_ - lo_) + (2.0 / alpha) * ((lo_ - a) * (a < lo_) + (a - hi_) * (a > hi_))
    with np.errstate(divide="ignore", invalid="ignore"):
        out = score.mean(axis=-1) / np.asarray(scale, dtype=float)
    return float(out) if np.ndim(out) == 0 else out


def crps(y_true, y_pred, quantiles=None):
    r"""Continuous ranked probability score of a forecast distribution given by quantiles or by samples.

    * ``quantiles`` given: ``y_pred`` has shape ``(n_quantiles, *y_true.shape)``, the forecast quantiles at the
      levels ``quantiles`` (in (0, 1)). The score is twice the mean pinball loss over the grid,
      :math:`\frac{2}{K}\sum_k \rho_{q_k}(y - \hat q_k)`, which tends to the CRPS
      :math:`2\int_0^1 \rho_q(y - F^{-1}(q))\,dq` for a uniform grid (use midpoints ``(k - 1/2)/K``).
    * ``quantiles=None``: ``y_pred`` are samples of shape ``(n_samples, *y_true.shape)``; the score is the exact
      CRPS of their empirical distribution, :math:`E|X - y| - \tfrac12 E|X - X'|` (Gneiting and Raftery, 2007).

    Lower is better; in the units of ``y``; reduces over the last axis like the point metrics.
    """
    a = np.asarray(y_true, dtype=float)
    p = np.asarray(y_pred, dtype=float)
    if p.shape[1:] != a.shape or p.shape[0] == 0:
        raise ValueError(f"crps: y_pred must have shape (n, {a.shape}), got {p.shape}")
    if quantiles is not None:
        q = np.asarray(quantiles, dtype=float).reshape((-1,) + (1,) * a.ndim)
        if len(q) != len(p) or not ((q > 0) & (q < 1)).all():
            raise ValueError(f"crps: need one quantile level in (0, 1) per row of y_pred, got {np.ravel(q)}")
        d = a - p
        return _reduce(2.0 * np.maximum(q * d, (q - 1) * d).mean(axis=0))
    s = np.sort(p, axis=0)
    n = len(s)
    w = (2.0 * np.arange(1, n + 1) - n - 1).reshape((-1,) + (1,) * a.ndim)
    spread = 2.0 * (w * s).sum(axis=0) / n**2  # E|X - X'|
    return _reduce(np.abs(p - a).mean(axis=0) - 0.5 * spread)


def crps_from_intervals(y_true, y_pred, intervals: dict):
    """CRPS (as in :func:`crps`, the quantile form) from a point forecast taken as the median and central
    intervals ``{level: (lo, hi)}``: the grid is ``0.5`` and ``(1 -+ level/100) / 2`` of every level, with equal
    weights. A coarse grid: compare models scored on the same levels only."""
    qs, preds = [0.5], [np.asarray(y_pred, dtype=float)]
    for lv, (lo, hi) in intervals.items():
        qs += [(1 - lv / 100) / 2, (1 + lv / 100) / 2]
        preds += [np.asarray(lo, dtype=float), np.asarray(hi, dtype=float)]
    return crps(y_true, np.stack(preds), qs)


#: Point metrics the backtest computes per (series, window): name -> f(y, f, scale).
METRICS = {
    "mae": lambda y, f, scale: mae(y, f),
    "rmse": lambda y, f, scale: rmse(y, f),
    "mape": lambda y, f, scale: mape(y, f),
    "smape": lambda y, f, scale: smape(y, f),
    "mase": lambda y, f, scale: mase(y, f, scale=scale),
}


# The one list of scores where lower is better (every other score is ranked higher-is-better, except coverage).
LOWER_IS_BETTER = frozenset({"mae", "rmse", "mape", "smape", "mase", "owa", "msis", "crps", "pinball_loss", "rank",
                             "fit_s", "predict_s", "mean_fit_s", "mean_predict_s", "n_failed"})


def as_loss(metric: str, values):
    """``values`` of ``metric`` turned lower-is-better, for ranking and sorting.

    Unchanged for :data:`LOWER_IS_BETTER` names and names ending in ``_s`` (seconds); the distance to the nominal
    level for ``coverage-<level>`` (``level`` in percent: ``|coverage - level / 100|``); ``<score>-<level>`` (``msis-95``)
    as ``<score>``; negated otherwise.
    """
    v = np.asarray(values, dtype=float)
    base, _, suffix = metric.partition("-")
    if base == "coverage" and suffix:
        return np.abs(v - float(suffix) / 100)
    # a level suffix (``msis-95``) names the same score at one level
    lower = metric in LOWER_IS_BETTER or (base in LOWER_IS_BETTER and suffix.replace(".", "", 1).isdigit())
    return v if lower or metric.endswith("_s") else -v


#: Interval metrics the backtest computes per (series, window) when it forecasts intervals (``level``):
#: name -> f(y, f, {level: (lo, hi)}, scale) -> {score column: values}.
INTERVAL_METRICS = {
    "msis": lambda y, f, iv, scale: {f"msis-{lv}": msis(y, lo, hi, level=lv, scale=scale) for lv, (lo, hi) in iv.items()},
    "crps": lambda y, f, iv, scale: {"crps": crps_from_intervals(y, f, iv)},
}
