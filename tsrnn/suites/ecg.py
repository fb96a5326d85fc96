"""The ``ecg`` benchmark suite: heartbeat classification with recurrent classifiers against non-recurrent baselines.

Tasks
-----
``mitbih`` (inter-record): MIT-BIH Arrhythmia beats in the AAMI classes N, S, V, F (Q dropped), trained on
records 100, 106, 119, 208 and tested on the *disjoint* records 200, 221 (no patient in both). Lead MLII is
band-passed (0.5–40 Hz, zero-phase Butterworth), each beat is the window 0.25 s before to 0.45 s after its R peak,
decimated to 90 Hz (63 samples) and centred on its median. Four RR-interval features (previous and next RR in
seconds; previous RR and the mean of the last 10 RRs divided by the record's mean RR; de Chazal et al. 2004) are
appended as constant channels. Normal training beats are subsampled to ``max_normal`` (the classifiers use
balanced class weights).

``ecg200``: UCR ECG200 (normal vs myocardial infarction), the archive's own split (100 / 100); channels are the
series and its first difference.

Models: bidirectional GRU with attention pooling and bidirectional LSTM with last-state pooling
(:class:`tsrnn.classification.RNNClassifier`, balanced class weights, dropout 0.3), on ECG200 also a soft-voting
ensemble of five BiGRU seeds.

Metrics: accuracy, macro-F1 over the task's classes, per-class recall and the confusion matrix. Baselines:
logistic regression and a random forest on wavelet features (:class:`tsrnn.features.WaveletFeatures`: per-band
statistics plus the raw level-3 db4 coefficients of the beat, and the other channels' means).
"""

from __future__ import annotations

import dataclasses
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin, clone
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, recall_score

from .._tables import markdown_table
from .base import Suite, SuiteResult

__all__ = ["run", "SUITE", "MODELS", "ECGSuiteResult", "default_models", "load_task", "SeedEnsemble", "BeatFeatures", "TRAIN_RECORDS",
           "TEST_RECORDS"]

TRAIN_RECORDS = ("100", "106", "119", "208")
TEST_RECORDS = ("200", "221")
AAMI_CLASSES = ("N", "S", "V", "F")


# ----------------------------------------------------------------------------------------------- data
def _rr_features(samples: np.ndarray, fs: float) -> np.ndarray:
    """``(n, 4)``: previous RR (s), next RR (s), previous RR / record mean, mean of the last 10 RR / record mean."""
    rr = np.diff(samples) / fs
    pre = np.concatenate([[rr[0]], rr])
    post = np.concatenate([rr, [rr[-1]]])
    mean = rr.mean()
    local = pd.Series(pre).rolling(10, min_periods=1).mean().to_numpy()
    return np.column_stack([pre, post, pre / mean, local / mean])


def _mitbih_beats(records, classes=AAMI_CLASSES) -> tuple[np.ndarray, np.ndarray]:
    from scipy import signal as sps

    from ..datasets import load_mitbih
    from ..datasets.mitbih import beat_windows

    Xs, ys = [], []
    for rec in load_mitbih(list(records)).values():
        sos = sps.butter(3, [0.5, 40.0], btype="bandpass", fs=rec.fs, output="sos")
        sig = rec.signal.copy()
        sig.iloc[:, 0] = sps.sosfiltfilt(sos, sig.iloc[:, 0].to_numpy())
        filtered = dataclasses.replace(rec, signal=sig)
        rr = pd.DataFrame(_rr_features(rec.beats["sample"].to_numpy(), rec.fs), index=rec.beats["sample"].to_numpy())
        X, y, kept = beat_windows(filtered, before=0.25, after=0.45, lead=0, classes=classes)
        X = X[:, ::4]  # 360 Hz -> 90 Hz (the signal is already low-passed at 40 Hz)
        X = X - np.median(X, axis=1, keepdims=True)
        feats = rr.loc[kept["sample"].to_numpy()].to_numpy()
        Xs.append(np.concatenate([X[:, :, None], np.repeat(feats[:, None, :], X.shape[1], axis=1)], axis=2))
        ys.append(y)
    return np.concatenate(Xs).astype(np.float32), np.concatenate(ys)


