"""The ``anomaly`` benchmark suite: every detector family on NAB (through the data mirror) and on injected anomalies.

Datasets
--------
``nab``
    The NAB series available to :func:`tsrnn.datasets.load_nab` (the shared mirror holds 20), rows as in NAB's
    files, ``label`` 1 inside NAB's anomaly windows.
``injected``
    Eight seeded synthetic series (two daily cycles in a trend with noise, 3000 rows) with six anomalies each from
    :func:`tsrnn.datasets.inject_anomalies` (spike, level shift, trend, variance, flatline, dropout); ``label`` 1
    on the changed rows.

Protocol
--------
:func:`tsrnn.anomaly.evaluate_detectors`: each detector is fitted on the first ``min(floor(0.15 n), 750)`` rows of
each series (NAB's probationary period) and then scores the whole series online. All detectors share one
threshold setting (:data:`COMMON`): peaks-over-threshold at a false-alarm probability of 0.001 per row,
with a 100-row cooldown after each alarm. NAB's own scoreboard instead tunes one threshold per detector on the
labels of the whole corpus; here no threshold sees a label. Detectors: the five families (RollingZScore,
ResidualDetector on Naive, HMMDetector, WaveletDetector, AutoencoderDetector) and the HMM's score through
Numenta's anomaly likelihood. Committed figures: ``benchmarks/results/anomaly_nab.md``.
"""

from __future__ import annotations

import json
import platform
import time
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["run", "default_detectors", "load_injected", "AnomalySuiteResult", "COMMON"]

#: Threshold settings shared by every detector of the suite.
COMMON = {"threshold": "pot", "contamination": 0.001, "cooldown": 100}


def default_detectors(common: dict | None = None) -> dict:
    """The five detector families with the suite's shared threshold settings, plus the HMM's score passed through
    Numenta's anomaly likelihood (:class:`tsrnn.anomaly.thresholds.AnomalyLikelihood`)."""
    from ..anomaly import AutoencoderDetector, HMMDetector, ResidualDetector, RollingZScore, WaveletDetector
    from ..anomaly.thresholds import AnomalyLikelihood, Thresholded
    from ..models import Naive

    c = dict(COMMON if common is None else common)
    return {
        "RollingZScore": RollingZScore(window=100, **c),
        "ResidualDetector": ResidualDetector(Naive(), **c),
        "HMMDetector": Thresholded(HMMDetector(random_state=0), **c),
        "WaveletDetector": WaveletDetector(**c),
        "AutoencoderDetector": AutoencoderDetector(random_state=0, **c),
        "HMMDetector+likelihood": AnomalyLikelihood(HMMDetector(random_state=0), **c),
    }


def load_injected(n_series: int = 8, length: int = 3000, seed: int = 0) -> pd.DataFrame:
    """Seeded clean series with injected anomalies: long frame ``unique_id, ds, y, label``."""
    from ..datasets import inject_anomalies

    rng = np.random.default_rng(seed)
    t = np.arange(length)
    frames = []
    for i in range(n_series):
        period = int(rng.choice([96, 144, 288]))
        y = (10 + 3 * np.sin(2 * np.pi * t / period + rng.uniform(0, 6)) + 0.002 * rng.normal() * t
             + np.cumsum(rng.normal(0, 0.05, length)) + rng.normal(0, 0.5, length))
        frames.append(pd.DataFrame({"unique_id": f"synthetic_{i}", "ds": pd.RangeIndex(length), "y": y}))
    clean = pd.concat(frames, ignore_index=True)
    return inject_anomalies(clean, n=6, seed=seed)


class AnomalySuiteResult:
    """The suite's outcome: one :class:`~tsrnn.anomaly.evaluate.DetectorResult` per dataset."""

    def __init__(self, results: dict, meta: dict):
        self.results = results
        self.meta = meta

    def leaderboard(self, dataset: str | None = None) -> pd.DataFrame:
        """The leaderboard of ``dataset`` (default: ``nab`` when present)."""
        dataset = dataset or ("nab" if "nab" in self.results else next(iter(self.results)))
        return self.results[dataset].leaderboard()

    def to_markdown(self) -> str:
        parts = [f"## {name}\n\n{res.to_markdown()}" for name, res in self.results.items()]
        return "\n".join(parts) if parts else "no dataset could be evaluated"

    def to_html(self, path) -> None:
        body = "".join(f"<h2>{name}</h2>\n{res.leaderboard().round(3).to_html()}\n" for name, res in
                       self.results.items())
        notes = "".join(f"<li>{n}</li>" for n in self.meta.get("unavailable", []))
        Path(path).write_text(f"<html><head><meta charset='utf-8'><title>tsrnn anomaly suite</title></head><body>"
                              f"<h1>tsrnn anomaly suite</h1><p>{self.meta.get('protocol', '')}</p>{body}"
                              f"<ul>{notes}</ul></body></html>\n", encoding="utf-8")


def _select(models, notes: list) -> dict:
    if isinstance(models, dict):
        return models
    dets = default_detectors()
    if models is None:
        return dets
    chosen = {}
    for m in models:
        if m in dets:
            chosen[m] = dets[m]
        else:
            notes.append(f"unknown detector {m!r}; the suite has {sorted(dets)}")
    if not chosen:
        raise ValueError(f"none of the detectors {list(models)} is in the anomaly suite ({sorted(dets)})")
    return chosen


def run(models=None, out=None, progress: bool = True, n_jobs: int = 1, backend=None,
        datasets: tuple = ("nab", "injected")) -> AnomalySuiteResult:
    """Run the anomaly suite; write ``leaderboard.md``, ``scores.csv``, ``timings.csv``, ``meta.json`` and
    ``report.html`` into ``out`` when given.

    Parameters
    ----------
    models : None, list of names, or dict ``{name: detector}``
        Default: :func:`default_detectors`.
    datasets : tuple of {"nab", "injected"}
        NAB needs the data (``TSRNN_DATA_MIRROR`` or a download); when it is missing the suite notes it in
        ``meta["unavailable"]`` and goes on.
    """
    from ..anomaly import evaluate_detectors

    notes: list[str] = []
    dets = _select(models, notes)
    results = {}
    t0 = time.perf_counter()
    for name in datasets:
        if name == "nab":
            try:
                from ..datasets import load_nab

                data = load_nab()
            except Exception as exc:  # offline without a mirror: say so and go on
                notes.append(f"nab unavailable: {exc}")
                continue
        elif name == "injected":
            data = load_injected()
        else:
            raise ValueError(f"unknown dataset {name!r}; choose from ('nab', 'injected')")
        results[name] = evaluate_detectors(dets, data, n_jobs=n_jobs, backend=backend, progress=progress)
    meta = {"suite": "anomaly", "datasets": list(results), "detectors": list(dets), "common": COMMON,
            "wall_s": round(time.perf_counter() - t0, 2), "unavailable": notes, "python": platform.python_version(),
            "protocol": "fit on the first min(15%, 750) rows of each series, score the whole series online; "
                        "thresholds never see labels"}
    result = AnomalySuiteResult(results, meta)
    if out is not None:
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "leaderboard.md").write_text(result.to_markdown() + "\n", encoding="utf-8")
        if results:
            for attr in ("scores", "timings"):
                frame = pd.concat([getattr(r, attr).assign(dataset=k) for k, r in results.items()])
                frame.to_csv(out / f"{attr}.csv", index=False)
        (out / "meta.json").write_text(json.dumps(meta, default=str, indent=2), encoding="utf-8")
        result.to_html(out / "report.html")
    return result
