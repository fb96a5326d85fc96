"""Numenta Anomaly Benchmark (NAB v1.1 corpus): labelled streams with anomaly windows."""

from __future__ import annotations

import json
import os
import re
import warnings

import numpy as np
import pandas as pd

from ._fetch import DatasetFormatError, DatasetNotFoundError, fetch, find_local, mirror_root, parsing
from .registry import NAB_LABELS, NAB_WINDOWS, nab_file

__all__ = ["load_nab", "nab_names"]

_WINDOW_FORMAT = "%Y-%m-%d %H:%M:%S.%f"
# "<category>/<file>.csv" with plain names (no blanks, no empty stem), as in NAB's own label files
_KEY = re.compile(r"[A-Za-z0-9_\-]+/[A-Za-z0-9_\-][A-Za-z0-9_.\-]*\.csv")


def _read_json(file, data_home, download_if_missing) -> dict:
    """A NAB label file: ``{"<category>/<file>.csv": [...]}``; anything else raises naming the file."""
    path = fetch(file, data_home, download_if_missing)
    with parsing(path, "NAB label file (JSON)"), open(path, encoding="utf-8") as f:
        out = json.load(f)
    if not isinstance(out, dict) or not all(isinstance(k, str) and isinstance(v, list) for k, v in out.items()):
        raise DatasetFormatError(f"{path}: a NAB label file must map file names to lists")
    bad = [k for k in out if not _KEY.fullmatch(k) or ".." in k]
    if bad:
        raise DatasetFormatError(f"{path}: keys must be '<category>/<file>.csv', got {bad[:3]}")
    return out


def nab_names(*, data_home: str | os.PathLike | None = None, download_if_missing: bool = True) -> list[str]:
    """Series names (``<category>/<file>.csv``) listed in the label file in use (the mirror's or NAB's)."""
    return sorted(_read_json(NAB_WINDOWS, data_home, download_if_missing))


def _present(keys: list[str], data_home) -> list[str]:
    """The keys whose data file is on this machine (mirror or cache); a corrupt copy raises ChecksumError."""
    return [k for k in keys if find_local(nab_file(k), data_home) is not None]


def _available(chosen: list[str], everything: bool, data_home, download_if_missing: bool) -> list[str]:
    """Narrow ``chosen`` to what can be loaded, or raise naming every missing series.

    ``names=None`` with ``TSRNN_DATA_MIRROR`` set loads the series the mirror (or the cache) holds and warns
    about the rest: a mirror may hold only part of NAB while the label files list all 58. ``names="all"``, an
    explicit name, or no mirror: every chosen series must be present or downloadable.
    """
    present = _present(chosen, data_home)
    missing = [k for k in chosen if k not in present]
    if not missing:
        return chosen
    if not everything and mirror_root() is not None:
        if not present:
            raise DatasetNotFoundError(
                f"none of the {len(chosen)} NAB series listed in combined_windows.json has its data file in the "
                f"mirror {mirror_root()} or the cache (first missing: {missing[:3]})")
        warnings.warn(
            f"the NAB mirror holds {len(present)} of the {len(chosen)} series listed in combined_windows.json; "
            f"loading those. Missing: {', '.join(k[:-4] for k in missing[:10])}"
            f"{' ...' if len(missing) > 10 else ''} (pass names='all' to require every series)",
            UserWarning, stacklevel=3)
        return present
    if not download_if_missing:
        raise DatasetNotFoundError(
            f"{len(missing)} of the {len(chosen)} NAB series asked for are neither in the mirror nor in the "
            f"cache, and download_if_missing=False: {', '.join(k[:-4] for k in missing)}")
    return chosen


def _select(all_names: list[str], names, category) -> list[str]:
    if names is None or (isinstance(names, str) and names == "all"):
        chosen = list(all_names)
    else:
        if isinstance(names, str):
            names = [names]
        chosen = []
        for n in names:
            key = n if n.endswith(".csv") else f"{n}.csv"
            hits = [a for a in all_names if a == key or a.rsplit("/", 1)[-1] == key]
            if len(hits) != 1:
                raise ValueError(
                    f"NAB series {n!r} {'is ambiguous' if hits else 'is not in the label file'}; use "
                    f"'<category>/<file>'. Known: {all_names} (a mirror may hold only part of NAB)"
                )
            chosen.append(hits[0])
    if category is not None:
        cats = {category} if isinstance(category, str) else set(category)
        known = {a.split("/", 1)[0] for a in all_names}
        unknown = cats - known
        if unknown:
            raise ValueError(f"unknown NAB category {sorted(unknown)}; known: {sorted(known)}")
        chosen = [c for c in chosen if c.split("/", 1)[0] in cats]
    if not chosen:
        raise ValueError("no NAB series matches the given names and category")
    return chosen


def _in_windows(stamps: np.ndarray, windows: list[tuple[pd.Timestamp, pd.Timestamp]], width=None) -> np.ndarray:
    """0/1 per stamp: inside some window (``start <= t <= end``), or for bins ``[t, t + width)`` overlapping one."""
    label = np.zeros(len(stamps), dtype=np.int8)
    for start, end in windows:
        s, e = np.datetime64(start, "ns"), np.datetime64(end, "ns")
        if width is None:
            label[(stamps >= s) & (stamps <= e)] = 1
        else:
            label[(stamps + width > s) & (stamps <= e)] = 1
    return label


def _resample(uid: str, df: pd.DataFrame, rule: str, windows) -> pd.DataFrame:
    s = df.set_index("ds")["y"].resample(rule).mean().interpolate(method="time")
    stamps = s.index.to_numpy()
    width = pd.Timedelta(pd.tseries.frequencies.to_offset(rule)).to_timedelta64()
    return pd.DataFrame({"unique_id": uid, "ds": s.index, "y": s.to_numpy(),
                         "label": _in_windows(stamps, windows, width)})


