"""Online detectors, the ensemble, defaults that alarm sparsely, irregular stamps and too-short training."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tsrnn.anomaly import (
    AnomalyLikelihood,
    EnsembleDetector,
    HMMDetector,
    OnlineHMMDetector,
    OnlineKNNDetector,
    OnlineRNNDetector,
    ResidualDetector,
    RollingZScore,
    WaveletDetector,
)
from tsrnn.anomaly.likelihood import numenta_likelihood

SMALL = {
    "rnn": lambda: OnlineRNNDetector(hidden_size=4, lags=8, buffer=200, update_every=50, epochs=1, random_state=0),
    "hmm": lambda: OnlineHMMDetector(n_states=2, buffer=200, refit_every=50, random_state=0),
    "knn": lambda: OnlineKNNDetector(dim=8, k=5, buffer=300, update_every=25),
    "ensemble": lambda: EnsembleDetector([RollingZScore(window=50), WaveletDetector(baseline=60)]),
    "likelihood": lambda: AnomalyLikelihood(RollingZScore(window=50), learning=50, estimation=50),
}


def cycle(rng, n=900):
    t = np.arange(n)
    return 5 + np.sin(2 * np.pi * t / 48) + 0.2 * rng.normal(size=n)


def jittered(y, rng):
    idx = pd.date_range("2024-01-01", periods=len(y), freq="5min")
    idx = idx + pd.to_timedelta(rng.integers(0, 50, len(y)), unit="s")
    return pd.Series(y, index=idx.delete(np.arange(300, 310)).append(idx[-10:] + pd.Timedelta("1h"))[:len(y)])


@pytest.mark.parametrize("name", sorted(SMALL))
def test_no_look_ahead(name):
    rng = np.random.default_rng(1)
    y = cycle(rng)
    det = SMALL[name]().fit(y[:300])
    full = det.decision_function(y).to_numpy()
    t = 600
    changed = y.copy()
    changed[t + 1:] = rng.normal(50, 10, len(y) - t - 1)  # anything after t
    np.testing.assert_array_equal(det.decision_function(changed).to_numpy()[:t + 1], full[:t + 1])
    np.testing.assert_array_equal(det.decision_function(y[:t + 1]).to_numpy(), full[:t + 1])


@pytest.mark.parametrize("make", [RollingZScore, ResidualDetector, WaveletDetector, EnsembleDetector,
                                  AnomalyLikelihood, lambda: HMMDetector(random_state=0), *SMALL.values()])
def test_jittered_stamps_are_scored_in_order(make):
    rng = np.random.default_rng(2)
    y = jittered(cycle(rng, 800), rng)
    assert pd.infer_freq(y.index) is None
    det = make().fit(y.iloc[:400])
    s, p = det.decision_function(y), det.predict(y)
    assert s.index.equals(y.index) and p.index.equals(y.index)
    np.testing.assert_array_equal(s.to_numpy(), det.decision_function(pd.Series(y.to_numpy())).to_numpy())
    panel = pd.DataFrame({"unique_id": "a", "ds": y.index, "y": y.to_numpy()})
    out = det.decision_function(panel)
    assert (out["ds"].to_numpy() == y.index.to_numpy()).all()
    np.testing.assert_array_equal(out["score"].to_numpy(), s.to_numpy())


def test_unordered_stamps_are_refused():
    y = pd.Series(np.arange(10.0), index=pd.DatetimeIndex(["2024-01-01"] * 10) + pd.to_timedelta(
        [0, 5, 3, 9, 11, 12, 20, 21, 30, 31], unit="min"))
    with pytest.raises(ValueError, match="increasing"):
        RollingZScore(window=2).fit(y)


@pytest.mark.parametrize("make", [RollingZScore, ResidualDetector, WaveletDetector, EnsembleDetector,
                                  AnomalyLikelihood, lambda: HMMDetector(random_state=0)])
def test_defaults_give_likelihoods_and_sparse_alarms_on_clean_data(make):
    rng = np.random.default_rng(3)
    y = cycle(rng, 3000)
    det = make().fit(y[:200])
    s = det.decision_function(y).to_numpy()
    assert ((s >= 0) & (s <= 1)).all() and det.threshold_ > 0.999
    assert det.predict(y).to_numpy().mean() < 0.005  # was 57-62 % with a zero threshold


@pytest.mark.parametrize("make", [lambda: ResidualDetector(init_length=200, window=200),
                                  lambda: WaveletDetector(window=256),
                                  lambda: RollingZScore(window=400)])
def test_too_short_training_is_refused_never_a_zero_threshold(make):
    """A threshold fitted on the training scores is refused (it would be zero); the likelihood's fixed threshold
    needs none, so there the detector warns and goes on, still with its fixed threshold."""
    y = cycle(np.random.default_rng(4), 200)
    with pytest.raises(ValueError, match="too short"):
        make().set_params(likelihood=False).fit(y)
    with pytest.warns(UserWarning, match="too short.*fixed likelihood threshold"):
        det = make().set_params(likelihood=True).fit(y)
    assert det.threshold_ > 0.999


def test_ensemble_of_one_is_that_detector_normalised():
    rng = np.random.default_rng(5)
    y = cycle(rng, 1500)
    y[1200] += 4
    one = EnsembleDetector([RollingZScore(window=50)]).fit(y[:400])
    ref = RollingZScore(window=50).fit(y[:400])
    np.testing.assert_allclose(one.decision_function(y).to_numpy(), ref.decision_function(y).to_numpy(),
                               rtol=0, atol=1e-12)
    raw = RollingZScore(window=50, likelihood=False).fit(y[:400])
    np.testing.assert_allclose(EnsembleDetector([raw], combine="max").fit(y[:400]).decision_function(y).to_numpy(),
                               numenta_likelihood(raw.decision_function(y).to_numpy() ** 2), atol=1e-12)
    np.testing.assert_array_equal(one.predict(y).to_numpy(), ref.predict(y).to_numpy())


def test_ensemble_mean_is_one_minus_the_geometric_mean_of_tails():
    rng = np.random.default_rng(6)
    y = cycle(rng, 1500)
    a, b = RollingZScore(window=50), WaveletDetector(baseline=60)
    ens = EnsembleDetector([a, b]).fit(y[:400])
    qa = 1 - a.fit(y[:400]).decision_function(y).to_numpy()
    qb = 1 - b.fit(y[:400]).decision_function(y).to_numpy()
    np.testing.assert_allclose(ens.decision_function(y).to_numpy(), 1 - np.sqrt(qa * qb), atol=1e-12)
    with pytest.raises(ValueError, match="combine"):
        EnsembleDetector([a], combine="median").fit(y[:400])


@pytest.mark.parametrize("name", ["rnn", "hmm", "knn"])
def test_online_detectors_flag_a_spike_and_adapt_to_a_new_level(name):
    rng = np.random.default_rng(7)
    y = cycle(rng, 2400)
    y[1500] += 3.0
    y[1800:] += 3.0  # a new level: alarming when it starts, then learned
    det = SMALL[name]().fit(y[:400])
    s = det.decision_function(y).to_numpy()
    flags = det.predict(y).to_numpy()
    assert s[1500:1510].max() > 0.99999 and s[1800:1810].max() > 0.99999
    assert flags[1500:1510].any() and flags[1800:1810].any()
    assert flags.sum() <= 8
    assert np.median(s[2200:]) < 0.99  # the new level is normal once learned


def test_online_rnn_is_reproducible_and_restores_torch_threads():
    import torch

    y = cycle(np.random.default_rng(8), 500)
    before = torch.get_num_threads()
    a = SMALL["rnn"]().fit(y[:200]).decision_function(y).to_numpy()
    b = SMALL["rnn"]().fit(y[:200]).decision_function(y).to_numpy()
    np.testing.assert_array_equal(a, b)
    assert torch.get_num_threads() == before


def test_online_hmm_filter_is_hmmlearns_predictive_loglik():
    rng = np.random.default_rng(9)
    z = np.r_[rng.normal(0, 1, 150), rng.normal(4, 0.5, 100)]
    det = OnlineHMMDetector(n_states=2, random_state=0)
    model, p = det._refit(None, z[:200])
    new = rng.normal(2, 2, 30)
    got = det._filter(model, p, new)
    full = np.r_[z[:200], new][:, None]
    want = [-(model.score(full[:201 + i]) - model.score(full[:200 + i])) for i in range(30)]
    np.testing.assert_allclose(got, want, rtol=1e-8)


def test_online_knn_nonconformity_matches_brute_force():
    rng = np.random.default_rng(10)
    y = cycle(rng, 400)
    det = OnlineKNNDetector(dim=6, k=4, buffer=120, update_every=30)
    a = det._nonconformity(y)
    first = 6 + 4 + 30
    assert np.isnan(a[:first]).all()
    for t in (first, 77, 250, 399):
        t0 = first + (t - first) // 30 * 30
        ref_rows = y[max(0, t0 - 120):t0]
        mu, sd = ref_rows.mean(), ref_rows.std()
        ref = np.array([(ref_rows[i:i + 6] - mu) / sd for i in range(len(ref_rows) - 5)])
        cur = (y[t - 5:t + 1] - mu) / sd
        dist = np.sort(np.sqrt(((ref - cur) ** 2).sum(axis=1)))[:4]
        assert a[t] == pytest.approx(dist.mean(), rel=1e-6), t
