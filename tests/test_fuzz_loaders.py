"""Fuzzing the dataset loaders' parsers with malformed files in a temporary mirror.

Each example writes a file (random bytes, random text, or a valid file with random edits: deleted and inserted
characters, dropped quotes, duplicated or truncated lines, non-numeric and non-finite tokens) into a temporary
folder laid out like the shared mirror, points ``TSRNN_DATA_MIRROR`` at it, and calls the public loader
(``load_m4``, ``load_nab``, ``load_mitbih``, ``load_ucr``). Property: the loader returns well-formed data, or
raises ``ValueError`` / ``TypeError`` / a tsrnn dataset error (``DatasetNotFoundError``, ``ChecksumError``) whose
message names the file; never a raw parser traceback (``IndexError``, ``KeyError``, ``UnicodeDecodeError`` without
the file, ``struct.error``...).

The mirror's checksums would reject every edited file before it is parsed, so the parser fuzzing switches the
checksum check off (``_fetch._verify``); ``test_corrupted_mirror_file_fails_checksum`` checks it with it on.
"""

from __future__ import annotations

import os
import traceback
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tsrnn.datasets import _fetch, load_m4, load_mitbih, load_nab, load_ucr
from tsrnn.datasets._fetch import ChecksumError, DatasetNotFoundError

_N = int(float(os.environ.get("TSRNN_FUZZ_EXAMPLES", "120")))
FUZZ = settings(max_examples=_N, deadline=None, database=None, derandomize=True,
                suppress_health_check=list(HealthCheck))
CLEAR = (ValueError, TypeError, DatasetNotFoundError, ChecksumError)


@pytest.fixture
def fake_mirror(tmp_path_factory, monkeypatch):
    root = tmp_path_factory.mktemp("mirror")
    monkeypatch.setenv("TSRNN_DATA_MIRROR", str(root))
    monkeypatch.setenv("TSRNN_DATA_HOME", str(tmp_path_factory.mktemp("home")))
    return root


@pytest.fixture
def no_checksums(monkeypatch):
    monkeypatch.setattr(_fetch, "_verify", lambda path, expected, what: None)


# ----------------------------------------------------------------------------------------- content strategies

_TOKENS = ["", ",", '"', "\n", "\r\n", " ", "\t", ":", "nan", "inf", "-inf", "1e999", "abc", "\x00", "é", "\ufeff",
           "-", ".", "0x1F", "[", "]", "{", "}", "null", "#", "@data", "99999999999999999999"]


@st.composite
def mutated(draw, valid: str):
    """``valid`` with a few random edits."""
    text = valid
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["delete", "insert", "token", "truncate", "dup_line", "drop_quotes", "swap"]))
        i = draw(st.integers(0, max(0, len(text) - 1)))
        if op == "delete":
            text = text[:i] + text[i + draw(st.integers(1, 12)):]
        elif op == "insert":
            text = text[:i] + draw(st.text(min_size=1, max_size=6)) + text[i:]
        elif op == "token":
            text = text[:i] + draw(st.sampled_from(_TOKENS)) + text[i:]
        elif op == "truncate":
            text = text[:i]
        elif op == "dup_line":
            lines = text.split("\n")
            k = draw(st.integers(0, len(lines) - 1))
            lines.insert(k, lines[k])
            text = "\n".join(lines)
        elif op == "drop_quotes":
            text = text.replace('"', "")
        else:
            lines = text.split("\n")
            a, b = draw(st.integers(0, len(lines) - 1)), draw(st.integers(0, len(lines) - 1))
            lines[a], lines[b] = lines[b], lines[a]
            text = "\n".join(lines)
    return text.encode("utf-8", errors="surrogatepass")