def load_task(task: str, max_normal: int | None = 4000, random_state: int = 0) -> dict:
    """Arrays of a task: ``{"X_train", "y_train", "X_test", "y_test", "classes", "description"}``;
    ``X`` is ``(n, length, channels)`` with the signal in channel 0."""
    if task == "ecg200":
        from ..datasets import load_ucr

        Xtr, ytr, Xte, yte = load_ucr("ECG200")
        chan = lambda X: np.stack([X, np.gradient(X, axis=1)], axis=-1).astype(np.float32)  # noqa: E731
        labels = {1: "normal", -1: "MI"}
        return dict(X_train=chan(Xtr), y_train=np.array([labels.get(v, str(v)) for v in ytr]), X_test=chan(Xte),
                    y_test=np.array([labels.get(v, str(v)) for v in yte]), classes=("normal", "MI"),
                    description="UCR ECG200, official split (100 train / 100 test), length 96")
    if task == "mitbih":
        Xtr, ytr = _mitbih_beats(TRAIN_RECORDS)
        Xte, yte = _mitbih_beats(TEST_RECORDS)
        if max_normal is not None and (ytr == "N").sum() > max_normal:
            rs = np.random.default_rng(random_state)
            normal = np.flatnonzero(ytr == "N")
            keep = np.sort(np.concatenate([rs.choice(normal, max_normal, replace=False), np.flatnonzero(ytr != "N")]))
            Xtr, ytr = Xtr[keep], ytr[keep]
        return dict(X_train=Xtr, y_train=ytr, X_test=Xte, y_test=yte, classes=AAMI_CLASSES,
                    description=f"MIT-BIH inter-record: train {', '.join(TRAIN_RECORDS)}; test "
                                f"{', '.join(TEST_RECORDS)}; AAMI N/S/V/F; MLII 0.7 s beats at 90 Hz + 4 RR features")
    raise ValueError(f"unknown ECG task {task!r}; choose 'mitbih' or 'ecg200'")


# ----------------------------------------------------------------------------------------------- models
class BeatFeatures(TransformerMixin, BaseEstimator):
    """``(n, length, channels)`` -> wavelet statistics and raw db4 coefficients of channel 0, plus the mean of
    every other channel (the RR features)."""

    def __init__(self, wavelet: str = "db4", level: int = 3):
        self.wavelet = wavelet
        self.level = level

    def fit(self, X, y=None):
        from ..features import WaveletFeatures

        X = np.asarray(X, dtype=float)
        self.stats_ = WaveletFeatures(self.wavelet).fit(X[:, :, 0])
        self.raw_ = WaveletFeatures(self.wavelet, level=self.level, features="raw").fit(X[:, :, 0])
        return self

    def transform(self, X):
        X = np.asarray(X, dtype=float)
        parts = [self.stats_.transform(X[:, :, 0]), self.raw_.transform(X[:, :, 0])]
        if X.shape[2] > 1:
            parts.append(X[:, :, 1:].mean(axis=1))
        return np.concatenate(parts, axis=1)


class SeedEnsemble(ClassifierMixin, BaseEstimator):
    """Soft vote of ``n_members`` clones of ``estimator`` that differ only in ``random_state`` (``0 .. n - 1``):
    ``p(k | x) = mean_m p_m(k | x)``."""

    def __init__(self, estimator=None, n_members: int = 5):
        self.estimator = estimator
        self.n_members = n_members

    def fit(self, X, y):
        self.estimators_ = [clone(self.estimator).set_params(random_state=i).fit(X, y)
                            for i in range(int(self.n_members))]
        self.classes_ = self.estimators_[0].classes_
        return self

    def predict_proba(self, X):
        return np.mean([e.predict_proba(X) for e in self.estimators_], axis=0)

    def predict(self, X):
        proba = self.predict_proba(X)
        return self.classes_[proba.argmax(1)]


def default_models(task: str, quick: bool = False) -> dict:
    """The suite's models: recurrent classifiers and the wavelet-feature baselines."""
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from ..classification import RNNClassifier

    epochs = 3 if quick else (100 if task == "ecg200" else 25)
    batch = 32 if task == "ecg200" else 128
    nn = dict(hidden_size=32, dropout=0.3, class_weight="balanced", max_epochs=epochs, batch_size=batch,
              random_state=0)
    bigru = RNNClassifier(cell="gru", bidirectional=True, pooling="attention", **nn)
    models = {
        "BiGRU-attention": bigru,
        "BiLSTM-last": RNNClassifier(cell="lstm", bidirectional=True, pooling="last", **nn),
        "Wavelet+LogReg": make_pipeline(BeatFeatures(), StandardScaler(),
                                        LogisticRegression(C=1.0, class_weight="balanced", max_iter=3000)),
        "Wavelet+RF": make_pipeline(BeatFeatures(), RandomForestClassifier(
            n_estimators=50 if quick else 300, class_weight="balanced_subsample", random_state=0, n_jobs=1)),
    }
    if task == "ecg200":  # small enough for an ensemble of five seeds
        models["BiGRU-attention x5"] = SeedEnsemble(bigru, n_members=2 if quick else 5)
    return models


