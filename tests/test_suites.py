"""The suites registry: declared records, strict model names and arguments, one result type, no retries."""

import dataclasses

import pandas as pd
import pytest

from tsrnn.suites import SUITES, Suite, SuiteResult, run_suite


def test_every_suite_is_a_declared_record_named_once():
    assert list(SUITES) == ["quick", "sales", "m4", "ecg", "anomaly"]
    for name, s in SUITES.items():
        assert isinstance(s, Suite) and s.name == name
        assert s.description and s.runtime and s.datasets and s.models and callable(s.run)
        assert len(set(s.models)) == len(s.models), name  # --models names are unambiguous
    with pytest.raises(dataclasses.FrozenInstanceError):
        SUITES["quick"].name = "other"
    assert {f.name for f in dataclasses.fields(SuiteResult)} == {"suite", "forecasts", "detectors", "classifiers",
                                                                 "meta"}


def test_unknown_model_names_are_an_error_in_every_suite():
    for name in SUITES:
        with pytest.raises(ValueError, match=r"unknown model\(s\) \['Nope'\]"):
            run_suite(name, models=["Nope"], progress=False)


def test_a_misspelled_model_argument_is_an_error_not_dropped():
    from tsrnn.suites.forecasting import _make

    assert _make("SeasonalNaive", season_length=7).season_length == 7
    with pytest.raises(ValueError, match=r"SeasonalNaive takes no argument\(s\) \['season_lenght'\]"):
        _make("SeasonalNaive", season_lenght=7)


def test_every_declared_model_builds():
    from tsrnn.suites.anomaly import DETECTORS, default_detectors
    from tsrnn.suites.ecg import MODELS, default_models
    from tsrnn.suites.forecasting import FORECAST_SUITES, select_models

    for spec in FORECAST_SUITES.values():
        models, notes = select_models(spec)
        assert list(models) == list(spec.models) and notes == []
    assert list(default_detectors()) == list(DETECTORS)
    assert set(default_models("ecg200")) == set(MODELS) and set(default_models("mitbih")) < set(MODELS)


def test_a_type_error_inside_a_suite_propagates_once(monkeypatch):
    calls = []

    def run(models=None, out=None, n_jobs=1, backend=None, progress=True):
        calls.append(1)
        raise TypeError("a real bug inside the suite")

    fake = Suite("fake", "d", "r", ("generated",), ("a",), run)
    monkeypatch.setitem(SUITES, "fake", fake)
    with pytest.raises(TypeError, match="a real bug"):
        run_suite("fake")
    assert calls == [1]


def test_quick_suite_holds_three_tasks_in_one_result_and_one_report(tmp_path):
    out = tmp_path / "q"
    res = run_suite("quick", models=["Naive", "SeasonalNaive", "RollingZScore", "WaveletDetector", "Wavelet+LogReg"],
                    out=out, progress=False)
    assert isinstance(res, SuiteResult) and not hasattr(res.forecasts, "extras")
    assert list(res.forecasts.models) == ["Naive", "SeasonalNaive"]
    assert list(res.detectors) == ["generated"] and res.detectors["generated"].models == ["RollingZScore",
                                                                                          "WaveletDetector"]
    lb = res.classifiers.leaderboard()
    assert list(lb["model"]) == ["Wavelet+LogReg"]
    cm = res.classifiers.confusion[("synthetic_beats", "Wavelet+LogReg")].to_numpy()
    assert lb["accuracy"].iloc[0] == pytest.approx(cm.trace() / cm.sum())
    assert not (out / "anomaly").exists()  # one report, not two
    text = (out / "report.html").read_text(encoding="utf-8")
    for part in ('id="forecasting"', 'id="detectors"', 'id="classifiers"', 'id="summary"'):
        assert part in text
    md = (out / "leaderboard.md").read_text()
    assert "## Forecasting" in md and "## Detectors: generated" in md and "## Classifiers" in md
    scores = pd.read_csv(out / "scores.csv")
    assert set(scores["model"]) == {"Naive", "SeasonalNaive"}


def test_only_the_tasks_with_a_chosen_model_run():
    res = run_suite("quick", models=["Naive"], progress=False)
    assert res.forecasts is not None and res.detectors == {} and res.classifiers is None


def test_m4_suite_names_its_owa_benchmark():
    from tsrnn.suites.forecasting import FORECAST_SUITES

    spec = FORECAST_SUITES["m4"]
    assert "owa" in spec.metrics and spec.benchmark == "Naive2" and spec.models["Naive2"][0] == "Naive2"
    assert all(s.benchmark is None and "owa" not in s.metrics for k, s in FORECAST_SUITES.items() if k != "m4")
