"""The tsrnn command: benchmark writes a leaderboard and a report; datasets lists the registry."""

import subprocess
import sys

import pandas as pd

from tsrnn.cli import main


def test_benchmark_quick_suite_with_chosen_models(tmp_path, capsys):
    out = tmp_path / "rep"
    assert main(["benchmark", "--models", "Naive", "SeasonalNaive,Theta", "--out", str(out), "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "| model |" in printed and "| SeasonalNaive |" in printed and "report:" in printed
    for name in ("report.html", "leaderboard.md", "forecasts.csv", "scores.csv", "timings.csv", "errors.csv"):
        assert (out / name).exists(), name
    scores = pd.read_csv(out / "scores.csv")
    assert set(scores["model"]) == {"Naive", "SeasonalNaive", "Theta"}
    assert scores.groupby("model")["unique_id"].nunique().eq(12).all()  # the 12 shipped sales items
    assert "<table" in (out / "report.html").read_text()


def test_unknown_model_is_a_clear_error(tmp_path, capsys):
    assert main(["benchmark", "--models", "Nope", "--out", str(tmp_path), "--no-progress"]) == 2
    assert "unknown model(s) ['Nope'] for suite 'quick'" in capsys.readouterr().err


def test_datasets_command_lists_the_registry(capsys):
    assert main(["datasets"]) == 0
    text = capsys.readouterr().out
    for name in ("m4_hourly", "nab", "mitbih", "aus_retail", "sales"):
        assert name in text


def test_python_dash_m_entry_point():
    done = subprocess.run([sys.executable, "-m", "tsrnn", "--help"], capture_output=True, text=True, check=True)
    assert "benchmark" in done.stdout and "datasets" in done.stdout


def test_benchmark_help_describes_every_suite_from_the_registry():
    from tsrnn.suites import SUITES

    done = subprocess.run([sys.executable, "-m", "tsrnn", "benchmark", "--help"], capture_output=True, text=True,
                          check=True)
    text = " ".join(done.stdout.split())  # the help wraps lines
    for s in SUITES.values():
        assert f" {s.name} " in text
        assert " ".join(s.description.split()) in text and f"Runs in {s.runtime}." in text
        assert ", ".join(s.models[:3]) in text
