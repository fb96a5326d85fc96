"""ESRNNForecaster: the Holt-Winters recursion against the paper's equations, the dilated layer against its
definition, intervals from quantiles by hand, and the CO2 forecast against the seasonal naive."""

import numpy as np
import pandas as pd
import pytest
import torch
from scipy import stats

from tsrnn.models import ESRNNForecaster, SeasonalNaive
from tsrnn.models.esrnn import DilatedLSTM, _interval, holt_winters, initial_seasons


def _hw_reference(y, alpha, gammas, init):
    """Smyl (2020), eqs. (1)-(3), multiplicative, one or two seasonalities, written out in plain Python."""
    seas = [list(s) for s in init]
    level = y[0] / np.prod([s[0] for s in seas])
    levels = []
    for t in range(len(y)):
        f = [s[t] for s in seas]
        if t > 0:
            level = alpha * y[t] / np.prod(f) + (1 - alpha) * level
        levels.append(level)
        for k, s in enumerate(seas):
            others = np.prod(f[:k] + f[k + 1:])
            s.append(gammas[k] * y[t] / (level * others) + (1 - gammas[k]) * f[k])
    return np.array(levels), [np.array(s) for s in seas]


@pytest.mark.parametrize("seasons", [(), (5,), (3, 8)])
def test_holt_winters_matches_the_paper_equations(seasons):
    r = np.random.default_rng(0)
    y = np.exp(r.normal(0, 0.3, (2, 40))) * 10
    alpha, gammas = np.array([0.3, 0.8]), [np.array([0.1, 0.6]), np.array([0.4, 0.2])][:len(seasons)]
    init = [np.exp(r.normal(0, 0.2, (2, m))) for m in seasons]
    lvl, seas = holt_winters(torch.tensor(y), torch.tensor(alpha), [torch.tensor(g) for g in gammas],
                             [torch.tensor(s) for s in init])
    for i in range(2):
        ref_l, ref_s = _hw_reference(y[i], alpha[i], [g[i] for g in gammas], [s[i] for s in init])
        np.testing.assert_allclose(lvl[i].numpy(), ref_l, rtol=1e-10)
        for got, ref in zip(seas, ref_s):
            assert got.shape[1] == 40 + len(ref) - 40
            np.testing.assert_allclose(got[i].numpy(), ref, rtol=1e-10)


def test_initial_seasons_recover_a_clean_pattern():
    pattern = np.log([0.8, 1.0, 1.3, 0.9])
    pattern -= pattern.mean()
    logy = 2.0 + np.tile(pattern, 10)
    np.testing.assert_allclose(initial_seasons(logy, (4,))[0], pattern, atol=1e-12)
    assert not initial_seasons(logy[:5], (4,))[0].any()  # fewer than two cycles: no start pattern


def test_dilated_layer_runs_each_interleaved_subsequence_alone():
    torch.manual_seed(0)
    layer = DilatedLSTM(3, 5, dilation=3)
    x = torch.randn(2, 11, 3)
    out = layer(x)
    for r in range(3):
        alone, _ = layer.rnn(x[:, r::3])
        torch.testing.assert_close(out[:, r::3], alone)


def test_intervals_interpolate_quantiles_and_extrapolate_a_normal_tail():
    q = np.array([0.1, 0.5, 0.9])
    qs = np.array([[8.0, 10.0, 13.0]])
    lo, hi = _interval(qs, q, qs[:, 1], 80)
    assert lo[0] == 8.0 and hi[0] == 13.0
    lo, hi = _interval(qs, q, qs[:, 1], 90)  # beyond the outer quantiles: normal tails fitted to them
    z = stats.norm.ppf(0.95) / stats.norm.ppf(0.9)
    np.testing.assert_allclose([lo[0], hi[0]], [10 - 2 * z, 10 + 3 * z])


def _co2():
    sm = pytest.importorskip("statsmodels.api")
    y = sm.datasets.co2.load_pandas().data["co2"].resample("MS").mean().interpolate()
    return y.iloc[:-24], y.iloc[-24:]


def test_defaults_beat_seasonal_naive_on_co2():
    train, test = _co2()
    model = ESRNNForecaster(random_state=0).fit(train)
    f = model.predict(24, level=[80])
    naive = SeasonalNaive(12).fit(train).predict(24)
    mae = np.mean(np.abs(f.iloc[:, 0].to_numpy() - test.to_numpy()))
    mae_naive = np.mean(np.abs(naive.to_numpy() - test.to_numpy()))
    assert model.seasons_ == (12,) and model.horizon_ == 24
    assert mae < 0.5 * mae_naive, (mae, mae_naive)
    inside = (f.iloc[:, 1] <= test) & (test <= f.iloc[:, 2])
    assert inside.mean() >= 0.5  # the 80 % intervals are not degenerate


def _panel():
    t = np.arange(150)
    parts = []
    for k in range(3):
        y = (20 + k) * (1 + 0.002 * t) * (1 + 0.2 * np.sin(2 * np.pi * (t + k) / 12))
        parts.append(pd.DataFrame({"unique_id": f"s{k}", "ds": pd.date_range("2000-01", periods=150, freq="MS"),
                                   "y": y * np.exp(np.random.default_rng(k).normal(0, 0.02, 150))}))
    return pd.concat(parts, ignore_index=True)


def _small(**kw):
    return ESRNNForecaster(**{"season_length": 12, "hidden_size": 8, "max_epochs": 4, "n_snapshots": 2, **kw})


def test_same_seed_bit_identical_and_seeds_differ():
    panel = _panel()
    a = _small(random_state=3).fit(panel).predict(12)
    b = _small(random_state=3).fit(panel).predict(12)
    c = _small(random_state=4).fit(panel).predict(12)
    pd.testing.assert_frame_equal(a, b)
    assert not np.array_equal(a.iloc[:, 2], c.iloc[:, 2])


def test_long_horizon_continues_block_by_block_and_threads_are_restored():
    panel = _panel()
    before = torch.get_num_threads()
    m = _small(random_state=0, n_models=2, horizon=6).fit(panel)
    assert len(m.members_) == 4 and torch.get_num_threads() == before
    short, long = m.predict(6), m.predict(15)
    assert torch.get_num_threads() == before
    got = long.groupby("unique_id").head(6)[m.name].to_numpy()
    np.testing.assert_allclose(got, short[m.name].to_numpy(), rtol=1e-6)
    assert np.isfinite(long[m.name]).all() and len(long) == 45


def test_non_positive_series_are_shifted_and_bad_settings_named():
    t = np.arange(80)
    y = pd.Series(np.sin(2 * np.pi * t / 8) * 5 - 1, index=pd.RangeIndex(80))
    m = _small(random_state=0, season_length=8).fit(y)
    assert m.offset_[m.panel_.uids[0]] > 6
    assert np.isfinite(m.predict(8)).all()
    with pytest.raises(ValueError, match="season_length"):
        ESRNNForecaster(season_length="weekly").fit(y)
    with pytest.raises(ValueError, match="too short"):
        ESRNNForecaster(window=100).fit(y)
