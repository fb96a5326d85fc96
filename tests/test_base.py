"""The estimator base: output layout, update, persistence with a version stamp."""

import io
import warnings

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError

from tsrnn.models import Naive, SeasonalNaive


def _dump(obj):
    buf = io.BytesIO()
    joblib.dump(obj, buf)
    buf.seek(0)
    return buf


def _saved_by(m, version, monkeypatch):
    import tsrnn

    current = tsrnn.__version__
    monkeypatch.setattr(tsrnn, "__version__", version)
    buf = _dump(m)
    monkeypatch.setattr(tsrnn, "__version__", current)
    return buf


def test_pickles_carry_the_version_and_a_major_version_apart_fails_clearly(daily_series, monkeypatch):
    m = SeasonalNaive(7).fit(daily_series)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the same version loads silently
        assert joblib.load(_dump(m)).predict(3).equals(m.predict(3))
    with pytest.raises(ValueError, match=r"saved with tsrnn 9.0.0 .* tsrnn 0.1.0 \(another major version\)"):
        joblib.load(_saved_by(m, "9.0.0", monkeypatch))


@pytest.mark.parametrize("version", ["0.0.3", "0.7.0", "0.1.1"])
def test_pickle_from_another_minor_version_warns_and_loads(daily_series, monkeypatch, version):
    from tsrnn.base import InconsistentVersionWarning

    m = SeasonalNaive(7).fit(daily_series)
    with pytest.warns(InconsistentVersionWarning, match=rf"saved with tsrnn {version} .* tsrnn 0.1.0") as rec:
        loaded = joblib.load(_saved_by(m, version, monkeypatch))
    w = rec[0].message
    assert (w.estimator_name, w.original_version, w.current_version) == ("SeasonalNaive", version, "0.1.0")
    assert loaded.predict(3).equals(m.predict(3))


def test_unreadable_state_fails_clearly():
    with pytest.raises(ValueError, match=r"this Naive \(saved with tsrnn unknown\) cannot be read by tsrnn 0.1.0"):
        Naive().__setstate__(["not", "a", "state"])


def test_series_name_and_panel_layout(daily_series, daily_panel):
    f = Naive().fit(daily_series).predict(2)
    assert f.name == "Naive" and f.index.freqstr == "D"
    out = Naive().fit(daily_panel).predict(2, level=[90])
    assert list(out.columns) == ["unique_id", "ds", "Naive", "Naive-lo-90", "Naive-hi-90"]
    assert list(out["unique_id"]) == ["s0", "s0", "s1", "s1", "s2", "s2"]


def test_update_panel_appends_only_named_series(daily_panel):
    m = Naive().fit(daily_panel)
    last = daily_panel["ds"].max()
    new = pd.DataFrame({"unique_id": ["s1"], "ds": [last + pd.Timedelta(days=1)], "y": [123.0]})
    out = m.update(new).predict(1)
    assert out.loc[out.unique_id == "s1", "Naive"].item() == 123.0
    assert out.loc[out.unique_id == "s1", "ds"].item() == last + pd.Timedelta(days=2)
    assert out.loc[out.unique_id == "s0", "ds"].item() == last + pd.Timedelta(days=1)


def test_not_fitted():
    with pytest.raises(NotFittedError, match="call fit"):
        Naive().predict(3)
    with pytest.raises(NotFittedError):
        Naive().update(np.arange(3.0))


def test_n_jobs_over_series_gives_the_same_forecasts(daily_panel):
    from tsrnn.models.baselines import Naive2

    class ParallelNaive2(Naive2):
        def __init__(self, season_length=7, n_jobs=2):
            self.season_length = season_length
            self.n_jobs = n_jobs

    a = Naive2(7).fit(daily_panel).predict(5)
    b = ParallelNaive2().fit(daily_panel).predict(5)
    np.testing.assert_allclose(a["Naive2"], b["ParallelNaive2"])


def test_errors_inside_a_model_name_the_model_and_series(daily_panel):
    class Fragile(Naive):
        def _fit_series(self, y, X):
            if y[0] > 52:  # s1 and s2 start higher
                np.linalg.cholesky(-np.eye(2))  # a raw numpy error
            return super()._fit_series(y, X)

    with pytest.raises(ValueError, match=r"Fragile: series 's1': .*positive definite") as info:
        Fragile().fit(daily_panel)
    assert isinstance(info.value.__cause__, np.linalg.LinAlgError)


def test_ets_on_an_all_zero_series():
    from tsrnn.models import ETS

    y = pd.Series(np.zeros(40), index=pd.date_range("2024-01-01", periods=40, freq="D"))
    f = ETS(season_length=7).fit(y).predict(3, level=[80])
    assert (f.to_numpy() == 0).all()


