"""Metadata records of every dataset tsrnn can load or generate, and :func:`list_datasets`.

One :class:`DatasetRecord` per dataset names its family, source, licence, citation, files (with the SHA-256 of
each file where recorded), frequency, season length and forecast horizon. Loaders take their file lists and
checksums from here; the cards in the top-level ``datasets/`` folder say the same in prose.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import pandas as pd

from ._fetch import RemoteFile, data_home, mirror_root, safe_join

__all__ = ["DatasetRecord", "DATASETS", "get_dataset", "list_datasets", "M4_GROUPS", "MITBIH_RECORDS"]

# ------------------------------------------------------------------------------------------------------ M4
_M4_COMMIT = "6c1067e5a57161249b17289a565178dc7a3fb3ca"
_M4_URL = f"https://raw.githubusercontent.com/Mcompetitions/M4-methods/{_M4_COMMIT}/Dataset"
#: group -> (n_series, horizon, season_length, frequency word)
M4_GROUPS = {
    "Hourly": (414, 48, 24, "hourly"),
    "Daily": (4227, 14, 1, "daily"),
    "Weekly": (359, 13, 1, "weekly"),
    "Monthly": (48000, 18, 12, "monthly"),
    "Quarterly": (24000, 8, 4, "quarterly"),
    "Yearly": (23000, 6, 1, "yearly"),
}
_M4_SHA = {  # only the files of the shared mirror were hashed (byte-identical to the repository blobs)
    "Hourly-train.csv": "ea59b7783573c49077a835ab6465c7d66f1474783360f310988a9a737fbca62f",
    "Hourly-test.csv": "71a57fccb15e534d973626ada4fb87febf789e9317715b7cc6dd3b5f90db6f42",
}
M4_INFO = RemoteFile("m4/M4-info.csv", f"{_M4_URL}/M4-info.csv")


def _m4_files(group: str) -> tuple[RemoteFile, ...]:
    out = []
    for part, folder in (("train", "Train"), ("test", "Test")):
        fname = f"{group}-{part}.csv"
        out.append(RemoteFile(f"m4/{group.lower()}/{fname}", f"{_M4_URL}/{folder}/{fname}", _M4_SHA.get(fname)))
    return tuple(out)


# ----------------------------------------------------------------------------------------------------- NAB
_NAB_COMMIT = "ea702d75cc2258d9d7dd35ca8e5e2539d71f3140"
NAB_URL = f"https://raw.githubusercontent.com/numenta/NAB/{_NAB_COMMIT}"
_NAB_SHA = {
    "artificialNoAnomaly/art_daily_small_noise.csv": "c4b304229f69f108eaa024fb2406fcd4510c5c5d95cd0053e2da6989682e4e6d",
    "artificialNoAnomaly/art_noisy.csv": "ad455adeaf06852222500955f2aefe6bd389cc762ef68e7102ee543209c8607f",
    "artificialWithAnomaly/art_daily_flatmiddle.csv": "ea5df125947e9ee2b977ac3d341f3c2a029588862af97cae4a654fc56e838702",
    "artificialWithAnomaly/art_daily_jumpsdown.csv": "4af31802e87dff4b4ba3ceb21714ba9d905f7888e1f53d47cc6dd4f856f9debc",
    "artificialWithAnomaly/art_daily_jumpsup.csv": "f79f92b93ee4f9c10e2dc552505e8880b0c618639ed5e0f9816e044b75c26456",
    "artificialWithAnomaly/art_daily_nojump.csv": "65c85d1834376ed5e622f01721d478609577ea0df0a067c5a5ebe5edea03b077",
    "artificialWithAnomaly/art_increase_spike_density.csv": "0959d8871d5c1a3fc3120fb7421e4ef113fffb434af2889085b52aebdb69360c",
    "artificialWithAnomaly/art_load_balancer_spikes.csv": "99f7130e54c7c3e818df8e3bdc0974cd241914bb14a10a9c3fa7c1374125d224",
    "realAWSCloudwatch/ec2_cpu_utilization_24ae8d.csv": "ab446fbd8b9f37507eb2fdb06315826d8daeef02e241133ce06e0ee571ba53d9",
    "realAWSCloudwatch/ec2_cpu_utilization_825cc2.csv": "d768419037c9db269343822957314f57ee21a7d9a4d41df2add0d1ba45ba84de",
    "realAWSCloudwatch/ec2_network_in_5abac7.csv": "c27ef93f582af63bf42e80d804764cbe64ae987620f3cfab5477d6ebb3c6157e",
    "realAWSCloudwatch/elb_request_count_8c0756.csv": "74c26574a01ca9fb89dddb5021e2e13c3a93eb25dc640438a9acb1ceb00f1021",
    "realAWSCloudwatch/rds_cpu_utilization_cc0c53.csv": "d5df979ef85928769a016cd0f935919d8c2a113926e21e1eb3a5001d688760e2",
    "realKnownCause/ambient_temperature_system_failure.csv": "230b68ccca20f59d562afd5d24ad52939c9b784386bed0054018358bf9120581",
    "realKnownCause/cpu_utilization_asg_misconfiguration.csv": "58ba65dc0737cfbac11b51514476d50c438d44011232144bb8d93f392df58f9f",
    "realKnownCause/ec2_request_latency_system_failure.csv": "98378580aa80157e057c61d59d81daddccc6c65a2c0c800e3f01f603b8215c3f",
    "realKnownCause/machine_temperature_system_failure.csv": "92bf5b87fc7f9bba8ca0b7ec63ccaac8cb4a1371a258e8c29a10ae9c018d82a4",
    "realKnownCause/nyc_taxi.csv": "d8fa6f7f0734bf5c8be12c52a94e20a82664c397d9dec4449156bd453d32856d",
    "realKnownCause/rogue_agent_key_hold.csv": "47b110baa8e3636574c1033dda1cce780873647fab58223d159d4fee6f180e86",
    "realKnownCause/rogue_agent_key_updown.csv": "9797cfef477c13306f7a33874ab4d6cf700f8f2c7e5825a2a5bc02004370909a",
}
# NAB's official label files (all 58 series), byte for byte at the pinned commit; a mirror may hold the data of
# only some of them (load_nab loads those and names the missing ones when they are asked for)
NAB_WINDOWS = RemoteFile(
    "anomaly/nab/combined_windows.json", f"{NAB_URL}/labels/combined_windows.json",
    "1e1fbc4601321aad8d0f8b3784c8134299379f68f6c1f7777565f8ffd57ab6b1",
)
NAB_LABELS = RemoteFile(
    "anomaly/nab/combined_labels.json", f"{NAB_URL}/labels/combined_labels.json",
    "98724014c162fcfd4be605683517f194051a54e98756c53667bd33ddbc644d9b",
)


def nab_file(name: str) -> RemoteFile:
    """The record of NAB data file ``<category>/<file>.csv`` (checksum known for the mirrored ones)."""
    return RemoteFile(f"anomaly/nab/data/{name}", f"{NAB_URL}/data/{name}", _NAB_SHA.get(name))


# ------------------------------------------------------------------------------------------------- MIT-BIH
_MITDB_URL = "https://physionet.org/files/mitdb/1.0.0"
MITBIH_RECORDS = (
    [str(r) for r in range(100, 110)] + [str(r) for r in range(111, 120)] + ["121", "122", "123", "124"]
    + ["200", "201", "202", "203", "205", "207", "208", "209", "210", "212", "213", "214", "215", "217"]
    + ["219", "220", "221", "222", "223", "228", "230", "231", "232", "233", "234"]
)
_MITDB_SHA = {  # from PhysioNet's SHA256SUMS.txt (the shared mirror's subset)
    "100.atr": "8d8a5349fb16638ebbf649f1779d12e96d91b736b2aafe59db43719ae583d471",
    "100.dat": "b2ea3c250e56e48f4b7b90697832b8ecd1afa1e0bb31f2dcfea4ed6e1075a639",
    "100.hea": "60ebc904c7bf3e04d142638d3fd5c903e8dc9f10f1ea3264e07926aa089ee75e",
    "106.atr": "585347e6d1bd3ad89cdb52cb80945878a5e51026d81f871a376bb6e13936f7fa",
    "106.dat": "c017bc18b95b1f970bca143a044ee5d54168648b541e47aa656f2737a59c1202",
    "106.hea": "ad5ed3ee5603926a07a09f0d0c9e2a7ff10a705dbafcde3d185317730a8839ab",
    "119.atr": "fd919c8ea20eed4a22fb37984977f30ce48d382eefd2d90934bf947a88e0fd7b",
    "119.dat": "02a286a28e69b441568add915f16a2856b22bab893bf8729ee9654411ed3a5aa",
    "119.hea": "658f01382d7280a06e2f4c06363569d477394a6898c69ee788bb383f6092df63",
    "200.atr": "f9624a11696760427d75314a78c31f89ca3c446af855890c8f8b66cddd8b3a3f",
    "200.dat": "a9e203b3807b9fcd3647cde03444437cb8eec7f5128a8eb413edafb394272e0f",
    "200.hea": "9e0c2ff5b790cf624deab0ccb8a9f211a9e29a748d8197da3c1ee7c5b596b40c",
    "208.atr": "33878519ee34d00cb233fdb15b11c2b8da0b0aea2e643d31b07105cc3392edf4",
    "208.dat": "22873623623c44ee413a5b60cacb15d4af2723734836fb3ae45d9ff96bdb36e7",
    "208.hea": "5a27efda1bea972440a0b5f40a1c322898693e9602d5ce4722fe750b7dea46e9",
    "221.atr": "92549b966cc17bcf2edf00a97237d1e350a761d9ffe20065b5ed303848aad7ae",
    "221.dat": "274d17c6a35f7adcbb10a59ea34350e5ad299c2d69e4fa579d8863213e1fe9ae",
    "221.hea": "09afd18974ee6e0cfa8b5b6ce80112c4df0cfbb8c8d01d3d085ecdf7790ada7b",
}


def mitbih_files(record: str) -> tuple[RemoteFile, ...]:
    """The ``.hea``, ``.dat`` and ``.atr`` files of one MIT-BIH record."""
    return tuple(
        RemoteFile(f"ecg/mitdb/{record}.{ext}", f"{_MITDB_URL}/{record}.{ext}", _MITDB_SHA.get(f"{record}.{ext}"))
        for ext in ("hea", "dat", "atr")
    )


# ----------------------------------------------------------------------------------------------------- UCR
_ECG200_URL = "https://raw.githubusercontent.com/aashish-bidap/Heartbeat_KNN_Classifier/5e3ab88436acb773a26e9ab7756c7165b8718804"
UCR_ZIP_URL = "https://www.timeseriesclassification.com/aeon-toolkit/{name}.zip"
_ECG200 = (
    RemoteFile("ecg/ecg200/ECG200_TRAIN.txt", f"{_ECG200_URL}/ECG200_TRAIN.txt",
               "ed96989ec5d5ba7d651b4a3e3e905a8e09931999ed25458914f21faac0f7b3ce"),
    RemoteFile("ecg/ecg200/ECG200_TEST.txt", f"{_ECG200_URL}/ECG200_TEST.txt",
               "c665e09a1b1d2dedb37de7aef2a81866632e98f498460a0977f4d9bfebaffbb1"),
)

# -------------------------------------------------------------------------------------------------- retail
_TSIBBLEDATA = "https://raw.githubusercontent.com/tidyverts/tsibbledata/a9c811a5ca1748df885491a4bcebe024c9d48e08"
RETAIL_WIDE = RemoteFile(
    "retail/aus_retail/aus_retail_turnover_wide.csv", None, None,
    mirror_sha256="b30efad14d38ee02a99a24ab180cc33e4dd89b39b88a67969a0cfac640edcff4",
)
RETAIL_INFO = RemoteFile(
    "retail/aus_retail/aus_retail_series_info.csv", None, None,
    mirror_sha256="a8840cefa9f246a9bddd3a6f7e247a1e612155a42428415b85cc231130a711b5",
)
RETAIL_RDA = RemoteFile("retail/aus_retail/aus_retail.rda", f"{_TSIBBLEDATA}/data/aus_retail.rda", None)


# ----------------------------------------------------------------------------------------------- records
@dataclass(frozen=True)
class DatasetRecord:
    """Metadata of one dataset. ``files`` are the files a default load reads (mirror layout paths)."""

    name: str
    family: str
    source: str
    license: str
    citation: str
    frequency: str
    season_length: int | None
    horizon: int | None
    n_series: int | None
    loader: str
    card: str
    files: tuple[RemoteFile, ...] = field(default_factory=tuple)
    description: str = ""


_M4_CITE = ("Makridakis, S., Spiliotis, E., & Assimakopoulos, V. (2020). The M4 Competition: 100,000 time series "
            "and 61 forecasting methods. International Journal of Forecasting 36(1), 54-74.")
_RECORDS = [
    DatasetRecord(
        f"m4_{g.lower()}", "m4", "github.com/Mcompetitions/M4-methods", "public research release (no licence file)",
        _M4_CITE, freq, m, h, n, f'load_m4("{g}")', "datasets/m4.md", _m4_files(g),
        f"M4 {g}: official train/test split; ds are integer steps",
    )
    for g, (n, h, m, freq) in M4_GROUPS.items()
] + [
    DatasetRecord(
        "nab", "anomaly", "github.com/numenta/NAB (v1.1 corpus)", "MIT (AGPL-3.0 before Dec 2024)",
        "Ahmad, S., Lavin, A., Purdy, S., & Agha, Z. (2017). Unsupervised real-time anomaly detection for "
        "streaming data. Neurocomputing 262, 134-147.",
        "5min-1h, irregular", None, None, 58, "load_nab()", "datasets/nab.md",
        (NAB_WINDOWS, NAB_LABELS) + tuple(nab_file(k) for k in _NAB_SHA),
        "58 labelled streams with anomaly windows (the shared mirror holds 20)",
    ),
    DatasetRecord(
        "mitbih", "ecg", "physionet.org/content/mitdb/1.0.0", "ODC-By 1.0",
        "Moody GB, Mark RG. The impact of the MIT-BIH Arrhythmia Database. IEEE Eng Med Biol 20(3):45-50 (2001); "
        "Goldberger AL et al. PhysioBank, PhysioToolkit, and PhysioNet. Circulation 101(23):e215-e220 (2000).",
        "360 Hz", None, None, 48, "load_mitbih()", "datasets/mitbih.md",
        tuple(f for r in ("100", "106", "119", "200", "208", "221") for f in mitbih_files(r)),
        "48 two-lead 30-min ECG records with beat annotations (the shared mirror holds 6)",
    ),
    DatasetRecord(
        "ucr_ecg200", "ecg", "UCR archive (ECG200)", "research use, cite",
        "Dau, H. A., et al. (2019). The UCR Time Series Archive. IEEE/CAA J. Autom. Sinica 6(6), 1293-1305; "
        "Olszewski, R. T. (2001). PhD thesis, Carnegie Mellon University.",
        "beats (length 96)", None, None, 200, 'load_ucr("ECG200")', "datasets/ucr.md", _ECG200,
        "single heartbeats, normal (1) vs myocardial infarction (-1); 100 train / 100 test",
    ),
    DatasetRecord(
        "ucr_ecg5000", "ecg", "UCR archive (ECG5000)", "research use, cite",
        "Dau, H. A., et al. (2019). The UCR Time Series Archive. IEEE/CAA J. Autom. Sinica 6(6), 1293-1305.",
        "beats (length 140)", None, None, 5000, 'load_ucr("ECG5000")', "datasets/ucr.md",
        (RemoteFile("ucr/ECG5000/ECG5000.zip", UCR_ZIP_URL.format(name="ECG5000")),),
        "5 heartbeat classes; 500 train / 4500 test",
    ),
    DatasetRecord(
        "aus_retail", "sales", "ABS 8501.0 table 11 via tsibbledata", "CC BY 4.0 (ABS)",
        "Source: Australian Bureau of Statistics, Retail Trade, Australia, cat. no. 8501.0; O'Hara-Wild, Hyndman, "
        "Wang, tsibbledata R package.",
        "monthly", 12, 12, 152, 'load_retail("aus_retail")', "datasets/aus_retail.md", (RETAIL_WIDE, RETAIL_INFO),
        "state x industry turnover (million AUD), industry groups and their subgroups",
    ),
    DatasetRecord(
        "sales", "sales", "generated (tsrnn.datasets.make_sales / load_sales)", "MIT (tsrnn)", "-",
        "daily", 7, None, 12, "load_sales()", "datasets/sales.md", (),
        "seeded synthetic retail sales: seasonality, trend, promotions, holidays, intermittent demand",
    ),
    DatasetRecord(
        "synthetic_ecg", "ecg", "generated (tsrnn.datasets.make_ecg, McSharry et al. 2003)", "MIT (tsrnn)",
        "McSharry, P. E., Clifford, G. D., Tarassenko, L., & Smith, L. A. (2003). A dynamical model for generating "
        "synthetic electrocardiogram signals. IEEE Trans. Biomed. Eng. 50(3), 289-294.",
        "any (default 360 Hz)", None, None, None, "make_ecg()", "datasets/synthetic_ecg.md", (),
        "P-QRS-T morphology, heart-rate variability, labelled ectopic beats",
    ),
    DatasetRecord(
        "injected_anomalies", "anomaly", "generated (tsrnn.datasets.inject_anomalies)", "MIT (tsrnn)", "-",
        "any", None, None, None, "inject_anomalies(y)", "datasets/injected_anomalies.md", (),
        "spikes, level shifts, trends, variance changes and flatlines with exact 0/1 labels",
    ),
]
DATASETS: dict[str, DatasetRecord] = {r.name: r for r in _RECORDS}


def get_dataset(name: str) -> DatasetRecord:
    """The record of dataset ``name`` (see :func:`list_datasets`)."""
    try:
        return DATASETS[name]
    except KeyError:
        raise ValueError(f"unknown dataset {name!r}; known: {sorted(DATASETS)}") from None


def _where(file: RemoteFile, home) -> str | None:
    root = mirror_root()
    if root is not None and safe_join(root, file.path).is_file():
        return "mirror"
    if safe_join(data_home(home), file.path).is_file():
        return "cache"
    return None


def _availability(rec: DatasetRecord, home) -> str:
    if rec.name == "ucr_ecg5000":  # extracted text files count as well as the archive
        name = "ECG5000"
        files = [RemoteFile(f"ucr/{name}/{name}_{p}.txt") for p in ("TRAIN", "TEST")]
        if all(_where(f, home) for f in files):
            return f"yes ({_where(files[0], home)})"
    if not rec.files:
        return "built-in"
    if rec.name in ("nab", "mitbih"):
        n = _count_local(mirror_root(), home, rec.name)
        unit = "series" if rec.name == "nab" else "records"
        if n >= rec.n_series:
            return "yes"
        return f"partial ({n}/{rec.n_series} {unit})" if n else "no (downloads on first load)"
    where = [_where(f, home) for f in rec.files]
    found = [w for w in where if w]
    if len(found) == len(where):
        return f"yes ({'/'.join(sorted(set(found)))})"
    if found:
        return f"partial ({len(found)}/{len(where)} files)"
    if rec.name == "aus_retail":
        return "no (downloads the .rda; needs pyreadr)"
    return "no (downloads on first load)" if all(f.url for f in rec.files) else "no (see card)"


def _count_local(root, home, name) -> int:
    names = set()
    for base in (root, data_home(home)):
        if base is None:
            continue
        d = base / ("anomaly/nab/data" if name == "nab" else "ecg/mitdb")
        if not d.is_dir():
            continue
        if name == "nab":
            names.update(str(p.relative_to(d)) for p in d.glob("*/*.csv"))
        else:
            names.update(p.stem for p in d.glob("*.atr") if (d / f"{p.stem}.dat").is_file())
    return len(names)


def list_datasets(full: bool = False, data_home: str | os.PathLike | None = None) -> pd.DataFrame:
    """All datasets as a table, with whether each is on this machine.

    Parameters
    ----------
    full : bool
        Also return the citation, loader call, card and the number of files with a recorded checksum.
    data_home : path, optional
        Cache folder to look in (default ``$TSRNN_DATA_HOME`` or the user cache).

    Returns
    -------
    pd.DataFrame
        One row per dataset with columns ``name, family, source, license, n_series, frequency, season_length,
        horizon, available``. ``available`` reads ``yes (mirror)``, ``yes (cache)``, ``partial (k/n ...)``,
        ``no (...)`` or ``built-in`` (generated, always there).
    """
    rows = []
    for rec in _RECORDS:
        row = {
            "name": rec.name, "family": rec.family, "source": rec.source, "license": rec.license,
            "n_series": rec.n_series, "frequency": rec.frequency, "season_length": rec.season_length,
            "horizon": rec.horizon, "available": _availability(rec, data_home),
        }
        if full:
            row.update(loader=rec.loader, card=rec.card, citation=rec.citation,
                       checksummed_files=f"{sum(f.expected_mirror_sha256 is not None for f in rec.files)}"
                                         f"/{len(rec.files)}")
        rows.append(row)
    out = pd.DataFrame(rows)
    for c in ("n_series", "season_length", "horizon"):
        out[c] = out[c].astype("Int64")
    return out
