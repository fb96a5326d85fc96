"""Pure PyTorch modules (layer 1): cells, the recurrent layer, attention, seq2seq, decoding, Hopfield, DNC,
and one shared training loop. Knows nothing of pandas."""

from .._lazy import attach

_NAMES = {
    "RNN": "recurrent",
    "Attention": "attention",
    "Seq2Seq": "seq2seq",
    "greedy": "decoding",
    "sample": "decoding",
    "beam_search": "decoding",
    "HopfieldNetwork": "hopfield",
    "DNC": "dnc",
    "fit_module": "training",
}

__getattr__, __dir__, __all__ = attach(__name__, _NAMES)
