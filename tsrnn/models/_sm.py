"""A context for calls into statsmodels from the classical models: its warnings silenced and BLAS on one thread.

The Kalman filters and ETS recursions work on small matrices, where a multi-threaded BLAS only adds overhead; on
a loaded machine OpenBLAS' spinning threads made a 120-point ARIMA(1,0,1) fit 50x slower (8 s instead of
0.15 s). Models parallelise over series instead (``n_jobs``).
"""

from __future__ import annotations

import warnings
from contextlib import contextmanager

import numpy as np


@contextmanager
def quiet():
    """Silence statsmodels' convergence / frequency warnings and limit BLAS to one thread."""
    # statsmodels adds "always" filters for its warnings when first imported: import it before filtering
    import statsmodels.tools.sm_exceptions  # noqa: F401
    from threadpoolctl import threadpool_limits

    with warnings.catch_warnings(), threadpool_limits(limits=1, user_api="blas"):
        warnings.simplefilter("ignore")
        yield


def get_forecast(res, h: int, exog=None):
    """``res.get_forecast(h, exog=exog)`` leaving ``res`` as it was: statsmodels records the forecast's range
    (``predict_start``, ``predict_dates`` ...) on the model's data object, and ``predict`` must not change a
    fitted estimator."""
    data = res.model.data
    saved = {k: dict(v) if isinstance(v, dict) else v for k, v in vars(data).items()}  # _cache included
    try:
        return res.get_forecast(h, exog=exog)
    finally:
        vars(data).clear()
        vars(data).update(saved)


def filtered_forecast(owner: str, model, state: dict, h: int, X, levels) -> tuple:
    """Forecast ``h`` steps from a statsmodels state-space ``model`` filtered at the fitted ``state["params"]``,
    with Gaussian intervals from the forecast variance (shared by ARIMA and StateSpace)."""
    from ..base import gaussian_intervals

    if state["X"] is not None and X is None:
        raise ValueError(f"{owner}: fitted with exogenous regressors, so predict needs their future values X")
    with quiet():
        fc = model.filter(state["params"]).get_forecast(h, exog=X)
    mean = np.asarray(fc.predicted_mean, dtype=float)
    se = np.sqrt(np.asarray(fc.var_pred_mean, dtype=float))
    return mean, gaussian_intervals(mean, se, levels)
