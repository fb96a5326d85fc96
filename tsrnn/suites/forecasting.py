"""The forecasting suites: ``quick`` (shipped sales panel, every model family, plus a detector task and a
classifier task on generated data so that one report holds all three), ``sales`` (ABS Australian retail
turnover), ``m4`` (M4 Hourly, the competition's own test set).

Each suite's models are one dict ``{name: (class name in tsrnn.models, arguments)}`` below (add a model there);
an argument the estimator does not take is an error, never dropped.
"""

from __future__ import annotations

import importlib
import platform
import time
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

from .base import Suite, SuiteResult

__all__ = ["SUITES", "FORECAST_SUITES", "ForecastSuite", "QUICK_CLASSIFIERS", "quick_anomaly_data",
           "quick_classifiers", "select_models", "run"]

# Small networks for the suites that must run in minutes on 2 CPU cores: a few hundred windows per epoch.
_NN_SMALL = dict(hidden_size=16, max_epochs=10, window=28, batch_size=128, random_state=0)
#: The quick suite's detectors (names of :data:`tsrnn.suites.anomaly.DETECTORS`) and classifiers.
QUICK_DETECTORS = ("RollingZScore", "ResidualDetector", "HMMDetector", "WaveletDetector", "AutoencoderDetector",
                   "OnlineKNNDetector")
QUICK_CLASSIFIERS = ("RNNClassifier(gru)", "Wavelet+LogReg")


@dataclass(frozen=True)
class ForecastSuite:
    """The backtest settings of a forecasting suite: data loader, horizon, windows, season and models."""

    load: object
    h: int
    n_windows: int
    season_length: int
    models: dict = field(default_factory=dict)
    metrics: tuple = ("mae", "rmse", "smape", "mase")
    level: tuple | None = (80, 95)
    benchmark: str | None = None  # the model OWA is relative to (M4's Naive2)


def _make(cls_name: str, **kwargs):
    """``tsrnn.models.<cls_name>(**kwargs)``; an argument it does not take raises ``ValueError`` naming it. An
    argument given as a ``(class name, arguments)`` pair is built the same way (a meta-estimator's inner model)."""
    cls = getattr(importlib.import_module("tsrnn.models"), cls_name)
    unknown = sorted(set(kwargs) - set(cls().get_params(deep=False)))
    if unknown:
        raise ValueError(f"{cls_name} takes no argument(s) {unknown}; check the suite's model list")
    kwargs = {k: _make(v[0], **v[1]) if _is_spec(v) else v for k, v in kwargs.items()}
    return cls(**kwargs)


def _is_spec(value) -> bool:
    return isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], str) and isinstance(value[1], dict)


def _forecasters(m: int, seasonal_skip: bool = False) -> dict:
    """The forecasting models of the suites, for season length ``m``: ``{name: (class name, arguments)}``."""
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