# ----------------------------------------------------------------------------------------------- result
@dataclass
class ECGSuiteResult:
    """Scores (one row per task and model), confusion matrices and run information."""

    scores: pd.DataFrame
    confusion: dict = field(default_factory=dict)  # (task, model) -> DataFrame (true rows x predicted columns)
    info: dict = field(default_factory=dict)
    figures: list = field(default_factory=list)

    def leaderboard(self, metric: str = "macro_f1") -> pd.DataFrame:
        """Rows ``(task, model)`` sorted by ``metric`` within each task (best first)."""
        cols = ["task", "model", "accuracy", "macro_f1"] + [c for c in self.scores if c.startswith("recall_")] + [
            "fit_s", "predict_s"]
        lb = self.scores[[c for c in cols if c in self.scores]]
        return lb.sort_values(["task", metric], ascending=[True, False]).reset_index(drop=True)

    def to_markdown(self) -> str:
        lines = ["# tsrnn `ecg` suite", ""]
        for k, v in self.info.items():
            lines.append(f"- {k}: {v}")
        lb = self.leaderboard()
        for task in lb["task"].unique():
            part = lb[lb["task"] == task].dropna(axis=1, how="all")
            lines += ["", f"## Leaderboard: {task}", "", _md_table(part), ""]
        for (task, model), cm in self.confusion.items():
            lines += [f"### Confusion matrix: {task}, {model} (rows true, columns predicted)", "",
                      _md_table(cm, index=True), ""]
        for fig in self.figures:
            lines += [f"![{Path(fig).stem}]({Path(fig).name})", ""]
        return "\n".join(lines)


def _md_table(frame: pd.DataFrame, index: bool = False) -> str:
    """A GitHub Markdown table (the package's one writer); a confusion matrix keeps its ``true \\ predicted`` head."""
    return markdown_table(frame.rename_axis("true \\ predicted") if index else frame, index=index)


def _score(task, name, classes, y_true, y_pred, fit_s, predict_s) -> dict:
    present = [c for c in classes if c in set(y_true)]
    row = dict(task=task, model=name, accuracy=accuracy_score(y_true, y_pred),
               macro_f1=f1_score(y_true, y_pred, labels=present, average="macro", zero_division=0),
               n_test=len(y_true), fit_s=fit_s, predict_s=predict_s)
    rec = recall_score(y_true, y_pred, labels=present, average=None, zero_division=0)
    for c, r in zip(present, rec):
        row[f"recall_{c}"] = r
    return row


def _figures(result, task, data, fitted, out: Path) -> list:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..report.plots import plot_confusion

    paths = []

    def save(fig, what):
        fig.tight_layout()
        paths.append(out / f"ecg_{task}_{what}.png")
        fig.savefig(paths[-1], dpi=110)
        plt.close(fig)

    cms = [(m, cm) for (t, m), cm in result.confusion.items() if t == task]
    fig, axes = plt.subplots(1, len(cms), figsize=(3.6 * len(cms), 3.4), squeeze=False)
    for ax, (m, cm) in zip(axes[0], cms):
        plot_confusion(cm, ax=ax, title=m)
    fig.suptitle(f"{task}: confusion matrices (colour = row-normalised recall)", fontsize=10)
    save(fig, "confusion")
    att = [(m, est) for m, est in fitted.items() if getattr(est, "pooling", None) == "attention"]
    if att:
        m, est = att[0]
        w = est.attention_weights(data["X_test"])
        fig, ax = plt.subplots(figsize=(7, 3.4))
        ax2 = ax.twinx()
        for c in data["classes"]:
            sel = data["y_test"] == c
            if sel.sum() == 0:
                continue
            line = ax.plot(data["X_test"][sel, :, 0].mean(0), label=f"{c} mean beat (n={sel.sum()})")
            ax2.plot(w[sel].mean(0), ls="--", color=line[0].get_color())
        ax.set_xlabel("sample in beat window")
        ax.set_ylabel("signal (solid)")
        ax2.set_ylabel("attention weight (dashed)")
        ax.legend(fontsize=7, loc="upper right")
        ax.set_title(f"{task}: where {m} looks (mean attention pooling weight per class)", fontsize=9)
        save(fig, "attention")
    return paths


