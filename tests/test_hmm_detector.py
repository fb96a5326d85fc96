"""HMMDetector: scores are hmmlearn's one-step predictive log-likelihoods, computed online (no look-ahead), and
they single out injected anomalies."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hmmlearn import hmm
from sklearn.base import clone

from tsrnn.anomaly import HMMDetector


def regimes(n: int, seed: int) -> np.ndarray:
    g = hmm.GaussianHMM(2, covariance_type="diag")
    g.startprob_ = np.array([0.5, 0.5])
    g.transmat_ = np.array([[0.97, 0.03], [0.04, 0.96]])
    g.means_ = np.array([[0.0], [5.0]])
    g.covars_ = np.array([[1.0], [0.5]])
    return g.sample(n, random_state=seed)[0][:, 0] + 50


def daily(values) -> pd.Series:
    return pd.Series(values, index=pd.date_range("2010-01-01", periods=len(values), freq="D"))


@pytest.fixture(scope="module")
def fitted():
    y = daily(regimes(1500, seed=0))
    return HMMDetector(n_states=2, likelihood=False, threshold="quantile", contamination=0.01, cooldown=0,
                       random_state=0).fit(y), y


def test_scores_are_hmmlearn_predictive_loglik(fitted):
    det, y = fitted
    model = det.forecaster_.model_
    c, sc = det.forecaster_.scales_[det.forecaster_.panel_.series[0].uid]
    z = ((y.to_numpy() - c) / sc).reshape(-1, 1)
    score = det.decision_function(y).to_numpy()
    # -log p(y_t | y_<t) = -(log L(y_1..y_t) - log L(y_1..y_{t-1})), densities in the units of y
    for t in (1, 2, 100, 1499):
        ref = -(model.score(z[: t + 1]) - model.score(z[:t])) + np.log(sc)
        assert score[t] == pytest.approx(ref, abs=1e-8)
    assert score[0] == pytest.approx(-model.score(z[:1]) + np.log(sc), abs=1e-10)
    assert -score.sum() == pytest.approx(model.score(z) - len(z) * np.log(sc), rel=1e-12)


def test_no_look_ahead(fitted):
    det, y = fitted
    full = det.decision_function(y).to_numpy()
    for m in (10, 600, 1499):
        np.testing.assert_array_equal(det.decision_function(y.iloc[:m]).to_numpy(), full[:m])
    flags = det.predict(y).to_numpy()
    np.testing.assert_array_equal(det.predict(y.iloc[:700]).to_numpy(), flags[:700])


def test_threshold_is_the_contamination_quantile(fitted):
    det, y = fitted
    scores = det.decision_function(y).to_numpy()
    assert det.threshold_ == pytest.approx(np.quantile(scores, 0.99))
    assert det.predict(y).mean() == pytest.approx(0.01, abs=0.002)


def test_finds_injected_spikes_but_not_regime_switches():
    y = regimes(2000, seed=1)
    train, test = daily(y[:1000]), y[1000:].copy()
    spikes = np.array([150, 420, 610, 880])
    test[spikes] += np.array([9.0, -8.0, 10.0, -9.0])
    det = HMMDetector(n_states=2, likelihood=False, threshold="quantile", contamination=0.005, cooldown=0,
                      random_state=0).fit(train)
    s = det.decision_function(daily(test)).to_numpy()
    top = np.sort(np.argsort(s)[-4:])
    np.testing.assert_array_equal(top, spikes)
    flags = det.predict(daily(test)).to_numpy()
    assert flags[spikes].all() and flags.sum() <= 12


@pytest.mark.parametrize("on,m", [("differences", 1), ("returns", 1), ("differences", 7)])
def test_differences_first_stamps_score_zero(on, m):
    y = daily(regimes(300, seed=2))
    det = HMMDetector(n_states=2, on=on, season_length=m, likelihood=False, random_state=0).fit(y)
    s = det.decision_function(y).to_numpy()
    assert (s[:m] == 0.0).all() and (s[m:] != 0).all() and np.isfinite(s).all() and len(s) == 300
    np.testing.assert_allclose(-s[m:], det.forecaster_._log_predictive(det.forecaster_.panel_.series[0]))


def test_panel_unseen_series_uses_pooled_scale_and_clone():
    parts = [regimes(400, seed=s) for s in (3, 4)]
    panel = pd.concat([pd.DataFrame({"unique_id": f"u{i}", "ds": np.arange(400), "y": v})
                       for i, v in enumerate(parts)], ignore_index=True)
    det = HMMDetector(n_states=2, random_state=0).fit(panel)
    out = det.decision_function(panel)
    assert list(out.columns) == ["unique_id", "ds", "score"] and len(out) == 800
    new = pd.DataFrame({"unique_id": "new", "ds": np.arange(400), "y": regimes(400, seed=5)})
    part = det.decision_function(new.iloc[:200])["score"].to_numpy()
    np.testing.assert_array_equal(part, det.decision_function(new)["score"].to_numpy()[:200])
    assert not hasattr(clone(det), "forecaster_")
    with pytest.raises(ValueError, match="contamination"):
        HMMDetector(contamination=1.5).fit(daily(parts[0]))
