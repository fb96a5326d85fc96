"""Every bad input of the contract gets a ValueError/TypeError naming the series and the problem."""

import numpy as np
import pandas as pd
import pytest

from tsrnn._validation import check_horizon, check_levels, to_panel
from tsrnn.models import Drift, Naive, SeasonalNaive


def _series(n=30, name="sales"):
    return pd.Series(np.arange(n, dtype=float), index=pd.date_range("2024-01-01", periods=n, freq="D"), name=name)


def _frame(n=20, k=2):
    return pd.concat([pd.DataFrame({"unique_id": f"u{i}", "ds": pd.date_range("2024-01-01", periods=n, freq="h"),
                                    "y": np.arange(n, dtype=float) + i}) for i in range(k)], ignore_index=True)


def test_series_array_and_panel_are_accepted():
    p = to_panel(_series())
    assert p.kind == "series" and p.freq.freqstr == "D" and len(p.series[0]) == 30
    p = to_panel(np.arange(5.0))
    assert p.index_type == "range" and p.freq == 1
    p = to_panel(_frame())
    assert p.kind == "panel" and p.uids == ["u0", "u1"] and p.freq.freqstr == "h"
    p = to_panel(pd.Series([1.0, 2, 3], index=pd.period_range("2020-01", periods=3, freq="M")))
    assert p.index_type == "period"


@pytest.mark.parametrize("bad, where", [(np.nan, "NaN"), (np.inf, "inf")])
def test_nan_and_inf_name_series_and_position(bad, where):
    y = _series()
    y.iloc[7] = bad
    with pytest.raises(ValueError, match=r"series 'sales'.*position 7"):
        to_panel(y)
    f = _frame()
    f.loc[25, "y"] = bad
    with pytest.raises(ValueError, match=rf"series 'u1'.*{where}"):
        to_panel(f)


def test_duplicated_and_unsorted_stamps():
    y = _series()
    dup = pd.Series(y.values, index=y.index.where(np.arange(30) != 5, y.index[4]))
    with pytest.raises(ValueError, match="series 'series': duplicated time stamp"):
        to_panel(dup)
    with pytest.raises(ValueError, match="not sorted"):
        to_panel(y.iloc[::-1])
    f = _frame()
    f.loc[3, "ds"] = f.loc[2, "ds"]
    with pytest.raises(ValueError, match="series 'u0': duplicated"):
        to_panel(f)
    f = _frame().iloc[[0, 2, 1, 3]]
    with pytest.raises(ValueError, match="series 'u0'.*not sorted"):
        to_panel(f)


def test_irregular_stamps_without_frequency():
    idx = pd.DatetimeIndex(["2024-01-01", "2024-01-02", "2024-01-04", "2024-01-09", "2024-01-10"])
    with pytest.raises(ValueError, match="series 'series'.*irregular"):
        to_panel(pd.Series(np.arange(5.0), index=idx))
    f = _frame()
    f = f.drop(index=30)  # a gap in u1
    with pytest.raises(ValueError, match="series 'u1'.*irregular"):
        to_panel(f)


def test_non_numeric_and_empty():
    with pytest.raises(TypeError, match="series 'x'.*numeric"):
        to_panel(pd.Series(["a", "b", "c"], index=pd.date_range("2024-01-01", periods=3), name="x"))
    f = _frame().astype({"y": object})
    f.loc[5, "y"] = "oops"
    with pytest.raises(TypeError, match="series 'u0': y must be numeric"):
        to_panel(f)
    with pytest.raises(ValueError, match="empty"):
        to_panel(pd.Series([], dtype=float))
    with pytest.raises(ValueError, match="empty"):
        to_panel(_frame().iloc[:0])


def test_too_short_names_minimum():
    with pytest.raises(ValueError, match=r"series 'sales': has 5 observations.*SeasonalNaive\(season_length=7\).*7"):
        SeasonalNaive(season_length=7).fit(_series(5))
    with pytest.raises(ValueError, match="needs at least 2"):
        Drift().fit(_series(1))


