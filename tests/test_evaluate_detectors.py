"""evaluate_detectors and the anomaly suite: leaderboard values equal the metrics recomputed from the detections,
oracle and silent detectors score NAB 100 and 0, parallel runs equal serial ones."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tsrnn.anomaly import RollingZScore, WaveletDetector, evaluate_detectors, nab_score
from tsrnn.anomaly.scoring import event_prf, probationary_length
from tsrnn.base import BaseDetector


class Oracle(BaseDetector):
    """Scores 1 at the given row positions of every series (a stand-in for a perfect or a silent detector)."""

    def __init__(self, at=(), contamination=0.01):
        self.at = at
        self.contamination = contamination

    def _score_series(self, s):
        out = np.zeros(len(s))
        out[[i for i in self.at if i < len(s)]] = 1.0
        return out


def labelled(rng, n_series=3, n=400):
    frames = []
    for i in range(n_series):
        y = np.sin(np.arange(n) / 5) + 0.3 * rng.normal(size=n)
        lab = np.zeros(n, dtype=int)
        lab[200:220] = 1
        y[205] += 5
        if i == 1:
            lab[300:310] = 1
            y[300:310] += 3
        frames.append(pd.DataFrame({"unique_id": f"u{i}", "ds": np.arange(n), "y": y, "label": lab}))
    return pd.concat(frames, ignore_index=True)


def test_oracle_and_silent_detectors_give_nab_100_and_0(rng):
    data = labelled(rng)
    data = data[data["unique_id"] != "u1"]  # the series with a second window
    res = evaluate_detectors({"perfect": Oracle(at=(200,)), "silent": Oracle()}, data, progress=False)
    lb = res.leaderboard()
    assert list(lb.index) == ["perfect", "silent"]
    assert lb.loc["perfect", "nab_standard"] == pytest.approx(100.0)
    assert lb.loc["silent", "nab_standard"] == pytest.approx(0.0)
    assert lb.loc["perfect", "event_recall"] == pytest.approx(1.0)
    assert lb.loc["silent", "event_f1"] == 0.0


def test_leaderboard_equals_metrics_recomputed_from_detections(rng):
    data = labelled(rng)
    dets = {"z": RollingZScore(window=30, contamination=0.02, cooldown=5), "w": WaveletDetector(window=8, baseline=50)}
    res = evaluate_detectors(dets, data, progress=False)
    lb = res.leaderboard()
    assert set(lb.index) == {"z", "w"} and any("nab" in c for c in lb.columns)
    for name in dets:
        d = res.detections[res.detections["model"] == name]
        assert np.array_equal(d[["unique_id", "ds", "y", "label"]].to_numpy(), data.to_numpy())
        flags = d["anomaly"].to_numpy()
        for col, prof in [("nab_standard", "standard"), ("nab_reward_low_FN", "reward_low_FN")]:
            assert lb.loc[name, col] == pytest.approx(nab_score(data, flags, prof))
        # pooled event metrics: recompute from the per-series event counts
        credit = n_true = good = n_pred = 0
        for _, g in d.groupby("unique_id"):
            p, r, _ = event_prf(g["label"], g["anomaly"])
            k_true = len(np.flatnonzero(np.diff(np.r_[0, g["label"]]) == 1))
            k_pred = len(np.flatnonzero(np.diff(np.r_[0, g["anomaly"]]) == 1))
            credit, n_true, good, n_pred = credit + r * k_true, n_true + k_true, good + p * k_pred, n_pred + k_pred
        assert lb.loc[name, "event_recall"] == pytest.approx(credit / n_true)
        assert lb.loc[name, "event_precision"] == pytest.approx(good / n_pred if n_pred else 0.0)
        # each detector was fitted on the probationary head only: its threshold is that of the head's scores
        g = d[d["unique_id"] == "u0"]
        head = int(probationary_length(len(g)))
        z = RollingZScore(window=30, contamination=0.02, cooldown=5) if name == "z" else dets[name]
        fitted = z.fit(g["y"].to_numpy()[:head])
        assert np.array_equal(fitted.predict(g["y"].to_numpy()).to_numpy(), g["anomaly"].to_numpy())
    assert "| z |" in res.to_markdown() and set(res.scores["metric"]) == set(res.metrics)
    assert set(res.timings.columns) >= {"model", "unique_id", "fit_s", "predict_s"}


def test_parallel_equals_serial_and_errors(rng):
    data = labelled(rng, n_series=2)
    serial = evaluate_detectors([RollingZScore(window=20)], data, progress=False).leaderboard()
    par = evaluate_detectors([RollingZScore(window=20)], data, n_jobs=2, progress=False).leaderboard()
    pd.testing.assert_frame_equal(serial.drop(columns=["fit_s", "predict_s"]), par.drop(columns=["fit_s", "predict_s"]))
    with pytest.raises(ValueError, match="label"):
        evaluate_detectors([RollingZScore()], data.drop(columns="label"), progress=False)
    with pytest.raises(ValueError, match="metric"):
        evaluate_detectors([RollingZScore()], data, metrics=("nab_standard", "bogus"), progress=False)
    res = evaluate_detectors([RollingZScore()], data, metrics=("nab_standard", "pa_f1"), progress=False)
    with pytest.warns(UserWarning, match="inflates"):
        res.leaderboard()


def test_anomaly_suite_on_injected_data(tmp_path):
    from tsrnn.suites.anomaly import run

    res = run(models=["RollingZScore", "nope"], out=tmp_path, progress=False, datasets=("injected",))
    lb = res.leaderboard()
    assert list(lb.index) == ["RollingZScore"] and 0 < lb.loc["RollingZScore", "nab_standard"] <= 100
    assert (tmp_path / "report.html").exists() and (tmp_path / "leaderboard.md").exists()
    assert any("nope" in n for n in res.meta["unavailable"])


@pytest.mark.data
def test_anomaly_suite_on_nab(mirror, monkeypatch):
    monkeypatch.setenv("TSRNN_DATA_MIRROR", str(mirror))
    from tsrnn.suites.anomaly import run

    res = run(models=["RollingZScore"], progress=False, datasets=("nab",))
    d = res.results["nab"].detections
    assert d["unique_id"].nunique() >= 20
    lb = res.leaderboard()
    data = d[["unique_id", "ds", "y", "label"]]
    assert lb.loc["RollingZScore", "nab_standard"] == pytest.approx(nab_score(data, d["anomaly"].to_numpy()))


class CountingZScore(RollingZScore):
    """A RollingZScore that counts its fits in a class attribute (the tasks run in this process)."""

    fits = 0

    def fit(self, y, X=None):
        type(self).fits += 1
        return super().fit(y)


class FailsOn(Oracle):
    """Raises on series longer than ``n_bad`` rows."""

    def __init__(self, n_bad=10**9, at=(), contamination=0.01):
        self.n_bad = n_bad
        self.at = at
        self.contamination = contamination

    def fit(self, y, X=None):
        if len(y) > 0 and float(np.asarray(y)[0]) == 12345.0:
            raise RuntimeError("boom on purpose")
        return super().fit(y)


def test_checkpoint_rerun_recomputes_nothing_and_gives_the_same_table(rng, tmp_path):
    data = labelled(rng, n_series=3)
    dets = {"z": CountingZScore(window=20), "z40": CountingZScore(window=40)}
    CountingZScore.fits = 0
    first = evaluate_detectors(dets, data, progress=False, checkpoint=tmp_path)
    assert CountingZScore.fits == 6 and first.meta["n_computed"] == 6
    rerun = evaluate_detectors(dets, data, progress=False, checkpoint=tmp_path)
    assert CountingZScore.fits == 6  # no detector was fitted again
    assert rerun.meta["n_computed"] == 0 and rerun.meta["n_from_checkpoint"] == 6
    pd.testing.assert_frame_equal(first.leaderboard(), rerun.leaderboard())
    pd.testing.assert_frame_equal(first.detections, rerun.detections)
    (run_dir,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    # a changed setting is a different run: everything is computed again
    evaluate_detectors(dets, data, progress=False, checkpoint=tmp_path, train_fraction=0.2)
    assert CountingZScore.fits == 12
    # an interrupted run (one task file lost) recomputes only that task
    files = sorted(run_dir.glob("*.pkl"))
    assert len(files) == 6
    files[0].unlink()
    again = evaluate_detectors(dets, data, progress=False, checkpoint=tmp_path)
    assert CountingZScore.fits == 13 and again.meta["n_computed"] == 1


def test_on_error_record_names_the_series_and_scores_the_others(rng):
    data = labelled(rng, n_series=4)
    first_u1 = data.index[data["unique_id"] == "u1"][0]
    data.loc[first_u1, "y"] = 12345.0  # FailsOn raises on this series
    data.loc[data.index[data["unique_id"] == "u3"][5], "y"] = np.nan  # an invalid series
    with pytest.raises(ValueError, match="series 'u3'.*non-finite"):
        evaluate_detectors([FailsOn(at=(200,))], data, progress=False)
    with pytest.raises(RuntimeError, match="boom"):
        evaluate_detectors([FailsOn(at=(200,))], data[data.unique_id != "u3"], progress=False)
    res = evaluate_detectors({"f": FailsOn(at=(200,))}, data, progress=False, on_error="record")
    err = res.errors.set_index("unique_id")
    assert set(err.index) == {"u1", "u3"}
    assert err.loc["u1", "model"] == "f" and "boom on purpose" in err.loc["u1", "message"]
    assert pd.isna(err.loc["u3", "model"]) and "non-finite" in err.loc["u3", "message"]
    assert set(res.detections["unique_id"]) == {"u0", "u1", "u2"}
    # the failed series counts as silent: NAB equals the score of the alarms with none on u1
    d = res.detections
    assert (d.loc[d.unique_id == "u1", "anomaly"] == 0).all()
    assert res.leaderboard().loc["f", "n_failed"] == 1
    expected = nab_score(d[["unique_id", "ds", "y", "label"]], d["anomaly"].to_numpy())
    assert res.leaderboard().loc["f", "nab_standard"] == pytest.approx(expected)
    assert "1 failure" not in res.to_markdown() and "2 failure(s)" in res.to_markdown()


class Sleeper(Oracle):
    def fit(self, y, X=None):
        import time

        time.sleep(5)
        return super().fit(y)


def test_timeout_is_recorded(rng):
    data = labelled(rng, n_series=1)
    res = evaluate_detectors({"slow": Sleeper()}, data, progress=False, on_error="record", timeout=0.2)
    assert list(res.errors["error"]) == ["TimeoutError"] and "timed out" in res.errors["message"].iloc[0]
    with pytest.raises(TimeoutError):
        evaluate_detectors({"slow": Sleeper()}, data, progress=False, timeout=0.2)
    with pytest.raises(ValueError, match="on_error"):
        evaluate_detectors({"slow": Sleeper()}, data, progress=False, on_error="ignore")
