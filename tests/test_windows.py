"""make_windows: shapes, values against a plain loop, end alignment and no leakage."""

import numpy as np
import pytest

from tsrnn.features import make_windows


def _loop_windows(y, window, horizon, step):
    n = len(y)
    starts = list(range(n - window - horizon, -1, -step))[::-1]
    X = np.array([y[s:s + window] for s in starts])
    Y = np.array([y[s + window:s + window + horizon] for s in starts])
    return X, Y


@pytest.mark.parametrize("n,window,horizon,step", [(20, 5, 1, 1), (20, 5, 3, 2), (23, 4, 6, 5), (9, 9, 0, 1),
                                                   (10, 3, 7, 3)])
def test_matches_plain_loop(n, window, horizon, step):
    y = np.arange(n, dtype=float) ** 1.5
    X, Y = make_windows(y, window, horizon, step)
    Xr, Yr = _loop_windows(y, window, horizon, step)
    assert X.shape == (len(Xr), window) and Y.shape == (len(Xr), horizon)
    assert X.shape[0] == (n - window - horizon) // step + 1
    np.testing.assert_array_equal(X, Xr)
    if horizon:
        np.testing.assert_array_equal(Y, Yr)


def test_no_leakage_and_end_alignment():
    y = np.arange(100, dtype=float)  # the value is its own time stamp
    X, Y = make_windows(y, window=10, horizon=4, step=3)
    assert (X.max(axis=1) < Y.min(axis=1)).all()  # every input precedes every target of its row
    np.testing.assert_array_equal(Y[:, 0] - X[:, -1], 1)  # targets start right after the window
    assert Y[-1, -1] == 99  # the most recent observation is used
    assert (np.diff(X[:, 0]) == 3).all()
    assert X.flags.writeable and X.flags.c_contiguous


def test_multivariate_channels():
    y = np.stack([np.arange(30.0), -np.arange(30.0)], axis=1)
    X, Y = make_windows(y, window=6, horizon=2, step=4)
    assert X.shape == (6, 6, 2) and Y.shape == (6, 2, 2)
    np.testing.assert_array_equal(X[:, :, 1], -X[:, :, 0])
    np.testing.assert_array_equal(Y[-1, :, 0], [28, 29])


@pytest.mark.parametrize("kw,msg", [({"window": 0}, "window"), ({"window": 3, "horizon": -1}, "horizon"),
                                    ({"window": 3, "step": 0}, "step"), ({"window": 2.5}, "window"),
                                    ({"window": 8, "horizon": 3}, "too short")])
def test_errors(kw, msg):
    with pytest.raises(ValueError, match=msg):
        make_windows(np.arange(10.0), **kw)


def test_rejects_nan_and_bad_rank():
    with pytest.raises(ValueError, match="NaN"):
        make_windows(np.r_[1.0, np.nan, 3.0, 4.0], 2)
    with pytest.raises(ValueError, match="1-D"):
        make_windows(np.zeros((3, 3, 3)), 1)