def _demand_models(m: int, conformal_of: str) -> dict:
    """The demand-planning additions of the quick and sales suites: the intermittent-demand baselines, the
    count-distribution RNN, a conformal wrapper of a strong classical model, and the ES-RNN hybrid."""
    return {
        "Croston-SBA": ("Croston", dict(method="sba")),
        "TSB": ("TSB", {}),
        "ADIDA": ("ADIDA", {}),
        "IMAPA": ("IMAPA", {}),
        "LSTM-negbin": ("RNNForecaster", dict(cell="lstm", distribution="negbin", max_windows=150, **_NN_SMALL)),
        f"Conformal-{conformal_of}": ("ConformalForecaster", dict(forecaster=(conformal_of, dict(season_length=m)))),
        "ESRNN": ("ESRNNForecaster", dict(season_length=m, max_epochs=15, random_state=0)),
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


FORECAST_SUITES = {
    # the conformal wrapper: Theta in the quick suite (cheap), AutoARIMA (the best classical model) on retail
    "quick": ForecastSuite(_load_quick, h=14, n_windows=2, season_length=7,
                           models={**_forecasters(7), **_demand_models(7, "Theta")},
                           metrics=("mae", "rmse", "smape", "mase", "msis", "crps")),
    "sales": ForecastSuite(_load_retail, h=12, n_windows=3, season_length=12,
                           models={**_forecasters(12), **_demand_models(12, "AutoARIMA")},
                           metrics=("mae", "rmse", "smape", "mase", "msis", "crps")),
    "m4": ForecastSuite(_load_m4_hourly, h=48, n_windows=1, season_length=24,
                        models={**{k: v for k, v in _forecasters(24, seasonal_skip=True).items()
                                   if k not in ("Mean", "Drift")},
                                "ESRNN": ("ESRNNForecaster", dict(season_length=24, random_state=0))},
                        metrics=("smape", "mase", "owa"), level=None, benchmark="Naive2"),
}


def select_models(suite: ForecastSuite, names=None) -> tuple[dict, list[str]]:
    """Instantiate the suite's models (or the named ones); returns them and notes on the ones unavailable
    (a model whose package is missing); an unknown name or argument raises ``ValueError``."""
    wanted = list(suite.models) if names is None else list(names)
    unknown = [n for n in wanted if n not in suite.models]
    if unknown:
        raise ValueError(f"unknown model(s) {unknown}; choose from {list(suite.models)}")
    models, notes = {}, []
    for n in wanted:
        cls_name, kw = suite.models[n]
        try:
            models[n] = _make(cls_name, **kw)
        except ImportError as e:
            notes.append(f"{n}: not available ({e})")
    return models, notes


# ----------------------------------------------------------------------------------------------- quick: extra tasks
def quick_anomaly_data(seed: int = 0) -> pd.DataFrame:
    """Labelled series for the quick suite's detectors, all generated: three series with injected anomalies and
    a synthetic ECG (100 Hz, 90 s) whose ectopic beats are the anomalies (label 1 within 0.15 s of each)."""
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


def _quick_classifier_models(names, seed: int) -> dict:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from ..classification import RNNClassifier
    from ..features import WaveletFeatures

    build = {
        "RNNClassifier(gru)": lambda: RNNClassifier(cell="gru", hidden_size=16, max_epochs=10,
                                                    class_weight="balanced", random_state=seed),
        "Wavelet+LogReg": lambda: make_pipeline(WaveletFeatures(wavelet="db4", level=3), StandardScaler(),
                                                LogisticRegression(class_weight="balanced", max_iter=2000)),
    }
    return {n: build[n]() for n in names}


def quick_classifiers(names=QUICK_CLASSIFIERS, seed: int = 0):
    """Beat classification on a synthetic ECG (normal vs ectopic beats): a GRU classifier against logistic
    regression on wavelet features, trained on the first 70 % of the beats and tested on the rest.

    Returns an :class:`~tsrnn.suites.ecg.ECGSuiteResult` (task ``synthetic_beats``) with the confusion matrices.
    """
    from sklearn.metrics import confusion_matrix

    from ..datasets import make_ecg
    from .ecg import ECGSuiteResult, _score

    signal, beats = make_ecg(duration_s=240, fs=100, heart_rate=75, ectopic_rate=0.15, seed=seed)
    x = signal.to_numpy()
    keep = [(int(b), s) for b, s in zip(beats["sample"], beats["symbol"]) if 25 <= b < len(x) - 45]
    X = np.stack([x[b - 25:b + 45] for b, _ in keep])
    y = np.array(["normal" if s == "N" else "ectopic" for _, s in keep])
    cut, classes, task = int(0.7 * len(y)), ["normal", "ectopic"], "synthetic_beats"
    rows, confusion = [], {}
    for name, model in _quick_classifier_models(names, seed).items():
        t0 = time.perf_counter()
        model.fit(X[:cut], y[:cut])
        t1 = time.perf_counter()
        pred = model.predict(X[cut:])
        rows.append(_score(task, name, classes, y[cut:], pred, t1 - t0, time.perf_counter() - t1))
        confusion[(task, name)] = pd.DataFrame(confusion_matrix(y[cut:], pred, labels=classes),
                                               index=[f"true {c}" for c in classes], columns=classes)
    info = {f"task {task}": f"synthetic ECG (make_ecg, 240 s, 100 Hz, 15 % ectopic beats), 250 ms before to 450 ms "
                            f"after each beat; train {cut} beats, test {len(y) - cut} (the later 30 %)"}
    return ECGSuiteResult(pd.DataFrame(rows), confusion, info)


# ----------------------------------------------------------------------------------------------- run
def _backtest(name: str, models, n_jobs: int, backend, progress: bool):
    from ..backtest import backtest

    spec = FORECAST_SUITES[name]
    chosen, notes = select_models(spec, models)
    result = backtest(chosen, spec.load(), h=spec.h, n_windows=spec.n_windows, metrics=spec.metrics,
                      season_length=spec.season_length, level=list(spec.level) if spec.level else None,
                      n_jobs=n_jobs, backend=backend, progress=progress, on_error="record", benchmark=spec.benchmark)
    return result, notes


def run(name: str, models=None, out=None, n_jobs: int = 1, backend=None, progress: bool = True) -> SuiteResult:
    """Run the forecasting suite ``name`` (``quick``, ``sales`` or ``m4``); with ``out``, write its files and
    report there. ``models`` picks among the suite's names (for ``quick`` also its detectors and classifiers; a
    task none of whose models is picked is skipped)."""
    from . import SUITES as registry  # built from this module's SUITES once it is imported

    t0 = time.perf_counter()
    suite = registry[name]
    chosen = suite.check_models(models)

    def pick(names):
        return list(names) if chosen is None else [n for n in names if n in chosen]

    fc_names = pick(FORECAST_SUITES[name].models)
    result, notes = _backtest(name, fc_names, n_jobs, backend, progress) if fc_names else (None, [])
    detectors, classifiers = {}, None
    if name == "quick":
        if pick(QUICK_DETECTORS):
            from ..anomaly import evaluate_detectors
            from .anomaly import default_detectors

            dets = default_detectors(names=pick(QUICK_DETECTORS))
            detectors["generated"] = evaluate_detectors(dets, quick_anomaly_data(), n_jobs=n_jobs, backend=backend,
                                                        progress=progress)
        if pick(QUICK_CLASSIFIERS):
            classifiers = quick_classifiers(pick(QUICK_CLASSIFIERS))
    meta = {"suite": name, "description": suite.description, "models": ", ".join(chosen or suite.models),
            "unavailable": notes, "wall_s": round(time.perf_counter() - t0, 2), "python": platform.python_version()}
    res = SuiteResult(name, forecasts=result, detectors=detectors, classifiers=classifiers, meta=meta)
    if out is not None:
        res.write(Path(out))
    return res


SUITES = (
    Suite("quick", "the shipped synthetic sales panel (12 daily items, 2 years, h=14, 2 windows) with every "
          "forecasting family; detectors on generated series with injected anomalies and a synthetic ECG; "
          "a beat classifier on a synthetic ECG", "about 1-2 minutes", ("sales", "generated"),
          (*FORECAST_SUITES["quick"].models, *QUICK_DETECTORS, *QUICK_CLASSIFIERS), partial(run, "quick")),
    Suite("sales", "ABS Australian retail turnover, 150 monthly series, h=12, 3 windows, every forecasting family "
          "(needs the data)", "tens of minutes", ("aus_retail",), tuple(FORECAST_SUITES["sales"].models),
          partial(run, "sales")),
    Suite("m4", "M4 Hourly: 414 series, the official 48-step test set, OWA against Naive2 (needs the data)",
          "an hour or more", ("m4_hourly",), tuple(FORECAST_SUITES["m4"].models), partial(run, "m4")),
)
