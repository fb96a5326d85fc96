"""NAB score and the other detection metrics against hand-worked cases and scikit-learn.

Every expected NAB number is derived here from the formulas of Lavin and Ahmad (2015) / NAB's sweeper: the scaled
sigmoid sigma(x) = 2 / (1 + exp(5 x)) - 1, a detection at row i of window [a, b] (width w) is worth
A_tp sigma(-(b - i + 1) / w) / sigma(-1), a false alarm x = (i - b') / (w' - 1) after the last window costs
A_fp sigma(x) (-A_fp before any window or for x >= 3), a missed window -A_fn, rows before
min(floor(0.15 n), 750) are ignored, and the score is 100 (S - S_null) / (S_perfect - S_null).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import average_precision_score, precision_recall_fscore_support

from tsrnn.anomaly import nab_score
from tsrnn.anomaly.scoring import (
    auc_pr,
    event_prf,
    nab_details,
    nab_series,
    nab_windows,
    point_adjusted_f1,
    point_prf,
    probationary_length,
    runs,
)


def sig(x):  # the paper's scaled sigmoid, written out independently of the module
    return -1.0 if x >= 3 else 2.0 * (1.0 / (1.0 + math.exp(-(-5.0 * x)))) - 1.0


N, A, B = 100, 40, 49  # one window at rows 40..49 (w = 10); probation = floor(0.15 * 100) = 15 rows
W = B - A + 1


def frame(n=N, windows=((A, B),), uid="s"):
    lab = np.zeros(n, dtype=int)
    for a, b in windows:
        lab[a:b + 1] = 1
    return pd.DataFrame({"unique_id": uid, "ds": np.arange(n), "y": 0.0, "label": lab})


def det(n=N, at=()):
    d = np.zeros(n, dtype=int)
    d[list(at)] = 1
    return d


def test_scaled_sigmoid_constants_of_nab():
    # NAB's sweeper docstring quotes these values
    assert sig(-1.0) == pytest.approx(0.98661, abs=1e-5)
    assert sig(-0.5) == pytest.approx(0.84828, abs=1e-5)
    assert sig(0.0) == pytest.approx(0.0)
    assert sig(1.0) == pytest.approx(-0.98661, abs=1e-5)


def test_probationary_length():
    assert probationary_length(100) == 15
    assert probationary_length(4032) == 604
    assert probationary_length(22695) == 750  # capped at 0.15 * 5000


def test_detection_at_window_start_is_perfect_and_none_is_null():
    data = frame()
    assert nab_score(data, det(at=[A])) == pytest.approx(100.0)
    assert nab_score(data, det()) == pytest.approx(0.0)
    part = nab_series(data["label"], det(at=[A]))
    assert part["raw"] == pytest.approx(1.0) and part["null"] == -1.0 and part["perfect"] == 1.0


@pytest.mark.parametrize("i", [41, 45, 49])
def test_detection_inside_window_earns_scaled_sigmoid(i):
    raw = sig(-(B - i + 1) / W) / sig(-1.0)
    got = nab_series(frame()["label"], det(at=[i]))["raw"]
    assert got == pytest.approx(raw)
    assert nab_score(frame(), det(at=[i])) == pytest.approx(100 * (raw + 1) / 2)
    if i == 45:  # half way: 0.84828 / 0.98661
        assert got == pytest.approx(0.85980, abs=1e-5)


def test_only_the_earliest_detection_in_a_window_counts():
    one = nab_series(frame()["label"], det(at=[43]))["raw"]
    many = nab_series(frame()["label"], det(at=[43, 44, 47, 49]))["raw"]
    assert many == pytest.approx(one)


@pytest.mark.parametrize("profile,fp,fn", [("standard", 0.11, 1.0), ("reward_low_FP", 0.22, 1.0),
                                            ("reward_low_FN", 0.11, 2.0)])
def test_false_positives_by_position_and_profile(profile, fp, fn):
    lab = frame()["label"]
    # before any window: -A_fp; the window is missed: -A_fn
    assert nab_series(lab, det(at=[20]), profile)["raw"] == pytest.approx(-fp - fn)
    # just after the window: x = (52 - 49) / (10 - 1)
    assert nab_series(lab, det(at=[52]), profile)["raw"] == pytest.approx(fp * sig(3 / 9) - fn)
    # far after the window (x >= 3): -A_fp
    assert nab_series(lab, det(at=[90]), profile)["raw"] == pytest.approx(-fp - fn)
    # a hit and a far false alarm, normalised with S_null = -A_fn, S_perfect = A_tp = 1
    raw = 1.0 - fp
    assert nab_score(frame(), det(at=[A, 90]), profile) == pytest.approx(100 * (raw + fn) / (1 + fn))


def test_probationary_rows_are_ignored():
    lab = frame()["label"]
    assert nab_series(lab, det(at=[3, 10, 14]))["raw"] == pytest.approx(-1.0)
    assert nab_series(lab, det(at=[15]))["raw"] == pytest.approx(-1.11)  # row 15 is the first scored row
    # a window entirely inside the probationary period is not scored at all
    part = nab_series(frame(windows=((2, 8), (A, B)))["label"], det(at=[A]))
    assert part["windows"] == 1 and part["raw"] == pytest.approx(1.0)


def test_false_alarm_after_the_second_window_uses_the_most_recent_one():
    data = frame(n=200, windows=((40, 49), (100, 119)))  # probation 30 rows; widths 10 and 20
    lab = data["label"]
    raw = nab_series(lab, det(200, at=[40, 100, 125]))["raw"]
    assert raw == pytest.approx(1.0 + 1.0 + 0.11 * sig((125 - 119) / 19))
    raw_between = nab_series(lab, det(200, at=[55]))["raw"]
    assert raw_between == pytest.approx(0.11 * sig((55 - 49) / 9) - 2.0)


def test_corpus_normalisation_sums_over_series():
    d1 = frame(uid="a")
    d2 = frame(n=200, windows=((60, 79), (150, 159)), uid="b")
    data = pd.concat([d1, d2], ignore_index=True)
    flags = np.concatenate([det(at=[45]), det(200, at=[60, 190])])
    raw = sig(-0.5) / sig(-1.0) + 1.0 + (-1.0) + 0.11 * sig((190 - 159) / 9)  # last one: x > 3 -> -0.11
    null, perfect = -3.0, 3.0
    assert nab_score(data, flags) == pytest.approx(100 * (raw - null) / (perfect - null))
    details = nab_details(data, flags)
    assert list(details["windows"]) == [1, 2] and list(details["detected"]) == [1, 1]


def test_detections_in_any_aligned_form():
    data = pd.concat([frame(uid="a"), frame(uid="b")], ignore_index=True)
    flags = np.concatenate([det(at=[A]), det()])
    expected = 50.0
    assert nab_score(data, flags) == pytest.approx(expected)
    assert nab_score(data, pd.Series(flags, index=data.index)) == pytest.approx(expected)
    long = data[["unique_id", "ds"]].assign(detection=flags).iloc[::-1]  # merged on unique_id, ds
    assert nab_score(data, long) == pytest.approx(expected)
    with pytest.raises(ValueError, match="rows"):
        nab_score(data, flags[:-1])
    with pytest.raises(ValueError, match="profile"):
        nab_score(data, flags, profile="nope")
    with pytest.raises(ValueError, match="0 and 1"):
        nab_score(data, flags * 2)


def test_no_window_anywhere_gives_nan():
    assert np.isnan(nab_score(frame(windows=()), det(at=[50])))


def test_point_metrics_match_sklearn(rng):
    lab = (rng.random(300) < 0.1).astype(int)
    pred = (rng.random(300) < 0.15).astype(int)
    p, r, f, _ = precision_recall_fscore_support(lab, pred, average="binary", zero_division=0)
    assert point_prf(lab, pred) == pytest.approx((p, r, f))
    score = rng.normal(size=300) + lab
    score[::7] = score[0]  # ties
    assert auc_pr(lab, score) == pytest.approx(average_precision_score(lab, score))


def test_event_metrics_by_hand():
    lab = np.zeros(100, dtype=int)
    lab[10:20] = 1
    lab[50:60] = 1
    pred = np.zeros(100, dtype=int)
    pred[12:16] = 1  # inside event 1, 2 rows late of 10
    pred[80] = 1  # a false alarm
    p, r, f = event_prf(lab, pred)
    assert p == pytest.approx(1 / 2)
    assert r == pytest.approx((0.5 + 0.5 * (1 - 2 / 10)) / 2)
    assert f == pytest.approx(2 * p * r / (p + r))
    assert event_prf(lab, pred, existence_weight=1.0)[1] == pytest.approx(0.5)
    assert runs(lab).tolist() == [[10, 19], [50, 59]]


def test_point_adjusted_f1_warns_and_inflates():
    lab = np.zeros(100, dtype=int)
    lab[10:40] = 1
    pred = np.zeros(100, dtype=int)
    pred[39] = 1
    with pytest.warns(UserWarning, match="inflates"):
        pa = point_adjusted_f1(lab, pred)
    assert pa == pytest.approx(1.0) and point_prf(lab, pred)[2] < 0.07


def test_nab_windows_expand_point_labels():
    lab = np.zeros(1000, dtype=int)
    lab[[300, 700]] = 1
    win = nab_windows(lab)  # int(0.1 * 1000 / 2) = 50 rows, 25 on each side
    assert runs(win).tolist() == [[275, 325], [675, 725]]


def test_nab_best_threshold_finds_the_oracle_threshold():
    from tsrnn.anomaly.scoring import nab_best_threshold

    data = pd.concat([frame(uid="a"), frame(uid="b")], ignore_index=True)
    score = np.zeros(len(data))
    score[[A, N + A]] = 5.0  # the window starts
    score[[20, 70]] = 2.0  # two false alarms below them
    t, best = nab_best_threshold(data, score)
    assert best == pytest.approx(100.0) and 2.0 <= t < 5.0
