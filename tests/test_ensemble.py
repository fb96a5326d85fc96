"""EnsembleForecaster: combination rules checked against hand computations, composition conventions."""

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from tsrnn.models import Drift, EnsembleForecaster, Naive, SeasonalNaive, Theta


def _series(n=60):
    t = np.arange(n)
    r = np.random.default_rng(1)
    idx = pd.date_range("2022-01-03", periods=n, freq="D")
    return pd.Series(50 + 0.3 * t + 5 * np.sin(2 * np.pi * t / 7) + r.normal(0, 1, n), index=idx)


def test_ensemble_of_one_model_equals_that_model():
    y = _series()
    alone = SeasonalNaive(7).fit(y).predict(10, level=[80, 95]).to_numpy()
    for combine in ("median", "mean"):
        ens = EnsembleForecaster([SeasonalNaive(7)], combine=combine).fit(y).predict(10, level=[80, 95])
        np.testing.assert_array_equal(ens.to_numpy(), alone)


def test_mean_of_two_is_the_hand_average_of_points_and_bounds():
    y = _series()
    a = Naive().fit(y).predict(6, level=[90]).to_numpy()
    b = Drift().fit(y).predict(6, level=[90]).to_numpy()
    ens = EnsembleForecaster([Naive(), Drift()], combine="mean").fit(y).predict(6, level=[90])
    assert list(ens.columns) == ["EnsembleForecaster", "EnsembleForecaster-lo-90", "EnsembleForecaster-hi-90"]
    np.testing.assert_allclose(ens.to_numpy(), (a + b) / 2, rtol=1e-12)
    # by hand for the point forecast: Naive repeats the last value, Drift adds h * slope
    last, slope = y.iloc[-1], (y.iloc[-1] - y.iloc[0]) / (len(y) - 1)
    np.testing.assert_allclose(ens.iloc[:, 0].to_numpy(), last + slope * np.arange(1, 7) / 2, rtol=1e-12)


def test_median_of_three_per_step():
    y = _series()
    members = [Naive(), Drift(), SeasonalNaive(7)]
    parts = np.stack([m.fit(y).predict(9, level=[80]).to_numpy() for m in members])
    ens = EnsembleForecaster([clone(m) for m in members]).fit(y).predict(9, level=[80])
    np.testing.assert_allclose(ens.to_numpy(), np.median(parts, axis=0), rtol=1e-12)


def test_panel_forecast_and_update_move_every_member():
    y = _series(70)
    panel = pd.concat([pd.DataFrame({"unique_id": u, "ds": y.index, "y": y.values * k}) for u, k in (("a", 1), ("b", 2))])
    old, new = panel[panel.ds <= y.index[-6]], panel[panel.ds > y.index[-6]]
    ens = EnsembleForecaster([("n", Naive()), ("d", Drift())], combine="mean").fit(old)
    ens.update(new)
    f = ens.predict(3)
    exp = pd.concat([Naive().fit(panel).predict(3)["Naive"], Drift().fit(panel).predict(3)["Drift"]], axis=1).mean(axis=1)
    np.testing.assert_allclose(f["EnsembleForecaster"].to_numpy(), exp.to_numpy(), rtol=1e-12)
    assert (f.groupby("unique_id")["ds"].min() == new.groupby("unique_id")["ds"].max() + pd.Timedelta(days=1)).all()


def test_nested_params_clone_and_names():
    ens = EnsembleForecaster([SeasonalNaive(7), SeasonalNaive(14), ("t", Theta(season_length=7))])
    p = ens.get_params()
    assert p["SeasonalNaive__season_length"] == 7 and p["SeasonalNaive_2__season_length"] == 14
    assert p["t__season_length"] == 7 and isinstance(p["t"], Theta)
    ens.set_params(SeasonalNaive_2__season_length=21, combine="mean", t=Naive())
    assert ens.forecasters[1].season_length == 21 and ens.combine == "mean"
    assert isinstance(ens.forecasters[2], tuple) and isinstance(ens.forecasters[2][1], Naive)
    c = clone(ens)
    assert c.get_params()["SeasonalNaive_2__season_length"] == 21 and c.forecasters[0] is not ens.forecasters[0]
    with pytest.raises(ValueError, match="invalid parameter"):
        ens.set_params(nope__x=1)


def test_bad_arguments_raise_clear_errors():
    y = _series()
    with pytest.raises(ValueError, match="combine"):
        EnsembleForecaster([Naive()], combine="max").fit(y)
    with pytest.raises(ValueError, match="empty"):
        EnsembleForecaster([]).fit(y)
    with pytest.raises(TypeError, match="not a tsrnn forecaster"):
        EnsembleForecaster([object()]).fit(y)
    with pytest.raises(ValueError, match="unique"):
        EnsembleForecaster([("a", Naive()), ("a", Drift())]).fit(y)


def test_default_members_follow_a_trend():
    y = _series(80)
    f = EnsembleForecaster().fit(y).predict(14)
    assert np.isfinite(f).all() and f.iloc[-1] > y.iloc[-14:].mean()
