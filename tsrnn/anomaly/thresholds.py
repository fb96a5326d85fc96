"""Thresholds that turn raw anomaly scores into 0/1 alarms, kept apart from the detectors (layer 3).

* :class:`QuantileThreshold`: a fixed threshold, the ``(1 - contamination)`` quantile of the training scores.
* :class:`RollingQuantileThreshold`: at stamp ``t`` the ``(1 - contamination)`` quantile of the ``window`` scores
  *before* ``t`` (no look-ahead); the fixed training quantile until ``min_periods`` past scores exist.
* :class:`POTThreshold`: peaks over threshold (Siffer et al. 2017, "Anomaly detection in streams with extreme
  value theory", KDD). Scores above an initial high quantile ``t`` are modelled by a generalised Pareto
  distribution ``GPD(gamma, sigma)`` fitted by maximum likelihood; the threshold for a false-alarm probability
  ``q`` is

  ``z_q = t + sigma / gamma * ((q n / N_t) ** (-gamma) - 1)``  (``t - sigma log(q n / N_t)`` when ``gamma = 0``),

  with ``n`` scores of which ``N_t`` exceed ``t``. With ``dynamic=True`` this is SPOT: while streaming, a score
  above ``z_q`` is an alarm and is left out of the model; one between ``t`` and ``z_q`` joins the peaks and
  ``z_q`` is re-estimated (each time the peaks have grown by 2 %, to bound the cost of the refits).

:class:`ThresholdMixin` plugs them into :class:`tsrnn.base.BaseDetector` through ``_set_threshold`` and a
``predict`` that can apply per-stamp thresholds and a ``cooldown`` (after an alarm, the next ``cooldown`` stamps
are not flagged: one alarm per event, as a pager would do).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.base import BaseEstimator, clone

from ..base import BaseDetector

__all__ = ["QuantileThreshold", "RollingQuantileThreshold", "POTThreshold", "ThresholdMixin", "Thresholded",
           "AnomalyLikelihood", "likelihood_z", "make_threshold", "apply_cooldown", "gpd_threshold"]


def _check_rate(c, name="contamination") -> float:
    if isinstance(c, bool) or not isinstance(c, (int, float, np.floating)) or not 0 < c < 1:
        raise ValueError(f"{name} must be a number in (0, 1), got {c!r}")
    return float(c)


def apply_cooldown(flags: np.ndarray, cooldown: int) -> np.ndarray:
    """Keep an alarm only if no alarm was kept in the previous ``cooldown`` stamps (causal)."""
    flags = np.asarray(flags).astype(np.int64)
    if not cooldown or cooldown <= 0:
        return flags
    out = np.zeros_like(flags)
    last = -cooldown - 1
    for i in np.flatnonzero(flags):
        if i - last > cooldown:
            out[i] = 1
            last = i
    return out


class QuantileThreshold(BaseEstimator):
    """Fixed threshold: the ``(1 - contamination)`` quantile of the training scores."""

    def __init__(self, contamination: float = 0.01):
        self.contamination = contamination

    def fit(self, scores):
        c = _check_rate(self.contamination)
        scores = np.asarray(scores, dtype=float)
        self.threshold_ = float(np.quantile(scores, 1 - c)) if scores.size else np.inf
        return self

    def thresholds(self, scores) -> np.ndarray:
        """Threshold in force at each stamp of ``scores`` (one series in time order)."""
        return np.full(len(scores), self.threshold_)

    def flags(self, scores) -> np.ndarray:
        """1 where a score exceeds the threshold in force, else 0."""
        scores = np.asarray(scores, dtype=float)
        return (scores > self.thresholds(scores)).astype(np.int64)


class RollingQuantileThreshold(QuantileThreshold):
    """Rolling threshold: the ``(1 - contamination)`` quantile of the previous ``window`` scores of the series.

    Parameters
    ----------
    contamination : float
        Expected share of alarms.
    window : int
        Number of past scores the quantile is taken over.
    min_periods : int, optional
        Past scores needed before the rolling quantile is used (default ``window // 4``); earlier stamps use the
        fixed quantile of the training scores.
    """

    def __init__(self, contamination: float = 0.01, window: int = 1000, min_periods: int | None = None):
        self.contamination = contamination
        self.window = window
        self.min_periods = min_periods

    def fit(self, scores):
        if not isinstance(self.window, (int, np.integer)) or self.window < 2:
            raise ValueError(f"window must be an integer >= 2, got {self.window!r}")
        return super().fit(scores)

    def thresholds(self, scores) -> np.ndarray:
        mp = self.window // 4 if self.min_periods is None else int(self.min_periods)
        q = 1 - _check_rate(self.contamination)
        past = pd.Series(np.asarray(scores, dtype=float)).rolling(self.window, min_periods=max(mp, 1)).quantile(q)
        past = past.shift(1).to_numpy()  # the quantile of the scores strictly before t
        return np.where(np.isnan(past), self.threshold_, past)


def gpd_threshold(peaks: np.ndarray, t: float, n: int, risk: float) -> float:
    """``z_q`` of Siffer et al. (2017) from excesses ``peaks`` over ``t`` among ``n`` scores, by GPD maximum
    likelihood (scipy's ``genpareto.fit`` with location 0)."""
    peaks = np.asarray(peaks, dtype=float)
    ratio = risk * n / len(peaks)
    if ratio >= 1:  # the requested risk is not in the tail that was modelled
        return float(t)
    if np.ptp(peaks) == 0:
        return float(t + peaks[0])
    gamma, _, sigma = stats.genpareto.fit(peaks, floc=0)
    if abs(gamma) < 1e-8:
        return float(t - sigma * np.log(ratio))
    return float(t + sigma / gamma * (ratio ** (-gamma) - 1))


class POTThreshold(QuantileThreshold):
    """Peaks-over-threshold (extreme value theory) threshold for a chosen false-alarm probability.

    Parameters
    ----------
    risk : float
        The false-alarm probability ``q`` per stamp.
    init_quantile : float
        Quantile of the training scores taken as the initial threshold ``t``.
    dynamic : bool
        SPOT: keep updating the tail model with the non-alarm peaks while streaming.
    min_peaks : int
        Below this number of peaks the GPD is not fitted and the empirical ``(1 - risk)`` quantile is used.
    """

    def __init__(self, risk: float = 1e-3, init_quantile: float = 0.98, dynamic: bool = False, min_peaks: int = 10):
        self.risk = risk
        self.init_quantile = init_quantile
        self.dynamic = dynamic
        self.min_peaks = min_peaks

    def fit(self, scores):
        q = _check_rate(self.risk, "risk")
        _check_rate(self.init_quantile, "init_quantile")
        scores = np.asarray(scores, dtype=float)
        if not scores.size:
            self.init_threshold_, self.peaks_, self.n_, self.threshold_ = np.inf, np.empty(0), 0, np.inf
            return self
        self.init_threshold_ = float(np.quantile(scores, self.init_quantile))
        self.peaks_ = scores[scores > self.init_threshold_] - self.init_threshold_
        self.n_ = len(scores)
        if len(self.peaks_) < self.min_peaks:
            self.threshold_ = float(np.quantile(scores, 1 - q))
        else:
            self.threshold_ = gpd_threshold(self.peaks_, self.init_threshold_, self.n_, q)
        return self

    def thresholds(self, scores) -> np.ndarray:
        scores = np.asarray(scores, dtype=float)
        if not self.dynamic or not np.isfinite(self.init_threshold_):
            return np.full(len(scores), self.threshold_)
        t, z, n, peaks = self.init_threshold_, self.threshold_, self.n_, list(self.peaks_)
        refit_at = 0
        out = np.empty(len(scores))
        for i, x in enumerate(scores):
            out[i] = z
            if x > z:
                continue  # an alarm: not part of the normal tail
            n += 1
            if x > t:
                peaks.append(x - t)
                if len(peaks) >= max(self.min_peaks, refit_at):
                    z = gpd_threshold(np.asarray(peaks), t, n, self.risk)
                    refit_at = int(np.ceil(len(peaks) * 1.02)) + 1
        return out


def make_threshold(threshold, contamination: float):
    """A fresh threshold object from a name (``"quantile"``, ``"rolling"``, ``"pot"``, ``"spot"``) or a clone of
    the object given; ``contamination`` is the alarm rate (the risk ``q`` for POT)."""
    if isinstance(threshold, QuantileThreshold):
        return clone(threshold)
    if threshold in (None, "quantile"):
        return QuantileThreshold(contamination)
    if threshold == "rolling":
        return RollingQuantileThreshold(contamination)
    if threshold in ("pot", "spot"):
        return POTThreshold(risk=contamination, dynamic=threshold == "spot")
    raise ValueError(f"threshold must be 'quantile', 'rolling', 'pot', 'spot' or a threshold object, got {threshold!r}")


class ThresholdMixin:
    """Threshold strategies and a cooldown for :class:`~tsrnn.base.BaseDetector` subclasses.

    The detector's ``threshold``, ``contamination`` and ``cooldown`` parameters choose the strategy; the fitted
    object is ``thresholder_`` and ``threshold_`` its fixed (initial) value.
    """

    def _set_threshold(self, scores: np.ndarray) -> float:
        th = make_threshold(getattr(self, "threshold", "quantile"), getattr(self, "contamination", 0.01))
        self.thresholder_ = th.fit(scores)
        return float(self.thresholder_.threshold_)

    def _flags(self, s) -> np.ndarray:
        return apply_cooldown(self.thresholder_.flags(self._finite_scores(s)), getattr(self, "cooldown", 0))

    def predict(self, y):
        """1 where the score exceeds the threshold in force (after the cooldown), else 0; same layout as ``y``."""
        self._check_fitted()
        return self._per_stamp(y, self._flags, "anomaly")


class Thresholded(ThresholdMixin, BaseDetector):
    """Any detector's raw score with a threshold strategy and a cooldown of this module.

    Parameters
    ----------
    detector : BaseDetector
        Cloned and fitted in ``fit``; only its scores are used (its own threshold is ignored).
    threshold, contamination, cooldown
        As in :class:`tsrnn.anomaly.RollingZScore`.
    """

    def __init__(self, detector=None, threshold="quantile", contamination: float = 0.01, cooldown: int = 0):
        self.detector = detector
        self.threshold = threshold
        self.contamination = contamination
        self.cooldown = cooldown

    def _min_length(self) -> int:
        return self.detector._min_length() if self.detector is not None else 2

    def _fit(self, panel) -> None:
        if self.detector is None:
            raise ValueError("Thresholded: pass the detector whose scores are thresholded")
        self.detector_ = clone(self.detector)
        self.detector_.panel_ = panel
        self.detector_._fit(panel)

    def _score_series(self, s) -> np.ndarray:
        return self.detector_._finite_scores(s)


def likelihood_z(scores, short: int = 10, long: int = 1000, min_periods: int = 200) -> np.ndarray:
    """Numenta's anomaly likelihood (Ahmad et al. 2017) as a z-score, computed causally.

    ``z_t = max(0, (mean(s_{t-k+1} .. s_t) - mu_t) / sd_t)`` where ``mu_t, sd_t`` are the mean and standard deviation
    of the ``long`` raw scores before the short window (``s_{t-k-L+1} .. s_{t-k}``); 0 until ``min_periods`` of them
    exist. Numenta's likelihood ``1 - Q(z)`` is a monotone function of it, so thresholds rank stamps the same way.
    """
    s = pd.Series(np.asarray(scores, dtype=float))
    recent = s.rolling(short, min_periods=1).mean()
    past = s.rolling(long, min_periods=min_periods)
    mu, sd = past.mean().shift(short), past.std().shift(short)
    z = (recent - mu) / np.maximum(sd, 1e-8 * (1 + mu.abs()))
    return np.maximum(z.fillna(0.0).to_numpy(), 0.0)


class AnomalyLikelihood(Thresholded):
    """A detector's raw score turned into Numenta's anomaly likelihood (:func:`likelihood_z`), then thresholded.

    A score that stays high (a regime the detector has not learned) stops being alarming once it is the norm of the
    last ``long`` stamps; a short burst above the recent distribution is what alarms.

    Parameters
    ----------
    detector : BaseDetector
    short, long, min_periods : int
        See :func:`likelihood_z`.
    threshold, contamination, cooldown
        As in :class:`tsrnn.anomaly.RollingZScore`.
    """

    def __init__(self, detector=None, short: int = 10, long: int = 1000, min_periods: int = 200,
                 threshold="quantile", contamination: float = 0.01, cooldown: int = 0):
        self.detector = detector
        self.short = short
        self.long = long
        self.min_periods = min_periods
        self.threshold = threshold
        self.contamination = contamination
        self.cooldown = cooldown

    def _score_series(self, s) -> np.ndarray:
        return likelihood_z(self.detector_._finite_scores(s), self.short, self.long, self.min_periods)