def contents(valid: str):
    """Random bytes, random text, or ``valid`` with random edits (weighted to the last: it goes deepest)."""
    return st.one_of(
        st.binary(max_size=200),
        st.text(alphabet=st.sampled_from(list('0123456789,."\n -:eEnaif HV')), max_size=300).map(str.encode),
        mutated(valid), mutated(valid), mutated(valid),
    )


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _check_clear(exc: BaseException, *files: str) -> None:
    """``exc`` is a clear error that names one of ``files`` (by base name), else an AssertionError."""
    tb = "".join(traceback.format_exception(exc))
    assert isinstance(exc, CLEAR), f"raw {type(exc).__name__}: {exc}\n{tb}"
    assert any(f in str(exc) for f in files), f"{type(exc).__name__} does not name the file {files}: {exc}\n{tb}"


# ----------------------------------------------------------------------------------------------------- M4

_M4_TRAIN = ('"V1","V2","V3","V4","V5","V6"\n"H1","605","586","586","559","511"\n'
             '"H2","3124","2990","3031",,\n"H3","1.5","2.5","3.5","4.5",\n')


def _m4_test(h=48):
    head = ",".join(f'"V{i}"' for i in range(1, h + 2))
    return head + "\n" + "\n".join(f'"H{k}",' + ",".join(f'"{v}"' for v in range(h)) for k in (1, 2, 3)) + "\n"


@FUZZ
@given(train=contents(_M4_TRAIN), test=st.one_of(st.just(_m4_test().encode()), contents(_m4_test())))
def test_fuzz_m4(fake_mirror, no_checksums, train, test):
    _write(fake_mirror / "m4/hourly/Hourly-train.csv", train)
    _write(fake_mirror / "m4/hourly/Hourly-test.csv", test)
    try:
        tr, te = load_m4("Hourly", download_if_missing=False)
    except Exception as e:  # noqa: BLE001
        _check_clear(e, "Hourly-train.csv", "Hourly-test.csv")
        return
    assert list(tr.columns) == ["unique_id", "ds", "y"] and list(te.columns) == ["unique_id", "ds", "y"]
    assert np.isfinite(tr["y"].to_numpy()).all() and np.isfinite(te["y"].to_numpy()).all()
    assert (te.groupby("unique_id").size() == 48).all()


def test_m4_valid_files_parse(fake_mirror, no_checksums):
    _write(fake_mirror / "m4/hourly/Hourly-train.csv", _M4_TRAIN.encode())
    _write(fake_mirror / "m4/hourly/Hourly-test.csv", _m4_test().encode())
    tr, te = load_m4("Hourly", download_if_missing=False)
    assert tr.groupby("unique_id", sort=False).size().tolist() == [5, 3, 4]
    assert tr["y"].iloc[:2].tolist() == [605.0, 586.0] and te["ds"].iloc[0] == 6


# ----------------------------------------------------------------------------------------------------- NAB

_NAB_KEY = "realKnownCause/fuzz.csv"
_NAB_CSV = "timestamp,value\n" + "".join(f"2014-01-01 {h:02d}:00:00,{v}\n" for h, v in enumerate(
    [1.5, 2, 3.25, 4, 5, 6, 7, 8, 9, 10]))
_NAB_WIN = '{\n "realKnownCause/fuzz.csv": [\n  ["2014-01-01 02:00:00.000000", "2014-01-01 04:00:00.000000"]\n ]\n}\n'
_NAB_LAB = '{\n "realKnownCause/fuzz.csv": [\n  "2014-01-01 03:00:00"\n ]\n}\n'


@FUZZ
@given(csv=contents(_NAB_CSV), win=st.one_of(st.just(_NAB_WIN.encode()), contents(_NAB_WIN)),
       lab=st.one_of(st.just(_NAB_LAB.encode()), contents(_NAB_LAB)), resample=st.sampled_from([None, "auto", "1h"]))
