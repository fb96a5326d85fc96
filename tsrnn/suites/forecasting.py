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
_NN_SMALL = dict(hidden_size=32, max_epochs=15, window=28, random_state=0)


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


def _quick_models(m: int) -> dict:
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
        "LSTM": ("RNNForecaster", dict(cell="lstm", **_NN_SMALL)),
        "GRU": ("RNNForecaster", dict(cell="gru", **_NN_SMALL)),
        "Seq2Seq": ("Seq2SeqForecaster", dict(cell="gru", attention="general", **_NN_SMALL)),
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
                        models={k: v for k, v in _quick_models(24).items() if k not in ("Mean", "Drift")},
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
    if out is not None:
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        for attr in ("forecasts", "scores", "timings", "errors"):
            getattr(result, attr).to_csv(out / f"{attr}.csv", index=False)
        (out / "leaderboard.md").write_text(result.to_markdown() + "\n", encoding="utf-8")
        (out / "meta.json").write_text(json.dumps(result.meta, default=str, indent=2), encoding="utf-8")
        result.to_html(out / "report.html")
    return result