def test_horizon_and_levels():
    for h in (0, -3):
        with pytest.raises(ValueError, match="h must be >= 1"):
            check_horizon(h)
    with pytest.raises(TypeError, match="positive integer"):
        check_horizon(2.5)
    with pytest.raises(ValueError, match="h must be >= 1"):
        Naive().fit(_series()).predict(0)
    assert check_levels([95, 80]) == [80, 95]
    with pytest.raises(ValueError, match="levels"):
        check_levels([120])


def test_missing_columns_and_wrong_types():
    with pytest.raises(ValueError, match=r"missing column\(s\) \['unique_id'\]"):
        to_panel(_frame().drop(columns="unique_id"))
    with pytest.raises(TypeError, match="pd.Series"):
        to_panel({"a": 1})
    with pytest.raises(ValueError, match="1-D"):
        to_panel(np.zeros((3, 4)))


def test_exogenous_columns_missing_at_predict():
    class ExogNaive(Naive):
        _supports_exog = True

    y = _series()
    X = pd.DataFrame({"promo": np.zeros(30), "price": np.ones(30)}, index=y.index)
    m = ExogNaive().fit(y, X)
    with pytest.raises(ValueError, match="needs their future values X"):
        m.predict(3)
    with pytest.raises(ValueError, match=r"series 'sales'.*\['price'\] missing"):
        m.predict(3, X=pd.DataFrame({"promo": np.zeros(3)}))
    with pytest.raises(ValueError, match="fewer than h=3"):
        m.predict(3, X=pd.DataFrame({"promo": [0.0], "price": [1.0]}))
    assert len(m.predict(3, X=pd.DataFrame({"promo": np.zeros(3), "price": np.ones(3)}))) == 3
    with pytest.raises(ValueError, match="does not use exogenous"):
        Naive().fit(y, X)


def test_unknown_unique_id_in_update():
    m = Naive().fit(_frame())
    new = pd.DataFrame({"unique_id": ["zz"], "ds": [pd.Timestamp("2024-01-01 20:00")], "y": [1.0]})
    with pytest.raises(ValueError, match="series 'zz': unknown unique_id"):
        m.update(new)
    gap = pd.DataFrame({"unique_id": ["u0"], "ds": [pd.Timestamp("2024-01-02 05:00")], "y": [1.0]})
    with pytest.raises(ValueError, match="series 'u0': update must continue"):
        m.update(gap)


def test_calendar_frequencies_and_tz():
    ms = pd.Series(np.arange(24.0), index=pd.date_range("2020-01-01", periods=24, freq="MS"))
    f = Naive().fit(ms).predict(2)
    assert list(f.index) == [pd.Timestamp("2022-01-01"), pd.Timestamp("2022-02-01")]
    tz = pd.Series(np.arange(48.0), index=pd.date_range("2024-03-30", periods=48, freq="h", tz="Europe/Paris"))
    f = Naive().fit(tz).predict(3)
    assert str(f.index.tz) == "Europe/Paris" and f.index[0] == tz.index[-1] + pd.Timedelta(hours=1)


def test_integer_and_float32_input():
    f = Naive().fit(np.arange(10, dtype=np.int32)).predict(2)
    assert list(f.index) == [10, 11] and f.iloc[0] == 9.0
    f = Naive().fit(np.arange(10, dtype=np.float32)).predict(1)
    assert f.dtype == np.float64


# ------------------------------------------------------------------ issue 18: no silent wrong answers


class _ExogMean(Naive):
    """A forecaster whose forecast is its future regressor: shows exactly which X row lands on which stamp."""

    _supports_exog = True

    def _predict_series(self, state, h, X, levels):
        return X[:, 0].copy(), {}


