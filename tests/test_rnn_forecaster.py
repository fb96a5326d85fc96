"""RNNForecaster: contract shapes, bit-identical refits, joblib round trip, warm_start, update, exogenous
regressors, interval heads, and accuracy against the seasonal naive reference on a seasonal panel."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from tsrnn.models import RNNForecaster, SeasonalNaive

FAST = dict(random_state=0, max_epochs=3, window=14, hidden_size=16)


def _seasonal_panel(n_series=4, n=168, seed=0):
    g = np.random.default_rng(seed)
    idx = pd.date_range("2021-01-04", periods=n, freq="D")
    frames = []
    for i in range(n_series):
        scale = 10.0 ** i  # very different levels: per-series scaling must cope
        y = scale * (5 + np.sin(2 * np.pi * np.arange(n) / 7 + i) + 0.1 * g.normal(size=n))
        frames.append(pd.DataFrame({"unique_id": f"s{i}", "ds": idx, "y": y}))
    return pd.concat(frames, ignore_index=True)


def test_contract_shapes(daily_series, daily_panel):
    f = RNNForecaster(**FAST).fit(daily_series)
    p = f.predict(7)
    assert isinstance(p, pd.Series) and len(p) == 7 and p.index[0] == daily_series.index[-1] + pd.Timedelta(days=1)
    df = f.predict(7, level=[80, 95])
    assert list(df.columns) == ["RNNForecaster", "RNNForecaster-lo-80", "RNNForecaster-hi-80",
                                "RNNForecaster-lo-95", "RNNForecaster-hi-95"]
    assert (df["RNNForecaster-lo-95"] <= df["RNNForecaster-lo-80"]).all()
    assert (df["RNNForecaster-hi-80"] <= df["RNNForecaster-hi-95"]).all()
    out = RNNForecaster(**FAST).fit(daily_panel).predict(5)
    assert list(out.columns) == ["unique_id", "ds", "RNNForecaster"] and len(out) == 15
    with pytest.raises(NotFittedError):
        RNNForecaster().predict(3)
    assert clone(RNNForecaster(cell="gru")).get_params()["cell"] == "gru"
    RNNForecaster()  # builds with no arguments


def test_same_random_state_bit_identical_and_joblib_roundtrip(daily_panel, joblib_roundtrip):
    a = RNNForecaster(**FAST, loss="gaussian", n_samples=20).fit(daily_panel)
    b = RNNForecaster(**FAST, loss="gaussian", n_samples=20).fit(daily_panel)
    pa, pb = a.predict(10, level=[80]), b.predict(10, level=[80])
    pd.testing.assert_frame_equal(pa, pb, check_exact=True)
    c = RNNForecaster(**{**FAST, "random_state": 1}).fit(daily_panel)
    assert not np.array_equal(c.predict(10)["RNNForecaster"], pa["RNNForecaster"])
    loaded = joblib_roundtrip(a)
    pd.testing.assert_frame_equal(loaded.predict(10, level=[80]), pa, check_exact=True)
    assert all(p.device.type == "cpu" for p in loaded.module_.parameters())


def test_warm_start_continues_from_previous_weights(daily_series):
    fixed = dict(scaler="standard", season_length=None)  # the old defaults: the first epochs have much to learn
    f = RNNForecaster(**{**FAST, "max_epochs": 15, "validation_size": 0.0}, **fixed, lr=1e-2,
                      warm_start=True).fit(daily_series)
    first_losses = f.history_.train_loss
    w = [p.detach().clone() for p in f.module_.parameters()]
    module = f.module_
    f.set_params(max_epochs=1).fit(daily_series)
    assert f.module_ is module  # the same network, trained further
    assert f.history_.train_loss[0] < 0.5 * first_losses[0]  # starts near where the last fit ended
    assert not all(torch.equal(a, p) for a, p in zip(w, f.module_.parameters()))
    cold = RNNForecaster(**{**FAST, "max_epochs": 1, "validation_size": 0.0}, **fixed, lr=1e-2).fit(daily_series)
    assert cold.history_.train_loss[0] > 2 * f.history_.train_loss[0]


def test_update_appends_without_retraining(daily_series):
    f = RNNForecaster(**FAST).fit(daily_series.iloc[:100])
    w = [p.detach().clone() for p in f.module_.parameters()]
    f.update(daily_series.iloc[100:])
    p = f.predict(3)
    assert p.index[0] == daily_series.index[-1] + pd.Timedelta(days=1)
    assert all(torch.equal(a, b) for a, b in zip(w, f.module_.parameters()))
    # the forecast is the network applied to the last window of the updated history
    ref = RNNForecaster(**FAST).fit(daily_series.iloc[:100])
    ref.panel_ = f.panel_
    pd.testing.assert_series_equal(ref.predict(3), p)


@pytest.mark.parametrize("kw", [dict(cell="gru", loss="mae", scaler="mean"), dict(cell="mut2", scaler="none"),
                                dict(cell="peephole_lstm", num_layers=2, dropout=0.1),
                                dict(strategy="mimo", horizon=4, loss="quantile", quantiles=(0.1, 0.9)),
                                dict(strategy="mimo", horizon=5, loss="gaussian", n_samples=30),
                                dict(loss="categorical", n_bins=20, n_samples=30),
                                dict(strategy="mimo", horizon=9, loss="categorical", n_samples=30)])
def test_options_run_and_give_ordered_intervals(daily_series, kw):
    df = RNNForecaster(**FAST, **kw).fit(daily_series).predict(9, level=[80])
    assert len(df) == 9 and np.isfinite(df.to_numpy()).all()
    assert (df.iloc[:, 1] <= df.iloc[:, 2]).all()


def test_errors(daily_series):
    with pytest.raises(ValueError, match="horizon"):
        RNNForecaster(strategy="mimo").fit(daily_series)
    with pytest.raises(ValueError, match="unknown cell"):
        RNNForecaster(cell="lstmx").fit(daily_series)
    with pytest.raises(ValueError, match="loss"):
        RNNForecaster(loss="huber").fit(daily_series)
    with pytest.raises(ValueError, match="too short|observations|length"):
        RNNForecaster(window=200).fit(daily_series)


def test_exogenous_regressor_is_used():
    """y has a promotion effect of +8 on random days: with the promotion flag as X the error is far lower."""
    g = np.random.default_rng(0)
    n = 240
    idx = pd.date_range("2021-01-01", periods=n, freq="D")
    promo = (g.random(n) < 0.2).astype(float)
    y = pd.Series(20 + 8 * promo + 0.3 * g.normal(size=n), index=idx)
    X = pd.DataFrame({"promo": promo}, index=idx)
    kw = dict(random_state=0, window=7, hidden_size=16, max_epochs=80, lr=1e-2, batch_size=16, patience=30)
    with_x = RNNForecaster(**kw).fit(y.iloc[:-20], X=X.iloc[:-20]).predict(20, X=X.iloc[-20:])
    without = RNNForecaster(**kw).fit(y.iloc[:-20]).predict(20)
    err_x = np.abs(with_x.to_numpy() - y.iloc[-20:].to_numpy()).mean()
    err = np.abs(without.to_numpy() - y.iloc[-20:].to_numpy()).mean()
    assert err_x < 1.0 < err  # without X the best is ~ the mean absolute deviation of 8*promo (~2.6)


def test_beats_seasonal_naive_on_a_seasonal_panel_and_covers():
    """Noise sd 0.1 (relative): the seasonal naive's error is sqrt(2) x the noise; a trained global LSTM gets close
    to the noise level across series whose levels differ by 1000x, and its 80% intervals cover about 80%."""
    data = _seasonal_panel()
    h = 14
    train = data.groupby("unique_id").head(168 - h)
    test = data.groupby("unique_id").tail(h)
    # no seasonal skip: with it the network starts from the seasonal naive forecast and keeps most of its noise
    f = RNNForecaster(random_state=0, window=14, hidden_size=32, max_epochs=200, lr=3e-3, patience=30,
                      loss="gaussian", n_samples=200, season_length=None).fit(train)
    fc = f.predict(h, level=[80])
    sn = SeasonalNaive(season_length=7).fit(train).predict(h)
    y = test["y"].to_numpy()
    scale = np.repeat(10.0 ** np.arange(4), h)
    rel = lambda p: np.mean(np.abs(p - y) / scale)  # noqa: E731
    assert rel(fc["RNNForecaster"].to_numpy()) < 0.85 * rel(sn["SeasonalNaive"].to_numpy())
    inside = (fc["RNNForecaster-lo-80"].to_numpy() <= y) & (y <= fc["RNNForecaster-hi-80"].to_numpy())
    assert 0.6 <= inside.mean() <= 0.97


def test_cuda_training_loads_on_cpu(daily_series, joblib_roundtrip):
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    f = RNNForecaster(**FAST, device="cuda").fit(daily_series)
    assert all(p.device.type == "cpu" for p in f.module_.parameters())
    buf = io.BytesIO()
    torch.save(f.module_.state_dict(), buf)
    buf.seek(0)
    sd = torch.load(buf, weights_only=True, map_location="cpu")
    assert set(sd) == set(f.module_.state_dict())
    pd.testing.assert_series_equal(joblib_roundtrip(f).predict(5), f.predict(5))


def test_window_scaler_follows_a_drifting_level():
    """A trend leaves the range of the training data: per-series standardisation extrapolates badly, the local level
    of scaler='window' follows it (error near the noise level, sd 1)."""
    g = np.random.default_rng(0)
    t = np.arange(300)
    y = pd.Series(50 + 0.2 * t + 10 * np.sin(2 * np.pi * t / 7) + g.normal(0, 1, 300),
                  index=pd.date_range("2020-01-06", periods=300, freq="D"))
    err = {}
    for sc in ("standard", "window"):
        f = RNNForecaster(scaler=sc, random_state=0, max_epochs=60, window=21, lr=1e-2,
                          season_length=None).fit(y.iloc[:-14])  # the scaler alone (a skip would rescue both)
        err[sc] = np.abs(f.predict(14).to_numpy() - y.iloc[-14:].to_numpy()).mean()
    assert err["window"] < 2.0 < err["standard"], err


def test_categorical_head_matches_hand_computed_loss_and_point():
    from tsrnn.models.rnn import CategoricalHead

    est = RNNForecaster(loss="categorical", n_bins=4)
    head = CategoricalHead(est)
    head.setup(np.linspace(-1, 1, 1001)[:, None])
    out = torch.tensor([[[0.0, 1.0, 2.0, 3.0]]])
    e = head.edges.numpy()
    centres = (e[1:] + e[:-1]) / 2
    p = np.exp([0.0, 1, 2, 3]) / np.exp([0.0, 1, 2, 3]).sum()
    assert float(head.point(out)) == pytest.approx(float(p @ centres), rel=1e-6)
    y = torch.tensor([[0.3]])  # falls in bin 2 of 4 over [-0.99, 0.99]
    assert float(head.loss(out, y)) == pytest.approx(-np.log(p[2]), rel=1e-6)
    draws = head.sample(out.expand(2000, 1, 4), torch.Generator().manual_seed(0))
    assert draws.min() >= e[0] and draws.max() <= e[-1]
    assert np.mean(draws.numpy() > e[3]) == pytest.approx(p[3], abs=0.04)


@pytest.mark.parametrize("kw", [dict(), dict(strategy="mimo", horizon=10), dict(scaler="window")])
def test_season_length_skip_connection_is_the_seasonal_naive_forecast(daily_series, kw):
    """With the head zeroed the network adds nothing: the forecast is exactly the seasonal naive one."""
    f = RNNForecaster(**FAST, season_length=7, **kw).fit(daily_series)
    with torch.no_grad():
        f.module_.head.weight.zero_()
        f.module_.head.bias.zero_()
    ref = SeasonalNaive(season_length=7).fit(daily_series).predict(10)
    np.testing.assert_allclose(f.predict(10).to_numpy(), ref.to_numpy(), rtol=1e-6)
    with pytest.raises(ValueError, match="season_length"):
        RNNForecaster(window=5, season_length=7).fit(daily_series)


def test_streaming_windows_equal_materialised_windows_and_training_is_unchanged():
    """The lazy WindowDataset cuts exactly make_windows' windows, so training on it is the same computation."""
    import numpy as np
    import pandas as pd

    from tsrnn.features import make_windows
    from tsrnn.models import RNNForecaster
    from tsrnn.models.rnn import WindowDataset

    r = np.random.default_rng(0)
    panel = pd.concat([pd.DataFrame({"unique_id": f"s{i}", "ds": pd.date_range("2024-01-01", periods=n, freq="h"),
                                     "y": 5 + np.sin(np.arange(n) / 4) + r.normal(0, 0.1, n)})
                       for i, n in enumerate((80, 64))], ignore_index=True)
    m = RNNForecaster(window=12, max_epochs=1, scaler="window", season_length=6, random_state=0).fit(panel)
    train, valid = m._windows(m.panel_, m.validation_size)
    assert isinstance(train, WindowDataset) and len(train) + len(valid) <= (80 - 12) + (64 - 12)
    z, xf, target, sid = train.take(np.arange(len(train)))
    for i, s in enumerate(m.panel_.series):
        Z, Y = make_windows(m._rows(s), 12, 1)
        Zc, T = m._centred(Z, Y)
        starts = train.index[train.index[:, 0] == i, 1]
        np.testing.assert_array_equal(z[sid == i], Zc[starts].astype(np.float32))
        np.testing.assert_array_equal(target[sid == i], T[starts].astype(np.float32))
    # memory: the index holds 2 integers per window, the windows themselves are never stored
    assert train.index.nbytes == 16 * len(train)
    a = RNNForecaster(window=12, max_epochs=2, random_state=0).fit(panel).predict(3)
    b = RNNForecaster(window=12, max_epochs=2, random_state=0).fit(panel).predict(3)
    pd.testing.assert_frame_equal(a, b)


