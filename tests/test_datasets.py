"""tsrnn.datasets: loaders against the real-data mirror (counts from each SOURCE.md, independent readers),
fetch safety (checksums, hostile paths, offline errors) and the synthetic generators (R-peak detector,
neurokit2's ECGSYN as morphology reference, exact anomaly labels)."""

from __future__ import annotations

import hashlib
import io
import urllib.error
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tsrnn.datasets import (
    _fetch,
    inject_anomalies,
    list_datasets,
    load_m4,
    load_mitbih,
    load_nab,
    load_retail,
    load_ucr,
    make_ecg,
)
from tsrnn.datasets._fetch import (
    ChecksumError,
    DatasetNotFoundError,
    RemoteFile,
    fetch,
    safe_extract,
    safe_join,
    sha256_of,
)
from tsrnn.datasets.mitbih import beat_windows
from tsrnn.datasets.nab import nab_names
from tsrnn.datasets.registry import DATASETS

_real_urlopen = _fetch._urlopen


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    """Every test gets an empty data home, and only file:// URLs can be opened (no network in tests)."""
    monkeypatch.setenv("TSRNN_DATA_HOME", str(tmp_path / "home"))

    def guarded(url, timeout=60):
        if not url.startswith("file:"):
            raise urllib.error.URLError(f"network disabled in tests: {url}")
        return _real_urlopen(url, timeout)

    monkeypatch.setattr(_fetch, "_urlopen", guarded)


@pytest.fixture
def no_mirror(monkeypatch):
    monkeypatch.delenv("TSRNN_DATA_MIRROR", raising=False)


def _runs(label: np.ndarray) -> int:
    """Number of runs of 1 in a 0/1 array."""
    d = np.diff(np.concatenate([[0], label.astype(int), [0]]))
    return int((d == 1).sum())


# ----------------------------------------------------------------------------------------- real data (mirror)
@pytest.mark.data
def test_m4_hourly_matches_source_and_pandas_reader(mirror):
    train, test = load_m4("Hourly")
    assert list(train.columns) == ["unique_id", "ds", "y"] and train["ds"].dtype == np.int64
    assert train["unique_id"].nunique() == 414 == test["unique_id"].nunique()
    sizes = train.groupby("unique_id", sort=False).size()
    assert sizes.min() == 700 and sizes.max() == 960 and sizes.median() == 960
    assert (test.groupby("unique_id").size() == 48).all()
    h1 = train[train["unique_id"] == "H1"]["y"].to_numpy()
    np.testing.assert_array_equal(h1[:5], [605.0, 586.0, 586.0, 559.0, 511.0])
    # test stamps continue the training stamps
    last = train.groupby("unique_id")["ds"].max()
    first = test.groupby("unique_id")["ds"].min()
    assert (first == last + 1).all()
    # independent reader, as SOURCE.md suggests
    ref = pd.read_csv(mirror / "m4/hourly/Hourly-train.csv", index_col=0)
    for uid in ["H1", "H214", "H414"]:
        np.testing.assert_array_equal(train.loc[train.unique_id == uid, "y"].to_numpy(), ref.loc[uid].dropna())
    rec = DATASETS["m4_hourly"]
    assert (rec.horizon, rec.season_length, rec.n_series) == (48, 24, 414)


def test_m4_group_names_and_official_horizons():
    from tsrnn.datasets.registry import M4_GROUPS

    assert {g: (h, m) for g, (_, h, m, _) in M4_GROUPS.items()} == {
        "Hourly": (48, 24), "Daily": (14, 1), "Weekly": (13, 1), "Monthly": (18, 12), "Quarterly": (8, 4),
        "Yearly": (6, 1)}
    with pytest.raises(ValueError, match="unknown M4 group"):
        load_m4("Secondly")


