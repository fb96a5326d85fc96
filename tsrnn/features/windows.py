"""Sliding windows for supervised learning on a series.

``make_windows`` turns a series ``y_0 .. y_{n-1}`` into input windows and the targets that follow them:

    X[i] = y[s_i : s_i + window],      Y[i] = y[s_i + window : s_i + window + horizon]

with starts ``s_i`` spaced ``step`` apart and aligned to the END of the series (the last target ends at
``y_{n-1}``), so the most recent observations are always used. A target never overlaps its own input window
and every input value precedes every target value of its row: there is no leakage of the future into X.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .._validation import check_positive_int

__all__ = ["make_windows"]


def make_windows(y, window: int, horizon: int = 1, step: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Cut a series into ``(input window, following targets)`` pairs.

    Parameters
    ----------
    y : array-like of shape (n,) or (n, k)
        The series (``k`` channels for a multivariate series). Must be finite.
    window : int
        Length of each input window, >= 1.
    horizon : int, default 1
        Number of targets after each window, >= 0 (0 gives only the input windows, e.g. for inference).
    step : int, default 1
        Distance between the starts of consecutive windows, >= 1.

    Returns
    -------
    X : ndarray of shape (n_windows, window) or (n_windows, window, k)
    Y : ndarray of shape (n_windows, horizon) or (n_windows, horizon, k)
        ``n_windows = (n - window - horizon) // step + 1``; rows are in time order and the last row's targets
        end at the last observation.

    Raises
    ------
    ValueError
        If the series is shorter than ``window + horizon``, is not 1-D/2-D, holds NaN/inf, or an argument is
        not a valid integer.
    """
    window = check_positive_int(window, "window", "make_windows")
    horizon = check_positive_int(horizon, "horizon", "make_windows", minimum=0)
    step = check_positive_int(step, "step", "make_windows")
    arr = np.asarray(y, dtype=np.float64)
    if arr.ndim not in (1, 2):
        raise ValueError(f"make_windows: y must be 1-D (n,) or 2-D (n, k), got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError("make_windows: y contains NaN or inf values; fill or drop them first")
    n, span = arr.shape[0], window + horizon
    if n < span:
        raise ValueError(
            f"make_windows: the series has {n} observations, too short for window={window} + horizon={horizon}"
        )
    n_windows = (n - span) // step + 1
    first = n - span - (n_windows - 1) * step  # align the last window to the end of the series
    # views of shape (n - span + 1, [k,] span); pick every step-th start from `first`
    views = sliding_window_view(arr, span, axis=0)[first::step]
    if arr.ndim == 2:
        views = np.moveaxis(views, -1, 1)  # (n_windows, span, k)
    X = np.ascontiguousarray(views[:, :window])
    Y = np.ascontiguousarray(views[:, window:])
    return X, Y
