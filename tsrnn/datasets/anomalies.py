"""Inject labelled anomalies into clean series (for detector tests and benchmarks).

Each anomaly changes a segment ``[start, start + length)``, and the 0/1 label is 1 exactly on those samples.
Sizes are in units of the series' standard deviation ``sigma`` (1 for a constant series):

=============== ======== ==================================================================================
kind            length   change on the segment
=============== ======== ==================================================================================
``spike``       1        ``y + s * 6 sigma`` (``s = ±1``)
``level_shift`` L        ``y + s * 3 sigma``
``trend``       L        ``y + s * 4 sigma * (j + 1) / L`` for the ``j``-th sample (a ramp, then back)
``variance``    L        ``y + e_j`` with ``e_j ~ N(0, (2 sigma)^2)``
``flatline``    L        held at the last value before the segment (a stuck sensor), minus ``s * 0.5 sigma``
                         when that value equals the data
``dropout``     L        ``0`` (a sensor that reads zero), ``-s * sigma`` where the data is already 0
=============== ======== ==================================================================================

``L`` is drawn uniformly in ``[max(3, 0.02 n), max(4, 0.05 n)]``. Segments never overlap or touch, and none
starts before ``start_after * n`` so that detectors get a clean warm-up (NAB's probationary period is 15 %).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["inject_anomalies", "ANOMALY_KINDS"]

ANOMALY_KINDS = ("spike", "level_shift", "trend", "variance", "flatline", "dropout")
_DEFAULT_KINDS = ("spike", "level_shift", "trend", "variance", "flatline")


def _segments(n: int, kinds: list[str], start_after: float, rng: np.random.Generator) -> list[tuple[int, int]]:
    lo_len, hi_len = max(3, int(0.02 * n)), max(4, int(0.05 * n))
    first = int(np.ceil(start_after * n))
    taken = np.zeros(n + 2, dtype=bool)  # one guard sample either side keeps segments apart
    out = []
    for kind in kinds:
        length = 1 if kind == "spike" else int(rng.integers(lo_len, hi_len + 1))
        first_ok = max(first, 1) if kind == "flatline" else first  # a flatline holds the value before it
        placed = None
        if n - length >= first_ok:
            for _ in range(200):
                s = int(rng.integers(first_ok, n - length + 1))
                if not taken[s: s + length + 2].any():  # sample i is taken[i + 1]
                    taken[s: s + length + 2] = True
                    placed = (s, length)
                    break
        out.append(placed)
    return out


def _inject_one(y: np.ndarray, kinds: tuple[str, ...], n_anom: int, start_after: float, rng):
    n = len(y)
    sigma = float(np.std(y)) or 1.0
    chosen = [kinds[i % len(kinds)] for i in range(n_anom)]
    chosen = [chosen[i] for i in rng.permutation(n_anom)]
    segs = _segments(n, chosen, start_after, rng)
    if any(s is None for s in segs):
        raise ValueError(f"cannot place {n_anom} non-overlapping anomalies in a series of {n} samples after "
                         f"start_after={start_after}; use a longer series or fewer anomalies")
    out = y.copy()
    label = np.zeros(n, dtype=np.int64)
    events = []
    for kind, (s, length) in zip(chosen, segs):
        sl = slice(s, s + length)
        sign = float(rng.choice([-1.0, 1.0]))
        if kind == "spike":
            out[sl] += sign * 6 * sigma
        elif kind == "level_shift":
            out[sl] += sign * 3 * sigma
        elif kind == "trend":
            out[sl] += sign * 4 * sigma * np.arange(1, length + 1) / length
        elif kind == "variance":
            e = rng.normal(0.0, 2 * sigma, length)
            e[e == 0] = sigma
            out[sl] += e
        elif kind == "flatline":
            held = np.full(length, y[s - 1])
            held[held == y[sl]] -= sign * 0.5 * sigma
            out[sl] = held
        elif kind == "dropout":
            out[sl] = np.where(y[sl] == 0, -sign * sigma, 0.0)
        label[sl] = 1
        events.append((kind, s, length))
    return out, label, events


def inject_anomalies(
    y,
    kinds: tuple[str, ...] = _DEFAULT_KINDS,
    n: int = 5,
    seed: int | np.random.Generator | None = None,
    *,
    start_after: float = 0.15,
    return_events: bool = False,
):
    """Add ``n`` labelled anomalies to each series.

    Parameters
    ----------
    y : pd.Series, 1-D array or long pd.DataFrame (``unique_id, ds, y``)
        Clean data, finite values.
    kinds : tuple of str
        Drawn in turn (shuffled) from ``spike, level_shift, trend, variance, flatline, dropout``; with ``n >=
        len(kinds)`` every kind appears.
    n : int
        Anomalies per series.
    seed : int or numpy Generator, optional
    start_after : float
        Fraction of each series kept free of anomalies at its start.
    return_events : bool
        Also return a frame ``unique_id, kind, start, length`` (positions within each series).

    Returns
    -------
    For a Series or array: ``(y_anomalous, label)``, two ``pd.Series`` on the input's index (``RangeIndex`` for an
    array), ``label`` 0/1 int. For a long frame: a copy with ``y`` changed and a 0/1 ``label`` column.
    ``label`` is 1 exactly on the samples the injection changed.
    """
    bad = set(kinds) - set(ANOMALY_KINDS)
    if bad or not kinds:
        raise ValueError(f"unknown anomaly kind(s) {sorted(bad)}; choose from {ANOMALY_KINDS}")
    if int(n) < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    if not 0 <= start_after < 1:
        raise ValueError(f"start_after must lie in [0, 1), got {start_after}")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    kinds = tuple(kinds)
    if isinstance(y, pd.DataFrame):
        missing = {"unique_id", "ds", "y"} - set(y.columns)
        if missing:
            raise ValueError(f"a panel needs columns unique_id, ds, y; missing {sorted(missing)}")
        frame = y.copy()
        frame["label"] = 0
        events = []
        for uid, idx in frame.groupby("unique_id", sort=False).indices.items():
            vals = _finite(frame["y"].to_numpy(dtype=np.float64)[idx], uid)
            new, lab, ev = _inject_one(vals, kinds, int(n), start_after, rng)
            frame.iloc[idx, frame.columns.get_loc("y")] = new
            frame.iloc[idx, frame.columns.get_loc("label")] = lab
            events += [(uid, *e) for e in ev]
        frame["label"] = frame["label"].astype(np.int64)
        out = frame
    else:
        index = y.index if isinstance(y, pd.Series) else None
        vals = _finite(np.asarray(y, dtype=np.float64), getattr(y, "name", None))
        if vals.ndim != 1:
            raise ValueError(f"y must be 1-D, got shape {vals.shape}")
        new, lab, ev = _inject_one(vals, kinds, int(n), start_after, rng)
        index = index if index is not None else pd.RangeIndex(len(vals))
        out = (pd.Series(new, index=index, name=getattr(y, "name", None) or "y"),
               pd.Series(lab, index=index, name="label"))
        events = [(getattr(y, "name", None), *e) for e in ev]
    if not return_events:
        return out
    ev = pd.DataFrame(events, columns=["unique_id", "kind", "start", "length"])
    return (*out, ev) if isinstance(out, tuple) else (out, ev)


def _finite(vals: np.ndarray, uid) -> np.ndarray:
    if not np.all(np.isfinite(vals)):
        raise ValueError(f"series {uid!r}: y has NaN or infinite values; inject anomalies into clean data")
    return vals.copy()