@pytest.mark.data
def test_nab_series_windows_and_labels(mirror):
    data, windows, points = load_nab(return_labels=True)
    assert list(data.columns) == ["unique_id", "ds", "y", "label"]
    assert data["unique_id"].nunique() == 20
    assert len(windows) == 34 and len(points) == 36  # SOURCE.md table: windows and labels columns
    sizes = data.groupby("unique_id").size()
    assert sizes["realKnownCause/nyc_taxi"] == 10320
    assert sizes["realKnownCause/machine_temperature_system_failure"] == 22695
    assert sizes["realAWSCloudwatch/ec2_network_in_5abac7"] == 4730
    for uid, g in data.groupby("unique_id"):
        w = windows[windows.unique_id == uid]
        assert _runs(g["label"].to_numpy()) == len(w), uid  # one labelled run per window
        for start, end in zip(w.start, w.end):  # label is exactly start <= ds <= end
            inside = ((g.ds >= start) & (g.ds <= end)).to_numpy()
            assert g["label"].to_numpy()[inside].all()
    assert data.loc[data.unique_id.str.startswith("artificialNoAnomaly"), "label"].sum() == 0
    # the raw labelled stamps lie inside their windows
    for uid, ts in zip(points.unique_id, points.ds):
        w = windows[windows.unique_id == uid]
        assert ((w.start <= ts) & (ts <= w.end)).any()


@pytest.mark.data
def test_nab_official_label_files_with_a_partial_mirror(mirror, tmp_path, monkeypatch):
    """The mirror's label files are NAB's official ones (58 series listed, 20 present): checksums pinned, the
    present series load with a warning naming the missing ones, and asking for all of them names what is missing."""
    from tsrnn.datasets._fetch import DatasetNotFoundError, sha256_of
    from tsrnn.datasets.registry import NAB_LABELS, NAB_WINDOWS

    monkeypatch.setenv("TSRNN_DATA_HOME", str(tmp_path))  # an empty cache: nothing but the mirror
    for f in (NAB_WINDOWS, NAB_LABELS):
        assert sha256_of(mirror / f.path) == f.sha256 == f.expected_mirror_sha256
    assert len(nab_names()) == 58
    with pytest.warns(UserWarning, match=r"holds 20 of the 58 series listed") as rec:
        data = load_nab()
    present = set(data["unique_id"])
    first_missing = next(k[:-4] for k in nab_names() if k[:-4] not in present)
    assert len(present) == 20 and f"Missing: {first_missing}" in str(rec[0].message)
    with pytest.raises(DatasetNotFoundError, match=r"38 of the 58 NAB series.*realTweets/Twitter_volume_AAPL"):
        load_nab("all", download_if_missing=False)
    with pytest.raises(DatasetNotFoundError, match="Twitter_volume_AAPL"):
        load_nab("realTweets/Twitter_volume_AAPL", download_if_missing=False)


@pytest.mark.data
def test_nab_selection_and_resampling(mirror):
    one = load_nab("nyc_taxi")
    assert one["unique_id"].unique().tolist() == ["realKnownCause/nyc_taxi"]
    cat = load_nab(category="artificialWithAnomaly")
    assert cat["unique_id"].nunique() == 6
    raw = load_nab("realKnownCause/machine_temperature_system_failure")
    assert raw["ds"].diff().dropna().nunique() > 1  # irregular stamps are kept as they are by default
    res = load_nab("realKnownCause/machine_temperature_system_failure", resample="5min")
    assert res["ds"].diff().dropna().nunique() == 1 and not res["y"].isna().any()
    assert _runs(res["label"].to_numpy()) == 4
    with pytest.raises(ValueError, match="not in the label file"):
        load_nab("no_such_series")
    # raw rows are kept as NAB has them (machine_temperature repeats 12 stamps); "auto" regularises every series
    assert raw["ds"].duplicated().sum() == 12
    auto = load_nab(resample="auto", return_labels=True)
    data, windows = auto[0], auto[1]
    for uid, g in data.groupby("unique_id"):
        steps = g["ds"].diff().dropna()
        assert steps.nunique() == 1 and steps.iloc[0] > pd.Timedelta(0), uid
        assert _runs(g["label"].to_numpy()) == (windows.unique_id == uid).sum(), uid
    taxi = data[data.unique_id == "realKnownCause/nyc_taxi"]
    assert taxi["ds"].diff().iloc[1] == pd.Timedelta("30min") and len(taxi) == 10320


