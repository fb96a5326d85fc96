"""The backtest engine: windows, panel = series by series, refit/update, checkpoints, failures, scores."""

import numpy as np
import pandas as pd
import pytest

from tsrnn.backtest import BacktestResult, ExpandingWindow, SlidingWindow, backtest
from tsrnn.base import BaseForecaster
from tsrnn.metrics import mase, smape
from tsrnn.models import Drift, Mean, Naive, Naive2, SeasonalNaive


def _panel(lengths=(60, 50, 55), seed=0):
    r = np.random.default_rng(seed)
    parts = []
    for i, n in enumerate(lengths):
        t = np.arange(n)
        parts.append(pd.DataFrame({"unique_id": f"s{i}", "ds": pd.date_range("2023-01-02", periods=n, freq="D"),
                                   "y": 20 + i + 5 * np.sin(2 * np.pi * t / 7) + r.normal(0, 1, n)}))
    return pd.concat(parts, ignore_index=True)


def test_splitters_place_windows_from_the_end():
    sp = ExpandingWindow(h=3, n_windows=3, step=2)
    assert sp.bounds(20) == [(0, 13), (0, 15), (0, 17)]
    train, test = list(sp.split(np.arange(20)))[-1]
    assert train[-1] == 16 and list(test) == [17, 18, 19]
    assert SlidingWindow(h=3, n_windows=2, window_size=5).bounds(20) == [(9, 14), (12, 17)]
    with pytest.raises(ValueError, match="too short"):
        list(sp.split(np.arange(5)))


def test_forecasts_and_scores_are_what_the_model_gives():
    data = _panel()
    r = backtest({"snaive": SeasonalNaive(7)}, data, h=7, n_windows=2, season_length=7, progress=False)
    assert isinstance(r, BacktestResult)
    assert list(r.forecasts.columns[:4]) == ["unique_id", "ds", "cutoff", "y"]
    assert len(r.forecasts) == 3 * 2 * 7
    # recompute one window by hand
    g = data[data.unique_id == "s1"].reset_index(drop=True)
    cut = len(g) - 7 - 7
    train, test = g["y"].to_numpy()[:cut], g["y"].to_numpy()[cut:cut + 7]
    expected = np.resize(train[-7:], 7)
    got = r.forecasts[(r.forecasts.unique_id == "s1") & (r.forecasts.cutoff == g.ds[cut - 1])]
    np.testing.assert_allclose(got["snaive"], expected)
    np.testing.assert_allclose(got["y"], test)
    sc = r.scores.set_index(["unique_id", "cutoff", "model", "metric"])["value"]
    assert sc[("s1", g.ds[cut - 1], "snaive", "smape")] == pytest.approx(smape(test, expected))
    assert sc[("s1", g.ds[cut - 1], "snaive", "mase")] == pytest.approx(mase(test, expected, train, 7))


def test_panel_backtest_equals_series_by_series():
    data = _panel()
    models = {"naive": Naive(), "snaive": SeasonalNaive(7), "drift": Drift()}
    whole = backtest(models, data, h=5, n_windows=3, step=4, season_length=7, level=[80], progress=False)
    for uid, g in data.groupby("unique_id"):
        alone = backtest(models, g, h=5, n_windows=3, step=4, season_length=7, level=[80], progress=False)
        a = whole.forecasts[whole.forecasts.unique_id == uid].reset_index(drop=True)
        pd.testing.assert_frame_equal(a, alone.forecasts.reset_index(drop=True))
        s = whole.scores[whole.scores.unique_id == uid].reset_index(drop=True)
        pd.testing.assert_frame_equal(s, alone.scores.reset_index(drop=True))


@pytest.mark.parametrize("refit", [False, 2])
def test_refit_false_and_every_k_agree_with_refit_true_for_naive(refit):
    data = _panel()
    a = backtest([Naive(), Mean()], data, h=4, n_windows=4, refit=True, progress=False)
    b = backtest([Naive(), Mean()], data, h=4, n_windows=4, refit=refit, progress=False)
    pd.testing.assert_frame_equal(a.forecasts, b.forecasts)
    assert b.meta["n_tasks"] == 2 if refit is False else True


def test_update_path_is_used_without_refit():
    calls = {"fit": 0, "update": 0}

    class Counting(Naive):
        def _fit_series(self, y, X):
            calls["fit"] += 1
            return super()._fit_series(y, X)

        def _update_series(self, state, y, X, n_new):
            calls["update"] += 1
            return super()._fit_series(y, X)

    backtest([Counting()], _panel(), h=3, n_windows=4, refit=False, progress=False)
    assert calls == {"fit": 3, "update": 9}


