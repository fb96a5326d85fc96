"""Forecasters (layer 2). One file per model family; names are imported lazily."""

from .._lazy import attach

_NAMES = {
    "Naive": "baselines",
    "SeasonalNaive": "baselines",
    "Drift": "baselines",
    "Mean": "baselines",
    "Naive2": "baselines",
    "ARIMA": "arima",
    "AutoARIMA": "arima",
    "ETS": "ets",
    "Theta": "theta",
    "StateSpace": "statespace",
    "FourierForecaster": "fourier",
    "WaveletForecaster": "wavelet",
    "HMMForecaster": "hmm",
    "ReductionForecaster": "reduction",
    "RNNForecaster": "rnn",
    "Seq2SeqForecaster": "seq2seq",
    "ESRNNForecaster": "esrnn",
    "EnsembleForecaster": "ensemble",
    "Croston": "intermittent",
    "TSB": "intermittent",
    "ADIDA": "intermittent",
    "IMAPA": "intermittent",
    "ConformalForecaster": "conformal",
}

__getattr__, __dir__, __all__ = attach(__name__, _NAMES)