# ----------------------------------------------------------------------------------------------- run
def run(models=None, out=None, progress: bool = True, tasks=("ecg200", "mitbih"), quick: bool = False,
        max_normal: int | None = 4000) -> ECGSuiteResult:
    """Run the ECG suite.

    Parameters
    ----------
    models : None, list of names or dict {name: estimator}
        ``None``: all of :func:`default_models`; a list picks some of them by name; a dict gives estimators
        (anything with ``fit``/``predict`` on ``(n, length, channels)``) used for every task.
    out : path, optional
        Folder for ``ecg.md`` and the figures (confusion matrices, attention pooling).
    progress : bool
        A tqdm bar over (task, model).
    tasks : tuple of {"ecg200", "mitbih"}
    quick : bool
        Few epochs and trees, for smoke tests.
    max_normal : int, optional
        Cap on the normal training beats of ``mitbih``.
    """
    import sklearn
    import torch
    from tqdm.auto import tqdm

    results, confusion, figures = [], {}, []
    out = None if out is None else Path(out)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
    datasets = {t: load_task(t, max_normal=max_normal) for t in tasks}
    jobs = []
    for t in tasks:
        defaults = default_models(t, quick)
        if models is None:
            chosen = defaults
        elif isinstance(models, dict):
            chosen = models
        else:
            unknown = [m for m in models if m not in defaults]
            if unknown:
                raise ValueError(f"unknown ECG suite model(s) {unknown}; choose from {sorted(defaults)}")
            chosen = {m: defaults[m] for m in models}
        jobs += [(t, name, est) for name, est in chosen.items()]
    fitted = {t: {} for t in tasks}
    for t, name, est in tqdm(jobs, desc="ecg suite", disable=not progress):
        d = datasets[t]
        est = clone(est)
        t0 = time.perf_counter()
        est.fit(d["X_train"], d["y_train"])
        t1 = time.perf_counter()
        pred = est.predict(d["X_test"])
        t2 = time.perf_counter()
        results.append(_score(t, name, d["classes"], d["y_test"], pred, t1 - t0, t2 - t1))
        labels = [c for c in d["classes"] if c in set(d["y_test"]) | set(pred)]
        confusion[(t, name)] = pd.DataFrame(confusion_matrix(d["y_test"], pred, labels=labels),
                                            index=[f"true {c}" for c in labels], columns=labels)
        fitted[t][name] = est
    info = {
        "date (UTC)": pd.Timestamp.now(tz="UTC").strftime("%Y-%m-%d %H:%M"),
        "python": platform.python_version(), "torch": torch.__version__, "scikit-learn": sklearn.__version__,
        "torch threads": torch.get_num_threads(), "machine": f"{platform.machine()}, {platform.processor() or ''}",
    }
    for t in tasks:
        d = datasets[t]
        train, test = (", ".join(f"{c} {int((y == c).sum())}" for c in d["classes"]) for y in (d["y_train"], d["y_test"]))
        info[f"task {t}"] = f"{d['description']}; train: {train}; test: {test}"
    result = ECGSuiteResult(pd.DataFrame(results), confusion, info)
    if out is not None:
        for t in tasks:
            figures += _figures(result, t, datasets[t], fitted[t], out)
        result.figures = [str(p) for p in figures]
        (out / "ecg.md").write_text(result.to_markdown())
    return result


#: The suite's model names (built by :func:`default_models`; the ensemble on ``ecg200`` only).
MODELS = ("BiGRU-attention", "BiLSTM-last", "Wavelet+LogReg", "Wavelet+RF", "BiGRU-attention x5")


def _run_registered(models=None, out=None, n_jobs: int = 1, backend=None, progress: bool = True) -> SuiteResult:
    """The registry's entry: both tasks; the models train one after another (``n_jobs`` and ``backend`` are not
    used: each network uses the cores it is given)."""
    t0 = time.perf_counter()
    res = run(models=models, out=out, progress=progress)
    meta = {"suite": "ecg", "description": SUITE.description, **res.info, "wall_s": round(time.perf_counter() - t0, 2)}
    result = SuiteResult("ecg", classifiers=res, meta=meta)
    if out is not None:
        result.write(Path(out))
    return result


SUITE = Suite("ecg", "heartbeat classification: MIT-BIH inter-patient AAMI classes and UCR ECG200, recurrent "
              "classifiers against wavelet-feature baselines (needs the data)", "about 15 minutes",
              ("mitbih", "ecg200"), MODELS, _run_registered)
