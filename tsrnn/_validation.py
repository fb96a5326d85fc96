"""Input coercion and clear errors (layer 0).

Every public entry point of tsrnn turns its input into a :class:`Panel` here: a list of per-series numpy
arrays with their time stamps and one shared frequency. Bad input raises ``ValueError`` or ``TypeError`` with a
message that names the series and the problem, never a bare numpy or statsmodels traceback.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "Panel",
    "SeriesData",
    "to_panel",
    "check_horizon",
    "check_levels",
    "check_positive_int",
    "interval_columns",
    "format_stamp",
    "format_stamps",
    "future_index",
    "PANEL_COLUMNS",
]

PANEL_COLUMNS = ("unique_id", "ds", "y")
_DEFAULT_UID = "series"


@dataclass
class SeriesData:
    """One validated series: float64 values, its stamps and optional exogenous values.

    ``ds`` is a numpy array (``datetime64[ns]`` for dated series, ``int64`` for integer stamps).
    ``X`` is ``(n, n_exog)`` float64 or ``None``.
    """

    uid: Any
    ds: np.ndarray
    y: np.ndarray
    X: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.y)

    def head(self, n: int) -> SeriesData:
        """The first ``n`` observations (a view, no copy)."""
        return SeriesData(self.uid, self.ds[:n], self.y[:n], None if self.X is None else self.X[:n])


@dataclass
class Panel:
    """Validated input: the series, their common time axis kind and how the user gave them.

    ``kind`` is ``"series"`` (a pd.Series or a 1-D array: output is a Series) or ``"panel"`` (a long frame).
    ``freq`` is a pandas offset for dated stamps, an ``int`` step for integer stamps.
    ``index_type`` is ``"datetime"``, ``"period"`` or ``"range"``; ``name`` the Series name (series kind).
    """

    series: list[SeriesData]
    kind: str
    freq: Any
    index_type: str
    exog_names: list[str] = field(default_factory=list)
    name: Any = None
    tz: Any = None

    @property
    def uids(self) -> list:
        return [s.uid for s in self.series]

    def __len__(self) -> int:
        return len(self.series)

    def replace(self, series: list[SeriesData]) -> Panel:
        return Panel(series, self.kind, self.freq, self.index_type, list(self.exog_names), self.name, self.tz)

    def head(self, lengths) -> Panel:
        """Each series cut to ``lengths[i]`` observations."""
        return self.replace([s.head(int(n)) for s, n in zip(self.series, lengths)])

    # Pickled as a few contiguous arrays instead of one small object per series: shipping a chunk of 10,000
    # series to a worker process then costs a handful of buffer copies.
    def __getstate__(self):
        state = {k: v for k, v in self.__dict__.items() if k != "series"}
        ser = self.series
        state["_uids"] = [s.uid for s in ser]
        state["_lengths"] = np.fromiter((len(s) for s in ser), dtype=np.int64, count=len(ser))
        state["_y"] = np.concatenate([s.y for s in ser]) if ser else np.empty(0)
        state["_ds"] = np.concatenate([s.ds for s in ser]) if ser else np.empty(0)
        has_x = bool(ser) and all(s.X is not None for s in ser)
        state["_X"] = np.concatenate([s.X for s in ser]) if has_x else None
        return state

    def __setstate__(self, state):
        uids, lengths = state.pop("_uids"), state.pop("_lengths")
        y, ds, X = state.pop("_y"), state.pop("_ds"), state.pop("_X")
        cuts = np.cumsum(lengths)[:-1]
        ys, dss = np.split(y, cuts), np.split(ds, cuts)
        xs = np.split(X, cuts) if X is not None else [None] * len(uids)
        self.__dict__.update(state)
        self.series = [SeriesData(u, d, v, x) for u, d, v, x in zip(uids, dss, ys, xs)]


# ----------------------------------------------------------------------------------------------- helpers


def _label(uid) -> str:
    return f"series {uid!r}"


def check_positive_int(value, name: str, owner: str | None = None, *, minimum: int = 1,
                       allow_none: bool = False, alternatives: str = "") -> int | None:
    """``value`` as an ``int`` >= ``minimum`` (bools refused), or a ``ValueError`` naming ``owner`` and ``name``.

    The one integer-argument check of tsrnn: ``season_length``, ``window``, ``level`` ... With ``allow_none``,
    ``None`` passes through unchanged; ``alternatives`` (e.g. ``"'auto'"``) names other accepted values that the
    caller handles before calling, for the message.
    """
    if value is None and allow_none:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < minimum:
        what = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        what += " or None" if allow_none else ""
        what += f" or {alternatives}" if alternatives else ""
        who = f"{owner}: " if owner else ""
        raise ValueError(f"{who}{name} must be {what}, got {value!r}")
    return int(value)


def interval_columns(name, level) -> tuple[str, str]:
    """The names ``(<name>-lo-<level>, <name>-hi-<level>)`` of ``name``'s interval columns at ``level`` percent."""
    return f"{name}-lo-{level}", f"{name}-hi-{level}"


