"""Anomaly detectors built on the models, their scoring and evaluation (layer 3)."""

from .._lazy import attach

_NAMES = {
    "RollingZScore": "detectors",
    "ResidualDetector": "detectors",
    "WaveletDetector": "detectors",
    "AutoencoderDetector": "autoencoder",
    "HMMDetector": "hmm",
    "OnlineRNNDetector": "online",
    "OnlineHMMDetector": "online",
    "OnlineKNNDetector": "online",
    "AnomalyLikelihood": "thresholds",
    "EnsembleDetector": "ensemble",
    "evaluate_detectors": "evaluate",
    "nab_score": "scoring",
}

__getattr__, __dir__, __all__ = attach(__name__, _NAMES)