def test_log_scaler_is_scale_free_and_maps_back_with_exp():
    """scaler='log': multiplying a series by 1000 multiplies forecasts and interval bounds by 1000 (the network
    sees log ratios only); bounds are asymmetric around the forecast; non-positive series are refused by name."""
    g = np.random.default_rng(0)
    t = np.arange(400)
    y = 50 * np.exp(0.002 * t) * (1 + 0.3 * np.sin(2 * np.pi * t / 24)) * np.exp(g.normal(0, 0.02, 400))
    idx = pd.date_range("2021-01-01", periods=400, freq="h")
    kw = dict(scaler="log", window=48, season_length=24, max_epochs=15, lr=3e-3, random_state=0)
    fc1 = RNNForecaster(**kw).fit(pd.Series(y, index=idx)).predict(24, level=[80])
    fc2 = RNNForecaster(**kw).fit(pd.Series(1000 * y, index=idx)).predict(24, level=[80])
    np.testing.assert_allclose(fc2.to_numpy(), 1000 * fc1.to_numpy(), rtol=1e-4)
    truth = 50 * np.exp(0.002 * (t[-1] + 1 + np.arange(24))) * (1 + 0.3 * np.sin(2 * np.pi * (400 + np.arange(24)) / 24))
    assert np.mean(np.abs(fc1["RNNForecaster"].to_numpy() / truth - 1)) < 0.05
    lo, m, hi = (fc1[c].to_numpy() for c in ("RNNForecaster-lo-80", "RNNForecaster", "RNNForecaster-hi-80"))
    assert (lo < m).all() and (m < hi).all() and ((hi - m) > (m - lo)).all()  # exp stretches the upper side
    bad = pd.DataFrame({"unique_id": ["ok"] * 100 + ["neg"] * 100, "ds": list(idx[:100]) * 2,
                        "y": np.r_[np.full(100, 5.0), np.linspace(-1, 1, 100)]})
    with pytest.raises(ValueError, match="'neg'.*positive"):
        RNNForecaster(scaler="log", window=24, max_epochs=1).fit(bad)


