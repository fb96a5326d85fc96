"""Feature transformers on windows (layer 1): windows, Fourier/periodogram/STFT, wavelets."""

from .._lazy import attach

_NAMES = {
    "make_windows": "windows",
    "detect_seasonality": "spectral",
    "FourierFeatures": "spectral",
    "Periodogram": "spectral",
    "STFTFeatures": "spectral",
    "WaveletFeatures": "wavelets",
    "WaveletDenoiser": "wavelets",
    "cwt_scalogram": "wavelets",
}

__getattr__, __dir__, __all__ = attach(__name__, _NAMES)
