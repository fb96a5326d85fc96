"""The seasonal period of a panel, for the global models' ``season_length="auto"`` (RNN, HMM)."""

from __future__ import annotations

import numpy as np

from ..features.spectral import detect_seasonality

__all__ = ["panel_season"]


def panel_season(ys, max_series: int = 50, threshold: float = 0.2) -> int | None:
    """The period most often found first by :func:`tsrnn.features.detect_seasonality` among the first
    ``max_series`` series ``ys`` (1-D arrays), provided at least half of them show one; else None.

    Only clear seasons count (autocorrelation at the period above ``threshold``): a model that then differences
    or skips at that lag must not be sent there by a spurious period (the slow regime changes of a Markov chain
    give the periodogram peaks whose autocorrelation, about 0.1, passes ``detect_seasonality``'s default bar).
    """
    found = []
    for y in list(ys)[:max_series]:
        cands = detect_seasonality(y, threshold=threshold)
        found.append(int(cands[0]) if len(cands) else 0)
    seasonal = [f for f in found if f > 1]
    if not seasonal or 2 * len(seasonal) < len(found):
        return None
    values, counts = np.unique(seasonal, return_counts=True)
    return int(values[np.argmax(counts)])