# ----------------------------------------------------------------------------------------------- likelihood heads
@pytest.mark.parametrize("name", ["normal", "studentt", "poisson", "negbin"])
def test_distribution_nll_equals_torch_log_prob(name):
    """Each head's hand-written NLL (what training minimises) is minus torch.distributions' log_prob at the same
    parameters, and its point forecast is the distribution's mean."""
    from tsrnn.models.rnn import DISTRIBUTIONS

    head = DISTRIBUTIONS[name](RNNForecaster(distribution=name))
    g = torch.Generator().manual_seed(0)
    out = torch.randn(5, 3, head.n_out, generator=g, dtype=torch.float64) * 2
    z = torch.rand(5, 12, 1, generator=g, dtype=torch.float64) * 7  # raw windows (counts' scale 1 + mean)
    _, ctx = head.prepare(z)
    y = (torch.poisson(torch.full((5, 3), 3.0, dtype=torch.float64), generator=g) if head.counts
         else torch.randn(5, 3, generator=g, dtype=torch.float64))
    params = head.params(out, ctx)
    ref = {"normal": lambda mu, s: torch.distributions.Normal(mu, s),
           "studentt": lambda df, mu, s: torch.distributions.StudentT(df, mu, s),
           "poisson": lambda mu: torch.distributions.Poisson(mu),
           "negbin": lambda mu, a: torch.distributions.NegativeBinomial(1 / a, probs=mu * a / (1 + mu * a))}[name]
    torch.testing.assert_close(head.nll(y, *params), -ref(*params).log_prob(y))
    torch.testing.assert_close(head.loss(out, y, ctx), -ref(*params).log_prob(y).mean())
    torch.testing.assert_close(head.point(out, ctx), ref(*params).mean)
    if head.counts:  # DeepAR scaling: the mean is nu * softplus(o), nu = 1 + the window's mean
        nu = 1 + z[:, :, 0].mean(1, keepdim=True)
        torch.testing.assert_close(params[0], nu * (torch.nn.functional.softplus(out[..., 0]) + 1e-6))


