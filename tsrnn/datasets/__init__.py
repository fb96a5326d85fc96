"""Loaders of real public data (download + checksum + cache + mirror) and seeded synthetic generators."""

from .._lazy import attach

_NAMES = {
    "list_datasets": "registry",
    "load_m4": "m4",
    "load_nab": "nab",
    "load_mitbih": "mitbih",
    "load_ucr": "ucr",
    "load_retail": "retail",
    "load_sales": "sales",
    "make_sales": "sales",
    "make_ecg": "ecg",
    "inject_anomalies": "anomalies",
    "ECGRecord": "mitbih",
    "beat_windows": "mitbih",
}

__getattr__, __dir__, __all__ = attach(__name__, _NAMES)