def _stamp_str(v, index_type: str = "datetime", freq=None) -> str:
    """One stored stamp as a user reads it: a date (not int64 nanoseconds), a period, or an integer."""
    if index_type == "datetime":
        return str(pd.Timestamp(v))
    if index_type == "period" and freq is not None:
        return str(pd.Period(ordinal=int(v), freq=freq))
    return str(int(v))


def format_stamp(panel: Panel, value) -> str:
    """One stamp of ``panel``'s kind as a user reads it (a date in the series' time zone, a period or an integer)."""
    if panel.index_type == "datetime" and panel.tz is not None:
        return str(pd.Timestamp(value).tz_localize("UTC").tz_convert(panel.tz))
    return _stamp_str(value, panel.index_type, panel.freq)


def format_stamps(panel: Panel, values, limit: int = 5) -> str:
    """Stamps of ``panel``'s kind as a short readable list (dates, periods or integers)."""
    vals = list(np.asarray(values))
    shown = [format_stamp(panel, v) for v in vals[:limit]]
    more = f" and {len(vals) - limit} more" if len(vals) > limit else ""
    return "[" + ", ".join(shown) + "]" + more


def _check_values(values, uid, what="y") -> np.ndarray:
    """Numeric, finite float64 values, or a clear error."""
    arr = np.asarray(values)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError):
            raise TypeError(
                f"{_label(uid)}: {what} must be numeric, got dtype {np.asarray(values).dtype}"
            ) from None
    if np.issubdtype(arr.dtype, np.complexfloating):
        raise TypeError(f"{_label(uid)}: {what} must be real-valued, got complex values")
    arr = arr.astype(np.float64, copy=False)
    if arr.size == 0:
        raise ValueError(f"{_label(uid)}: {what} is empty")
    bad = ~np.isfinite(arr)
    if bad.any():
        pos = np.flatnonzero(bad.reshape(len(arr), -1).any(axis=1))
        kind = "NaN" if np.isnan(arr).any() else "inf"
        raise ValueError(
            f"{_label(uid)}: {what} contains {int(bad.sum())} {kind}/inf value(s), first at position {pos[0]}; "
            "fill or drop them before fitting"
        )
    return arr


def _freq_of_datetimes(ds: pd.DatetimeIndex, uid, freq=None):
    if freq is not None:
        return pd.tseries.frequencies.to_offset(freq)
    if ds.freq is not None:
        return ds.freq
    if len(ds) >= 3:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pandas 3 announces that infer_freq will return an offset
            inferred = pd.infer_freq(ds)
        if inferred is not None:
            return pd.tseries.frequencies.to_offset(inferred)
    if len(ds) == 2:
        return pd.tseries.frequencies.to_offset(ds[1] - ds[0])
    if len(ds) == 1:
        return None
    raise ValueError(
        f"{_label(uid)}: time stamps are irregular and no frequency could be inferred "
        f"(first stamps {list(ds[:3].astype(str))}); resample to a regular grid first, e.g. "
        "y.resample('D').mean() or y.asfreq('h'), then fill or drop the gaps"
    )


def _check_order(ds_values: np.ndarray, uid, index_type: str = "range", freq=None) -> None:
    """Strictly increasing stamps; errors show the stamps as dates/periods (``index_type``), not raw integers."""
    if len(ds_values) < 2:
        return
    d = np.diff(ds_values)
    zero = np.zeros((), dtype=d.dtype)

    def show(i):
        return _stamp_str(ds_values[i], index_type, freq)

    if (d == zero).any():
        i = int(np.flatnonzero(d == zero)[0]) + 1
        raise ValueError(f"{_label(uid)}: duplicated time stamp {show(i)} at position {i}")
    if (d < zero).any():
        i = int(np.flatnonzero(d < zero)[0]) + 1
        raise ValueError(
            f"{_label(uid)}: time stamps are not sorted (position {i}: {show(i)} after {show(i - 1)}); "
            "sort by time first"
        )


