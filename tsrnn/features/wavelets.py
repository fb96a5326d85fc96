"""Wavelet features, wavelet denoising and the continuous-wavelet scalogram.

* :class:`WaveletFeatures` – :func:`pywt.wavedec` of each window with any discrete wavelet family, summarised per
  level (energy, mean, std, entropy) or as raw coefficients.
* :class:`WaveletDenoiser` – wavelet shrinkage (Donoho and Johnstone's universal "VisuShrink" threshold, or
  Chang, Yu and Vetterli's BayesShrink), soft or hard.
* :func:`cwt_scalogram` – ``|CWT|^2`` over scales for time-frequency plots.
* :func:`causal_mra` – a shift-invariant, causal additive decomposition (MODWT scaling filter, "a trous"),
  used by :class:`tsrnn.models.WaveletForecaster`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pywt
from sklearn.utils.validation import check_is_fitted

from .._validation import check_positive_int
from ..base import BaseTransformer

__all__ = ["WaveletFeatures", "WaveletDenoiser", "cwt_scalogram", "causal_mra", "mad_sigma",
           "universal_threshold", "bayes_threshold"]

_STATS = ("energy", "mean", "std", "entropy")


def _check_wavelet(name) -> pywt.Wavelet:
    if isinstance(name, pywt.Wavelet):
        return name
    if name not in pywt.wavelist(kind="discrete"):
        raise ValueError(f"unknown discrete wavelet {name!r}; choose one of pywt.wavelist(kind='discrete'), "
                         f"e.g. 'haar', 'db4', 'sym5', 'coif2', 'bior3.5'")
    return pywt.Wavelet(name)


def _resolve_level(level, length: int, wavelet: pywt.Wavelet, owner: str) -> int:
    max_level = pywt.dwt_max_level(length, wavelet.dec_len)
    if level is None:
        return max_level
    return check_positive_int(level, "level", owner, minimum=0)


def _entropy(c: np.ndarray) -> np.ndarray:
    """Shannon entropy ``-sum p log p`` of the energy distribution ``p = c^2 / sum c^2`` along the last axis."""
    e = c**2
    tot = e.sum(axis=-1, keepdims=True)
    p = np.divide(e, tot, out=np.zeros_like(e), where=tot > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return -np.sum(np.where(p > 0, p * np.log(p), 0.0), axis=-1)


class WaveletFeatures(BaseTransformer):
    """Discrete wavelet decomposition of each window, summarised per level.

    ``pywt.wavedec(x, wavelet, level=J, mode=mode)`` gives ``[cA_J, cD_J, ..., cD_1]``. For each of these
    ``J + 1`` bands the features are, in the order of ``features``: ``energy = sum c^2``, ``mean``, ``std`` and
    ``entropy = -sum p log p`` with ``p = c^2 / sum c^2``. ``features="raw"`` returns the concatenated
    coefficients instead.

    Parameters
    ----------
    wavelet : str, default "db4"
        Any discrete wavelet of PyWavelets (``haar``, ``dbN``, ``symN``, ``coifN``, ``biorN.M``, ...).
    level : int, optional
        Decomposition depth; default the largest useful one, :func:`pywt.dwt_max_level` (0 for windows shorter
        than the filter: the band is then the window itself).
    mode : str, default "symmetric"
        Signal extension mode.
    features : sequence of {"energy", "mean", "std", "entropy"} or "raw", default all four

    Attributes
    ----------
    level_ : int
    n_features_in_ : int
    """

    def __init__(self, wavelet: str = "db4", level: int | None = None, mode: str = "symmetric",
                 features: Sequence[str] | str = _STATS):
        self.wavelet = wavelet
        self.level = level
        self.mode = mode
        self.features = features

    def fit(self, X, y=None):
        X = self._validate_windows(X, reset=True)
        w = _check_wavelet(self.wavelet)
        if self.features != "raw":
            bad = [f for f in self.features if f not in _STATS]
            if bad or isinstance(self.features, str):
                raise ValueError(f"WaveletFeatures: features must be 'raw' or a subset of {_STATS}, "
                                 f"got {self.features!r}")
        self.level_ = _resolve_level(self.level, X.shape[1], w, "WaveletFeatures")
        self._sizes = [len(c) for c in pywt.wavedec(np.array(X[0]), w, level=self.level_, mode=self.mode)]
        return self

    def _coeffs(self, X):
        X = np.array(X)  # pywt needs a writeable buffer (inputs may be read-only memmaps)
        return pywt.wavedec(X, _check_wavelet(self.wavelet), level=self.level_, mode=self.mode, axis=-1)

    def transform(self, X):
        """``(n_windows, (level_ + 1) * len(features))`` summaries, or ``(n_windows, n_coefficients)`` raw."""
        check_is_fitted(self, "level_")
        X = self._validate_windows(X, reset=False)
        coeffs = self._coeffs(X)
        if self.features == "raw":
            return np.hstack(coeffs)
        fns = {"energy": lambda c: np.sum(c**2, axis=-1), "mean": lambda c: c.mean(axis=-1),
               "std": lambda c: c.std(axis=-1), "entropy": _entropy}
        return np.column_stack([fns[f](c) for c in coeffs for f in self.features])

    def get_feature_names_out(self, input_features=None):
        check_is_fitted(self, "level_")
        bands = [f"A{self.level_}"] + [f"D{j}" for j in range(self.level_, 0, -1)]
        if self.features == "raw":
            return np.array([f"{b}_{i}" for b, n in zip(bands, self._sizes) for i in range(n)], dtype=object)
        return np.array([f"{b}_{f}" for b in bands for f in self.features], dtype=object)


# ------------------------------------------------------------------------------------------------ denoising


def mad_sigma(detail: np.ndarray) -> float:
    """Noise level from the finest detail coefficients: ``median(|d_1|) / 0.6745`` (Donoho and Johnstone, 1994)."""
    return float(np.median(np.abs(detail)) / 0.6745) if len(detail) else 0.0


def universal_threshold(sigma: float, n: int) -> float:
    """VisuShrink's universal threshold ``lambda = sigma * sqrt(2 ln n)`` for a signal of length ``n``."""
    return float(sigma * np.sqrt(2.0 * np.log(max(n, 2))))


