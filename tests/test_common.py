"""The conformance suite over every public estimator, and proof that it catches broken ones."""

import numpy as np
import pytest

import tsrnn
from tsrnn.models import Naive
from tsrnn.utils.estimator_checks import check_estimator, test_instance, yield_checks

ESTIMATORS = tsrnn.all_estimators()
CASES = [(name, chk_name, chk) for name, Est in ESTIMATORS for chk_name, chk in yield_checks(test_instance(Est))]


def test_every_estimator_is_listed_and_builds_without_arguments():
    names = {n for n, _ in ESTIMATORS}
    assert {"Naive", "SeasonalNaive", "Drift", "Mean", "Naive2"} <= names
    for _, Est in ESTIMATORS:
        Est()


@pytest.mark.parametrize("name, check_name, check", CASES, ids=[f"{n}-{c}" for n, c, _ in CASES])
def test_conformance(name, check_name, check):
    Est = dict(ESTIMATORS)[name]
    check(test_instance(Est))


class _BrokenInit(Naive):
    def __init__(self, alpha=0.5):
        self.alpha = float(alpha) * 2  # changes the argument


class _NonDeterministic(Naive):
    def _fit_series(self, y, X):
        last, sigma = super()._fit_series(y, X)
        return last + np.random.default_rng().normal(), sigma


class _WrongIndex(Naive):
    def predict(self, h, X=None, level=None):
        out = super().predict(h, X, level)
        return out.reset_index(drop=True) if level is None else out


class _CrossedIntervals(Naive):
    def _predict_series(self, state, h, X, levels):
        mean, iv = super()._predict_series(state, h, X, levels)
        return mean, {lv: (hi, lo) for lv, (lo, hi) in iv.items()}


@pytest.mark.parametrize("broken, check", [
    (_BrokenInit, "check_init_stores_params"),
    (_NonDeterministic, "check_deterministic"),
    (_WrongIndex, "check_series_output"),
    (_CrossedIntervals, "check_intervals_nested"),
])
def test_suite_catches_broken_estimators(broken, check):
    est = broken()
    with pytest.raises(AssertionError):
        dict(yield_checks(est))[check](est)  # the check aimed at the defect fails ...
    with pytest.raises(AssertionError, match=r"fails check_"):
        check_estimator(est)  # ... and so does the whole suite


def test_suite_passes_a_correct_estimator():
    assert "check_panel_equals_series" in check_estimator(Naive())
