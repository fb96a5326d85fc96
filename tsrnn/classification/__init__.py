"""Sequence classifiers and taggers on recurrent networks (layer 3)."""

from .._lazy import attach

_NAMES = {"RNNClassifier": "rnn", "RNNTagger": "rnn"}

__getattr__, __dir__, __all__ = attach(__name__, _NAMES)