def _count_panel(n_series=8, n=224, seed=0):
    """Intermittent and smooth Poisson counts with a weekly profile; mean rates 0.3 .. 8."""
    g = np.random.default_rng(seed)
    idx = pd.date_range("2022-01-03", periods=n, freq="D")
    rates = np.geomspace(0.3, 8, n_series)
    week = 1 + 0.5 * np.sin(2 * np.pi * np.arange(n) / 7)
    return pd.concat([pd.DataFrame({"unique_id": f"c{i}", "ds": idx, "y": g.poisson(r * week).astype(float)})
                      for i, r in enumerate(rates)], ignore_index=True)


@pytest.mark.parametrize("name", ["poisson", "negbin"])
def test_count_heads_never_negative_and_cover(name, joblib_roundtrip):
    data = _count_panel()
    h = 28
    train, test = data.groupby("unique_id").head(224 - h), data.groupby("unique_id").tail(h)
    f = RNNForecaster(distribution=name, window=14, hidden_size=16, max_epochs=40, lr=1e-2, n_samples=200,
                      random_state=0).fit(train)
    fc = f.predict(h, level=[80, 95])
    cols = [c for c in fc.columns if c.startswith("RNNForecaster")]
    assert (fc[cols].to_numpy() >= 0).all()  # forecasts and bounds
    y = test["y"].to_numpy()
    inside = (fc["RNNForecaster-lo-80"].to_numpy() <= y) & (y <= fc["RNNForecaster-hi-80"].to_numpy())
    assert 0.65 <= inside.mean() <= 0.95, inside.mean()
    # the mean forecast follows each series' rate (true mean rates 0.3 .. 8): same order, same total
    by = fc.groupby("unique_id", sort=False)["RNNForecaster"].mean().to_numpy()
    assert np.corrcoef(np.argsort(np.argsort(by)), np.arange(8))[0, 1] > 0.9
    assert by.sum() == pytest.approx(np.geomspace(0.3, 8, 8).sum(), rel=0.2)
    b = RNNForecaster(**{**f.get_params()}).fit(train).predict(h, level=[80, 95])
    pd.testing.assert_frame_equal(fc, b, check_exact=True)  # bit-identical under the same random_state
    pd.testing.assert_frame_equal(joblib_roundtrip(f).predict(h, level=[80, 95]), fc, check_exact=True)


