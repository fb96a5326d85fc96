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

import warnings

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.base import BaseEstimator, clone

from .._validation import check_positive_int
from ..base import BaseDetector
from .likelihood import numenta_likelihood

__all__ = ["QuantileThreshold", "RollingQuantileThreshold", "POTThreshold", "FixedThreshold", "ThresholdMixin",
           "Thresholded", "AnomalyLikelihood", "make_threshold", "apply_cooldown", "gpd_threshold", "positional",
           "raw_scores"]


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
        check_positive_int(self.window, "window", minimum=2)
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


class FixedThreshold(QuantileThreshold):
    """A threshold given in advance (``value``), e.g. NuPIC's red zone ``0.99999`` on an anomaly likelihood."""

    def __init__(self, value: float = 0.99999):
        self.value = value

    def fit(self, scores):
        self.threshold_ = float(self.value)
        return self


def make_threshold(threshold, contamination: float, *, likelihood: bool = False):
    """A fresh threshold object from a name (``"auto"``, ``"quantile"``, ``"rolling"``, ``"pot"``, ``"spot"``) or a
    clone of the object given; ``contamination`` is the alarm rate (the risk ``q`` for POT).

    ``"auto"`` is ``1 - contamination`` fixed when the scores are anomaly likelihoods (a likelihood is one minus a
    tail probability, so this is the false-alarm probability per row), else POT at risk ``contamination``.
    """
    if isinstance(threshold, QuantileThreshold):
        return clone(threshold)
    if threshold == "auto":
        c = _check_rate(contamination)
        return FixedThreshold(1.0 - c) if likelihood else POTThreshold(risk=c)
    if threshold in (None, "quantile"):
        return QuantileThreshold(contamination)
    if threshold == "rolling":
        return RollingQuantileThreshold(contamination)
    if threshold in ("pot", "spot"):
        return POTThreshold(risk=contamination, dynamic=threshold == "spot")
    raise ValueError("threshold must be 'auto', 'quantile', 'rolling', 'pot', 'spot' or a threshold object, "
                     f"got {threshold!r}")


def _irregular(ds: pd.DatetimeIndex) -> bool:
    return len(ds) > 2 and pd.infer_freq(ds) is None


def positional(y):
    """``(y', restore)``: rows are scored in order, so a series (or panel) whose DatetimeIndex is irregular (jitter,
    gaps) is replaced by row positions, and ``restore(out)`` puts the original stamps back on the output."""
    if isinstance(y, pd.Series) and isinstance(y.index, pd.DatetimeIndex) and _irregular(y.index):
        if not (y.index.is_monotonic_increasing and y.index.is_unique):
            raise ValueError(f"series {y.name!r}: time stamps must be increasing and unique "
                             f"(first stamps {list(y.index[:3].astype(str))})")
        return y.set_axis(pd.RangeIndex(len(y))), lambda out: out.set_axis(y.index)
    if not (isinstance(y, pd.DataFrame) and {"unique_id", "ds"} <= set(y.columns)
            and pd.api.types.is_datetime64_any_dtype(y["ds"])):
        return y, lambda out: out
    groups = y.groupby("unique_id", sort=False)["ds"]
    if not any(_irregular(pd.DatetimeIndex(g)) for _, g in groups):
        return y, lambda out: out
    bad = [u for u, g in groups if not (g.is_monotonic_increasing and g.is_unique)]
    if bad:
        raise ValueError(f"series {bad[0]!r}: time stamps must be increasing and unique")
    pos = groups.cumcount()
    keys = pd.DataFrame({"unique_id": y["unique_id"].to_numpy(), "ds": pos.to_numpy(), "_ds": y["ds"].to_numpy()})

    def restore(out):
        back = out.merge(keys, on=["unique_id", "ds"], how="left")
        return back.assign(ds=back.pop("_ds"))[list(out.columns)]

    return y.assign(ds=pos.to_numpy()), restore


