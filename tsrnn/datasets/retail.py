"""Australian retail turnover (ABS 8501.0 table 11, via tsibbledata): 152 monthly state x industry series.

The 20 industries form a two-level hierarchy: 6 industry groups and their subgroups (Department stores is a
group with no subgroups). A group's turnover is about the sum of its subgroups where all are published, so
summing every series counts the subgroups twice; ``with_hierarchy=True`` says which series is which.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from ._fetch import DatasetNotFoundError, fetch, find_local
from .registry import RETAIL_INFO, RETAIL_RDA, RETAIL_WIDE

__all__ = ["load_retail", "RETAIL_GROUPS"]

#: industry group -> its subgroups (ANZSIC-based groups of ABS table 11)
RETAIL_GROUPS = {
    "Food retailing": (
        "Supermarket and grocery stores", "Liquor retailing", "Other specialised food retailing"),
    "Household goods retailing": (
        "Furniture, floor coverings, houseware and textile goods retailing",
        "Electrical and electronic goods retailing", "Hardware, building and garden supplies retailing"),
    "Clothing, footwear and personal accessory retailing": (
        "Clothing retailing", "Footwear and other personal accessory retailing"),
    "Department stores": (),
    "Other retailing": (
        "Newspaper and book retailing", "Other recreational goods retailing",
        "Pharmaceutical, cosmetic and toiletry goods retailing", "Other retailing n.e.c."),
    "Cafes, restaurants and takeaway food services": (
        "Cafes, restaurants and catering services", "Takeaway food services"),
}
_PARENT = {sub: g for g, subs in RETAIL_GROUPS.items() for sub in subs}


def _from_mirror(wide_path, info_path) -> tuple[pd.DataFrame, pd.DataFrame]:
    wide = pd.read_csv(wide_path, index_col=0)
    info = pd.read_csv(info_path)
    long = wide.stack().dropna().rename("y").reset_index()
    long.columns = ["ds", "unique_id", "y"]
    long["ds"] = pd.to_datetime(long["ds"], format="%Y-%m")
    return long, info.rename(columns={"Series ID": "unique_id", "State": "state", "Industry": "industry"})


def _from_rda(path) -> tuple[pd.DataFrame, pd.DataFrame]:  # pragma: no cover - needs pyreadr and a download
    try:
        import pyreadr
    except ImportError:
        raise DatasetNotFoundError(
            f"{path} is tsibbledata's R data file; reading it needs the optional package pyreadr "
            f"(pip install pyreadr), or a mirror with the converted CSV files (see datasets/aus_retail.md)"
        ) from None
    df = next(iter(pyreadr.read_r(str(path)).values()))
    month = df["Month"]
    if not pd.api.types.is_datetime64_any_dtype(month):  # yearmonth: days since 1970-01-01
        month = pd.Timestamp("1970-01-01") + pd.to_timedelta(month.astype(float), unit="D")
    long = pd.DataFrame({"ds": pd.to_datetime(month).dt.to_period("M").dt.to_timestamp(),
                         "unique_id": df["Series ID"].astype(str), "y": df["Turnover"].astype(float)})
    long = long[long["ds"] < "2019-01-01"]
    info = (df.assign(unique_id=df["Series ID"].astype(str))
              .groupby("unique_id", sort=False)[["State", "Industry"]].first().reset_index()
              .rename(columns={"State": "state", "Industry": "industry"}))
    return long, info


def load_retail(
    name: str = "aus_retail",
    *,
    with_hierarchy: bool = False,
    data_home: str | os.PathLike | None = None,
    download_if_missing: bool = True,
):
    """Load the Australian retail turnover series.

    Parameters
    ----------
    name : {"aus_retail"}
    with_hierarchy : bool
        Also return the table that places each series in the state x industry hierarchy.
    data_home, download_if_missing
        Cache folder; without a mirror, tsibbledata's ``aus_retail.rda`` is downloaded and read with the optional
        package ``pyreadr``.

    Returns
    -------
    data : pd.DataFrame
        Long frame ``unique_id, ds, y``: ABS series id, month start (``datetime64``, frequency ``"MS"``), turnover
        in millions of AUD (current prices, not seasonally adjusted). 152 series, 1982-04 .. 2018-12, each one
        contiguous from its first to its last month.
    hierarchy : pd.DataFrame, only with ``with_hierarchy``
        One row per series: ``unique_id, state, industry, level`` (``"group"`` or ``"subgroup"``), ``group`` (the
        industry group it belongs to, itself for a group) and ``parent_id`` (the id of the group series of the
        same state, or ``None`` for groups and where the state's group series is not published).
    """
    if name != "aus_retail":
        raise ValueError(f"unknown retail dataset {name!r}; available: ['aus_retail']")
    wide, info = find_local(RETAIL_WIDE, data_home), find_local(RETAIL_INFO, data_home)
    if wide is not None and info is not None:
        data, info = _from_mirror(wide, info)
    else:
        data, info = _from_rda(fetch(RETAIL_RDA, data_home, download_if_missing))
    data = data.sort_values(["unique_id", "ds"], kind="stable")
    order = {u: i for i, u in enumerate(info["unique_id"])}
    data = data.iloc[np.argsort(data["unique_id"].map(order).to_numpy(), kind="stable")]
    data = data[["unique_id", "ds", "y"]].reset_index(drop=True)
    if not with_hierarchy:
        return data
    unknown = set(info["industry"]) - set(RETAIL_GROUPS) - set(_PARENT)
    if unknown:
        raise ValueError(f"aus_retail: industries outside the known hierarchy: {sorted(unknown)}")
    h = info[["unique_id", "state", "industry"]].copy()
    h["level"] = np.where(h["industry"].isin(list(RETAIL_GROUPS)), "group", "subgroup")
    h["group"] = h["industry"].map(lambda s: _PARENT.get(s, s))
    group_id = {(s, i): u for u, s, i, lv in zip(h["unique_id"], h["state"], h["industry"], h["level"])
                if lv == "group"}
    h["parent_id"] = [None if lv == "group" else group_id.get((s, g))
                      for s, g, lv in zip(h["state"], h["group"], h["level"])]
    return data, h.reset_index(drop=True)
