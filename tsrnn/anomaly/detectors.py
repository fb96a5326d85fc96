"""Streaming anomaly detectors: rolling z-score, forecast residuals, wavelet energy (layer 3).

Every score at stamp ``t`` is computed from ``y_0 .. y_t`` only (no look-ahead), so appending data never changes a
past score. Stamps with too little history have raw score 0. By default (``likelihood=True``) ``decision_function``
returns Numenta's anomaly likelihood of the squared raw z-score (:mod:`tsrnn.anomaly.likelihood`, in ``[0, 1]``);
``likelihood=False`` gives the raw z-score. The threshold is kept apart from the score (see
:mod:`tsrnn.anomaly.thresholds`): ``threshold`` picks the strategy (``"auto"``: ``1 - contamination`` on the
likelihood, peaks-over-threshold on raw scores), ``contamination`` the false-alarm probability per row,
``cooldown`` the number of stamps muted after an alarm. Irregular (jittered, gappy) stamps are accepted: rows are
scored in order.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view
from sklearn.base import clone

from .._validation import check_positive_int
from ..base import BaseDetector
from .thresholds import ThresholdMixin

__all__ = ["RollingZScore", "ResidualDetector", "WaveletDetector", "past_zscore"]

_EPS = 1e-8


def past_zscore(x: np.ndarray, window: int, min_periods: int, *, robust: bool = False) -> np.ndarray:
    """``|x_t - m_t| / s_t`` with ``m_t, s_t`` the mean and standard deviation (or the median and 1.4826 MAD when
    ``robust``) of the up to ``window`` values *before* ``t``; 0 where fewer than ``min_periods`` exist.

    The scale is floored at ``1e-8 (1 + |m_t|)`` so that a change after a constant stretch scores high but finite.
    """
    s = pd.Series(np.asarray(x, dtype=float))
    roll = s.rolling(window, min_periods=min_periods)
    if robust:
        centre = roll.median()
        scale = 1.4826 * (s - centre.shift(1)).abs().rolling(window, min_periods=min_periods).median()
        # scale of past deviations from the past centre, shifted so only values before t are used
        scale = scale.shift(1)
    else:
        centre = roll.mean()
        scale = roll.std(ddof=1).shift(1)
    centre = centre.shift(1).to_numpy()
    scale = scale.to_numpy()
    z = np.abs(s.to_numpy() - centre) / np.maximum(scale, _EPS * (1 + np.abs(centre)))
    return np.nan_to_num(z, nan=0.0)


def _min_periods(window: int) -> int:
    """Past values a robust z-score waits for: a quarter of its window, at most 20 (so that a short training
    series is scored too), at least 4."""
    return max(4, min(window // 4, 20))


class _StreamDetector(ThresholdMixin, BaseDetector):
    def _min_length(self) -> int:
        return 1

    def _surprise(self, raw: np.ndarray) -> np.ndarray:
        return raw**2  # the squared z-score: twice the Gaussian surprise, up to a constant


class RollingZScore(_StreamDetector):
    """Baseline: distance of each value from the mean of the previous ``window`` values, in standard deviations.

    ``score_t = |y_t - mean(y_{t-w} .. y_{t-1})| / std(y_{t-w} .. y_{t-1})`` (NAB's "windowed Gaussian" idea).

    Parameters
    ----------
    window : int
        Number of past values ``w``.
    min_periods : int, optional
        Past values needed before scoring (default ``max(2, window // 2)``).
    likelihood : bool, default True
        Score with Numenta's anomaly likelihood of ``score_t ** 2`` (in ``[0, 1]``) instead of the raw z-score.
    threshold : {"auto", "quantile", "rolling", "pot", "spot"} or threshold object
        ``"auto"``: ``1 - contamination`` on the likelihood (NuPIC's red zone), POT on raw scores.
    contamination : float, default 1e-5
        False-alarm probability per row (alarm rate for the quantile thresholds).
    cooldown : int, default 100
        Stamps muted after an alarm.
    """

    def __init__(self, window: int = 100, min_periods: int | None = None, likelihood: bool = True,
                 threshold="auto", contamination: float = 1e-5, cooldown: int = 100):
        self.window = window
        self.min_periods = min_periods
        self.likelihood = likelihood
        self.threshold = threshold
        self.contamination = contamination
        self.cooldown = cooldown

    def _raw_series(self, s):
        w = check_positive_int(self.window, "window", "RollingZScore", minimum=2)
        mp = max(2, w // 2) if self.min_periods is None else check_positive_int(
            self.min_periods, "min_periods", "RollingZScore", minimum=2)
        return past_zscore(s.y, w, min(mp, w))


class ResidualDetector(_StreamDetector):
    """Standardised one-step-ahead forecast errors of any tsrnn forecaster, computed online.

    For each scored series the forecaster is fitted on its first ``init_length`` values; then for every later
    ``t`` it forecasts ``y_t`` from ``y_0 .. y_{t-1}`` and is updated with ``y_t`` (``update``: new data, no
    re-estimation). The error ``e_t = y_t - yhat_t`` is scored as a robust z-score against the previous
    ``window`` errors (:func:`past_zscore` with median/MAD).

    Parameters
    ----------
    forecaster : tsrnn forecaster, optional
        Cloned for each series; default :class:`tsrnn.models.Naive`.
    init_length : int
        Values used to fit the forecaster (earlier stamps score 0).
    window : int
        Past errors the standardisation uses.
    likelihood, threshold, contamination, cooldown
        See :class:`RollingZScore`.
    """

    def __init__(self, forecaster=None, init_length: int = 50, window: int = 200, likelihood: bool = True,
                 threshold="auto", contamination: float = 1e-5, cooldown: int = 100):
        self.forecaster = forecaster
        self.init_length = init_length
        self.window = window
        self.likelihood = likelihood
        self.threshold = threshold
        self.contamination = contamination
        self.cooldown = cooldown

    def _model(self):
        if self.forecaster is None:
            from ..models.baselines import Naive

            return Naive()
        return clone(self.forecaster)

    def one_step_forecasts(self, y: np.ndarray) -> np.ndarray:
        """Online one-step-ahead forecasts of ``y`` (NaN for the first ``init_length`` stamps)."""
        y = np.asarray(y, dtype=float)
        m = check_positive_int(self.init_length, "init_length", "ResidualDetector", minimum=2)
        f = self._model()
        m = max(m, f._min_length())
        pred = np.full(len(y), np.nan)
        if len(y) <= m:
            return pred
        if getattr(f, "_is_global", False):
            f.fit(pd.Series(y[:m]))
            for t in range(m, len(y)):
                pred[t] = float(np.asarray(f.predict(1))[0])
                f.update(pd.Series(y[t:t + 1], index=pd.RangeIndex(t, t + 1)))
            return pred
        state = f._fit_series(y[:m], None)
        for t in range(m, len(y)):
            mean, _ = f._predict_series(state, 1, None, [])
            pred[t] = float(np.asarray(mean)[0])
            state = f._update_series(state, y[:t + 1], None, 1)
        return pred

    def _raw_series(self, s):
        w = check_positive_int(self.window, "window", "ResidualDetector", minimum=4)
        err = s.y - self.one_step_forecasts(s.y)
        start = int(np.argmax(np.isfinite(err))) if np.isfinite(err).any() else len(err)
        z = np.zeros(len(err))
        if start < len(err):
            z[start:] = past_zscore(err[start:], w, _min_periods(w), robust=True)
        return z


class WaveletDetector(_StreamDetector):
    """Energy of the wavelet detail coefficients of the last ``window`` values, against its own past.

    For the window ``y_{t-w+1} .. y_t`` the discrete wavelet transform (``pywt.wavedec``, ``level`` levels) gives
    detail coefficients ``d_{j,k}``; the energy ``E_t = sum_{j,k} d_{j,k}^2`` measures the high-frequency content
    (spikes, jumps, bursts of noise). The score is the robust z-score of ``log(E_t)`` against the previous
    ``baseline`` energies.

    Parameters
    ----------
    wavelet : str
        A PyWavelets discrete wavelet name.
    level : int
        Decomposition levels (details of scales ``2 .. 2**level``).
    window : int
        Window length ``w`` (a multiple of ``2**level`` is natural).
    baseline : int
        Past energies used to standardise.
    likelihood, threshold, contamination, cooldown
        See :class:`RollingZScore`.
    """

    def __init__(self, wavelet: str = "haar", level: int = 2, window: int = 16, baseline: int = 200,
                 likelihood: bool = True, threshold="auto", contamination: float = 1e-5, cooldown: int = 100):
        self.wavelet = wavelet
        self.level = level
        self.window = window
        self.baseline = baseline
        self.likelihood = likelihood
        self.threshold = threshold
        self.contamination = contamination
        self.cooldown = cooldown

    def energies(self, y: np.ndarray) -> np.ndarray:
        """``E_t`` for every full window (NaN for the first ``window - 1`` stamps)."""
        import pywt

        w = check_positive_int(self.window, "window", "WaveletDetector", minimum=2)
        lv = check_positive_int(self.level, "level", "WaveletDetector")
        if 2**lv > w:
            raise ValueError(f"WaveletDetector: window={w} is too short for level={lv} (needs >= {2**lv})")
        y = np.asarray(y, dtype=float)
        out = np.full(len(y), np.nan)
        if len(y) < w:
            return out
        coeffs = pywt.wavedec(sliding_window_view(y, w), self.wavelet, level=lv, axis=1, mode="periodization")
        out[w - 1:] = sum(np.sum(d**2, axis=1) for d in coeffs[1:])
        return out

    def _raw_series(self, s):
        b = check_positive_int(self.baseline, "baseline", "WaveletDetector", minimum=4)
        e = self.energies(s.y)
        loge = np.log(e + 1e-12)  # a fixed floor: any data-dependent one would look ahead
        start = self.window - 1
        z = np.zeros(len(e))
        if start < len(e):
            z[start:] = past_zscore(loge[start:], b, _min_periods(b), robust=True)
        return z

    @classmethod
    def _test_params(cls) -> dict:
        return {"baseline": 40}