@pytest.mark.data
@pytest.mark.filterwarnings("ignore:.*inplace keyword:DeprecationWarning")
def test_mitbih_records_match_annotations(mirror):
    import wfdb

    expected = {"100": (2273, "V5"), "106": (2027, "V1"), "119": (1987, "V1"), "200": (2601, "V1"),
                "208": (2955, "V1"), "221": (2427, "V1")}
    recs = load_mitbih()
    assert list(recs) == list(expected)
    for name, (n_beats, lead2) in expected.items():
        r = recs[name]
        assert r.fs == 360.0 and r.signal.shape == (650000, 2)
        assert list(r.signal.columns) == ["MLII", lead2]
        assert len(r.beats) == n_beats
        ann = wfdb.rdann(str(mirror / "ecg/mitdb" / name), "atr")  # independent count from the .atr file
        beat_syms = set("NLRBAaJSVrFejnE/fQ?")
        assert sum(s in beat_syms for s in ann.symbol) == n_beats
    r100 = recs["100"]
    assert r100.beats["symbol"].value_counts().to_dict() == {"N": 2239, "A": 33, "V": 1}
    assert r100.beats["aami"].value_counts().to_dict() == {"N": 2239, "S": 33, "V": 1}
    assert recs["208"].beats["aami"].value_counts().to_dict() == {"N": 1586, "V": 992, "F": 373, "S": 2, "Q": 2}
    np.testing.assert_allclose(r100.signal.iloc[0].to_numpy(), [-0.145, -0.065])  # (ADC - 1024) / 200
    X, y, kept = beat_windows(r100, before=0.25, after=0.45)
    assert X.shape == (len(kept), 252) and len(kept) >= 2271
    np.testing.assert_array_equal(X[:, 90], r100.signal["MLII"].to_numpy()[kept["sample"]])
    Xv, yv, _ = beat_windows(r100, classes=("V",))
    assert Xv.shape[0] == 1 and list(yv) == ["V"]


@pytest.mark.data
def test_ucr_ecg200(mirror):
    Xtr, ytr, Xte, yte = load_ucr("ECG200")
    assert Xtr.shape == (100, 96) and Xte.shape == (100, 96)
    assert dict(zip(*np.unique(ytr, return_counts=True))) == {-1: 31, 1: 69}
    assert dict(zip(*np.unique(yte, return_counts=True))) == {-1: 36, 1: 64}
    ref = np.loadtxt(mirror / "ecg/ecg200/ECG200_TRAIN.txt")
    np.testing.assert_array_equal(Xtr, ref[:, 1:])
    np.testing.assert_allclose(Xtr.mean(axis=1), 0, atol=1e-6)  # z-normalised beats
    np.testing.assert_allclose(Xtr.std(axis=1, ddof=1), 1, atol=1e-3)


@pytest.mark.data
def test_retail_series_and_hierarchy(mirror):
    data, h = load_retail("aus_retail", with_hierarchy=True)
    assert list(data.columns) == ["unique_id", "ds", "y"] and len(data) == 64532
    assert data["unique_id"].nunique() == 152 and len(h) == 152
    assert data.groupby("unique_id").size().value_counts().to_dict() == {441: 133, 369: 15, 140: 2, 32: 2}
    assert data["ds"].min() == pd.Timestamp("1982-04-01") and data["ds"].max() == pd.Timestamp("2018-12-01")
    assert h["level"].value_counts().to_dict() == {"subgroup": 108, "group": 44}
    # the hierarchy is real: a group is the sum of its published subgroups (values have one decimal)
    wide = data.pivot(index="ds", columns="unique_id", values="y")
    for state in ["New South Wales", "Victoria"]:
        hs = h[h.state == state]
        for gid in hs.loc[hs.level == "group", "unique_id"]:
            subs = hs.loc[hs.parent_id == gid, "unique_id"].tolist()
            if subs:
                diff = (wide[gid] - wide[subs].sum(axis=1)).abs()
                assert diff.max() < 0.2 + 1e-9, (state, gid)


