"""Metrics against hand-computed values and the M4 paper's Hourly Naive2 figures."""

import numpy as np
import pytest

from tsrnn.metrics import coverage, mae, mape, mase, mase_scale, owa, pinball_loss, rmse, smape


def test_hand_computed_values():
    y, f = np.array([1.0, 2.0, 4.0]), np.array([2.0, 2.0, 1.0])
    assert mae(y, f) == pytest.approx((1 + 0 + 3) / 3)
    assert rmse(y, f) == pytest.approx(np.sqrt((1 + 0 + 9) / 3))
    assert mape(y, f) == pytest.approx(100 * (1 / 1 + 0 + 3 / 4) / 3)
    # M4 sMAPE: 200/h * sum |y-f| / (|y|+|f|)
    assert smape(y, f) == pytest.approx(200 / 3 * (1 / 3 + 0 + 3 / 5))
    assert smape(np.zeros(2), np.zeros(2)) == 0.0
    assert smape(np.array([1.0]), np.array([-1.0])) == pytest.approx(200.0)


def test_mase_scale_is_in_sample_seasonal_naive_mae():
    train = np.array([1.0, 3.0, 2.0, 5.0, 4.0])
    assert mase_scale(train, 1) == pytest.approx((2 + 1 + 3 + 1) / 4)
    assert mase_scale(train, 2) == pytest.approx((1 + 2 + 2) / 3)
    assert mase(np.array([6.0, 6.0]), np.array([5.0, 8.0]), train, 2) == pytest.approx(1.5 / (5 / 3))
    with pytest.raises(ValueError, match="season_length=5"):
        mase_scale(train, 5)


def test_rowwise_on_2d():
    Y = np.array([[1.0, 2.0], [3.0, 5.0]])
    F = np.array([[1.0, 1.0], [3.0, 3.0]])
    np.testing.assert_allclose(mae(Y, F), [0.5, 1.0])
    np.testing.assert_allclose(mase(Y, F, scale=np.array([0.5, 2.0])), [1.0, 0.5])


def test_owa_coverage_pinball():
    assert owa(10, 1, 20, 2) == pytest.approx(0.5)
    assert coverage(np.array([1.0, 2, 3, 4]), np.array([0.0, 2.5, 2, 0]), np.array([2.0, 3, 4, 3])) == 0.5
    y, q = np.array([10.0, 10.0]), np.array([8.0, 12.0])
    assert pinball_loss(y, q, 0.9) == pytest.approx((0.9 * 2 + 0.1 * 2) / 2)
    with pytest.raises(ValueError, match="quantile"):
        pinball_loss(y, q, 1.5)
    with pytest.raises(ValueError, match="shape"):
        mae(np.zeros(3), np.zeros(2))
