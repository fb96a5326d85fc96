"""Kill-and-resume: a checkpointed backtest killed with SIGKILL at random moments always resumes to the same scores.

Each trial starts the backtest in a child process, kills it (``SIGKILL``, no clean-up possible) after a random
delay drawn over the length of an uninterrupted run, then runs the same backtest again with the same checkpoint
folder and compares forecasts and scores, number for number, with an uninterrupted run. The model sleeps a little
in every fit so that kills land between, inside and during the atomic write of checkpointed tasks.

Most trials fork the child from this process (no interpreter start-up: the machine may be busy); one trial starts
a fresh interpreter with ``python -c`` so that the path a user takes is covered too.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

# The model and the run, as source shared by this process and the ``python -c`` child: the class is given a fixed
# ``__module__`` so that both compute the same checkpoint fingerprint.
_SRC = '''
import time
import numpy as np
import pandas as pd
from tsrnn.backtest import backtest
from tsrnn.base import BaseForecaster, gaussian_intervals


class SlowMean(BaseForecaster):
    """Mean of the last ``window`` observations; sleeps ``delay`` seconds in every fit."""
    __module__ = "tsrnn_resume_test"

    def __init__(self, window=5, delay=0.03):
        self.window = window
        self.delay = delay

    def _fit_series(self, y, X):
        time.sleep(self.delay)
        return float(np.mean(y[-self.window:])), float(np.std(y) + 1e-9)

    def _predict_series(self, state, h, X, levels):
        mean = np.full(h, state[0])
        return mean, gaussian_intervals(mean, np.full(h, state[1]), levels)


def make_panel(n_series=5, n=40, seed=7):
    r = np.random.default_rng(seed)
    return pd.concat([pd.DataFrame({"unique_id": f"u{i}", "ds": pd.date_range("2022-01-01", periods=n, freq="D"),
                                    "y": 10 + i + np.cumsum(r.normal(0, 1, n))}) for i in range(n_series)],
                     ignore_index=True)


def run(checkpoint=None):
    models = {"slow3": SlowMean(3), "slow7": SlowMean(7), "slow4": SlowMean(4)}
    return backtest(models, make_panel(), h=4, n_windows=4, level=[80], checkpoint=checkpoint, progress=False,
                    metrics=("mae", "rmse", "smape", "mase"))
'''

_NS: dict = {"__name__": "tsrnn_resume_test"}
exec(compile(_SRC, "<resume-model>", "exec"), _NS)  # noqa: S102 - our own source, shared with the child

N_TRIALS = 20


def _child(ckpt: str) -> None:  # runs in the forked child
    _NS["run"](ckpt)
    os._exit(0)


def _kill_forked(ckpt: Path, delay: float) -> bool:
    """Fork a child running the backtest, SIGKILL it after ``delay`` s; True if it was still running."""
    proc = mp.get_context("fork").Process(target=_child, args=(str(ckpt),))
    proc.start()
    proc.join(delay)
    alive = proc.is_alive()
    if alive:
        os.kill(proc.pid, signal.SIGKILL)
    proc.join()
    return alive


def _kill_python_c(ckpt: Path, delay: float) -> bool:
    """``python -c`` child: waits for its 'ready' line (imports done), then SIGKILL after ``delay`` s."""
    code = _SRC + f"\nprint('ready', flush=True)\nrun({str(ckpt)!r})\n"
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                            cwd=str(Path(__file__).resolve().parents[1]))
    assert proc.stdout.readline().strip() == "ready"
    try:
        proc.wait(delay)
        return False
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        return True


@pytest.mark.slow
def test_killed_backtests_resume_to_identical_scores(tmp_path):
    t0 = time.perf_counter()
    ref = _NS["run"]()
    t_ref = time.perf_counter() - t0
    assert np.isfinite(ref.scores.select_dtypes("number").to_numpy()).all()
    n_tasks = ref.meta["n_tasks"]
    assert n_tasks >= 12  # enough task boundaries for kills to land between and inside tasks

    rnd = random.Random(int(os.environ.get("TSRNN_TEST_SEED", "0")))
    log = []
    for trial in range(N_TRIALS):
        ckpt = tmp_path / f"trial{trial}"
        delay = rnd.uniform(0.05, 0.95) * t_ref
        killer = _kill_python_c if trial == 0 else _kill_forked
        killed = killer(ckpt, delay)
        res = _NS["run"](str(ckpt))
        pd.testing.assert_frame_equal(res.forecasts, ref.forecasts, check_exact=True)
        pd.testing.assert_frame_equal(res.scores, ref.scores, check_exact=True)
        assert res.meta["n_tasks"] == n_tasks
        assert res.meta["n_computed"] + res.meta["n_from_checkpoint"] == n_tasks
        # a second resume finds everything on disk
        again = _NS["run"](str(ckpt))
        assert again.meta["n_computed"] == 0
        pd.testing.assert_frame_equal(again.scores, ref.scores, check_exact=True)
        log.append((trial, round(delay, 3), killed, res.meta["n_from_checkpoint"]))

    completed = len(log)
    killed_mid_run = [r for r in log if r[2]]
    resumed_partially = [r for r in log if r[2] and 0 < r[3] < n_tasks]
    print(f"\nkill-and-resume: {completed}/{N_TRIALS} complete with identical scores; killed mid-run "
          f"{len(killed_mid_run)}, resumed with part of the {n_tasks} tasks on disk {len(resumed_partially)}; "
          f"(trial, delay s, killed, tasks from checkpoint) = {log}")
    assert completed == N_TRIALS
    # the random delays must actually interrupt runs, and at several different points
    assert len(killed_mid_run) >= N_TRIALS // 2
    assert len({r[3] for r in killed_mid_run}) >= 3
    json.dumps(log)  # plain numbers only (kept printable for the report)