@pytest.mark.data
def test_mirror_checksums_verify(mirror):
    n = 0
    for rec in DATASETS.values():
        for f in rec.files:
            p = mirror / f.path
            if p.is_file() and f.expected_mirror_sha256:
                assert sha256_of(p) == f.expected_mirror_sha256, f.path
                n += 1
    assert n >= 46  # 2 M4 + 22 NAB + 18 MIT-BIH + 2 UCR + 2 retail


@pytest.mark.data
def test_list_datasets(mirror):
    table = list_datasets()
    assert list(table.columns) == ["name", "family", "source", "license", "n_series", "frequency",
                                   "season_length", "horizon", "available"]
    row = table.set_index("name")
    assert row.loc["m4_hourly", "available"] == "yes (mirror)"
    assert row.loc["nab", "available"] == "partial (20/58 series)"
    assert row.loc["mitbih", "available"] == "partial (6/48 records)"
    assert row.loc["synthetic_ecg", "available"] == "built-in"
    assert "citation" in list_datasets(full=True).columns


def test_list_datasets_without_mirror(no_mirror):
    row = list_datasets().set_index("name")
    assert row.loc["m4_hourly", "available"].startswith("no")
    assert row.loc["aus_retail", "available"] == "no (downloads the .rda; needs pyreadr)"


# ------------------------------------------------------------------------------------------------ fetch safety
def test_download_verifies_checksum_and_renames(tmp_path, no_mirror):
    src = tmp_path / "src.csv"
    src.write_bytes(b"a,b\n1,2\n")
    good = RemoteFile("demo/file.csv", src.as_uri(), hashlib.sha256(b"a,b\n1,2\n").hexdigest())
    path = fetch(good)
    assert path == tmp_path / "home/demo/file.csv" and path.read_bytes() == b"a,b\n1,2\n"
    assert [p.name for p in path.parent.iterdir()] == ["file.csv"]  # no temporary file left behind
    assert fetch(good) == path  # second call reads the cache


@pytest.mark.data
def test_m4_download_path_verifies_the_real_checksum(mirror, tmp_path, monkeypatch):
    """End to end without a mirror: the M4 files are 'downloaded' from a file:// copy of the repository layout."""
    from tsrnn.datasets import registry

    srv = tmp_path / "srv"
    for part, folder in (("train", "Train"), ("test", "Test")):
        (srv / folder).mkdir(parents=True)
        (srv / folder / f"Hourly-{part}.csv").write_bytes((mirror / f"m4/hourly/Hourly-{part}.csv").read_bytes())
    monkeypatch.delenv("TSRNN_DATA_MIRROR")
    monkeypatch.setattr(registry, "_M4_URL", srv.as_uri())
    train, test = load_m4("hourly")
    assert train["unique_id"].nunique() == 414 and len(test) == 414 * 48
    assert sha256_of(tmp_path / "home/m4/hourly/Hourly-train.csv") == registry._M4_SHA["Hourly-train.csv"]
    # the same bytes altered upstream: the checksum stops them and nothing lands in the cache
    (tmp_path / "home/m4/hourly/Hourly-test.csv").unlink()
    (srv / "Test/Hourly-test.csv").write_bytes(b'"V1","V2"\n"H1","1"\n')
    with pytest.raises(ChecksumError):
        load_m4("Hourly")
    assert sorted(p.name for p in (tmp_path / "home/m4/hourly").iterdir()) == ["Hourly-train.csv"]


def test_checksum_mismatch_leaves_cache_clean(tmp_path, no_mirror):
    src = tmp_path / "src.csv"
    src.write_bytes(b"tampered")
    bad = RemoteFile("demo/file.csv", src.as_uri(), "0" * 64)
    with pytest.raises(ChecksumError, match="expected 0000"):
        fetch(bad)
    folder = tmp_path / "home/demo"
    assert not folder.exists() or list(folder.iterdir()) == []