def _check_regular(ds: pd.DatetimeIndex, freq, uid) -> None:
    """Every stamp lies on the grid that starts at the first stamp with step ``freq``."""
    if freq is None or len(ds) < 3:
        return
    step = fixed_step_ns(freq, ds.tz)
    if step is not None:
        diffs = np.diff(ds.as_unit("ns").asi8)
        if (diffs != step).any():
            i = int(np.flatnonzero(diffs != step)[0]) + 1
            raise ValueError(
                f"{_label(uid)}: irregular time stamps for frequency {freq.freqstr}: "
                f"{ds[i - 1]} is followed by {ds[i]}; resample or fill the gap first"
            )
        return
    ds = ds.as_unit("ns")
    expected = pd.date_range(ds[0], periods=len(ds), freq=freq).as_unit("ns")
    if not expected.equals(ds.tz_localize(None) if ds.tz is not None and expected.tz is None else ds):
        mismatch = np.flatnonzero(expected.asi8 != ds.asi8)
        i = int(mismatch[0]) if len(mismatch) else 0
        raise ValueError(
            f"{_label(uid)}: irregular time stamps for frequency {freq.freqstr}: expected {expected[i]} "
            f"at position {i}, got {ds[i]}; resample or fill the gap first"
        )


def _coerce_exog(X, n, uid, names=None) -> tuple[np.ndarray | None, list[str]]:
    if X is None:
        return None, []
    if isinstance(X, pd.Series):
        X = X.to_frame()
    if isinstance(X, pd.DataFrame):
        names = [str(c) for c in X.columns]
        vals = X.to_numpy()
    else:
        vals = np.asarray(X)
        if vals.ndim == 1:
            vals = vals[:, None]
        names = names or [f"x{i}" for i in range(vals.shape[1])]
    if vals.shape[0] != n:
        raise ValueError(f"{_label(uid)}: X has {vals.shape[0]} rows but the series has {n} observations")
    return _check_values(vals, uid, what="X"), names


# ----------------------------------------------------------------------------------------------- public


def to_panel(y, X=None, *, freq=None, min_length: int = 1, model: str | None = None) -> Panel:
    """Validate ``y`` (and ``X``) and return a :class:`Panel`.

    Parameters
    ----------
    y : pd.Series, 1-D array-like, or long pd.DataFrame with columns ``unique_id, ds, y`` (+ exogenous)
    X : pd.DataFrame or 2-D array, optional
        Exogenous regressors aligned with a single series (for a panel they are the extra columns of ``y``).
    freq : str or offset, optional
        Frequency of dated stamps; inferred when not given.
    min_length : int
        Minimum number of observations per series; shorter series raise ``ValueError``.
    model : str, optional
        Name used in the too-short message.
    """
    if isinstance(y, Panel):
        panel = y
    elif isinstance(y, pd.DataFrame):
        if X is not None:
            raise TypeError("for a long DataFrame y, pass exogenous regressors as extra columns of y, not as X")
        panel = _panel_from_frame(y, freq)
    elif isinstance(y, (pd.Series, np.ndarray, list, tuple)):
        panel = _panel_from_series(y, X, freq)
    else:
        raise TypeError(
            f"y must be a pd.Series, a 1-D numpy array or a long pd.DataFrame with columns "
            f"unique_id, ds, y; got {type(y).__name__}"
        )
    if min_length > 1:
        check_min_length(panel, min_length, model)
    return panel


def check_min_length(panel: Panel, min_length: int, model: str | None = None) -> None:
    for s in panel.series:
        if len(s) < min_length:
            who = f"{model} " if model else "the model "
            raise ValueError(
                f"{_label(s.uid)}: has {len(s)} observations, too short: {who}needs at least {min_length}"
            )