@example(csv=b"", win=b'{"0/0.csv":[[""]]}', lab=_NAB_LAB.encode(), resample=None)  # a listed file that is absent
def test_fuzz_nab(fake_mirror, no_checksums, csv, win, lab, resample):
    _write(fake_mirror / "anomaly/nab/data" / _NAB_KEY, csv)
    _write(fake_mirror / "anomaly/nab/combined_windows.json", win)
    _write(fake_mirror / "anomaly/nab/combined_labels.json", lab)
    try:
        data, windows, points = load_nab(resample=resample, return_labels=True, download_if_missing=False)
    except Exception as e:  # noqa: BLE001
        _check_clear(e, "fuzz.csv", "combined_windows.json", "combined_labels.json")
        return
    assert list(data.columns) == ["unique_id", "ds", "y", "label"]
    assert np.isfinite(data["y"].to_numpy()).all()
    assert set(data["label"].unique()) <= {0, 1}


def test_nab_valid_files_parse(fake_mirror, no_checksums):
    _write(fake_mirror / "anomaly/nab/data" / _NAB_KEY, _NAB_CSV.encode())
    _write(fake_mirror / "anomaly/nab/combined_windows.json", _NAB_WIN.encode())
    _write(fake_mirror / "anomaly/nab/combined_labels.json", _NAB_LAB.encode())
    data, windows, points = load_nab(return_labels=True, download_if_missing=False)
    assert data["label"].tolist() == [0, 0, 1, 1, 1, 0, 0, 0, 0, 0]
    assert len(windows) == 1 and len(points) == 1


# ----------------------------------------------------------------------------------------------------- UCR

_UCR = "".join(f"  {lab:.7e}" + "".join(f"  {v:.7e}" for v in np.sin(np.arange(8) + k)) + "\n"
               for k, lab in enumerate([1, -1, 1, -1]))


@FUZZ
@given(train=contents(_UCR), test=st.one_of(st.just(_UCR.encode()), contents(_UCR)))
def test_fuzz_ucr(fake_mirror, no_checksums, train, test):
    _write(fake_mirror / "ecg/ecg200/ECG200_TRAIN.txt", train)
    _write(fake_mirror / "ecg/ecg200/ECG200_TEST.txt", test)
    try:
        Xtr, ytr, Xte, yte = load_ucr("ECG200", download_if_missing=False)
    except Exception as e:  # noqa: BLE001
        _check_clear(e, "ECG200_TRAIN.txt", "ECG200_TEST.txt")
        return
    assert Xtr.ndim == 2 and Xte.ndim == 2 and Xtr.shape[1] == Xte.shape[1] >= 1
    assert len(ytr) == len(Xtr) and len(yte) == len(Xte)
    assert np.isfinite(Xtr).all() and np.isfinite(Xte).all()


def test_ucr_valid_files_parse(fake_mirror, no_checksums):
    _write(fake_mirror / "ecg/ecg200/ECG200_TRAIN.txt", _UCR.encode())
    _write(fake_mirror / "ecg/ecg200/ECG200_TEST.txt", _UCR.encode())
    Xtr, ytr, Xte, yte = load_ucr("ECG200", download_if_missing=False)
    assert Xtr.shape == (4, 8) and ytr.tolist() == [1, -1, 1, -1]
    np.testing.assert_allclose(Xtr[1], np.sin(np.arange(8) + 1), atol=1e-7)


# ----------------------------------------------------------------------------------------------------- WFDB


@pytest.fixture(scope="module")
def wfdb_record(tmp_path_factory):
    """A small valid MIT-BIH-like record ``100`` (two leads, 212 format, a few beat annotations) written by wfdb."""
    import wfdb

    d = tmp_path_factory.mktemp("wfdb")
    t = np.arange(720) / 360
    sig = np.column_stack([np.sin(2 * np.pi * t), 0.5 * np.cos(2 * np.pi * t)])
    wfdb.wrsamp("100", fs=360, units=["mV", "mV"], sig_name=["MLII", "V5"], p_signal=sig, fmt=["212", "212"],
                adc_gain=[200, 200], baseline=[1024, 1024], write_dir=str(d))
    wfdb.wrann("100", "atr", sample=np.array([100, 400, 650]), symbol=["N", "V", "N"], write_dir=str(d))
    return {ext: (d / f"100.{ext}").read_bytes() for ext in ("hea", "dat", "atr")}