def test_distribution_errors(daily_series):
    with pytest.raises(ValueError, match="distribution"):
        RNNForecaster(distribution="gamma", max_epochs=1).fit(daily_series)
    with pytest.raises(ValueError, match="scaler"):
        RNNForecaster(distribution="poisson", scaler="window", max_epochs=1).fit(daily_series)
    with pytest.raises(ValueError, match=r"series .*negative values"):
        RNNForecaster(distribution="negbin", max_epochs=1).fit(daily_series - 100)


def test_studentt_head_runs_with_the_defaults(daily_series):
    f = RNNForecaster(distribution="studentt", max_epochs=3, n_samples=50, random_state=0).fit(daily_series)
    fc = f.predict(7, level=[80, 95])
    assert (fc["RNNForecaster-lo-95"] <= fc["RNNForecaster-lo-80"]).all()
    assert (fc["RNNForecaster-lo-80"] <= fc["RNNForecaster"]).all() and (fc["RNNForecaster"] <= fc["RNNForecaster-hi-80"]).all()


def test_n_threads_applies_inside_fit_and_predict_only(daily_series, thread_spy):
    import tsrnn.models.rnn as rnn

    thread_spy.watch(rnn, "fit_module")
    thread_spy.watch(rnn.RNNForecaster, "_forecast")
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        f = RNNForecaster(**FAST).fit(daily_series)
        f.predict(3)
        assert thread_spy.seen == [1, 1] and torch.get_num_threads() == 2  # one thread inside, the caller's after
    finally:
        torch.set_num_threads(before)