def _panel_from_series(y, X, freq) -> Panel:
    name = getattr(y, "name", None)
    uid = name if name is not None else _DEFAULT_UID
    if isinstance(y, pd.Series):
        index = y.index
        values = y.to_numpy()
    else:
        values = np.asarray(y)
        if values.ndim == 2 and 1 in values.shape:
            values = values.ravel()
        if values.ndim != 1:
            raise ValueError(f"{_label(uid)}: y must be 1-D, got an array of shape {values.shape}")
        index = pd.RangeIndex(len(values))
    vals = _check_values(values, uid)
    if vals.ndim != 1:
        raise ValueError(f"{_label(uid)}: y must be 1-D, got shape {vals.shape}")
    ds, step, index_type, tz = _stamps_from_index(index, uid, freq)
    if isinstance(X, pd.DataFrame) and isinstance(y, pd.Series) and not X.index.equals(y.index):
        if len(X) == len(y):
            X = X.set_axis(y.index)
        else:
            raise ValueError(f"{_label(uid)}: X has {len(X)} rows but the series has {len(y)} observations")
    Xv, names = _coerce_exog(X, len(vals), uid)
    return Panel([SeriesData(uid, ds, vals, Xv)], "series", step, index_type, names, name, tz)


def _stamps_from_index(index, uid, freq):
    """Numpy stamps, step/offset, index type and time zone of a pandas index."""
    if isinstance(index, pd.DatetimeIndex):
        index = index.as_unit("ns")
        _check_order(index.asi8, uid, "datetime")
        off = _freq_of_datetimes(index, uid, freq)
        _check_regular(index, off, uid)
        tz = index.tz
        ds = index.tz_convert("UTC").tz_localize(None).to_numpy() if tz is not None else index.to_numpy()
        return ds, off, "datetime", tz
    if isinstance(index, pd.PeriodIndex):
        ords = index.asi8
        _check_order(ords, uid, "period", index.freq)
        if len(ords) > 1 and (np.diff(ords) != 1).any():
            i = int(np.flatnonzero(np.diff(ords) != 1)[0]) + 1
            raise ValueError(f"{_label(uid)}: missing periods: {index[i - 1]} is followed by {index[i]}")
        return ords.astype(np.int64), index.freq, "period", None
    if isinstance(index, pd.Index) and (np.issubdtype(index.dtype, np.integer)):
        vals = index.to_numpy().astype(np.int64)
        _check_order(vals, uid)
        step = int(vals[1] - vals[0]) if len(vals) > 1 else 1
        if len(vals) > 2 and (np.diff(vals) != step).any():
            i = int(np.flatnonzero(np.diff(vals) != step)[0]) + 1
            raise ValueError(f"{_label(uid)}: irregular integer stamps: {vals[i - 1]} is followed by {vals[i]}")
        return vals, step, "range", None
    raise TypeError(
        f"{_label(uid)}: the index must be a DatetimeIndex, a PeriodIndex or an integer index, "
        f"got {type(index).__name__}"
    )


def _series_at(bounds, i) -> int:
    """The series (group number) that row ``i`` of the grouped panel belongs to."""
    return int(np.searchsorted(bounds, i, side="right") - 1)


def _frame_stamps(ds_col: pd.Series):
    """The ``ds`` column as numpy stamps (UTC-naive datetime64[ns], int64 or period ordinals), kind and tz."""
    if pd.api.types.is_datetime64_any_dtype(ds_col):
        tz = getattr(ds_col.dt, "tz", None)
        ds_all = (ds_col.dt.tz_convert("UTC").dt.tz_localize(None) if tz is not None else ds_col).to_numpy()
        return ds_all.astype("datetime64[ns]"), "datetime", tz
    if pd.api.types.is_integer_dtype(ds_col):
        return ds_col.to_numpy().astype(np.int64), "range", None
    if isinstance(ds_col.dtype, pd.PeriodDtype):
        return pd.PeriodIndex(ds_col).asi8, "period", None
    try:
        return pd.to_datetime(ds_col).to_numpy().astype("datetime64[ns]"), "datetime", None
    except (TypeError, ValueError):
        raise TypeError(f"column 'ds' must hold datetimes or integers, got dtype {ds_col.dtype}") from None


