"""UCR time-series classification archive (ECG200, ECG5000, ...): the official train/test split."""

from __future__ import annotations

import os
import shutil
import warnings
from pathlib import Path, PurePosixPath

import numpy as np

from ._fetch import (
    DatasetFormatError,
    DatasetNotFoundError,
    RemoteFile,
    data_home,
    fetch,
    find_local,
    parsing,
    safe_extract,
)
from .registry import _ECG200, UCR_ZIP_URL

__all__ = ["load_ucr"]


def _parse_txt(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """UCR text format: one series per line, label first, whitespace- (or tab-, or comma-) separated."""
    with parsing(path, "UCR text file"):
        with open(path, encoding="utf-8") as f:
            text = f.read().replace(",", " ")
        with warnings.catch_warnings():  # an empty file is reported below, not warned about
            warnings.filterwarnings("ignore", message=".*input contained no data.*")
            a = np.loadtxt(text.splitlines(), dtype=np.float64, ndmin=2)
    if a.shape[0] == 0 or a.shape[1] < 2:
        raise DatasetFormatError(f"{path}: no series found (each line needs a label and at least one value)")
    if not np.isfinite(a).all():
        raise DatasetFormatError(f"{path}: line {int(np.flatnonzero(~np.isfinite(a).all(axis=1))[0]) + 1} holds a "
                                 f"non-finite value")
    return a[:, 1:], a[:, 0]


def _parse_ts(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """sktime/aeon ``.ts`` format (univariate, equal length): ``v1,v2,...,vn:label`` after ``@data``."""
    rows, labels, in_data = [], [], False
    with parsing(path, ".ts file"), open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if not in_data:
                in_data = line.lower() == "@data"
                continue
            *dims, label = line.split(":")
            if len(dims) != 1:
                raise ValueError(f"{path}: only univariate .ts files are supported")
            rows.append(np.asarray(dims[0].split(","), dtype=np.float64))
            labels.append(label)
    if not rows:
        raise DatasetFormatError(f"{path}: no series found after @data")
    if len({len(r) for r in rows}) > 1:
        raise ValueError(f"{path}: series of unequal length are not supported")
    X = np.vstack(rows)
    if not np.isfinite(X).all():
        raise DatasetFormatError(f"{path}: non-finite values (missing values are not supported)")
    return X, np.asarray(labels)


def _labels(y: np.ndarray) -> np.ndarray:
    try:
        f = y.astype(np.float64)
    except ValueError:
        return y.astype(str)
    return f.astype(np.int64) if np.all(f == np.round(f)) else f


def _split_files(name: str, home, download_if_missing) -> tuple[Path, Path]:
    if name == "ECG200":
        return fetch(_ECG200[0], home, download_if_missing), fetch(_ECG200[1], home, download_if_missing)
    folder = f"ucr/{name}"
    for ext in ("txt", "tsv", "ts"):
        pair = [find_local(RemoteFile(f"{folder}/{name}_{part}.{ext}"), home) for part in ("TRAIN", "TEST")]
        if all(pair):
            return pair[0], pair[1]
    archive = fetch(RemoteFile(f"{folder}/{name}.zip", UCR_ZIP_URL.format(name=name)), home, download_if_missing)
    import zipfile

    with zipfile.ZipFile(archive) as zf:
        members = [m for m in zf.namelist() if not m.endswith("/")]
    for ext in ("txt", "tsv", "ts"):
        want = {part: [m for m in members if PurePosixPath(m).name == f"{name}_{part}.{ext}"]
                for part in ("TRAIN", "TEST")}
        if all(len(v) == 1 for v in want.values()):
            dest = data_home(home) / folder
            extracted = safe_extract(archive, dest / ".extract", [want["TRAIN"][0], want["TEST"][0]])
            final = [dest / f"{name}_{part}.{ext}" for part in ("TRAIN", "TEST")]
            for src, dst in zip(extracted, final):  # flat layout, found by find_local next time
                os.replace(src, dst)
            shutil.rmtree(dest / ".extract", ignore_errors=True)
            return final[0], final[1]
    raise DatasetNotFoundError(f"archive {archive} has no {name}_TRAIN/_TEST file in .txt, .tsv or .ts format")


def load_ucr(
    name: str = "ECG200",
    *,
    data_home: str | os.PathLike | None = None,
    download_if_missing: bool = True,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Load a univariate UCR dataset with its official split.

    Parameters
    ----------
    name : str
        Archive name, case as in the archive (``"ECG200"``, ``"ECG5000"``, ``"TwoLeadECG"``...). ECG200 is read
        from ``ecg/ecg200/ECG200_{TRAIN,TEST}.txt`` (the shared mirror, checksummed); other names from
        ``ucr/<name>/<name>_{TRAIN,TEST}.{txt,tsv,ts}`` in the mirror or cache, else from the archive's zip at
        timeseriesclassification.com (not checksummed; members extracted safely).
    data_home, download_if_missing
        Cache folder and whether to download when absent.

    Returns
    -------
    X_train : ndarray of shape (n_train, length)
    y_train : ndarray of shape (n_train,)
        Class labels as in the archive (integers when they are integral, e.g. ECG200's ``-1`` / ``1``).
    X_test : ndarray of shape (n_test, length)
    y_test : ndarray of shape (n_test,)
    """
    name = str(name)
    if name.lower() == "ecg200":
        name = "ECG200"
    if not name or "/" in name or "\\" in name or name.startswith("."):
        raise ValueError(f"invalid UCR dataset name {name!r}")
    out = []
    paths = _split_files(name, data_home, download_if_missing)
    for path in paths:
        X, y = _parse_ts(path) if path.suffix == ".ts" else _parse_txt(path)
        out += [X, _labels(y)]
    if out[0].shape[1] != out[2].shape[1]:
        raise DatasetFormatError(f"UCR {name}: train length {out[0].shape[1]} ({paths[0]}) differs from test "
                                 f"length {out[2].shape[1]} ({paths[1]})")
    return out[0], out[1], out[2], out[3]
