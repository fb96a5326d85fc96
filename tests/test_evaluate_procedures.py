"""Both evaluation procedures in evaluate_detectors' leaderboard: label-free (own alarms) and NAB's (swept)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_evaluate_detectors import Oracle  # a sibling test module

from tsrnn.anomaly import RollingZScore, evaluate_detectors
from tsrnn.anomaly.scoring import nab_best_threshold, nab_score


class Fixed(Oracle):
    """The oracle's scores, but it never alarms itself (an infinite threshold)."""

    def _set_threshold(self, scores):
        return np.inf


def data(n_series=3, n=600, seed=0):
    rng = np.random.default_rng(seed)
    frames = []
    for i in range(n_series):
        lab = np.zeros(n, dtype=int)
        lab[400:440] = 1
        y = np.sin(np.arange(n) / 7) + 0.2 * rng.normal(size=n)
        y[410] += 6
        frames.append(pd.DataFrame({"unique_id": f"u{i}", "ds": np.arange(n), "y": y, "label": lab}))
    return pd.concat(frames, ignore_index=True)


def test_swept_columns_are_nabs_procedure_and_differ_from_own_alarms():
    d = data()
    res = evaluate_detectors({"silent_alarms_good_scores": Fixed(at=(400,)), "z": RollingZScore(window=50)}, d,
                             progress=False)
    lb = res.leaderboard()
    for col in ("nab_swept_standard", "nab_swept_reward_low_FP", "nab_swept_reward_low_FN"):
        assert col in lb.columns
    # the detector never alarms itself (own score 0) but its scores rank the window first: NAB's sweep finds 100
    assert lb.loc["silent_alarms_good_scores", "nab_standard"] == pytest.approx(0.0)
    assert lb.loc["silent_alarms_good_scores", "nab_swept_standard"] == pytest.approx(100.0)
    g = res.detections.query("model == 'z'")
    for prof in ("standard", "reward_low_FP", "reward_low_FN"):
        assert lb.loc["z", f"nab_swept_{prof}"] == pytest.approx(nab_best_threshold(g, g["score"].to_numpy(), prof)[1])
    own = nab_score(g, g["anomaly"].to_numpy())
    assert lb.loc["z", "nab_standard"] == pytest.approx(own)