def _frame_values(df: pd.DataFrame, exog: list, uniques):
    """``y`` (and the exogenous columns) of a long frame as float64, or a clear ``TypeError``."""
    try:
        y_all = df["y"].to_numpy().astype(np.float64)
    except (TypeError, ValueError):
        bad = pd.to_numeric(df["y"], errors="coerce").isna() & df["y"].notna()
        first = df.loc[bad, "unique_id"].iloc[0] if bad.any() else uniques[0]
        raise TypeError(f"{_label(first)}: y must be numeric, got dtype {df['y'].dtype}") from None
    if not exog:
        return y_all, None
    try:
        return y_all, df[exog].to_numpy(dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"exogenous columns {exog} must be numeric") from None


def _check_frame_finite(y_o, X_o, bounds, uniques) -> None:
    """Vectorised over the whole frame; per-series detail (naming the series) only when something is wrong."""
    finite = np.isfinite(y_o)
    if not finite.all():
        s = _series_at(bounds, int(np.flatnonzero(~finite)[0]))
        _check_values(y_o[bounds[s]:bounds[s + 1]], uniques[s])
    if X_o is not None and not np.isfinite(X_o).all():
        s = _series_at(bounds, int(np.flatnonzero(~np.isfinite(X_o).all(axis=1))[0]))
        _check_values(X_o[bounds[s]:bounds[s + 1]], uniques[s], what="X")


def _frame_step(ds_o, bounds, uniques, same, index_type, freq, tz, ds_col):
    """Sorted, regular stamps within every series; returns the panel's frequency (offset or int step)."""
    ds_int = ds_o.view(np.int64) if ds_o.dtype.kind == "M" else ds_o
    d = np.diff(ds_int)
    dd = d[same]
    if (dd <= 0).any():
        s = _series_at(bounds, int(np.flatnonzero(same & (d <= 0))[0]) + 1)
        pfreq = ds_col.dtype.freq if index_type == "period" else None
        _check_order(ds_o[bounds[s]:bounds[s + 1]], uniques[s], index_type, pfreq)
    if index_type == "datetime":
        return _panel_freq(ds_o, bounds, uniques, freq, same, d, tz)
    if index_type == "period":
        if (dd != 1).any():
            s = _series_at(bounds, int(np.flatnonzero(same & (d != 1))[0]) + 1)
            raise ValueError(f"{_label(uniques[s])}: missing periods in column 'ds'")
        return ds_col.dtype.freq
    steps = np.unique(dd)
    step = int(steps[0]) if len(steps) else 1
    if len(steps) > 1:
        s = _series_at(bounds, int(np.flatnonzero(same & (d != step))[0]) + 1)
        raise ValueError(f"{_label(uniques[s])}: irregular integer stamps in column 'ds'")
    return step


def _panel_from_frame(df: pd.DataFrame, freq) -> Panel:
    missing = [c for c in PANEL_COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(
            f"a panel must be a long DataFrame with columns unique_id, ds, y; missing column(s) {missing} "
            f"(got {list(df.columns)})"
        )
    if len(df) == 0:
        raise ValueError("the panel is empty (no rows)")
    exog = [c for c in df.columns if c not in PANEL_COLUMNS]
    # group rows by series in order of first appearance, keeping the row order within a series
    codes, uniques = pd.factorize(df["unique_id"].to_numpy(), sort=False)
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(uniques) + 1))
    ds_all, index_type, tz = _frame_stamps(df["ds"])
    y_all, X_all = _frame_values(df, exog, uniques)
    ds_o, y_o = ds_all[order], y_all[order]
    X_o = X_all[order] if X_all is not None else None
    _check_frame_finite(y_o, X_o, bounds, uniques)
    same = codes[order][1:] == codes[order][:-1]
    step = _frame_step(ds_o, bounds, uniques, same, index_type, freq, tz, df["ds"])
    series = [SeriesData(uid, ds_o[a:b], y_o[a:b], None if X_o is None else X_o[a:b])
              for uid, a, b in zip(uniques, bounds[:-1], bounds[1:])]
    return Panel(series, "panel", step, index_type, [str(c) for c in exog], None, tz)


def _local(values, tz) -> pd.DatetimeIndex:
    """UTC-naive stored stamps as the user's local (tz-aware) stamps; unchanged when there is no time zone."""
    idx = pd.DatetimeIndex(values)
    return idx.tz_localize("UTC").tz_convert(tz) if tz is not None else idx