def _load_series(key: str, all_windows: dict, points: dict, resample, data_home, download_if_missing):
    """One NAB series ``key`` (``<category>/<file>.csv``): its labelled frame, window rows and label-point rows."""
    uid = key[: -len(".csv")]
    try:
        path = fetch(nab_file(key), data_home, download_if_missing)
    except DatasetNotFoundError as e:  # say where the name came from: it may be a typo in the windows file
        raise DatasetNotFoundError(f"{e} (series {key!r} is listed in combined_windows.json)") from None
    with parsing(path, "NAB data file (csv with columns timestamp, value)"):
        raw = pd.read_csv(path)
        df = pd.DataFrame({"unique_id": uid, "ds": pd.to_datetime(raw["timestamp"]).astype("datetime64[ns]"),
                           "y": raw["value"].astype(np.float64)})
        if len(df) == 0 or df["ds"].isna().any() or not np.isfinite(df["y"].to_numpy()).all():
            raise ValueError("no rows, a missing time stamp or a non-finite value")
    with parsing(f"{path.parent.parent.parent / 'combined_windows.json'} (entry {key})", "anomaly windows"):
        windows = [(pd.to_datetime(a, format=_WINDOW_FORMAT), pd.to_datetime(b, format=_WINDOW_FORMAT))
                   for a, b in all_windows[key]]
    with parsing(path, "NAB data file"):
        if resample is None:
            df["label"] = _in_windows(df["ds"].to_numpy(), windows)
        else:
            df = _resample(uid, df, _resample_rule(df, resample), windows)
    with parsing(f"{path.parent.parent.parent / 'combined_labels.json'} (entry {key})", "anomaly labels"):
        pts = [(uid, pd.Timestamp(p)) for p in points.get(key, [])]
    return df, [(uid, a, b) for a, b in windows], pts


def _resample_rule(df: pd.DataFrame, resample: str) -> str:
    """``resample`` itself, or for ``"auto"`` the series' most common step."""
    if resample != "auto":
        return resample
    steps = df["ds"].diff().dropna()
    if len(steps) == 0 or steps.mode().iloc[0] <= pd.Timedelta(0):
        raise ValueError("resample='auto' needs at least two distinct, increasing time stamps")
    return pd.tseries.frequencies.to_offset(steps.mode().iloc[0]).freqstr


def load_nab(
    names: str | list[str] | None = None,
    category: str | list[str] | None = None,
    *,
    resample: str | None = None,
    return_labels: bool = False,
    data_home: str | os.PathLike | None = None,
    download_if_missing: bool = True,
):
    """Load NAB series with their 0/1 anomaly-window labels.

    Parameters
    ----------
    names : str or list of str, optional
        ``"realKnownCause/nyc_taxi"`` (``.csv`` optional) or the bare file name ``"nyc_taxi"``. ``"all"``: every
        series listed in NAB's label files (58); any that is neither on this machine nor downloadable raises a
        :class:`DatasetNotFoundError` naming them all. Default (``None``): the same, except that with
        ``TSRNN_DATA_MIRROR`` set the series whose data the mirror (or the cache) holds are loaded and the missing
        ones named in a warning (a mirror may hold part of NAB; the shared one holds 20).
    category : str or list of str, optional
        Keep only these categories (``"realKnownCause"``, ``"artificialWithAnomaly"``, ...).
    resample : str, optional
        A pandas frequency (``"5min"``, ``"1h"``) or ``"auto"`` (each series' most common step). ``None``
        (default) keeps NAB's rows exactly as they are, in file order: several real series have gaps and jitter,
        and three of the mirrored ones repeat stamps (``ec2_network_in_5abac7`` and
        ``ec2_request_latency_system_failure`` 11 each, ``machine_temperature_system_failure`` 12, one block of
        which goes back an hour), so models that need a regular, increasing index will reject them. With a rule,
        values are averaged per bin ``[t, t + rule)`` (duplicates included), empty bins are filled by linear
        interpolation in time, and a bin is labelled 1 when it overlaps an anomaly window.
    return_labels : bool
        Also return the windows and NAB's raw label stamps.
    data_home, download_if_missing
        Cache folder and whether to download missing files from NAB's repository (pinned commit).

    Returns
    -------
    data : pd.DataFrame
        Long frame ``unique_id, ds, y, label``: ``unique_id`` is ``<category>/<file>`` without ``.csv``, ``ds`` the
        stamp (``datetime64``), ``label`` 1 where ``start <= ds <= end`` for one of the series' windows
        (``combined_windows.json``), else 0.
    windows : pd.DataFrame, only with ``return_labels``
        ``unique_id, start, end``: one row per window.
    points : pd.DataFrame, only with ``return_labels``
        ``unique_id, ds``: the labelled anomaly stamps (``combined_labels.json``).
    """
    all_windows = _read_json(NAB_WINDOWS, data_home, download_if_missing)
    chosen = _select(sorted(all_windows), names, category)
    chosen = _available(chosen, names is not None, data_home, download_if_missing)
    points = _read_json(NAB_LABELS, data_home, download_if_missing) if return_labels else {}
    frames, win_rows, point_rows = [], [], []
    for key in chosen:
        df, windows, pts = _load_series(key, all_windows, points, resample, data_home, download_if_missing)
        frames.append(df)
        win_rows += windows
        point_rows += pts
    data = pd.concat(frames, ignore_index=True)
    data["label"] = data["label"].astype(np.int64)
    if not return_labels:
        return data
    windows = pd.DataFrame(win_rows, columns=["unique_id", "start", "end"])
    pts = pd.DataFrame(point_rows, columns=["unique_id", "ds"])
    return data, windows, pts