def test_corrupt_mirror_or_cache_file_is_refused(tmp_path, monkeypatch):
    mirror = tmp_path / "mirror"
    (mirror / "demo").mkdir(parents=True)
    (mirror / "demo/x.txt").write_bytes(b"changed")
    monkeypatch.setenv("TSRNN_DATA_MIRROR", str(mirror))
    with pytest.raises(ChecksumError, match="mirror file"):
        fetch(RemoteFile("demo/x.txt", None, hashlib.sha256(b"original").hexdigest()))


def test_hostile_paths_cannot_escape(tmp_path, no_mirror):
    for rel in ["../evil.txt", "/etc/evil.txt", "a/../../evil.txt", "C:/evil.txt", "a\\..\\evil.txt", ""]:
        with pytest.raises(ValueError, match="unsafe path"):
            safe_join(tmp_path / "home", rel)
    src = tmp_path / "src.txt"
    src.write_bytes(b"x")
    with pytest.raises(ValueError, match="unsafe path"):
        fetch(RemoteFile("../outside.txt", src.as_uri()))
    assert not (tmp_path / "outside.txt").exists()
    # an archive with one hostile member writes nothing at all
    archive = tmp_path / "bad.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("ok.txt", "fine")
        zf.writestr("../escaped.txt", "owned")
    dest = tmp_path / "home/extract"
    with pytest.raises(ValueError, match="unsafe path"):
        safe_extract(archive, dest)
    assert not (tmp_path / "home/escaped.txt").exists() and not (dest / "ok.txt").exists()


def test_offline_error_says_what_and_where(no_mirror, tmp_path):
    with pytest.raises(DatasetNotFoundError) as err:
        load_m4("Hourly")
    msg = str(err.value)
    assert "https://raw.githubusercontent.com/Mcompetitions/M4-methods/" in msg and "Hourly-train.csv" in msg
    assert str(tmp_path / "home/m4/hourly/Hourly-train.csv") in msg and "TSRNN_DATA_MIRROR" in msg
    with pytest.raises(DatasetNotFoundError, match="download_if_missing=False"):
        load_ucr("ECG200", download_if_missing=False)
    with pytest.raises(DatasetNotFoundError, match="tsibbledata/.*/data/aus_retail.rda"):
        load_retail()


def test_ucr_download_path_extracts_from_zip(tmp_path, no_mirror, monkeypatch):
    from tsrnn.datasets import ucr

    rows = "\n".join(f"{c} " + " ".join(str(v) for v in np.arange(5) * c) for c in (1, 2, 1))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("Toy/Toy_TRAIN.txt", rows)
        zf.writestr("Toy/Toy_TEST.txt", rows)
    (tmp_path / "srv").mkdir()
    (tmp_path / "srv/Toy.zip").write_bytes(buf.getvalue())
    monkeypatch.setattr(ucr, "UCR_ZIP_URL", (tmp_path / "srv").as_uri() + "/{name}.zip")
    Xtr, ytr, Xte, yte = load_ucr("Toy")
    assert Xtr.shape == (3, 5) and list(ytr) == [1, 2, 1]
    np.testing.assert_array_equal(Xtr[1], np.arange(5) * 2)
    home = tmp_path / "home/ucr/Toy"
    assert sorted(p.name for p in home.iterdir()) == ["Toy.zip", "Toy_TEST.txt", "Toy_TRAIN.txt"]
    (tmp_path / "srv/Toy.zip").unlink()
    (home / "Toy.zip").unlink()
    assert load_ucr("Toy")[0].shape == (3, 5)  # read from the cache, no archive needed


# ---------------------------------------------------------------------------------------------------- make_ecg
@pytest.mark.parametrize("hr", [55.0, 75.0, 110.0])
def test_make_ecg_rate_and_annotations_match_an_rpeak_detector(hr):
    import neurokit2 as nk

    fs = 360
    signal, beats = make_ecg(duration_s=60, fs=fs, heart_rate=hr, hrv=2.0, noise=0.02, seed=7)
    assert len(signal) == 60 * fs and signal.attrs["fs"] == fs
    _, info = nk.ecg_peaks(signal.to_numpy(), sampling_rate=fs)
    peaks = np.asarray(info["ECG_R_Peaks"])
    measured = 60.0 / np.mean(np.diff(peaks) / fs)
    assert abs(measured - hr) < 2.0
    assert abs(len(beats) - hr) <= 2  # a minute of beats
    inner = beats["sample"].to_numpy()
    inner = inner[(inner > fs) & (inner < len(signal) - fs)]  # the detector skips beats at the very edges
    dist = np.abs(peaks[:, None] - inner[None, :]).min(axis=0)
    assert (dist / fs <= 0.010).all()  # annotations sit within 10 ms of the detected R peaks
    assert np.median(dist) / fs <= 0.003