def test_checkpoint_resume_computes_only_missing_tasks(tmp_path):
    data = _panel()
    models = {"naive": Naive(), "snaive": SeasonalNaive(7)}
    kw = dict(h=5, n_windows=3, season_length=7, progress=False, checkpoint=tmp_path)
    full = backtest(models, data, **kw)
    assert full.meta["n_computed"] == 6 and full.meta["n_from_checkpoint"] == 0
    files = sorted((p for p in tmp_path.rglob("*.pkl")), key=lambda p: p.stat().st_mtime)
    assert len(files) == 6
    for p in files[:2]:  # an interrupted run: two tasks never finished
        p.unlink()
    again = backtest(models, data, **kw)
    assert again.meta["n_computed"] == 2 and again.meta["n_from_checkpoint"] == 4
    pd.testing.assert_frame_equal(full.forecasts, again.forecasts)
    # other settings are another run: nothing reused
    other = backtest(models, data, **{**kw, "h": 4})
    assert other.meta["n_from_checkpoint"] == 0


class _FailsOn(BaseForecaster):
    def __init__(self, max_ok_length=48):
        self.max_ok_length = max_ok_length

    def _fit_series(self, y, X):
        if len(y) < self.max_ok_length:  # only s1 (50 observations) trains on fewer than 48 in these windows
            raise RuntimeError("boom on purpose")
        return y[-1]

    def _predict_series(self, state, h, X, levels):
        return np.full(h, state), {lv: (np.full(h, state), np.full(h, state)) for lv in levels}


def test_on_error_record_keeps_going_and_names_series():
    data = _panel()
    r = backtest({"bad": _FailsOn(), "naive": Naive()}, data, h=3, n_windows=2, on_error="record", progress=False)
    assert set(r.errors["unique_id"]) == {"s1"} and set(r.errors["model"]) == {"bad"}
    assert "boom on purpose" in r.errors["message"].iloc[0]
    assert r.forecasts.loc[r.forecasts.unique_id == "s1", "bad"].isna().all()
    assert r.forecasts.loc[r.forecasts.unique_id == "s0", "bad"].notna().all()
    assert r.leaderboard().loc["bad", "n_failed"] == 2
    with pytest.raises(ValueError, match="_FailsOn: series .s1.: boom on purpose"):
        backtest({"bad": _FailsOn()}, data, h=3, n_windows=2, progress=False)


def test_leaderboard_ranks_and_markdown():
    data = _panel()
    r = backtest([Naive(), SeasonalNaive(7), Naive2(season_length=7)], data, h=7, n_windows=2, season_length=7,
                 metrics=("mae", "smape", "mase", "owa"), progress=False)
    lb = r.leaderboard()
    assert r.meta["benchmark"] == "Naive2" and lb.attrs["sort_metric"] == "owa"
    assert lb.index[-1] == "Naive"  # seasonal models lead
    assert lb.loc["SeasonalNaive", "smape"] < lb.loc["Naive", "smape"]
    assert lb.loc["Naive2", "owa"] == pytest.approx(1.0)
    assert {"mae", "smape", "mase", "owa", "rank", "fit_s", "predict_s"} <= set(lb.columns)
    assert lb["rank"].between(1, 3).all()
    md = r.to_markdown()
    assert "| SeasonalNaive |" in md and "owa" in md


def test_joblib_parallel_gives_the_same_numbers():
    data = _panel(lengths=(40,) * 8)
    a = backtest([Naive(), SeasonalNaive(7)], data, h=5, n_windows=2, progress=False)
    b = backtest([Naive(), SeasonalNaive(7)], data, h=5, n_windows=2, n_jobs=2, progress=False)
    pd.testing.assert_frame_equal(a.forecasts, b.forecasts)
    pd.testing.assert_frame_equal(a.scores.sort_values(list(a.scores.columns[:4])).reset_index(drop=True),
                                  b.scores.sort_values(list(b.scores.columns[:4])).reset_index(drop=True))


def test_bad_arguments_are_clear():
    data = _panel()
    with pytest.raises(ValueError, match="series 's1': has 50 observations, too short"):
        backtest([Naive()], data, h=17, n_windows=3, progress=False)
    with pytest.raises(ValueError, match="unknown metric"):
        backtest([Naive()], data, h=3, metrics=("nope",), progress=False)
    with pytest.raises(TypeError, match="not a tsrnn forecaster"):
        backtest({"x": object()}, data, h=3, progress=False)
    with pytest.raises(ValueError, match="window_size"):
        backtest([Naive()], data, h=3, window="sliding", progress=False)


def test_sliding_window_trains_on_window_size():
    y = pd.Series(np.arange(40.0), index=pd.date_range("2024-01-01", periods=40, freq="D"))
    r = backtest([Mean()], y, h=2, n_windows=2, window="sliding", window_size=10, progress=False)
    # last window: train 28..37 -> mean 32.5
    assert r.forecasts["Mean"].iloc[-1] == pytest.approx(np.arange(28, 38).mean())