def bayes_threshold(detail: np.ndarray, sigma: float) -> float:
    """BayesShrink's threshold for one detail level (Chang, Yu and Vetterli, 2000).

    ``lambda = sigma^2 / sigma_x`` with ``sigma_x = sqrt(max(mean(d^2) - sigma^2, 0))``; when ``sigma_x = 0``
    the level is pure noise and ``lambda = max|d|`` removes it entirely.
    """
    sx2 = float(np.mean(detail**2)) - sigma**2
    if sx2 <= 0:
        return float(np.max(np.abs(detail))) if len(detail) else 0.0
    return float(sigma**2 / np.sqrt(sx2))


class WaveletDenoiser(BaseTransformer):
    """Wavelet shrinkage of each window: decompose, threshold the details, reconstruct.

    The noise level is ``sigma = median(|cD_1|) / 0.6745`` of the finest details of each window (or ``sigma``
    if given). Detail coefficients of level ``j`` are thresholded at ``lambda_j`` — ``sigma sqrt(2 ln n)``
    (``"universal"``, VisuShrink) or ``sigma^2 / sigma_{x,j}`` (``"bayes"``, BayesShrink) — with the soft rule
    ``sign(d) max(|d| - lambda, 0)`` or the hard rule ``d 1{|d| > lambda}``; the approximation is kept.

    Parameters
    ----------
    wavelet : str, default "db4"
    level : int, optional
        Default the largest useful level (:func:`pywt.dwt_max_level`).
    threshold : {"bayes", "universal"}, default "bayes"
        BayesShrink adapts to each level; the universal threshold is conservative and, at deep levels, removes
        signal as well (use it with a small ``level`` or the hard rule).
    mode : {"soft", "hard"}, default "soft"
    sigma : float, optional
        Known noise standard deviation; estimated per window when None.
    extension : str, default "symmetric"
        Signal extension mode of the transform.

    Attributes
    ----------
    level_ : int
    n_features_in_ : int
    """

    def __init__(self, wavelet: str = "db4", level: int | None = None, threshold: str = "bayes",
                 mode: str = "soft", sigma: float | None = None, extension: str = "symmetric"):
        self.wavelet = wavelet
        self.level = level
        self.threshold = threshold
        self.mode = mode
        self.sigma = sigma
        self.extension = extension

    def fit(self, X, y=None):
        X = self._validate_windows(X, reset=True)
        w = _check_wavelet(self.wavelet)
        if self.threshold not in ("universal", "bayes"):
            raise ValueError(f"WaveletDenoiser: threshold must be 'universal' or 'bayes', got {self.threshold!r}")
        if self.mode not in ("soft", "hard"):
            raise ValueError(f"WaveletDenoiser: mode must be 'soft' or 'hard', got {self.mode!r}")
        self.level_ = _resolve_level(self.level, X.shape[1], w, "WaveletDenoiser")
        return self

    def thresholds(self, x) -> np.ndarray:
        """Thresholds ``[lambda_J, ..., lambda_1]`` (coarsest detail level first) used for one window ``x``."""
        check_is_fitted(self, "level_")
        x = np.array(self._validate_windows(np.asarray(x, dtype=float).reshape(1, -1), reset=False)[0])
        coeffs = pywt.wavedec(x, _check_wavelet(self.wavelet), level=self.level_, mode=self.extension)
        return self._thresholds(coeffs, len(x))

    def _thresholds(self, coeffs, n) -> np.ndarray:
        details = coeffs[1:]
        if not details:
            return np.array([])
        sigma = mad_sigma(details[-1]) if self.sigma is None else float(self.sigma)
        if self.threshold == "universal":
            return np.full(len(details), universal_threshold(sigma, n))
        return np.array([bayes_threshold(d, sigma) for d in details])

    def transform(self, X):
        """Denoised windows, same shape as ``X``."""
        check_is_fitted(self, "level_")
        X = self._validate_windows(X, reset=False)
        if self.level_ == 0:
            return X.copy()
        w = _check_wavelet(self.wavelet)
        X = np.array(X)  # pywt needs a writeable buffer (inputs may be read-only memmaps)
        out = np.empty_like(X)
        for i, x in enumerate(X):
            coeffs = pywt.wavedec(x, w, level=self.level_, mode=self.extension)
            lam = self._thresholds(coeffs, len(x))
            coeffs = [coeffs[0]] + [d if t <= 0 else pywt.threshold(d, t, mode=self.mode)  # t=0: nothing to shrink
                                    for d, t in zip(coeffs[1:], lam)]
            out[i] = pywt.waverec(coeffs, w, mode=self.extension)[: len(x)]
        return out