def test_make_ecg_morphology_matches_neurokit_ecgsyn():
    import neurokit2 as nk

    ref = nk.ecg_simulate(duration=30, sampling_rate=360, heart_rate=60, heart_rate_std=0.01, noise=0,
                          random_state=3)
    _, info = nk.ecg_peaks(ref, sampling_rate=360)
    mine, beats = make_ecg(30, 360, 60, hrv=0.01, noise=0, baseline_wander=0, seed=3)

    def template(x, peaks):
        return np.mean([x[p - 200: p + 300] for p in peaks if 200 <= p <= len(x) - 300], axis=0)

    a = template(ref, info["ECG_R_Peaks"])
    b = template(mine.to_numpy(), beats["sample"].to_numpy())
    assert np.corrcoef(a, b)[0, 1] > 0.99
    # P wave before and T wave after the R peak, at the same places as ECGSYN's
    assert abs(np.argmax(a[:150]) - np.argmax(b[:150])) <= 5 and abs(np.argmax(a[260:]) - np.argmax(b[260:])) <= 5


def test_make_ecg_ectopic_beats_are_labelled_and_timed():
    fs = 360
    signal, beats = make_ecg(duration_s=300, fs=fs, heart_rate=70, hrv=1.0, noise=0.0, ectopic_rate=0.15,
                             seed=11)
    counts = beats["symbol"].value_counts()
    assert counts["V"] >= 5 and counts["A"] >= 5
    assert ((beats["symbol"] != "N") & (beats["symbol"].shift() != "N")).sum() == 0  # never two in a row
    t = beats["time_s"].to_numpy()
    rr = np.diff(t)
    normal = np.median(rr)
    sym = beats["symbol"].to_numpy()
    for i in np.flatnonzero(sym[1:-1] != "N") + 1:
        assert rr[i - 1] < 0.8 * normal  # premature
        if sym[i] == "V":  # compensatory pause: the two intervals add to about two sinus intervals
            assert abs((rr[i - 1] + rr[i]) / normal - 2) < 0.1
    # ventricular beats have a wider QRS: fewer samples above half the R amplitude... measured on the signal
    x = signal.to_numpy()

    def width(s):
        seg = x[s - 40: s + 40]
        return int((seg > x[s] / 2).sum())

    wide = [width(s) for s, k in zip(beats["sample"], sym) if k == "V" and 40 <= s < len(x) - 40]
    narrow = [width(s) for s, k in zip(beats["sample"], sym) if k == "N" and 40 <= s < len(x) - 40]
    assert np.median(wide) > 1.8 * np.median(narrow)
    assert set(beats.loc[beats.symbol == "V", "aami"]) == {"V"} and set(beats.loc[beats.symbol == "A", "aami"]) == {"S"}


def test_make_ecg_heart_rate_variability_has_mcsharry_spectrum():
    from scipy.signal import periodogram

    for lf_hf, peak in ((0.3, 0.25), (3.0, 0.1)):  # respiratory (HF) or Mayer-wave (LF) dominated
        _, beats = make_ecg(600, 100, 70, hrv=4.0, noise=0, lf_hf=lf_hf, seed=5)
        t = beats["time_s"].to_numpy()
        hr = 60.0 / np.diff(t)
        assert abs(hr.mean() - 70) < 1 and 3.0 < hr.std() < 5.0
        grid = np.arange(t[1], t[-1], 0.25)
        f, p = periodogram(np.interp(grid, t[1:], hr), fs=4, detrend="constant")
        assert abs(f[np.argmax(p)] - peak) < 0.03