def test_html_report_written(tmp_path):
    r = backtest([Naive()], _panel(), h=3, n_windows=1, progress=False)
    p = r.to_html(tmp_path / "r.html")
    text = p.read_text()
    assert "Naive" in text and "<table" in text


def test_fallback_model_fills_failures_and_is_recorded():
    data = _panel()
    r = backtest({"bad": _FailsOn()}, data, h=3, n_windows=2, on_error="record", fallback_model=Naive(),
                 progress=False)
    s1 = r.forecasts[r.forecasts.unique_id == "s1"]
    g = data[data.unique_id == "s1"]["y"].to_numpy()
    np.testing.assert_allclose(s1["bad"].to_numpy()[:3], g[-7])  # Naive's last value of window 0's training
    assert (r.errors["fallback"] == "Naive").all() and len(r.errors) == 2
    with pytest.raises(ValueError, match="on_error='record'"):
        backtest({"bad": _FailsOn()}, data, h=3, fallback_model=Naive(), progress=False)


class _Slow(Naive):
    def _fit_series(self, y, X):
        import time

        time.sleep(0.5 if len(y) < 48 else 0.0)
        return super()._fit_series(y, X)


def test_timeout_per_task_is_recorded_and_the_run_goes_on():
    r = backtest({"slow": _Slow()}, _panel(), h=3, n_windows=1, on_error="record", timeout=0.2, progress=False)
    assert list(r.errors["error"]) == ["TimeoutError"] and list(r.errors["unique_id"]) == ["s1"]
    assert r.forecasts.loc[r.forecasts.unique_id == "s0", "slow"].notna().all()
    with pytest.raises(TimeoutError):
        backtest({"slow": _Slow()}, _panel(), h=3, n_windows=1, timeout=0.2, progress=False)


def test_on_error_record_scores_the_good_series_of_a_panel_of_ten():
    data = _panel(lengths=(40,) * 8 + (10, 40), seed=3)
    data.loc[data.index[data["unique_id"] == "s3"][10], "y"] = np.nan
    with pytest.raises(ValueError, match="s3"):
        backtest([Naive()], data, h=5, n_windows=2, progress=False)
    with pytest.raises(ValueError, match="series 's8'.*too short"):
        backtest([Naive()], data[data.unique_id != "s3"], h=5, n_windows=2, progress=False)
    r = backtest([Naive(), Mean()], data, h=5, n_windows=2, progress=False, on_error="record")
    err = r.errors.set_index("unique_id")
    assert set(err.index) == {"s3", "s8"} and err["model"].isna().all()
    assert "NaN" in err.loc["s3", "message"] and "too short" in err.loc["s8", "message"]
    assert "has 10 observations" in err.loc["s8", "message"] and "needs at least 12" in err.loc["s8", "message"]
    good = [f"s{i}" for i in range(10) if i not in (3, 8)]
    assert list(pd.unique(r.forecasts["unique_id"])) == good
    # the other eight are scored exactly as a backtest of them alone
    alone = backtest([Naive(), Mean()], data[data.unique_id.isin(good)], h=5, n_windows=2, progress=False)
    pd.testing.assert_frame_equal(r.forecasts, alone.forecasts)
    pd.testing.assert_frame_equal(r.leaderboard().drop(columns=["fit_s", "predict_s"]),
                                  alone.leaderboard().drop(columns=["fit_s", "predict_s"]))
    assert (r.leaderboard()["n_failed"] == 0).all()  # a series set aside is no model's failure


def test_exogenous_columns_reach_only_the_models_that_take_them():
    from tsrnn.models import ARIMA

    data = _panel(lengths=(60, 50), seed=1)
    r_ = np.random.default_rng(7)
    data["x"] = r_.normal(size=len(data))
    data["y"] = data["y"] + 4 * data["x"]
    models = {"arx": ARIMA(order=(0, 0, 0), trend="c"), "snaive": SeasonalNaive(7), "Naive2": Naive2(7)}
    r = backtest(models, data, h=7, n_windows=2, season_length=7, metrics=("smape", "mase", "owa"), progress=False)
    assert r.meta["ignored_exog"] == {"snaive": ["x"], "Naive2": ["x"]}
    assert len(r.errors) == 0 and r.forecasts[["arx", "snaive", "Naive2"]].notna().all().all()
    # the models without X forecast as on the panel without the column
    bare = backtest({"snaive": SeasonalNaive(7)}, data.drop(columns="x"), h=7, n_windows=2, progress=False)
    np.testing.assert_array_equal(r.forecasts["snaive"], bare.forecasts["snaive"])
    # the model with X got it: its last window equals a fit on the training rows with the future x
    s0 = data[data.unique_id == "s0"].reset_index(drop=True)
    train, test = s0.iloc[:-7], s0.iloc[-7:]
    ref = ARIMA(order=(0, 0, 0), trend="c").fit(train.set_index("ds")["y"], X=train.set_index("ds")[["x"]])
    expected = ref.predict(7, X=test.set_index("ds")[["x"]]).to_numpy()
    got = r.forecasts[(r.forecasts.unique_id == "s0")]["arx"].to_numpy()[-7:]
    np.testing.assert_allclose(got, expected, rtol=1e-8)
    assert r.leaderboard("owa").index[0] == "arx"
    # metrics=("owa",) alone: sMAPE and MASE are scored for it, and no hidden model is added
    only = backtest(models, data, h=7, n_windows=2, season_length=7, metrics=("owa",), progress=False)
    assert only.models == list(models) and len(only.errors) == 0
    np.testing.assert_allclose(only.leaderboard()["owa"], r.leaderboard("owa")["owa"])


