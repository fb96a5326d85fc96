"""MIT-BIH Arrhythmia Database (PhysioNet mitdb 1.0.0): two-lead ECG records with beat annotations.

Beats are mapped to the five AAMI EC57 classes (de Chazal et al., 2004): N (normal and bundle-branch-block
beats, escapes), S (supraventricular ectopic), V (ventricular ectopic), F (fusion) and Q (paced, unclassifiable).
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ._fetch import fetch, parsing
from .registry import MITBIH_RECORDS, mitbih_files

__all__ = ["ECGRecord", "load_mitbih", "beat_windows", "AAMI_MAP", "BEAT_SYMBOLS"]

#: MIT-BIH beat symbol -> AAMI class. The 15 symbols of the AAMI standard, plus ``B`` (unspecified bundle
#: branch block, -> N), ``r`` (R-on-T PVC, -> V), ``n`` (supraventricular escape, -> S) and ``?`` (-> Q).
AAMI_MAP = {
    "N": "N", "L": "N", "R": "N", "e": "N", "j": "N", "B": "N",
    "A": "S", "a": "S", "J": "S", "S": "S", "n": "S",
    "V": "V", "E": "V", "r": "V",
    "F": "F",
    "/": "Q", "f": "Q", "Q": "Q", "?": "Q",
}
#: annotation symbols that mark a beat (at its R peak); the others are rhythm, noise or comment annotations
BEAT_SYMBOLS = frozenset(AAMI_MAP)


@dataclass
class ECGRecord:
    """One ECG record.

    Attributes
    ----------
    name : str
        Record name (``"100"``).
    signal : pd.DataFrame
        ``(n_samples, n_leads)`` in mV, one column per lead (``MLII``, ``V5``, ...), index = sample number.
    fs : float
        Sampling frequency in Hz.
    beats : pd.DataFrame
        Beat annotations: ``sample`` (R-peak sample index), ``symbol`` (MIT-BIH code) and ``aami`` (N/S/V/F/Q).
    annotations : pd.DataFrame
        Every annotation of the ``.atr`` file: ``sample``, ``symbol``, ``aux_note`` (rhythm changes, noise...).
    comments : list of str
        Header comments (age, sex, medications, notes).
    """

    name: str
    signal: pd.DataFrame
    fs: float
    beats: pd.DataFrame
    annotations: pd.DataFrame = field(repr=False)
    comments: list[str] = field(default_factory=list, repr=False)

    @property
    def duration_s(self) -> float:
        return len(self.signal) / self.fs


def _read_record(name: str, data_home, download_if_missing, sampto) -> ECGRecord:
    paths = [fetch(f, data_home, download_if_missing) for f in mitbih_files(name)]
    if len({p.parent for p in paths}) != 1:
        raise ValueError(f"MIT-BIH record {name}: its .hea/.dat/.atr files are split between the mirror and the "
                         f"cache ({[str(p) for p in paths]}); put all three in one folder")
    base = str(paths[0].with_suffix(""))
    with warnings.catch_warnings():  # wfdb 4.3 uses a pandas keyword that pandas 3.1 deprecates
        warnings.filterwarnings("ignore", message=".*inplace keyword.*")
        import wfdb

        with parsing(paths[0], "WFDB record (header or signal file)", broad=True):
            rec = wfdb.rdrecord(base, sampto=sampto)
            if rec.p_signal is None or rec.p_signal.ndim != 2 or not rec.fs or rec.fs <= 0:
                raise ValueError("no physical signal or no positive sampling frequency")
            signal = pd.DataFrame(rec.p_signal, columns=list(rec.sig_name))
        with parsing(paths[2], "WFDB annotation file", broad=True):
            ann = wfdb.rdann(base, "atr", sampto=sampto)
            annotations = pd.DataFrame({
                "sample": np.asarray(ann.sample, dtype=np.int64),
                "symbol": list(ann.symbol),
                "aux_note": [a.rstrip("\x00") for a in (ann.aux_note or [""] * len(ann.sample))],
            })
    signal.index.name = "sample"
    is_beat = annotations["symbol"].isin(BEAT_SYMBOLS).to_numpy()
    beats = annotations.loc[is_beat, ["sample", "symbol"]].reset_index(drop=True)
    beats["aami"] = beats["symbol"].map(AAMI_MAP)
    return ECGRecord(name, signal, float(rec.fs), beats, annotations, list(rec.comments or []))


def load_mitbih(
    records: str | int | list | None = None,
    *,
    sampto: int | None = None,
    data_home: str | os.PathLike | None = None,
    download_if_missing: bool = True,
) -> dict[str, ECGRecord]:
    """Load MIT-BIH Arrhythmia records (signals in mV, both leads, beat annotations).

    Parameters
    ----------
    records : str, int or list, optional
        Record names such as ``"100"`` or ``[100, 208]``. Default: the six records of the shared mirror
        (100, 106, 119, 200, 208, 221); pass ``"all"`` for all 48.
    sampto : int, optional
        Read only the first ``sampto`` samples (and the annotations before them).
    data_home, download_if_missing
        Cache folder and whether to download missing files from PhysioNet (checksums recorded for the mirrored
        records; others are used unverified).

    Returns
    -------
    dict
        ``{record: ECGRecord}`` in the requested order.
    """
    if records is None:
        records = ["100", "106", "119", "200", "208", "221"]
    elif isinstance(records, str) and records == "all":
        records = list(MITBIH_RECORDS)
    elif isinstance(records, (str, int)):
        records = [records]
    names = [str(r) for r in records]
    unknown = [r for r in names if r not in MITBIH_RECORDS]
    if unknown:
        raise ValueError(f"unknown MIT-BIH record(s) {unknown}; the database has {MITBIH_RECORDS}")
    return {r: _read_record(r, data_home, download_if_missing, sampto) for r in names}


def beat_windows(
    record: ECGRecord,
    before: float = 0.25,
    after: float = 0.45,
    lead: str | int = 0,
    classes: tuple[str, ...] | None = None,
) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """Cut fixed-length windows around each annotated R peak.

    Parameters
    ----------
    record : ECGRecord
    before, after : float
        Seconds kept before and after the R peak: a window is ``signal[r - round(before*fs) : r + round(after*fs)]``,
        so its length is ``L = round(before*fs) + round(after*fs)`` (252 samples at 360 Hz with the defaults).
    lead : str or int
        Lead name (``"MLII"``) or column position.
    classes : tuple of str, optional
        Keep only beats of these AAMI classes (e.g. ``("N", "S", "V", "F", "Q")``).

    Returns
    -------
    X : ndarray of shape (n_beats, L)
        Windows in mV; beats too close to either end of the record are dropped.
    y : ndarray of shape (n_beats,)
        AAMI class of each window.
    beats : pd.DataFrame
        The rows of ``record.beats`` that were kept, in order.
    """
    col = record.signal.columns[lead] if isinstance(lead, int) else lead
    if col not in record.signal.columns:
        raise ValueError(f"record {record.name} has no lead {lead!r}; leads: {list(record.signal.columns)}")
    x = record.signal[col].to_numpy()
    nb, na = int(round(before * record.fs)), int(round(after * record.fs))
    if nb + na < 1:
        raise ValueError("before + after must span at least one sample")
    beats = record.beats
    keep = (beats["sample"] - nb >= 0) & (beats["sample"] + na <= len(x))
    if classes is not None:
        keep &= beats["aami"].isin(classes)
    beats = beats[keep].reset_index(drop=True)
    idx = beats["sample"].to_numpy()[:, None] + np.arange(-nb, na)[None, :]
    X = x[idx] if len(beats) else np.empty((0, nb + na))
    return X, beats["aami"].to_numpy(), beats
