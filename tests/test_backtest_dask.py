"""The Dask backend gives the same numbers as the local one."""

import numpy as np
import pandas as pd
import pytest

from tsrnn.backtest import backtest
from tsrnn.models import Drift, SeasonalNaive

distributed = pytest.importorskip("distributed")


def _panel(n=6, length=60):
    r = np.random.default_rng(3)
    return pd.concat([pd.DataFrame({"unique_id": f"s{i}", "ds": pd.date_range("2024-01-01", periods=length, freq="h"),
                                    "y": 10 + np.sin(np.arange(length) / 3) + r.normal(0, 0.3, length)})
                      for i in range(n)], ignore_index=True)


@pytest.mark.slow
def test_dask_local_cluster_equals_local_backend(tmp_path):
    data = _panel()
    models = {"snaive": SeasonalNaive(24), "drift": Drift()}
    kw = dict(h=6, n_windows=2, season_length=24, level=[80], progress=False)
    local = backtest(models, data, **kw)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cl, \
            distributed.Client(cl):
        on_dask = backtest(models, data, backend="dask", checkpoint=tmp_path, **kw)
    assert on_dask.meta["backend"] == "dask"
    pd.testing.assert_frame_equal(local.forecasts, on_dask.forecasts)
    key = ["unique_id", "cutoff", "model", "metric"]
    pd.testing.assert_frame_equal(local.scores.sort_values(key).reset_index(drop=True),
                                  on_dask.scores.sort_values(key).reset_index(drop=True))
    # results were streamed into the checkpoint: a rerun computes nothing
    again = backtest(models, data, backend="dask", checkpoint=tmp_path, n_jobs=1, **kw)
    assert again.meta["n_computed"] == 0


@pytest.mark.slow
def test_evaluate_detectors_on_dask_equals_local_and_closes_its_cluster():
    from tsrnn.anomaly import RollingZScore, evaluate_detectors

    data = _panel(n=3, length=300).assign(label=0)
    data.loc[data.groupby("unique_id").cumcount().between(200, 210), "label"] = 1
    dets = {"z": RollingZScore(window=20)}
    local = evaluate_detectors(dets, data, progress=False)
    on_dask = evaluate_detectors(dets, data, progress=False, backend="dask", n_jobs=1)
    pd.testing.assert_frame_equal(local.detections, on_dask.detections)
    with pytest.raises(ValueError):
        distributed.get_client()  # the client and cluster evaluate_detectors started are closed