def _utc_naive(idx: pd.DatetimeIndex) -> np.ndarray:
    idx = idx.tz_convert("UTC").tz_localize(None) if idx.tz is not None else idx
    return idx.as_unit("ns").to_numpy()


def _panel_freq(ds_o, bounds, uniques, freq, same, d, tz=None):
    """One frequency for all dated series of a panel; irregular stamps raise naming the series.

    Calendar frequencies of tz-aware stamps are judged in local time (a month starts at local midnight).
    """
    if freq is not None:
        off = pd.tseries.frequencies.to_offset(freq)
    else:
        lengths = np.diff(bounds)
        k = int(np.argmax(lengths))
        off = _freq_of_datetimes(_local(ds_o[bounds[k]:bounds[k + 1]], tz), uniques[k])
        if off is None:
            raise ValueError("every series of the panel has one observation: no frequency can be inferred")
    step = fixed_step_ns(off, tz)
    if step is not None:
        bad = same & (d != step)
        if bad.any():
            i = int(np.flatnonzero(bad)[0]) + 1
            s = int(np.searchsorted(bounds, i, side="right") - 1)
            _check_regular(_local(ds_o[bounds[s]:bounds[s + 1]], tz), off, uniques[s])
        return off
    # calendar offsets: one grid over the whole span; every series must step along it one point at a time
    lo, hi = _local([ds_o.min(), ds_o.max()], tz)
    grid = _utc_naive(pd.date_range(lo, hi, freq=off))
    pos = np.searchsorted(grid, ds_o)
    on_grid = (pos < len(grid)) & (grid[np.minimum(pos, len(grid) - 1)] == ds_o)
    if on_grid.all() and (np.diff(pos)[same] == 1).all():
        return off
    for k in range(len(uniques)):  # find and name the first offending series
        _check_regular(_local(ds_o[bounds[k]:bounds[k + 1]], tz), off, uniques[k])
    return off


def fixed_step_ns(off, tz=None) -> int | None:
    """The constant step in ns of a frequency, or None for calendar offsets (months, DST-aware days)."""
    if isinstance(off, pd.offsets.Tick):
        return int(pd.Timedelta(off).value)
    if tz is None and isinstance(off, pd.offsets.Day):
        return int(off.n) * 86_400_000_000_000
    if tz is None and isinstance(off, pd.offsets.Week) and off.weekday is None:
        return int(off.n) * 7 * 86_400_000_000_000
    return None


def check_horizon(h) -> int:
    """``h`` as a positive int, or ``ValueError``."""
    if isinstance(h, (bool, np.bool_)) or not isinstance(h, (int, np.integer)):
        if isinstance(h, float) and h.is_integer():
            h = int(h)
        else:
            raise TypeError(f"the horizon h must be a positive integer, got {h!r}")
    if h < 1:
        raise ValueError(f"the horizon h must be >= 1, got {h}")
    return int(h)


def check_levels(level) -> list:
    """Interval levels in percent as a sorted list of numbers in (1, 100), or ``[]``.

    A level <= 1 is almost always a fraction meant as a percentage (``0.95`` for 95 %): it is refused with a
    message that suggests the percentage instead of silently giving a 0.95 % interval.
    """
    if level is None:
        return []
    if isinstance(level, (int, float, np.number)):
        level = [level]
    out = []
    for lv in level:
        if isinstance(lv, (bool, np.bool_)) or not isinstance(lv, (int, float, np.number)) or not np.isfinite(lv):
            raise ValueError(f"interval levels must be percentages in (1, 100), e.g. level=[80, 95]; got {lv!r}")
        if 0 < lv <= 1:
            raise ValueError(
                f"interval levels are percentages: level={lv!r} looks like a fraction; "
                f"pass level={100 * lv:g} for a {100 * lv:g} % interval"
            )
        if not 1 < lv < 100:
            raise ValueError(f"interval levels must be percentages in (1, 100), e.g. level=[80, 95]; got {lv!r}")
        out.append(int(lv) if float(lv).is_integer() else float(lv))
    return sorted(set(out))


_FUTURE_CACHE: dict = {}