def _weekly(n=140):
    t = np.arange(n)
    r = np.random.default_rng(0)
    return pd.Series(20 + 3 * np.sin(2 * np.pi * t / 7) + 0.02 * t + r.normal(0, 0.2, n),
                     index=pd.date_range("2024-01-01", periods=n, freq="D"), name="sales")


def test_score_is_minus_the_mae_of_the_following_observations(daily_panel):
    y = _weekly()
    m = SeasonalNaive(7).fit(y.iloc[:120])
    hand = -np.mean(np.abs(y.iloc[120:134].to_numpy() - np.tile(y.iloc[113:120].to_numpy(), 2)))
    assert m.score(y.iloc[120:134]) == pytest.approx(hand, rel=1e-12)
    with pytest.raises(ValueError, match=r"series 'sales': score needs the observations that follow.*2024-04-30"):
        m.score(y.iloc[121:130])
    # a panel: every series forecast as far as its own test rows reach
    last = daily_panel.groupby("unique_id")["ds"].transform("max")
    train, test = daily_panel[daily_panel["ds"] < last - pd.Timedelta(days=2)], daily_panel[
        daily_panel["ds"] >= last - pd.Timedelta(days=2)]
    p = Naive().fit(train)
    f = p.predict(3).merge(test, on=["unique_id", "ds"])
    assert p.score(test) == pytest.approx(-np.mean(np.abs(f["Naive"] - f["y"])), rel=1e-12)


def test_grid_search_tunes_a_forecaster_with_nested_parameters():
    from sklearn.base import clone
    from sklearn.linear_model import Ridge
    from sklearn.model_selection import GridSearchCV, TimeSeriesSplit

    from tsrnn.models import ReductionForecaster

    y = _weekly()
    gs = GridSearchCV(SeasonalNaive(), {"season_length": [1, 5, 7]}, cv=TimeSeriesSplit(3, test_size=7)).fit(y)
    assert gs.best_params_ == {"season_length": 7}
    assert gs.best_estimator_.predict(7).index[0] == y.index[-1] + pd.Timedelta(days=1)
    red = ReductionForecaster(estimator=Ridge(alpha=1.0), window=14)
    tuned = clone(red).set_params(estimator__alpha=5.0)
    assert tuned.estimator.alpha == 5.0 and red.estimator.alpha == 1.0 and tuned.estimator is not red.estimator
    gs = GridSearchCV(red, {"estimator__alpha": [0.01, 1e6]}, cv=TimeSeriesSplit(2, test_size=7)).fit(y)
    assert gs.best_params_ == {"estimator__alpha": 0.01}  # a huge ridge penalty flattens the seasonal forecast
    assert red.estimator.alpha == 1.0  # the search worked on clones


def _many(k, n=20):
    t = np.arange(n)
    return pd.concat([pd.DataFrame({"unique_id": f"s{i:03d}", "ds": pd.date_range("2024-01-01", periods=n, freq="D"),
                                    "y": 10.0 + i + np.sin(t)}) for i in range(k)], ignore_index=True)


def test_panel_fit_progress_bar(capsys, monkeypatch):
    import tqdm.auto

    from tsrnn.models import Theta

    bars = []

    class Recording(tqdm.auto.tqdm):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.label, self.shown = kwargs.get("desc"), not self.disable

        def __exit__(self, *exc):
            bars.append((self.label, self.n, self.total, self.shown))
            return super().__exit__(*exc)

    monkeypatch.setattr(tqdm.auto, "tqdm", Recording)
    panel = _many(5)
    Naive().fit(panel, progress=True)
    assert bars[-1] == ("Naive fit", 5, 5, True) and "0/5" in capsys.readouterr().err
    a = Theta().fit(panel).predict(3)
    b = Theta(n_jobs=2).fit(panel, progress=True).predict(3)  # the bar advances per chunk of series
    assert bars[-1] == ("Theta fit", 5, 5, True)
    pd.testing.assert_frame_equal(a, b)
    capsys.readouterr()
    Naive().fit(panel, progress=False)
    Naive().fit(_many(120))  # auto: stderr is not a terminal under pytest
    Naive().fit(panel["y"].iloc[:20], progress=True)  # a single series: no bar
    assert [shown for *_, shown in bars[-3:]] == [False, False, False] and capsys.readouterr().err == ""


def test_progress_auto_rule(monkeypatch):
    import sys

    from tsrnn.base import PROGRESS_MIN_SERIES, _show_progress

    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    assert _show_progress(None, PROGRESS_MIN_SERIES, internal=False)
    assert not _show_progress(None, PROGRESS_MIN_SERIES - 1, internal=False)  # small panels fit quickly
    assert not _show_progress(None, 10_000, internal=True)  # inside the backtest, which has its own bar
    assert _show_progress(True, 2, internal=True) and not _show_progress(True, 1, internal=False)
    assert not _show_progress(False, 10_000, internal=False)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False, raising=False)
    assert not _show_progress(None, 10_000, internal=False)
