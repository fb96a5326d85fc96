"""Anomaly detection with a hidden Markov model: the surprise of each observation under the one-step predictive
distribution of the forward filter.

With the HMM of :class:`tsrnn.models.HMMForecaster` fitted on the training series, the score of stamp ``t`` is

    score_t = -log p(x_t | x_1..x_{t-1}) = -log sum_k p_{t|t-1}[k] b_k(x_t),

the negative one-step predictive log density (in the units of the observations). It is computed by the
forward recursion, which only ever looks backwards: appending future data never changes a past score. A value
that is unlikely under every state the chain could be in is anomalous; a regime change that the transition
matrix makes plausible is not. By default (``likelihood=True``) ``decision_function`` returns Numenta's anomaly
likelihood of that score (clipped at 0), in ``[0, 1]``; alarms and cooldown as in :mod:`tsrnn.anomaly.detectors`.
"""

from __future__ import annotations

import numpy as np

from .._validation import Panel, SeriesData
from ..base import BaseDetector
from ..models.hmm import HMMForecaster
from .thresholds import ThresholdMixin

__all__ = ["HMMDetector"]


class HMMDetector(ThresholdMixin, BaseDetector):
    """Negative one-step predictive log-likelihood of an HMM as the anomaly score.

    Parameters
    ----------
    n_states : "auto", int or sequence of int, default "auto"
        Number of hidden states; ``"auto"`` picks by BIC among 1..6 (see :class:`~tsrnn.models.HMMForecaster`).
    emission : {"gaussian", "gmm"}, default "gaussian"
    on : {"levels", "differences", "returns"}, default "levels"
        What the HMM models. With differences/returns the first ``season_length`` stamps of a series have no
        observation: score 0.
    season_length : int, default 1
        Lag of the differences / returns (e.g. 24 on hourly data: change from the same hour the day before).
    covariance_type : str, default "diag"
    n_mix : int, default 2
    scale : {"global", "series"}, default "series"
        Standardise each training series on its own (default) or all together. A series not seen in ``fit`` is
        scored with the pooled training scale (never with statistics of its own future).
    n_init : int, default 2
    likelihood, threshold, contamination, cooldown
        See :class:`~tsrnn.anomaly.RollingZScore`.
    random_state : int, RandomState or None

    Attributes
    ----------
    forecaster_ : HMMForecaster
        The fitted HMM (``forecaster_.model_``).
    threshold_ : float
    """

    def __init__(self, n_states="auto", emission: str = "gaussian", on: str = "levels", season_length: int = 1,
                 covariance_type: str = "diag", n_mix: int = 2, scale: str = "series", n_init: int = 2,
                 likelihood: bool = True, threshold="auto", contamination: float = 1e-5, cooldown: int = 100,
                 random_state=None):
        self.n_states = n_states
        self.emission = emission
        self.on = on
        self.season_length = season_length
        self.covariance_type = covariance_type
        self.n_mix = n_mix
        self.scale = scale
        self.n_init = n_init
        self.likelihood = likelihood
        self.threshold = threshold
        self.contamination = contamination
        self.cooldown = cooldown
        self.random_state = random_state

    def _min_length(self) -> int:
        return self._hmm()._min_length()

    def _hmm(self) -> HMMForecaster:
        return HMMForecaster(n_states=self.n_states, emission=self.emission, on=self.on,
                             season_length=self.season_length, covariance_type=self.covariance_type,
                             n_mix=self.n_mix, scale=self.scale, n_init=self.n_init, random_state=self.random_state)

    def _fit(self, panel: Panel) -> None:
        est = self._hmm()
        est._fit_validated(panel)
        self.forecaster_ = est

    def _raw_series(self, s: SeriesData) -> np.ndarray:
        neg = -self.forecaster_._log_predictive(s)
        return np.r_[np.zeros(len(s) - len(neg)), neg]

    def _surprise(self, raw: np.ndarray) -> np.ndarray:
        return np.maximum(raw, 0.0)  # a density above 1 is no surprise at all