def future_index(panel: Panel, s: SeriesData, h: int) -> np.ndarray:
    """The ``h`` stamps after the last stamp of ``s`` (numpy, same kind as ``s.ds``)."""
    last = s.ds[-1]
    if panel.index_type == "datetime":
        off = panel.freq
        if off is None:
            raise ValueError(f"{_label(s.uid)}: cannot forecast: no frequency known for a one-point series")
        step = fixed_step_ns(off, panel.tz)
        if step is not None:
            if int(last.astype("datetime64[ns]").view(np.int64)) > pd.Timestamp.max.value - h * step:
                _raise_out_of_range(panel, s, h)
            return last + np.arange(1, h + 1, dtype=np.int64) * np.timedelta64(step, "ns")
        key = (last, off, h, panel.tz)
        out = _FUTURE_CACHE.get(key)
        if out is None:  # calendar steps are taken in the user's local time
            try:
                out = _utc_naive(pd.date_range(_local([last], panel.tz)[0], periods=h + 1, freq=off)[1:])
            except (pd.errors.OutOfBoundsDatetime, OverflowError):
                _raise_out_of_range(panel, s, h)
            if len(_FUTURE_CACHE) > 4096:
                _FUTURE_CACHE.clear()
            _FUTURE_CACHE[key] = out
        return out
    step = 1 if panel.index_type == "period" else panel.freq
    return last + np.arange(1, h + 1, dtype=np.int64) * step


def _raise_out_of_range(panel: Panel, s: SeriesData, h: int) -> None:
    raise ValueError(
        f"{_label(s.uid)}: h={h} steps of {panel.freq.freqstr} after {format_stamp(panel, s.ds[-1])} run past the "
        f"last date pandas can represent ({pd.Timestamp.max.date()}); use a smaller h"
    )


def to_pandas_index(panel: Panel, ds: np.ndarray) -> pd.Index:
    """Numpy stamps back to the pandas index type the user gave."""
    if panel.index_type == "datetime":
        idx = pd.DatetimeIndex(ds).as_unit("ns")
        if panel.tz is not None:
            idx = idx.tz_localize("UTC").tz_convert(panel.tz)
        try:
            idx.freq = panel.freq
        except (ValueError, TypeError):
            pass
        return idx
    if panel.index_type == "period":
        return pd.PeriodIndex.from_ordinals(ds, freq=panel.freq)
    if len(ds) > 1 and panel.freq:
        return pd.RangeIndex(int(ds[0]), int(ds[-1]) + panel.freq, panel.freq)
    return pd.Index(ds)


def to_pandas_stamps(panel: Panel, ds: np.ndarray):
    """Numpy stamps as values for the ``ds`` column of a long frame."""
    if panel.index_type == "period":
        return pd.PeriodIndex.from_ordinals(ds, freq=panel.freq)
    if panel.index_type == "datetime" and panel.tz is not None:
        return pd.DatetimeIndex(ds).tz_localize("UTC").tz_convert(panel.tz)
    return ds


def _x_stamps(panel: Panel, values) -> np.ndarray:
    """Stamps given with future ``X`` in the stored form of ``panel`` (UTC-naive ns, period ordinals, ints)."""
    if panel.index_type == "datetime":
        idx = pd.DatetimeIndex(values)
        if idx.tz is None and panel.tz is not None:
            idx = idx.tz_localize(panel.tz)
        return _utc_naive(idx)
    if panel.index_type == "period":
        idx = pd.Index(values)
        idx = idx if isinstance(idx, pd.PeriodIndex) else pd.PeriodIndex(pd.DatetimeIndex(idx), freq=panel.freq)
        return idx.asi8
    return np.asarray(values).astype(np.int64)


def _stamped_index(panel: Panel, X: pd.DataFrame):
    """The stamps a single series' future ``X`` carries (a ``ds`` column or a date/period index), else None.

    A default ``RangeIndex`` (0, 1, ...) of a dated series, or one that does not start after an integer-indexed
    series, carries no stamps: such rows are taken in order.
    """
    if "ds" in X.columns:
        return X["ds"]
    idx = X.index
    if panel.index_type == "datetime" and isinstance(idx, pd.DatetimeIndex):
        return idx
    if panel.index_type == "period" and isinstance(idx, (pd.PeriodIndex, pd.DatetimeIndex)):
        return idx
    if panel.index_type == "range" and pd.api.types.is_integer_dtype(idx.dtype) and len(idx):
        if not (isinstance(idx, pd.RangeIndex) and idx.start == 0 and idx.step == 1):
            return idx
    return None


