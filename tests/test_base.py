"""The estimator base: output layout, update, persistence with a version stamp."""

import io

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


def test_pickles_carry_the_version_and_incompatible_ones_fail_clearly(daily_series, monkeypatch):
    import tsrnn

    m = SeasonalNaive(7).fit(daily_series)
    buf = _dump(m)
    assert joblib.load(buf).predict(3).equals(m.predict(3))
    monkeypatch.setattr(tsrnn, "__version__", "9.0.0")
    buf = _dump(m)
    monkeypatch.setattr(tsrnn, "__version__", "0.1.0")
    with pytest.raises(ValueError, match=r"saved with tsrnn 9.0.0 .* tsrnn 0.1.0"):
        joblib.load(buf)


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
