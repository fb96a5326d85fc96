"""Time-series splitters: where each backtest window trains and tests.

Windows are placed from the end of each series: the last window tests the last ``h`` observations, and each
earlier window ends ``step`` observations before the next. With ``n`` observations, window ``i`` (0-based, of
``n_windows``) has cutoff ``c_i = n - h - (n_windows - 1 - i) * step`` and tests ``[c_i, c_i + h)``; it trains on
``[0, c_i)`` (:class:`ExpandingWindow`) or ``[c_i - window_size, c_i)`` (:class:`SlidingWindow`).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from .._validation import check_positive_int

__all__ = ["ExpandingWindow", "SlidingWindow"]


class ExpandingWindow:
    """Training windows that grow: each window trains on everything before its cutoff.

    Parameters
    ----------
    h : int
        Test length (the forecast horizon).
    n_windows : int
        Number of windows.
    step : int, optional
        Distance between consecutive cutoffs; defaults to ``h`` (non-overlapping test windows).
    """

    def __init__(self, h: int, n_windows: int = 3, step: int | None = None):
        self.h = check_positive_int(h, "h")
        self.n_windows = check_positive_int(n_windows, "n_windows")
        self.step = self.h if step is None else check_positive_int(step, "step")

    def _start(self, cutoff: int) -> int:
        return 0

    def min_length(self, min_train: int = 1) -> int:
        """Fewest observations a series needs for every window to have ``min_train`` training points."""
        return min_train + self.h + (self.n_windows - 1) * self.step

    def bounds(self, n: int) -> list[tuple[int, int]]:
        """``(train_start, cutoff)`` of each window for a series of ``n`` observations (oldest first)."""
        out = []
        for i in range(self.n_windows):
            cutoff = n - self.h - (self.n_windows - 1 - i) * self.step
            out.append((self._start(cutoff), cutoff))
        return out

    def split(self, y) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield ``(train_indices, test_indices)`` for one series, as scikit-learn splitters do."""
        n = len(y)
        if n < self.min_length():
            raise ValueError(f"a series of {n} observations is too short for {self!r}: needs {self.min_length()}")
        for start, cutoff in self.bounds(n):
            yield np.arange(start, cutoff), np.arange(cutoff, cutoff + self.h)

    def get_n_splits(self, y=None) -> int:
        return self.n_windows

    def __repr__(self) -> str:
        return f"{type(self).__name__}(h={self.h}, n_windows={self.n_windows}, step={self.step})"


class SlidingWindow(ExpandingWindow):
    """Training windows of a fixed length ``window_size`` that slide with the cutoff."""

    def __init__(self, h: int, n_windows: int = 3, step: int | None = None, window_size: int = 100):
        super().__init__(h, n_windows, step)
        self.window_size = check_positive_int(window_size, "window_size")

    def _start(self, cutoff: int) -> int:
        return max(0, cutoff - self.window_size)

    def min_length(self, min_train: int = 1) -> int:
        return max(min_train, self.window_size) + self.h + (self.n_windows - 1) * self.step

    def __repr__(self) -> str:
        return (f"SlidingWindow(h={self.h}, n_windows={self.n_windows}, step={self.step}, "
                f"window_size={self.window_size})")