def _write_record(root: Path, files: dict) -> None:
    for ext, data in files.items():
        _write(root / "ecg/mitdb" / f"100.{ext}", data)


def test_wfdb_valid_record_parses(fake_mirror, no_checksums, wfdb_record):
    _write_record(fake_mirror, wfdb_record)
    rec = load_mitbih("100", download_if_missing=False)["100"]
    assert list(rec.signal.columns) == ["MLII", "V5"] and len(rec.signal) == 720
    np.testing.assert_allclose(rec.signal["MLII"].to_numpy(), np.sin(2 * np.pi * np.arange(720) / 360), atol=0.01)
    assert rec.beats["symbol"].tolist() == ["N", "V", "N"]


@settings(max_examples=_N, deadline=None, database=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_fuzz_wfdb_header(fake_mirror, no_checksums, wfdb_record, data):
    hea = data.draw(contents(wfdb_record["hea"].decode()), label="hea")
    files = dict(wfdb_record, hea=hea)
    if data.draw(st.booleans(), label="fuzz atr too"):
        files["atr"] = data.draw(st.one_of(st.binary(max_size=60), st.just(wfdb_record["atr"][:7])), label="atr")
    _write_record(fake_mirror, files)
    try:
        rec = load_mitbih("100", download_if_missing=False)["100"]
    except Exception as e:  # noqa: BLE001
        _check_clear(e, "100.hea", "100.atr", "100.dat", "record 100")
        return
    assert rec.signal.ndim == 2 and len(rec.signal) > 0
    assert rec.fs > 0


# ----------------------------------------------------------------------------------------------------- checksums


def test_corrupted_mirror_file_fails_checksum(fake_mirror):
    """With checksums on, an edited mirror file is refused before it is parsed, naming the file."""
    _write(fake_mirror / "ecg/ecg200/ECG200_TRAIN.txt", _UCR.encode())
    _write(fake_mirror / "ecg/ecg200/ECG200_TEST.txt", _UCR.encode())
    with pytest.raises(ChecksumError, match="ECG200_TRAIN.txt"):
        load_ucr("ECG200", download_if_missing=False)


def test_missing_file_says_where(fake_mirror):
    with pytest.raises(DatasetNotFoundError, match="Hourly-train.csv"):
        load_m4("Hourly", download_if_missing=False)


_TS = ("# fuzz\n@problemName Fuzz\n@univariate true\n@equalLength true\n@classLabel true a b\n@data\n"
       + "".join(",".join(f"{v:.4f}" for v in np.cos(np.arange(6) + k)) + f":{'ab'[k % 2]}\n" for k in range(4)))


@FUZZ
@given(train=contents(_TS), test=st.one_of(st.just(_TS.encode()), contents(_TS)))
def test_fuzz_ucr_ts(fake_mirror, train, test):
    _write(fake_mirror / "ucr/Fuzz/Fuzz_TRAIN.ts", train)
    _write(fake_mirror / "ucr/Fuzz/Fuzz_TEST.ts", test)
    try:
        Xtr, ytr, Xte, yte = load_ucr("Fuzz", download_if_missing=False)
    except Exception as e:  # noqa: BLE001
        _check_clear(e, "Fuzz_TRAIN.ts", "Fuzz_TEST.ts")
        return
    assert Xtr.shape[1] == Xte.shape[1] >= 1 and len(ytr) == len(Xtr) and len(yte) == len(Xte)
    assert np.isfinite(Xtr).all() and np.isfinite(Xte).all()


def test_ucr_ts_valid_files_parse(fake_mirror):
    _write(fake_mirror / "ucr/Fuzz/Fuzz_TRAIN.ts", _TS.encode())
    _write(fake_mirror / "ucr/Fuzz/Fuzz_TEST.ts", _TS.encode())
    Xtr, ytr, Xte, yte = load_ucr("Fuzz", download_if_missing=False)
    assert Xtr.shape == (4, 6) and ytr.tolist() == ["a", "b", "a", "b"]
    np.testing.assert_allclose(Xte[2], np.cos(np.arange(6) + 2), atol=1e-4)