def test_make_ecg_is_seeded_and_validates():
    a, ba = make_ecg(5, seed=1)
    b, bb = make_ecg(5, seed=1)
    c, _ = make_ecg(5, seed=2)
    pd.testing.assert_series_equal(a, b)
    pd.testing.assert_frame_equal(ba, bb)
    assert not np.allclose(a, c)
    with pytest.raises(ValueError, match="ectopic_kinds"):
        make_ecg(5, ectopic_kinds=("X",))
    with pytest.raises(ValueError, match="ectopic_rate"):
        make_ecg(5, ectopic_rate=2)


# -------------------------------------------------------------------------------------------- inject_anomalies
def test_inject_anomalies_labels_exactly_the_changed_samples(rng):
    y = pd.Series(10 + np.sin(np.arange(2000) / 8) + rng.normal(0, 0.2, 2000),
                  index=pd.date_range("2021-01-01", periods=2000, freq="h"), name="load")
    kinds = ("spike", "level_shift", "trend", "variance", "flatline", "dropout")
    out, label, events = inject_anomalies(y, kinds=kinds, n=12, seed=3, return_events=True)
    assert out.index.equals(y.index) and label.index.equals(y.index)
    np.testing.assert_array_equal(label.to_numpy(), (out.to_numpy() != y.to_numpy()).astype(int))
    assert set(events["kind"]) == set(kinds) and _runs(label.to_numpy()) == 12
    assert label.iloc[: int(0.15 * 2000)].sum() == 0  # probationary start kept clean
    sigma = y.std(ddof=0)
    for e in events.itertuples():
        seg = slice(e.start, e.start + e.length)
        d = (out.iloc[seg] - y.iloc[seg]).to_numpy()
        if e.kind == "spike":
            assert e.length == 1 and abs(abs(d[0]) - 6 * sigma) < 1e-9
        elif e.kind == "level_shift":
            np.testing.assert_allclose(np.abs(d), 3 * sigma)
        elif e.kind == "trend":
            np.testing.assert_allclose(np.abs(d), 4 * sigma * np.arange(1, e.length + 1) / e.length)
        elif e.kind == "flatline":
            assert np.all(out.iloc[seg] == y.iloc[e.start - 1])
        elif e.kind == "dropout":
            assert np.all(out.iloc[seg] == 0)


def test_inject_anomalies_panel_array_and_seed():
    r = np.random.default_rng(0)
    panel = pd.DataFrame({"unique_id": np.repeat(["a", "b"], 400), "ds": np.tile(np.arange(400), 2),
                          "y": r.normal(size=800)})
    out = inject_anomalies(panel, n=5, seed=1)
    assert list(out.columns) == ["unique_id", "ds", "y", "label"]
    np.testing.assert_array_equal(out["label"], (out["y"] != panel["y"]).astype(int))
    assert out.groupby("unique_id").apply(lambda g: _runs(g["label"].to_numpy())).tolist() == [5, 5]
    again = inject_anomalies(panel, n=5, seed=1)
    pd.testing.assert_frame_equal(out, again)
    y2, lab2 = inject_anomalies(np.arange(300.0), kinds=("spike",), n=2, seed=0)
    assert isinstance(y2.index, pd.RangeIndex) and lab2.sum() == 2
    with pytest.raises(ValueError, match="unknown anomaly kind"):
        inject_anomalies(np.arange(300.0), kinds=("meteor",))
    with pytest.raises(ValueError, match="cannot place"):
        inject_anomalies(np.arange(20.0), n=10, seed=0)
    with pytest.raises(ValueError, match="NaN"):
        inject_anomalies(np.array([1.0, np.nan] * 100))


def test_registry_records_are_complete():
    for rec in DATASETS.values():
        assert rec.family in {"m4", "anomaly", "ecg", "sales"} and rec.license and rec.citation
        assert Path(rec.card).parts[0] == "datasets"
        for f in rec.files:
            safe_join(Path("/tmp"), f.path)  # every registry path is safe
