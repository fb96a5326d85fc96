"""Spectral features and seasonality detection.

* :func:`detect_seasonality` ranks candidate seasonal periods of a series (periodogram hints checked on the ACF).
* :class:`Periodogram` – power spectrum of each window (plain FFT or Welch), or its top-k dominant periods.
* :class:`FourierFeatures` – least-squares sin/cos coefficients of each window for given periods and orders; its
  :meth:`FourierFeatures.transform_index` builds the same terms as exogenous columns for a time index.
* :class:`STFTFeatures` – short-time Fourier magnitudes summarised per frequency band.

All transformers work on 2-D arrays of windows ``(n_windows, window_length)`` (see
:func:`tsrnn.features.make_windows`) and follow scikit-learn's conventions.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import signal
from sklearn.utils.validation import check_is_fitted

from ..base import BaseTransformer

__all__ = ["detect_seasonality", "acf", "fourier_terms", "Periodogram", "FourierFeatures", "STFTFeatures"]


# --------------------------------------------------------------------------------------------- seasonality


def acf(x: np.ndarray, max_lag: int) -> np.ndarray:
    """Sample autocorrelation ``r_k = sum_t (x_t - m)(x_{t+k} - m) / sum_t (x_t - m)^2`` for ``k = 0..max_lag``.

    The biased estimator (the one of statsmodels' ``acf``), computed by FFT. A constant series gives zeros
    after lag 0.
    """
    x = np.asarray(x, dtype=float) - np.mean(x)
    n = len(x)
    size = 1 << int(np.ceil(np.log2(max(2 * n, 2))))
    f = np.fft.rfft(x, size)
    r = np.fft.irfft(f * np.conj(f), size)[: max_lag + 1]
    if r[0] <= 0:
        out = np.zeros(max_lag + 1)
        out[0] = 1.0
        return out
    return r / r[0]


def _seasonal_acf(y: np.ndarray, m: int) -> float:
    """Autocorrelation at lag ``m`` of ``y`` minus its centred moving average of order ``m`` (``2 x m`` if even).

    The moving average removes the trend and any wandering level (a random walk keeps no correlation at lag
    ``m`` once its local level is removed) but leaves a cycle of period ``m`` intact.
    """
    w = np.r_[0.5, np.ones(m - 1), 0.5] / m if m % 2 == 0 else np.ones(m) / m
    if len(y) < len(w) + m + 2:
        return 0.0
    x = y[len(w) // 2: len(y) - len(w) // 2] - np.convolve(y, w, mode="valid")
    x = x - x.mean()
    den = float(x @ x)
    return float(x[m:] @ x[:-m]) / den if den > 0 else 0.0


def detect_seasonality(y, max_period: int | None = None, *, min_period: int = 2, n_candidates: int = 10,
                       threshold: float | None = None) -> np.ndarray:
    """Ranked candidate seasonal periods of a series, in samples, strongest first.

    The series is linearly detrended; peaks of its periodogram (zero-padded 4x) give period hints ``1 / f``.
    Each hint is refined to the integer lag of highest autocorrelation within one frequency bin
    (``1/(f + 1/n) .. 1/(f - 1/n)``) and kept only if that lag is a local maximum of the ACF ("on a hill",
    Vlachos et al., 2005, *AUTOPERIOD*) above ``threshold``, and if the series minus its moving average of that
    order keeps an autocorrelation above ``threshold`` at that lag (a wandering level has none). Candidates are
    ranked by periodogram power; an integer multiple of a stronger candidate is dropped unless its unbiased
    autocorrelation is higher than that candidate's.

    Parameters
    ----------
    y : array-like of shape (n,) or pd.Series
    max_period : int, optional
        Longest period considered; default ``n // 2`` (at least two full cycles).
    min_period : int, default 2
    n_candidates : int, default 10
        Number of periodogram peaks examined.
    threshold : float, optional
        Minimum autocorrelation at the period; default ``max(0.1, 2 / sqrt(n))``.

    Returns
    -------
    ndarray of int, shape (n_found,)
        Candidate periods, strongest first; empty when no seasonality is found.
    """
    y = np.asarray(y, dtype=float).ravel()
    if not np.isfinite(y).all():
        raise ValueError("detect_seasonality: y contains NaN or inf values; fill or drop them first")
    n = len(y)
    max_period = n // 3 if max_period is None else min(int(max_period), n - 2)
    min_period = max(2, int(min_period))
    if n < 6 or max_period < min_period:
        return np.array([], dtype=int)
    thr = max(0.1, 3.0 / np.sqrt(n)) if threshold is None else float(threshold)
    x = signal.detrend(y, type="linear")
    if np.ptp(x) == 0:
        return np.array([], dtype=int)
    freqs, power = signal.periodogram(x, nfft=4 * n, detrend=False)
    r = acf(x, min(n - 1, max_period + 1))
    peaks, _ = signal.find_peaks(power)
    peaks = peaks[(freqs[peaks] >= 1.0 / (max_period + 0.5)) & (freqs[peaks] <= 1.0 / (min_period - 0.5))]
    peaks = peaks[np.argsort(power[peaks])[::-1]][:n_candidates]
    found: dict[int, float] = {}
    for k in peaks:
        f = freqs[k]
        lo = max(min_period, int(np.floor(1.0 / (f + 1.0 / n))))
        hi = min(max_period, int(np.ceil(1.0 / max(f - 1.0 / n, 1.0 / (max_period + 1)))))
        if hi < lo:
            continue
        lags = np.arange(lo, hi + 1)
        lag = int(lags[np.argmax(r[lags])])
        on_hill = r[lag] >= r[lag - 1] and (lag + 1 >= len(r) or r[lag] >= r[lag + 1])
        if on_hill and lag not in found and r[lag] > thr and _seasonal_acf(y, lag) > thr:
            found[lag] = float(power[k])
    ranked = sorted(found, key=found.get, reverse=True)
    # a multiple of a stronger period is kept only if it repeats better than that period (the weekly cycle of
    # hourly data does; 144 or 192 there are multiples of 24 with no cycle of their own)
    unbiased = r * n / (n - np.arange(len(r)))
    kept: list[int] = []
    for q in ranked:
        if all(q % p or unbiased[q] > unbiased[p] for p in kept if p < q):
            kept.append(q)
    return np.array(kept, dtype=int)


# --------------------------------------------------------------------------------------------- periodogram


class Periodogram(BaseTransformer):
    """Power spectrum of each window, or its dominant periods.

    With ``method="fft"`` the periodogram ``P(f_k) = (2 / (fs * sum w^2)) |sum_t w_t x_t e^{-2 pi i f_k t}|^2``
    (one-sided density, as :func:`scipy.signal.periodogram`); with ``method="welch"`` the average of the
    periodograms of overlapping segments of length ``nperseg`` (:func:`scipy.signal.welch`).

    Parameters
    ----------
    method : {"fft", "welch"}, default "fft"
    detrend : {"constant", "linear"} or False, default "constant"
        Removed from each window (each segment for Welch) before the transform.
    taper : str, default "boxcar"
        Window function (any name :func:`scipy.signal.get_window` knows; scipy's ``window`` argument); Welch
        usually uses "hann".
    nperseg : int, optional
        Welch segment length; default ``min(window_length, 256)`` // 2, at least 1.
    output : {"spectrum", "dominant", "both"}, default "spectrum"
        "spectrum": the power at every frequency ``frequencies_`` (DC excluded); "dominant": the ``top_k``
        strongest peak periods (in samples) followed by their powers; "both": the two concatenated.
    top_k : int, default 3
        Number of dominant periods; missing peaks are reported as period 0 with power 0.
    log : bool, default False
        Return ``log1p(power)`` instead of the power.

    Attributes
    ----------
    frequencies_ : ndarray (n_freq,)
        Frequencies (cycles per sample) of the spectrum columns.
    n_features_in_ : int
    """

    def __init__(self, method: str = "fft", detrend="constant", taper: str = "boxcar", nperseg: int | None = None,
                 output: str = "spectrum", top_k: int = 3, log: bool = False):
        self.method = method
        self.detrend = detrend
        self.taper = taper
        self.nperseg = nperseg
        self.output = output
        self.top_k = top_k
        self.log = log

    def _spectrum(self, X: np.ndarray):
        if self.method == "fft":
            return signal.periodogram(X, window=self.taper, detrend=self.detrend, axis=-1)
        if self.method == "welch":
            nper = self.nperseg if self.nperseg is not None else max(1, min(X.shape[1], 256) // 2)
            nper = min(int(nper), X.shape[1])
            return signal.welch(X, window=self.taper, nperseg=nper, detrend=self.detrend, axis=-1)
        raise ValueError(f"Periodogram: method must be 'fft' or 'welch', got {self.method!r}")

    def fit(self, X, y=None):
        X = self._validate_windows(X, reset=True)
        if self.output not in ("spectrum", "dominant", "both"):
            raise ValueError(f"Periodogram: output must be 'spectrum', 'dominant' or 'both', got {self.output!r}")
        f, _ = self._spectrum(X[:1])
        self.frequencies_ = f[1:] if len(f) > 1 else f
        return self

    def transform(self, X):
        """Features of each window: ``(n_windows, n_freq)``, ``(n_windows, 2 * top_k)`` or both side by side."""
        check_is_fitted(self, "frequencies_")
        X = self._validate_windows(X, reset=False)
        f, P = self._spectrum(X)
        if len(f) > 1:
            f, P = f[1:], P[:, 1:]
        if self.log:
            P = np.log1p(P)
        parts = []
        if self.output in ("spectrum", "both"):
            parts.append(P)
        if self.output in ("dominant", "both"):
            parts.append(self._dominant(f, P))
        return np.hstack(parts)

    def _dominant(self, f: np.ndarray, P: np.ndarray) -> np.ndarray:
        k = int(self.top_k)
        out = np.zeros((len(P), 2 * k))
        for i, row in enumerate(P):
            peaks, _ = signal.find_peaks(np.r_[0.0, row, 0.0])
            peaks = peaks - 1
            peaks = peaks[(f[peaks] > 0) & (row[peaks] > 0)]
            peaks = peaks[np.argsort(row[peaks])[::-1]][:k]
            out[i, : len(peaks)] = 1.0 / f[peaks]
            out[i, k: k + len(peaks)] = row[peaks]
        return out

    def get_feature_names_out(self, input_features=None):
        check_is_fitted(self, "frequencies_")
        names = []
        if self.output in ("spectrum", "both"):
            names += [f"power_f{f:.4g}" for f in self.frequencies_]
        if self.output in ("dominant", "both"):
            names += [f"period_{i + 1}" for i in range(self.top_k)] + [f"power_{i + 1}" for i in range(self.top_k)]
        return np.array(names, dtype=object)


# --------------------------------------------------------------------------------------------- Fourier terms


def _harmonics(periods: Sequence[float], orders) -> list[tuple[float, int]]:
    """``(period, k)`` pairs with distinct frequencies ``k / period`` (duplicates across periods dropped)."""
    periods = [float(p) for p in np.atleast_1d(periods)]
    orders = np.broadcast_to(np.atleast_1d(orders), (len(periods),))
    out, seen = [], []
    for p, K in zip(periods, orders):
        if p <= 0:
            raise ValueError(f"Fourier terms: periods must be positive, got {p}")
        for k in range(1, int(K) + 1):
            fr = k / p
            if 2 * k >= p or any(abs(fr - s) < 1e-9 for s in seen):  # Nyquist or an already used frequency
                continue
            seen.append(fr)
            out.append((p, k))
    return out


def fourier_terms(t, periods: Sequence[float], orders) -> np.ndarray:
    """Columns ``sin(2 pi k t / P), cos(2 pi k t / P)`` for each period ``P`` and ``k = 1..K_P``.

    Harmonics at or above the Nyquist frequency (``2k >= P``) and frequencies already produced by another
    period (e.g. the 7th harmonic of 168 equals the 1st of 24) are skipped, so the columns are never collinear.

    Parameters
    ----------
    t : array-like of shape (n,)
        Time positions (in samples).
    periods : sequence of float
    orders : int or sequence of int
        Number of harmonics ``K`` per period.

    Returns
    -------
    ndarray of shape (n, 2 * n_harmonics)
        Pairs of columns ``[sin, cos]`` in the order of ``periods`` then ``k``.
    """
    t = np.asarray(t, dtype=float)
    cols = []
    for p, k in _harmonics(periods, orders):
        w = 2 * np.pi * k * t / p
        cols += [np.sin(w), np.cos(w)]
    return np.column_stack(cols) if cols else np.empty((len(t), 0))


def _fourier_names(periods, orders) -> list[str]:
    names = []
    for p, k in _harmonics(periods, orders):
        names += [f"sin_{p:g}_{k}", f"cos_{p:g}_{k}"]
    return names


class FourierFeatures(BaseTransformer):
    """Harmonic (sin/cos) coefficients of each window, and Fourier terms for a time index.

    ``transform`` fits, per window ``x`` of length ``w``, the least-squares harmonic regression
    ``x_t = c + sum_P sum_{k<=K_P} (a_{P,k} sin(2 pi k t / P) + b_{P,k} cos(2 pi k t / P)) + e_t``,
    ``t = 0..w-1``, and returns the coefficients ``[a, b, ...]`` (``output="coef"``) or the amplitudes
    ``sqrt(a^2 + b^2)`` (``output="amplitude"``). :meth:`transform_index` returns the terms themselves as
    exogenous regressors for a time index (e.g. ``periods=[24, 168]`` on hourly stamps).

    Parameters
    ----------
    periods : sequence of float, optional
        Seasonal periods in samples; default the window length (set at fit).
    orders : int or sequence of int, default 2
        Harmonics per period (harmonics at or above Nyquist are dropped).
    output : {"coef", "amplitude"}, default "coef"

    Attributes
    ----------
    periods_ : list of float
    feature_names_ : list of str
        Names of the Fourier term columns (``sin_24_1``, ``cos_24_1``, ...).
    n_features_in_ : int
    """

    def __init__(self, periods: Sequence[float] | None = None, orders=2, output: str = "coef"):
        self.periods = periods
        self.orders = orders
        self.output = output

    def _resolve_periods(self, window_length: int | None):
        if self.periods is None:
            if window_length is None:
                raise ValueError("FourierFeatures: give periods= to build terms for a time index")
            return [float(window_length)]
        return [float(p) for p in np.atleast_1d(self.periods)]

    def fit(self, X, y=None):
        X = self._validate_windows(X, reset=True)
        if self.output not in ("coef", "amplitude"):
            raise ValueError(f"FourierFeatures: output must be 'coef' or 'amplitude', got {self.output!r}")
        self.periods_ = self._resolve_periods(X.shape[1])
        self.feature_names_ = _fourier_names(self.periods_, self.orders)
        basis = np.column_stack([np.ones(X.shape[1]), fourier_terms(np.arange(X.shape[1]), self.periods_,
                                                                     self.orders)])
        self._pinv = np.linalg.pinv(basis)[1:]  # drop the intercept row
        return self

    def transform(self, X):
        """Coefficients ``(n_windows, 2 * n_harmonics)`` or amplitudes ``(n_windows, n_harmonics)``."""
        check_is_fitted(self, "periods_")
        X = self._validate_windows(X, reset=False)
        coef = X @ self._pinv.T
        if self.output == "amplitude":
            return np.hypot(coef[:, 0::2], coef[:, 1::2])
        return coef

    def get_feature_names_out(self, input_features=None):
        check_is_fitted(self, "periods_")
        if self.output == "amplitude":
            return np.array(["amp_" + n[4:] for n in self.feature_names_[0::2]], dtype=object)
        return np.array(["coef_" + n for n in self.feature_names_], dtype=object)

    def transform_index(self, index, origin=None) -> pd.DataFrame:
        """Fourier terms as exogenous columns for a time index.

        Parameters
        ----------
        index : pd.DatetimeIndex (with a frequency), pd.PeriodIndex, or integer array/index
            Time positions: integers are used as they are; dated stamps are counted in steps of their frequency
            from ``origin`` (default the Unix epoch), so terms for a training index and a future index line up.
        origin : timestamp, optional

        Returns
        -------
        pd.DataFrame of shape (n, 2 * n_harmonics), indexed by ``index``, columns ``sin_P_k``, ``cos_P_k``.
        """
        periods = self._resolve_periods(None)
        t = _positions(index, origin)
        return pd.DataFrame(fourier_terms(t, periods, self.orders), index=index,
                            columns=_fourier_names(periods, self.orders))


def _positions(index, origin=None) -> np.ndarray:
    if isinstance(index, pd.PeriodIndex):
        return index.asi8.astype(float)
    if isinstance(index, pd.DatetimeIndex):
        freq = index.freq or (pd.tseries.frequencies.to_offset(pd.infer_freq(index)) if len(index) >= 3 else None)
        if freq is None:
            raise ValueError("transform_index: the DatetimeIndex needs a frequency (set freq= or make it regular)")
        origin = pd.Timestamp("1970-01-01", tz=index.tz) if origin is None else pd.Timestamp(origin)
        if isinstance(freq, pd.offsets.Tick):
            return ((index - origin) / pd.Timedelta(freq)).to_numpy(dtype=float)
        base = index.tz_localize(None) if index.tz is not None else index
        o = origin.tz_localize(None) if origin.tz is not None else origin
        return (base.to_period(freq).asi8 - pd.Period(o, freq=freq).ordinal).astype(float)
    return np.asarray(index, dtype=float)


# --------------------------------------------------------------------------------------------- STFT


class STFTFeatures(BaseTransformer):
    """Short-time Fourier magnitudes of each window, summarised per frequency band.

    ``|Z(f, tau)|`` from :func:`scipy.signal.stft` (segments of ``nperseg`` samples, ``noverlap`` overlap,
    ``taper`` window function, no boundary padding) is split into ``n_bands`` contiguous bands of frequency bins (as
    equal as possible); each band gives ``mean`` (its mean magnitude over bins and segments), ``std`` (the
    standard deviation over segments of the band's mean magnitude) and ``max`` (the largest magnitude).

    Parameters
    ----------
    nperseg : int, optional
        Segment length; default ``max(2, window_length // 4)``, capped at the window length.
    noverlap : int, optional
        Default ``nperseg // 2``.
    taper : str, default "hann"
        Window function of each segment (scipy's ``window`` argument).
    n_bands : int, default 4
        Capped at the number of frequency bins.
    stats : sequence of {"mean", "std", "max"}, default ("mean", "std", "max")

    Attributes
    ----------
    n_bands_ : int
    band_edges_ : ndarray ``(n_bands_ + 1,)``
        Bin index where each band starts (and the end of the last).
    n_features_in_ : int
    """

    def __init__(self, nperseg: int | None = None, noverlap: int | None = None, taper: str = "hann",
                 n_bands: int = 4, stats=("mean", "std", "max")):
        self.nperseg = nperseg
        self.noverlap = noverlap
        self.taper = taper
        self.n_bands = n_bands
        self.stats = stats

    def _params(self, length: int):
        nper = self.nperseg if self.nperseg is not None else max(2, length // 4)
        nper = max(1, min(int(nper), length))
        nover = self.noverlap if self.noverlap is not None else nper // 2
        return nper, min(int(nover), nper - 1)

    def _stft(self, X):
        nper, nover = self._params(X.shape[1])
        _, _, Z = signal.stft(X, window=self.taper, nperseg=nper, noverlap=nover, boundary=None, padded=False,
                              axis=-1)
        return np.abs(Z)  # (n_windows, n_freq, n_segments)

    def fit(self, X, y=None):
        X = self._validate_windows(X, reset=True)
        bad = [s for s in self.stats if s not in ("mean", "std", "max")]
        if bad:
            raise ValueError(f"STFTFeatures: unknown stats {bad}; use 'mean', 'std', 'max'")
        n_freq = self._stft(X[:1]).shape[1]
        self.n_bands_ = max(1, min(int(self.n_bands), n_freq))
        self.band_edges_ = np.linspace(0, n_freq, self.n_bands_ + 1).round().astype(int)
        return self

    def transform(self, X):
        """``(n_windows, n_bands_ * len(stats))``: for each band, its statistics in the order of ``stats``."""
        check_is_fitted(self, "band_edges_")
        X = self._validate_windows(X, reset=False)
        M = self._stft(X)
        cols = []
        for b in range(self.n_bands_):
            band = M[:, self.band_edges_[b]: self.band_edges_[b + 1], :]
            per_seg = band.mean(axis=1)  # (n_windows, n_segments)
            for s in self.stats:
                if s == "mean":
                    cols.append(per_seg.mean(axis=1))
                elif s == "std":
                    cols.append(per_seg.std(axis=1))
                else:
                    cols.append(band.max(axis=(1, 2)))
        return np.column_stack(cols)

    def get_feature_names_out(self, input_features=None):
        check_is_fitted(self, "band_edges_")
        return np.array([f"band{b}_{s}" for b in range(self.n_bands_) for s in self.stats], dtype=object)