class ThresholdMixin:
    """Scores, thresholds and a cooldown for :class:`~tsrnn.base.BaseDetector` subclasses.

    A subclass implements ``_raw_series(s)`` (its raw score, higher is more anomalous) and may override
    ``_surprise(raw)`` (what the anomaly likelihood reads; default the raw score). With ``likelihood=True`` the
    score (``decision_function``) is Numenta's anomaly likelihood of it (:func:`tsrnn.anomaly.likelihood.
    numenta_likelihood`, in ``[0, 1]``), else the raw score. The detector's ``threshold``, ``contamination`` and
    ``cooldown`` choose the alarms (:func:`make_threshold`); the fitted object is ``thresholder_`` and
    ``threshold_`` its fixed (initial) value. Rows are scored in order: irregular stamps are accepted
    (:func:`positional`). ``fit`` refuses training rows that leave fewer than ``_min_scored`` rows with a positive
    raw score (too short for the detector's warm-up): no threshold is ever fitted on warm-up zeros.
    """

    _min_scored = 10

    def _raw_series(self, s) -> np.ndarray:
        if type(self)._score_series is not ThresholdMixin._score_series:
            return self._score_series(s)  # a detector that defines its score directly (its score is its raw score)
        raise NotImplementedError(f"{type(self).__name__} implements neither _raw_series nor _score_series")

    def _surprise(self, raw: np.ndarray) -> np.ndarray:
        return raw

    def _likelihood_params(self) -> dict:
        return {}

    def _score_series(self, s) -> np.ndarray:
        raw = np.nan_to_num(np.asarray(self._raw_series(s), dtype=float), nan=0.0, posinf=np.finfo(float).max)
        if getattr(self, "likelihood", False):
            return numenta_likelihood(self._surprise(raw), **self._likelihood_params())
        return raw

    def _check_warmup(self, fatal: bool) -> None:
        """Refuse training rows that leave too few scored rows after the warm-up when the threshold is fitted on
        them (it would be zero); warn when the threshold is fixed (the likelihood's), which needs none."""
        raw = np.concatenate([np.asarray(self._raw_series(s), dtype=float) for s in self.panel_.series])
        n_pos = int(np.sum(np.nan_to_num(raw) != 0))
        if n_pos >= self._min_scored:
            return
        msg = (f"{type(self).__name__}: the {len(raw)} training rows leave {n_pos} scored rows after the "
               f"detector's warm-up (need >= {self._min_scored}): too short for its settings; pass a longer "
               "training series or shorten the detector's windows")
        if fatal:
            raise ValueError(msg)
        warnings.warn(msg + " (its fixed likelihood threshold needs no training scores, so it goes on)",
                      UserWarning, stacklevel=4)

    def _set_threshold(self, scores: np.ndarray) -> float:
        th = make_threshold(getattr(self, "threshold", "auto"), getattr(self, "contamination", 1e-5),
                            likelihood=bool(getattr(self, "likelihood", False)))
        self._check_warmup(fatal=not isinstance(th, FixedThreshold))
        self.thresholder_ = th.fit(scores)
        return float(self.thresholder_.threshold_)

    def _flags(self, s) -> np.ndarray:
        return apply_cooldown(self.thresholder_.flags(self._finite_scores(s)), getattr(self, "cooldown", 0))

    def fit(self, y, X=None):
        y, _ = positional(y)
        return super().fit(y, X)

    def decision_function(self, y):
        """Anomaly score per stamp (higher is more anomalous); same layout as ``y``."""
        self._check_fitted()
        y, restore = positional(y)
        return restore(self._per_stamp(y, self._finite_scores, "score"))

    def predict(self, y):
        """1 where the score exceeds the threshold in force (after the cooldown), else 0; same layout as ``y``."""
        self._check_fitted()
        y, restore = positional(y)
        return restore(self._per_stamp(y, self._flags, "anomaly"))


def raw_scores(detector, s) -> np.ndarray:
    """A fitted detector's raw score of one series (what the likelihood reads), for any detector."""
    if isinstance(detector, ThresholdMixin):
        raw = np.nan_to_num(np.asarray(detector._raw_series(s), dtype=float), nan=0.0, posinf=np.finfo(float).max)
        return detector._surprise(raw)
    return detector._finite_scores(s)


class Thresholded(ThresholdMixin, BaseDetector):
    """Any detector's raw score with a threshold strategy and a cooldown of this module.

    Parameters
    ----------
    detector : BaseDetector, optional
        Cloned and fitted in ``fit``; only its raw scores are used (its own threshold is ignored). Default
        :class:`tsrnn.anomaly.RollingZScore`.
    threshold, contamination, cooldown
        As in :class:`tsrnn.anomaly.RollingZScore`.
    """

    likelihood = False

    def __init__(self, detector=None, threshold="pot", contamination: float = 1e-3, cooldown: int = 100):
        self.detector = detector
        self.threshold = threshold
        self.contamination = contamination
        self.cooldown = cooldown

    def _min_length(self) -> int:
        return self.detector._min_length() if self.detector is not None else 2

    def _fit(self, panel) -> None:
        if self.detector is None:
            from .detectors import RollingZScore

            self.detector_ = RollingZScore(likelihood=False)
        else:
            self.detector_ = clone(self.detector)
        self.detector_.panel_ = panel
        self.detector_._fit(panel)

    def _raw_series(self, s) -> np.ndarray:
        return raw_scores(self.detector_, s)


class AnomalyLikelihood(Thresholded):
    """Numenta's anomaly likelihood of any detector's raw score, as a composable wrapper.

    The score is ``L_t`` of :func:`tsrnn.anomaly.likelihood.numenta_likelihood` on the wrapped detector's raw score
    (its ``_surprise`` for tsrnn's detectors: the squared z-score for z-score detectors), in ``[0, 1]``. A score that
    stays high (a regime the detector has not learned) stops being alarming once it is the norm of the history; a
    short burst above the recent distribution is what alarms. The defaults are NuPIC's.

    Parameters
    ----------
    detector : BaseDetector, optional
        Default :class:`tsrnn.anomaly.RollingZScore`.
    averaging, history, learning, estimation, reestimate : int
        See :func:`~tsrnn.anomaly.likelihood.numenta_likelihood`.
    threshold : default "auto"
        ``1 - contamination`` on the likelihood (NuPIC's red zone ``0.99999`` by default).
    contamination : float, default 1e-5
    cooldown : int, default 100
        Rows muted after an alarm (NuPIC's estimation and re-estimation period: the likelihood's own time scale).
    """

    likelihood = True

    def __init__(self, detector=None, averaging: int = 10, history: int = 8640, learning: int = 288,
                 estimation: int = 100, reestimate: int = 100, threshold="auto", contamination: float = 1e-5,
                 cooldown: int = 100):
        self.detector = detector
        self.averaging = averaging
        self.history = history
        self.learning = learning
        self.estimation = estimation
        self.reestimate = reestimate
        self.threshold = threshold
        self.contamination = contamination
        self.cooldown = cooldown

    def _likelihood_params(self) -> dict:
        return {"averaging": self.averaging, "history": self.history, "learning": self.learning,
                "estimation": self.estimation, "reestimate": self.reestimate}
