"""An ensemble detector: several detectors' scores, each normalised to an anomaly likelihood, combined (layer 3).

Each member's score is put on one scale first: its anomaly likelihood ``L_i`` (the member's own score when it
already emits one, ``likelihood=True``, else Numenta's likelihood of its raw score,
:func:`tsrnn.anomaly.likelihood.numenta_likelihood`). With tail probabilities ``q_i = 1 - L_i`` the ensemble's
score is

* ``combine="mean"``: ``1 - exp(mean_i log q_i)``, one minus the geometric mean of the tail probabilities (every
  member's evidence counts; one member alone cannot carry a row to the red zone unless it is far out in its tail);
* ``combine="max"``: ``max_i L_i`` (any member alarms).

An ensemble of one detector is that detector's likelihood. Every member scores online, so the ensemble does too.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import clone

from ..base import BaseDetector
from .likelihood import numenta_likelihood
from .thresholds import ThresholdMixin, raw_scores

__all__ = ["EnsembleDetector"]


def _likelihood_of(det, s) -> np.ndarray:
    if getattr(det, "likelihood", False):
        return det._finite_scores(s)
    return numenta_likelihood(raw_scores(det, s))


class EnsembleDetector(ThresholdMixin, BaseDetector):
    """Combine several detectors' likelihood-normalised scores (see the module docstring).

    Parameters
    ----------
    detectors : list of detectors or of ``(name, detector)`` pairs, optional
        Cloned and fitted in ``fit``. Default: three cheap detectors of different families that need no training run
        of their own, ``[RollingZScore(), OnlineKNNDetector(), OnlineHMMDetector(random_state=0)]`` (the recent
        distribution, the shape of the last values against past shapes, a regime model learned online).
    combine : {"mean", "max"}, default "mean"
    threshold, contamination, cooldown
        See :class:`tsrnn.anomaly.RollingZScore` (the score is a likelihood: ``"auto"`` is ``1 - contamination``).

    Attributes
    ----------
    detectors_ : list of fitted detectors
    """

    likelihood = True

    def __init__(self, detectors=None, combine: str = "mean", threshold="auto", contamination: float = 1e-5,
                 cooldown: int = 100):
        self.detectors = detectors
        self.combine = combine
        self.threshold = threshold
        self.contamination = contamination
        self.cooldown = cooldown

    def _members(self) -> list:
        if self.detectors is None:
            from .detectors import RollingZScore
            from .online import OnlineHMMDetector, OnlineKNNDetector

            return [RollingZScore(), OnlineKNNDetector(), OnlineHMMDetector(random_state=0)]
        dets = [d[1] if isinstance(d, tuple) else d for d in self.detectors]
        if not dets:
            raise ValueError("EnsembleDetector: detectors is empty")
        return [clone(d) for d in dets]

    def _min_length(self) -> int:
        return max(d._min_length() for d in self._members())

    def _fit(self, panel) -> None:
        if self.combine not in ("mean", "max"):
            raise ValueError(f"EnsembleDetector: combine must be 'mean' or 'max', got {self.combine!r}")
        self.detectors_ = self._members()
        for d in self.detectors_:
            d.panel_ = panel
            d._fit(panel)

    def _check_warmup(self, fatal: bool) -> None:
        for d in self.detectors_:
            if isinstance(d, ThresholdMixin):
                d._check_warmup(fatal)

    def _score_series(self, s) -> np.ndarray:
        L = np.array([_likelihood_of(d, s) for d in self.detectors_])
        if self.combine == "max":
            return L.max(axis=0)
        logq = np.log(np.clip(1.0 - L, 1e-300, 1.0))
        return 1.0 - np.exp(logq.mean(axis=0))

    @classmethod
    def _test_params(cls) -> dict:
        from .detectors import RollingZScore, WaveletDetector

        return {"detectors": [RollingZScore(window=30), WaveletDetector(baseline=40)]}
