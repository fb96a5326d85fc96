"""M4 Hourly hold-out: spectral, wavelet and reduction forecasters beside SeasonalNaive, Naive2 and AutoARIMA.

The M4 protocol: fit on each series' training part, forecast the official 48 hours, score sMAPE and MASE
(seasonal scale m = 24) averaged over the 414 series, OWA relative to Naive2, and the coverage of the 95 %
intervals. Writes ``benchmarks/results/m4_hourly_spectral.md``.

    TSRNN_DATA_MIRROR=../shared/datasets .venv/bin/python benchmarks/m4_hourly_spectral.py [--n-series N]
"""

from __future__ import annotations

import os

for _v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):  # before numpy: BLAS threads contend
    os.environ.setdefault(_v, "1")

import argparse  # noqa: E402
import datetime as dt  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402


def models():
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.linear_model import Ridge

    from tsrnn.features import WaveletFeatures
    from tsrnn.models import AutoARIMA, FourierForecaster, Naive2, ReductionForecaster, SeasonalNaive, WaveletForecaster

    def hgb():
        return HistGradientBoostingRegressor(max_iter=200, learning_rate=0.1, random_state=0)

    wav = WaveletFeatures(wavelet="db4")
    return {
        "Naive2": Naive2(season_length=24),
        "SeasonalNaive": SeasonalNaive(season_length=24),
        "AutoARIMA": AutoARIMA(season_length=24),
        "Fourier(auto)": FourierForecaster(),
        "Fourier(24,168)": FourierForecaster(periods=[24, 168]),
        "Fourier(auto,log)": FourierForecaster(log=True),
        "Wavelet(haar,AR)": WaveletForecaster(),
        "Wavelet(haar,AR,log)": WaveletForecaster(log=True),
        # default window: 2 x the strongest period of the longest series (48 here)
        "Reduction(Ridge)": ReductionForecaster(Ridge(alpha=1.0)),
        "Reduction(HGB)": ReductionForecaster(hgb(), max_windows=100_000, random_state=0),
        "Reduction(Ridge,direct)": ReductionForecaster(Ridge(alpha=1.0), strategy="direct", horizon=48),
        # one week of lags
        "Reduction(Ridge,w=168)": ReductionForecaster(Ridge(alpha=1.0), window=168),
        "Reduction(Ridge,w=168)+WaveletFeatures": ReductionForecaster(Ridge(alpha=1.0), window=168, features=wav),
        "Reduction(HGB,w=168)": ReductionForecaster(hgb(), window=168, max_windows=100_000, random_state=0),
        "Reduction(HGB,w=168)+WaveletFeatures": ReductionForecaster(hgb(), window=168, features=wav,
                                                                    max_windows=100_000, random_state=0),
    }


def _markdown(df: pd.DataFrame) -> str:
    cols = [df.index.name or ""] + list(df.columns)
    out = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for name, row in df.iterrows():
        out.append("| " + " | ".join([str(name)] + [f"{v:.3f}" for v in row]) + " |")
    return "\n".join(out)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-series", type=int, default=None, help="first N series only (quick run)")
    ap.add_argument("--models", nargs="*", default=None, help="subset of model names")
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "m4_hourly_spectral.md"))
    args = ap.parse_args(argv)

    import sklearn
    import statsmodels

    import tsrnn
    from tsrnn.datasets import load_m4
    from tsrnn.metrics import mase_scale

    train, test = load_m4("Hourly")
    uids = list(pd.unique(train["unique_id"]))
    if args.n_series:
        uids = uids[: args.n_series]
        train, test = train[train.unique_id.isin(uids)], test[test.unique_id.isin(uids)]
    h = 48
    actual = test.set_index(["unique_id", "ds"])["y"]
    scale = {u: mase_scale(g["y"].to_numpy(), 24) for u, g in train.groupby("unique_id", sort=False)}
    chosen = models()
    if args.models:
        chosen = {k: v for k, v in chosen.items() if k in args.models}
    rows = []
    for name, est in chosen.items():
        t0 = time.perf_counter()
        est.fit(train)
        t1 = time.perf_counter()
        fc = est.predict(h, level=[95])
        t2 = time.perf_counter()
        col = est.name
        fc = fc.set_index(["unique_id", "ds"])
        y = actual.loc[fc.index].to_numpy()
        f = fc[col].to_numpy()
        u = fc.index.get_level_values(0)
        per = pd.DataFrame({"u": u, "smape": 200 * np.abs(y - f) / (np.abs(y) + np.abs(f)),
                            "ae": np.abs(y - f),
                            "cov": (y >= fc[f"{col}-lo-95"].to_numpy()) & (y <= fc[f"{col}-hi-95"].to_numpy())})
        g = per.groupby("u", sort=False).mean()
        g["mase"] = g["ae"] / np.array([scale[k] for k in g.index])
        rows.append({"model": name, "sMAPE": g["smape"].mean(), "MASE": g["mase"].mean(),
                     "coverage95": g["cov"].mean(), "fit_s": t1 - t0, "predict_s": t2 - t1})
        print(f"{name:34s} sMAPE {rows[-1]['sMAPE']:7.3f}  MASE {rows[-1]['MASE']:7.3f}  "
              f"fit {t1 - t0:7.1f}s  predict {t2 - t1:6.1f}s", flush=True)
    res = pd.DataFrame(rows).set_index("model")
    if "Naive2" in res.index:
        n2 = res.loc["Naive2"]
        res.insert(2, "OWA", 0.5 * (res["sMAPE"] / n2["sMAPE"] + res["MASE"] / n2["MASE"]))
    res = res.sort_values("OWA" if "OWA" in res else "sMAPE")

    cmd = "TSRNN_DATA_MIRROR=../shared/datasets .venv/bin/python benchmarks/m4_hourly_spectral.py " + " ".join(
        argv if argv is not None else sys.argv[1:])
    lines = [
        "# M4 Hourly hold-out: spectral, wavelet and reduction forecasters",
        "",
        f"- command: `{cmd.strip()}`",
        f"- date: {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC; {len(uids)} series, h = 48, one fit per "
        "model on the official training part, scored on the official test part",
        f"- versions: tsrnn {tsrnn.__version__}, numpy {np.__version__}, pandas {pd.__version__}, scikit-learn "
        f"{sklearn.__version__}, statsmodels {statsmodels.__version__}, Python {platform.python_version()}",
        f"- threads: BLAS/OpenMP {os.environ.get('OPENBLAS_NUM_THREADS')}; models run one series at a time "
        "(n_jobs=1); HistGradientBoosting uses its OpenMP default",
        "- machine: shared 2-core VM with other jobs running: timings are noisy, compare them only roughly",
        "- metrics: sMAPE and MASE (m = 24) averaged over series as in M4; OWA relative to Naive2 (M4 reports "
        "Naive2 sMAPE 18.383, MASE 2.395 on Hourly); coverage95 = share of actuals inside the 95 % interval",
        "",
        _markdown(res),
        "",
    ]
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
