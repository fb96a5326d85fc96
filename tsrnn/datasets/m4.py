"""M4 competition data (Makridakis et al., 2020): the official train/test split of one frequency group."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from ._fetch import DatasetFormatError, fetch, parsing
from .registry import M4_GROUPS, _m4_files

__all__ = ["load_m4", "m4_info"]


def _read_m4_csv(path: Path) -> tuple[list[str], list[np.ndarray]]:
    """Rows of an M4 file: ids and value arrays (the padding of short rows dropped).

    The files quote every field (``"H1","605","586",...``) and pad shorter rows with empty unquoted fields.
    A malformed file (not UTF-8, a non-numeric or non-finite value, a row with no values, no rows at all, a
    repeated id) raises :class:`DatasetFormatError` naming the file and the row.
    """
    ids, values = [], []
    with parsing(path, "M4 csv file"), open(path, encoding="utf-8") as f:
        f.readline()  # header "V1","V2",...
        for row, line in enumerate(f, start=2):
            fields = line.rstrip("\r\n").replace('"', "").split(",")
            if not fields[0]:
                continue
            k = len(fields)
            while k > 1 and fields[k - 1] == "":
                k -= 1
            try:
                vals = np.asarray(fields[1:k], dtype=np.float64)
            except ValueError as exc:
                raise DatasetFormatError(f"{path}: row {row} ({fields[0][:40]!r}): {exc}") from None
            if len(vals) == 0 or not np.isfinite(vals).all():
                what = "no values" if len(vals) == 0 else "a non-finite value"
                raise DatasetFormatError(f"{path}: row {row} ({fields[0][:40]!r}) has {what}")
            ids.append(fields[0])
            values.append(vals)
    if not ids:
        raise DatasetFormatError(f"{path}: no series found (empty or header-only file)")
    if len(set(ids)) != len(ids):
        raise DatasetFormatError(f"{path}: repeated series ids")
    return ids, values


def _long(ids: list[str], values: list[np.ndarray], offsets: list[int] | None = None) -> pd.DataFrame:
    lengths = np.fromiter((len(v) for v in values), dtype=np.int64, count=len(values))
    starts = np.ones(len(values), dtype=np.int64) if offsets is None else np.asarray(offsets, dtype=np.int64) + 1
    ds = np.concatenate([s + np.arange(n, dtype=np.int64) for s, n in zip(starts, lengths)]) if len(values) else []
    return pd.DataFrame({
        "unique_id": np.repeat(np.asarray(ids, dtype=object), lengths),
        "ds": np.asarray(ds, dtype=np.int64),
        "y": np.concatenate(values) if values else np.array([], dtype=np.float64),
    })


def _canonical_group(group: str) -> str:
    for g in M4_GROUPS:
        if str(group).lower() == g.lower():
            return g
    raise ValueError(f"unknown M4 group {group!r}; choose one of {list(M4_GROUPS)}")


def load_m4(
    group: str = "Hourly",
    *,
    data_home: str | os.PathLike | None = None,
    download_if_missing: bool = True,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Load one M4 group with its official hold-out.

    Parameters
    ----------
    group : {"Hourly", "Daily", "Weekly", "Monthly", "Quarterly", "Yearly"}
        Case-insensitive. Official horizons / season lengths: Hourly 48/24, Daily 14/1, Weekly 13/1,
        Monthly 18/12, Quarterly 8/4, Yearly 6/1 (``tsrnn.datasets.registry.M4_GROUPS``).
    data_home : path, optional
        Download cache (default ``$TSRNN_DATA_HOME`` or the user cache). A ``TSRNN_DATA_MIRROR`` is read first.
    download_if_missing : bool
        Download ``<group>-train.csv`` / ``<group>-test.csv`` from the M4-methods repository when absent.

    Returns
    -------
    train, test : pd.DataFrame
        Long frames ``unique_id, ds, y`` in the file's series order. ``ds`` is the integer time step: ``1..n``
        in ``train`` and ``n+1..n+h`` in ``test`` for a series of ``n`` training values. The M4 data files carry
        no time stamps (start dates exist only in ``M4-info.csv``, and several of them are implausible), so
        steps are the honest index; use :func:`m4_info` to get the stated start dates.

    Raises
    ------
    ValueError
        Unknown group. A malformed file, train and test listing different series, or a test row whose length is
        not the official horizon raise its subclass ``DatasetFormatError``, naming the file.
    DatasetNotFoundError
        Offline with no mirror or cache: the message says which file to download from where.
    """
    g = _canonical_group(group)
    horizon = M4_GROUPS[g][1]
    train_file, test_file = _m4_files(g)
    train_path = fetch(train_file, data_home, download_if_missing)
    test_path = fetch(test_file, data_home, download_if_missing)
    ids, train_vals = _read_m4_csv(train_path)
    test_ids, test_vals = _read_m4_csv(test_path)
    if ids != test_ids:
        raise DatasetFormatError(f"M4 {g}: {train_path} and {test_path} list different series")
    bad = [i for i, v in zip(test_ids, test_vals) if len(v) != horizon]
    if bad:
        raise DatasetFormatError(f"M4 {g}: {test_path}: rows {bad[:5]} do not have the official horizon {horizon}")
    train = _long(ids, train_vals)
    test = _long(ids, test_vals, offsets=[len(v) for v in train_vals])
    return train, test


def m4_info(*, data_home: str | os.PathLike | None = None, download_if_missing: bool = True) -> pd.DataFrame:
    """``M4-info.csv`` (series id, category, frequency, horizon, stated start date) as a DataFrame.

    Not in the shared mirror (too large for its snapshot); downloaded from the M4-methods repository. The file is
    not checksummed in the registry. ``StartingDate`` is left as text: its two-digit years are ambiguous.
    """
    from .registry import M4_INFO

    return pd.read_csv(fetch(M4_INFO, data_home, download_if_missing))