# ------------------------------------------------------------------------------------------------ scalogram


def cwt_scalogram(y, scales=None, wavelet: str = "morl", sampling_period: float = 1.0):
    """Continuous wavelet scalogram ``|W(a, t)|^2`` of a series, for time-frequency plots.

    Parameters
    ----------
    y : array-like of shape (n,)
    scales : array-like, optional
        Wavelet scales; default ``geomspace(1, n / 4, 64)`` (rounded down to unique values for short series).
    wavelet : str, default "morl"
        Any continuous wavelet of PyWavelets (``morl``, ``mexh``, ``cmor1.5-1.0``, ``gaus1``, ...).
    sampling_period : float, default 1.0
        Time between samples; frequencies are in cycles per unit of it.

    Returns
    -------
    power : ndarray of shape (n_scales, n)
        ``|pywt.cwt(y, scales, wavelet)|^2``.
    frequencies : ndarray of shape (n_scales,)
        The centre frequency of each scale (``1 / frequencies`` are the periods).
    """
    y = np.asarray(y, dtype=float).ravel()
    if len(y) < 2 or not np.isfinite(y).all():
        raise ValueError("cwt_scalogram: y must hold at least 2 finite values")
    if scales is None:
        scales = np.unique(np.geomspace(1, max(len(y) / 4, 2), 64))
    scales = np.asarray(scales, dtype=float)
    if (scales <= 0).any():
        raise ValueError("cwt_scalogram: scales must be positive")
    coef, freqs = pywt.cwt(y, scales, wavelet, sampling_period=sampling_period)
    return np.abs(coef) ** 2, np.asarray(freqs)


# ------------------------------------------------------------------------------------------------ causal MRA


def causal_mra(y, wavelet: str = "haar", level: int = 3) -> np.ndarray:
    """Shift-invariant, causal additive decomposition ``y = D_1 + ... + D_J + S_J``.

    The MODWT pyramid of scaling coefficients (Percival and Walden, 2000, ch. 5) run as an "a trous" filter
    bank on past values only:

        c_0 = y,    c_j(t) = sum_l g_l c_{j-1}(t - 2^{j-1} l),    D_j = c_{j-1} - c_j,    S_J = c_J,

    with ``g = rec_lo / sqrt(2)`` the wavelet's scaling filter (it sums to 1). Every component at time ``t``
    depends only on ``y_0 .. y_t`` (values before the start are taken equal to ``y_0``), so the decomposition of
    a prefix of ``y`` equals the prefix of the decomposition: there is no boundary effect at the end, which is
    what forecasting needs. Reconstruction is exact by construction (a telescoping sum).

    Parameters
    ----------
    y : array-like of shape (n,)
    wavelet : str, default "haar"
        Any discrete wavelet of PyWavelets.
    level : int, default 3
        Number of detail scales ``J``; ``D_j`` holds periods of about ``2^j .. 2^{j+1}`` samples.

    Returns
    -------
    ndarray of shape (level + 1, n)
        Rows ``D_1, ..., D_J, S_J``.
    """
    y = np.asarray(y, dtype=float).ravel()
    if not np.isfinite(y).all():
        raise ValueError("causal_mra: y contains NaN or inf values")
    check_positive_int(level, "level", "causal_mra")
    g = np.asarray(_check_wavelet(wavelet).rec_lo) / np.sqrt(2.0)
    n = len(y)
    out = np.empty((level + 1, n))
    c = y
    for j in range(1, level + 1):
        step = 2 ** (j - 1)
        pad = step * (len(g) - 1)
        cp = np.r_[np.full(pad, c[0]), c]
        nxt = np.zeros(n)
        for i, gl in enumerate(g):
            nxt += gl * cp[pad - i * step: pad - i * step + n]
        out[j - 1] = c - nxt
        c = nxt
    out[level] = c
    return out