def test_future_exog_matched_by_stamps_for_a_series():
    y = _series(30, name="sales")
    m = _ExogMean().fit(y, pd.DataFrame({"x": np.zeros(30)}, index=y.index))
    fut = pd.date_range(y.index[-1] + pd.Timedelta(days=1), periods=3, freq="D")
    X = pd.DataFrame({"x": [1.0, 2.0, 3.0]}, index=fut)
    ahead = m.predict(3, X=X)
    np.testing.assert_array_equal(ahead.to_numpy(), [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(m.predict(3, X=X.iloc[::-1]).to_numpy(), [1.0, 2.0, 3.0])  # order irrelevant
    stale = pd.DataFrame({"x": [1.0, 2.0, 3.0]}, index=y.index[-3:])  # stamped in the training period
    with pytest.raises(ValueError, match=r"series 'sales'.*misses forecast stamps \[2024-01-31 00:00:00, "):
        m.predict(3, X=stale)
    longer = pd.DataFrame({"x": np.arange(4.0)}, index=pd.date_range(fut[0], periods=4, freq="D"))
    with pytest.raises(ValueError, match=r"series 'sales'.*outside the forecast \[2024-02-03 00:00:00\]"):
        m.predict(3, X=longer)
    with pytest.raises(ValueError, match="misses forecast stamps"):
        m.predict(3, X=X.iloc[:2])
    # a ds column works like the index
    np.testing.assert_array_equal(m.predict(3, X=X.iloc[::-1].rename_axis("ds").reset_index()).to_numpy(), [1, 2, 3])


def test_future_exog_matched_by_ds_per_series_in_a_panel():
    panel = _frame(n=20, k=2).assign(x=0.0)
    m = _ExogMean().fit(panel)
    last = panel.groupby("unique_id")["ds"].max()
    rows = []
    for i, uid in enumerate(["u0", "u1"]):
        ds = pd.date_range(last[uid] + pd.Timedelta(hours=1), periods=3, freq="h")
        rows.append(pd.DataFrame({"unique_id": uid, "ds": ds, "x": 10.0 * i + np.arange(3)}))
    X = pd.concat(rows, ignore_index=True)
    out = m.predict(3, X=X)
    shuffled = m.predict(3, X=X.sample(frac=1.0, random_state=0))
    np.testing.assert_array_equal(out["_ExogMean"].to_numpy(), [0, 1, 2, 10, 11, 12])
    pd.testing.assert_frame_equal(out, shuffled)
    bad = X.copy()
    bad.loc[bad["unique_id"] == "u1", "ds"] -= pd.Timedelta(hours=1)  # u1 shifted one hour back
    with pytest.raises(ValueError, match=r"series 'u1'.*misses forecast stamps \[2024-01-01 22:00:00\]"
                                         r".*outside the forecast \[2024-01-01 19:00:00\]"):
        m.predict(3, X=bad)
    with pytest.raises(TypeError, match="unique_id, ds"):
        m.predict(3, X=X.drop(columns="ds"))


@pytest.mark.parametrize("level, suggestion", [(0.95, "level=95"), ([0.8, 0.95], "level=80"), (1, "level=100")])
def test_level_given_as_a_fraction_suggests_the_percentage(level, suggestion):
    with pytest.raises(ValueError, match=f"fraction.*pass {suggestion}"):
        check_levels(level)
    with pytest.raises(ValueError, match=f"pass {suggestion}"):
        Naive().fit(_series()).predict(3, level=level)


@pytest.mark.parametrize("level", [0, 100, 150, -5, np.nan, True, "95"])
def test_level_outside_the_open_percentage_range(level):
    with pytest.raises(ValueError, match=r"percentages in \(1, 100\)"):
        check_levels(level)


def test_error_texts_show_dates_not_nanoseconds():
    idx = pd.DatetimeIndex(["2024-01-01", "2024-01-03", "2024-01-02"])
    with pytest.raises(ValueError, match=r"position 2: 2024-01-02 00:00:00 after 2024-01-03 00:00:00") as e:
        to_panel(pd.Series([1.0, 2, 3], index=idx))
    assert "1704" not in str(e.value)  # no int64 nanoseconds
    dup = pd.DatetimeIndex(["2024-01-01", "2024-01-02", "2024-01-02"])
    with pytest.raises(ValueError, match=r"duplicated time stamp 2024-01-02 00:00:00"):
        to_panel(pd.Series([1.0, 2, 3], index=dup))
    per = pd.PeriodIndex(["2024-01", "2024-03", "2024-02"], freq="M")
    with pytest.raises(ValueError, match=r"2024-02 after 2024-03"):
        to_panel(pd.Series([1.0, 2, 3], index=per))
    frame = pd.DataFrame({"unique_id": "a", "ds": idx, "y": [1.0, 2, 3]})
    with pytest.raises(ValueError, match=r"series 'a'.*2024-01-02 00:00:00 after 2024-01-03 00:00:00"):
        to_panel(frame)
    m = Naive().fit(_series())
    gap = pd.Series([1.0], index=pd.DatetimeIndex(["2024-02-05"]))
    with pytest.raises(ValueError, match=r"expected first stamp 2024-01-31 00:00:00, got 2024-02-05 00:00:00"):
        m.update(gap)


def test_irregular_error_gives_advice_that_works():
    idx = pd.DatetimeIndex(["2024-01-01", "2024-01-02", "2024-01-04", "2024-01-09", "2024-01-10"])
    y = pd.Series(np.arange(5.0), index=idx)
    with pytest.raises(ValueError, match="irregular") as e:
        Naive().fit(y)
    assert "freq=" not in str(e.value)  # no method of the public API takes freq=
    assert "resample" in str(e.value)
    Naive().fit(y.resample("D").mean().interpolate())  # the advice, followed, works


@pytest.mark.parametrize("freq, h", [("MS", 12 * 300), ("D", 300 * 366), ("h", 10**8)])
def test_horizon_past_the_pandas_range_names_h(freq, h):
    y = pd.Series(np.arange(24.0), index=pd.date_range("2020-01-01", periods=24, freq=freq))
    m = Naive().fit(y)
    with pytest.raises(ValueError, match=rf"h={h} .*past the last date pandas can represent"):
        m.predict(h)


def test_out_of_range_and_exog_errors_show_local_dates():
    y = pd.Series(np.arange(24.0), index=pd.date_range("2020-01-01", periods=24, freq="MS", tz="Europe/Paris"))
    with pytest.raises(ValueError, match=r"h=3600 steps of MS after 2021-12-01 00:00:00\+01:00"):
        Naive().fit(y).predict(3600)


def test_one_positive_integer_validator():
    from tsrnn._validation import check_positive_int
    from tsrnn.models import ETS, AutoARIMA, ReductionForecaster

    assert check_positive_int(np.int64(3), "window") == 3 and type(check_positive_int(np.int64(3), "w")) is int
    assert check_positive_int(None, "window", allow_none=True) is None
    for bad in (0, -1, 2.0, True, "3", None):
        with pytest.raises(ValueError, match=r"Owner: window must be a positive integer, got "):
            check_positive_int(bad, "window", "Owner")
    with pytest.raises(ValueError, match=r"n must be an integer >= 2 or None, got 1"):
        check_positive_int(1, "n", minimum=2, allow_none=True)
    # the models use it, so their messages agree
    y = _series(40)
    with pytest.raises(ValueError, match=r"SeasonalNaive: season_length must be a positive integer, got 0"):
        SeasonalNaive(season_length=0).fit(y)
    with pytest.raises(ValueError, match=r"ETS: season_length must be a positive integer, got True"):
        ETS(season_length=True).fit(y)
    with pytest.raises(ValueError, match=r"AutoARIMA: season_length must be a positive integer or 'auto', got 'x'"):
        AutoARIMA(season_length="x").fit(y)
    with pytest.raises(ValueError, match=r"ReductionForecaster: window must be a positive integer or None, got 0"):
        ReductionForecaster(window=0).fit(y)
