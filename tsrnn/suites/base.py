"""A suite's declared record (:class:`Suite`) and what its run returns (:class:`SuiteResult`)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

__all__ = ["Suite", "SuiteResult"]


@dataclass
class SuiteResult:
    """The outcome of one suite: a forecasting backtest, detector evaluations and classifier scores (any of them
    may be absent).

    Attributes
    ----------
    suite : str
        The suite's name.
    forecasts : BacktestResult or None
        The forecasting backtest.
    detectors : dict
        ``{dataset: DetectorResult}`` of :func:`tsrnn.anomaly.evaluate_detectors`.
    classifiers : ECGSuiteResult or None
        Scores per task and model (``scores``, ``confusion``).
    meta : dict
        Suite settings: name, description, wall time, models that were unavailable.
    """

    suite: str
    forecasts: object | None = None
    detectors: dict = field(default_factory=dict)
    classifiers: object | None = None
    meta: dict = field(default_factory=dict)

    def leaderboard(self) -> pd.DataFrame:
        """The first task's leaderboard: forecasting, else the first detector dataset, else the classifiers."""
        if self.forecasts is not None:
            return self.forecasts.leaderboard()
        if self.detectors:
            return next(iter(self.detectors.values())).leaderboard()
        if self.classifiers is not None:
            return self.classifiers.leaderboard()
        raise ValueError(f"suite {self.suite!r} produced no result")

    def to_markdown(self) -> str:
        """Every task's leaderboard as Markdown, one heading per task."""
        parts = []
        if self.forecasts is not None:
            parts.append(f"## Forecasting\n\n{self.forecasts.to_markdown()}")
        for name, res in self.detectors.items():
            parts.append(f"## Detectors: {name}\n\n{res.to_markdown()}")
        if self.classifiers is not None:
            from .ecg import _md_table

            parts.append(f"## Classifiers\n\n{_md_table(self.classifiers.leaderboard())}")
        return "\n\n".join(parts) if parts else f"suite {self.suite!r}: no task could be run"

    def to_html(self, path) -> Path:
        """Write the one HTML report of every task (:func:`tsrnn.report.render_report`)."""
        from ..report.html import render_report

        return render_report(path, forecasts=self.forecasts, detectors=self.detectors or None,
                             classifiers=self.classifiers, title=f"tsrnn {self.suite} suite", settings=self.meta)

    def write(self, out) -> Path:
        """Write the raw frames (CSV), ``leaderboard.md``, ``meta.json`` and ``report.html`` into ``out``;
        returns the report's path."""
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        if self.forecasts is not None:
            for attr in ("forecasts", "scores", "timings", "errors"):
                getattr(self.forecasts, attr).to_csv(out / f"{attr}.csv", index=False)
        for name, res in self.detectors.items():
            for attr in ("scores", "timings"):
                getattr(res, attr).to_csv(out / f"detectors_{name}_{attr}.csv", index=False)
        if self.classifiers is not None:
            self.classifiers.scores.to_csv(out / "classifiers_scores.csv", index=False)
        (out / "leaderboard.md").write_text(self.to_markdown() + "\n", encoding="utf-8")
        (out / "meta.json").write_text(json.dumps(self.meta, default=str, indent=2), encoding="utf-8")
        return self.to_html(out / "report.html")


@dataclass(frozen=True)
class Suite:
    """A benchmark suite, as :data:`tsrnn.suites.SUITES` lists it.

    Attributes
    ----------
    name : str
        What ``tsrnn benchmark --suite`` takes.
    description : str
        What it holds, one sentence.
    runtime : str
        Rough run time on a quiet 2-core machine.
    datasets : tuple of str
        The datasets it reads (names of :func:`tsrnn.datasets.list_datasets`, or "generated").
    models : tuple of str
        The default models (``--models`` picks among them; any other name is an error).
    run : callable
        ``run(models=None, out=None, n_jobs=1, backend=None, progress=True) -> SuiteResult``; with ``out`` it
        writes the files and the one report there.
    """

    name: str
    description: str
    runtime: str
    datasets: tuple
    models: tuple
    run: Callable[..., SuiteResult]

    def check_models(self, models) -> list | None:
        """The chosen model names (None: all); unknown names raise ``ValueError`` naming them."""
        if models is None:
            return None
        unknown = [m for m in models if m not in self.models]
        if unknown:
            raise ValueError(f"unknown model(s) {unknown} for suite {self.name!r}; choose from {list(self.models)}")
        return list(models)