def test_owa_is_relative_to_a_benchmark_the_caller_names():
    data = _panel()
    with pytest.raises(ValueError, match=r"add one to models.*Naive2\(season_length=.*benchmark="):
        backtest([Naive(), SeasonalNaive(7)], data, h=7, n_windows=2, metrics=("smape", "mase", "owa"),
                 progress=False)
    with pytest.raises(ValueError, match="benchmark='nope' is not one of the models"):
        backtest([Naive()], data, h=7, n_windows=2, metrics=("smape", "mase", "owa"), benchmark="nope",
                 progress=False)
    r = backtest([Naive(), SeasonalNaive(7)], data, h=7, n_windows=2, season_length=7,
                 metrics=("smape", "mase", "owa"), benchmark="Naive", progress=False)
    lb = r.leaderboard()
    assert r.models == ["Naive", "SeasonalNaive"]  # nothing added behind the caller's back
    assert lb.loc["Naive", "owa"] == pytest.approx(1.0)
    sn, nv = lb.loc["SeasonalNaive"], lb.loc["Naive"]
    assert sn["owa"] == pytest.approx(0.5 * (sn["smape"] / nv["smape"] + sn["mase"] / nv["mase"]))
    # the rank column is computed on the sort metric: per series-window OWA against Naive
    assert lb.attrs["sort_metric"] == "owa" and lb.loc["SeasonalNaive", "rank"] < lb.loc["Naive", "rank"]


def test_coverage_is_ranked_by_distance_to_its_level():
    scores = pd.DataFrame({"unique_id": ["a", "b"] * 3, "cutoff": [0, 0] * 3,
                           "model": ["under"] * 2 + ["close"] * 2 + ["over"] * 2, "metric": "coverage-80",
                           "value": [0.5, 0.5, 0.9, 0.8, 1.0, 1.0]})
    empty = pd.DataFrame(columns=["model", "unique_id", "cutoff", "window", "n_series", "fit_s", "predict_s"])
    r = BacktestResult(pd.DataFrame(), scores, empty, pd.DataFrame(columns=["model"]), {}, (),
                       ["under", "close", "over"])
    lb = r.leaderboard("coverage-80")
    assert list(lb.index) == ["close", "over", "under"]  # |0.85-0.8| < |1-0.8| < |0.5-0.8|
    assert list(lb["rank"]) == [1.0, 2.0, 3.0]


def test_tune_picks_the_best_grid_point_by_backtest():
    from tsrnn.backtest import tune

    data = _panel()
    res = tune(SeasonalNaive(), {"season_length": [1, 3, 7]}, data, h=7, n_windows=2, season_length=7,
               metric="mase", progress=False)
    assert res.best_params == {"season_length": 7}
    assert list(res.table["season_length"])[0] == 7 and res.table.index.name == "candidate"
    alone = backtest({"s": SeasonalNaive(3)}, data, h=7, n_windows=2, season_length=7, metrics=("mase",),
                     progress=False).leaderboard()
    assert res.table.set_index("season_length").loc[3, "mase"] == pytest.approx(alone.loc["s", "mase"])
    pd.testing.assert_frame_equal(res.best_estimator_.predict(7), SeasonalNaive(7).fit(data).predict(7))


def test_one_markdown_table_writer():
    from tsrnn._tables import markdown_table

    f = pd.DataFrame({"mae": [1.23456, np.nan], "n": [3, 4]}, index=pd.Index(["a|b", "c"], name="model"))
    assert markdown_table(f, digits=2) == "| model | mae | n |\n|---|---|---|\n| a\\|b | 1.23 | 3 |\n| c |  | 4 |"
    assert markdown_table(f, index=False, align_numbers=True).splitlines()[1] == "|---:|---:|"
    assert markdown_table(f.fillna(0.5), index=False, digits=3, fixed=True).splitlines()[2:] == ["| 1.235 | 3 |",
                                                                                               "| 0.500 | 4 |"]
