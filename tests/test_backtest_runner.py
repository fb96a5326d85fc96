"""The shared task runner: checkpoints (reuse, damaged files, separate runs), backends, the raise-or-record rule."""

import pytest

from tsrnn.backtest.runner import (
    Task,
    TaskTimeout,
    check_on_error,
    describe_failure,
    fingerprint,
    raise_unless_recording,
    run_tasks,
    time_limit,
)

CALLS = []


def _square(x):
    CALLS.append(x)
    return {"x": x, "sq": x * x}


def _tasks(n=4):
    return [Task(f"t{i}", _square, (i,)) for i in range(n)]


def test_checkpoint_reuses_finished_tasks_and_recomputes_damaged_ones(tmp_path):
    CALLS.clear()
    done, n = run_tasks(_tasks(), progress=False, checkpoint=tmp_path, run_key="k")
    assert n == 4 and done == {f"t{i}": {"x": i, "sq": i * i} for i in range(4)} and CALLS == [0, 1, 2, 3]
    again, n = run_tasks(_tasks(), progress=False, checkpoint=tmp_path, run_key="k")
    assert n == 0 and again == done and CALLS == [0, 1, 2, 3]
    files = sorted((tmp_path / "run-k").glob("*.pkl"))
    files[0].write_bytes(b"not a pickle")  # a torn write is recomputed, not trusted
    again, n = run_tasks(_tasks(), progress=False, checkpoint=tmp_path, run_key="k")
    assert n == 1 and again == done and len(CALLS) == 5
    _, n = run_tasks(_tasks(), progress=False, checkpoint=tmp_path, run_key="other")
    assert n == 4  # another run key is another run


def test_joblib_backend_returns_every_task():
    done, n = run_tasks(_tasks(6), n_jobs=2, progress=False)
    assert n == 6 and done == {f"t{i}": {"x": i, "sq": i * i} for i in range(6)}
    with pytest.raises(ValueError, match="backend"):
        run_tasks(_tasks(), backend="spark", progress=False)


def test_fingerprint_changes_with_data_estimators_and_settings():
    import numpy as np

    from tsrnn.models import Naive, SeasonalNaive

    a = fingerprint([np.arange(3.0)], {"m": SeasonalNaive(7)}, {"h": 3})
    assert a == fingerprint([np.arange(3.0)], {"m": SeasonalNaive(7)}, {"h": 3})
    assert len({a, fingerprint([np.arange(4.0)], {"m": SeasonalNaive(7)}, {"h": 3}),
                fingerprint([np.arange(3.0)], {"m": SeasonalNaive(12)}, {"h": 3}),
                fingerprint([np.arange(3.0)], {"m": Naive()}, {"h": 3}),
                fingerprint([np.arange(3.0)], {"m": SeasonalNaive(7)}, {"h": 4})}) == 5


def test_raise_or_record():
    assert check_on_error("record") and not check_on_error("raise")
    with pytest.raises(ValueError, match="on_error must be"):
        check_on_error("skip")
    try:
        with time_limit(0.05):
            while True:
                pass
    except TaskTimeout as exc:
        assert describe_failure(exc)["error"] == "TimeoutError"
        raise_unless_recording(exc, True)  # recorded: nothing raised
        with pytest.raises(TimeoutError, match="timed out after 0.05 s"):
            raise_unless_recording(exc, False)