def _align_by_stamps(panel: Panel, s: SeriesData, vals: np.ndarray, stamps, h: int) -> np.ndarray:
    """Rows of ``vals`` reordered to the ``h`` forecast stamps of ``s``; missing, extra or repeated stamps raise."""
    try:
        got = _x_stamps(panel, stamps)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{_label(s.uid)}: the stamps of X at predict cannot be read: {exc}") from None
    want = future_index(panel, s, h)
    gi = pd.Index(got)
    if gi.has_duplicates:
        raise ValueError(f"{_label(s.uid)}: X at predict repeats stamps {format_stamps(panel, gi[gi.duplicated()])}")
    pos = gi.get_indexer(want)
    extra = np.setdiff1d(got, want)
    if (pos < 0).any() or len(extra):
        parts = []
        if (pos < 0).any():
            parts.append(f"misses forecast stamps {format_stamps(panel, want[pos < 0])}")
        if len(extra):
            parts.append(f"has stamps outside the forecast {format_stamps(panel, extra)}")
        raise ValueError(
            f"{_label(s.uid)}: X at predict must hold one row per forecast stamp "
            f"{format_stamps(panel, want[:1])} ... {format_stamps(panel, want[-1:])} (h={h}); it "
            + " and ".join(parts)
        )
    return vals[pos]


def _exog_for_series(panel: Panel, X, h: int) -> dict:
    s = panel.series[0]
    names = panel.exog_names
    stamps = None
    if isinstance(X, pd.Series):
        X = X.to_frame()
    if isinstance(X, pd.DataFrame):
        missing = [c for c in names if c not in X.columns]
        if missing:
            raise ValueError(f"{_label(s.uid)}: exogenous column(s) {missing} missing from X at predict")
        stamps = _stamped_index(panel, X)
        vals = X[names].to_numpy()
    else:
        vals = np.asarray(X)
        vals = vals[:, None] if vals.ndim == 1 else vals
        if vals.shape[1] != len(names):
            raise ValueError(f"{_label(s.uid)}: X at predict has {vals.shape[1]} columns, expected {len(names)}")
    vals = _check_values(vals, s.uid, what="X")
    if stamps is not None:
        return {s.uid: _align_by_stamps(panel, s, vals, stamps, h)}
    if len(vals) < h:
        raise ValueError(f"{_label(s.uid)}: X at predict has {len(vals)} rows, fewer than h={h}")
    return {s.uid: vals[:h]}


def exog_for_predict(panel: Panel, X, h: int) -> dict:
    """Future exogenous values ``{uid: (h, n_exog) array}`` for a fitted panel, with clear errors.

    Rows are matched to the forecast stamps by ``ds``: the ``ds`` column of a long frame (per series), or for a
    single series a ``ds`` column or a date/period index. Every forecast stamp needs exactly one row and no
    other stamp may appear; row order does not matter. Rows without stamps (a numpy array, or a frame with a
    default ``RangeIndex``) are taken in order, the first ``h`` of them.
    """
    names = panel.exog_names
    if not names:
        if X is not None:
            raise ValueError("X was given at predict but the model was fitted without exogenous regressors")
        return {}
    if X is None:
        raise ValueError(f"the model was fitted with exogenous regressors {names}: predict needs their future values X")
    if panel.kind == "series":
        return _exog_for_series(panel, X, h)
    if not isinstance(X, pd.DataFrame) or "unique_id" not in X.columns or "ds" not in X.columns:
        raise TypeError("for a panel, X at predict must be a long DataFrame with unique_id, ds and the exogenous columns")
    missing = [c for c in names if c not in X.columns]
    if missing:
        raise ValueError(f"exogenous column(s) {missing} missing from X at predict")
    known = set(panel.uids)
    unknown = [u for u in pd.unique(X["unique_id"]) if u not in known]
    if unknown:
        raise ValueError(f"X at predict names unknown series {unknown[:5]} (not seen in fit)")
    groups = dict(tuple(X.groupby("unique_id", sort=False)))
    out = {}
    for s in panel.series:
        g = groups.get(s.uid)
        if g is None:
            raise ValueError(f"{_label(s.uid)}: no future exogenous values in X at predict")
        vals = _check_values(g[names].to_numpy(), s.uid, what="X")
        out[s.uid] = _align_by_stamps(panel, s, vals, g["ds"], h)
    return out
