"""The one Markdown table writer of the package (layer 0: pandas in, text out).

The backtest and detector results, the reports, the suites and the benchmarks write their tables with
:func:`markdown_table`, so every table in the project looks the same.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["markdown_table", "format_cell"]


def format_cell(value, digits: int = 3, fixed: bool = False) -> str:
    """A cell as text: floats rounded to ``digits`` decimals and shown without trailing zeros (with ``fixed``:
    exactly ``digits`` decimals), NaN empty, ``|`` escaped."""
    if isinstance(value, (float, np.floating)):
        if np.isnan(value):
            return ""
        if fixed and digits is not None:
            return f"{float(value):.{digits}f}"
        return f"{round(float(value), digits):g}" if digits is not None else f"{float(value):g}"
    return str(value).replace("|", "\\|")


def markdown_table(frame: pd.DataFrame, index: bool = True, digits: int = 3, align_numbers: bool = False,
                   fixed: bool = False) -> str:
    """``frame`` as a GitHub Markdown table.

    Parameters
    ----------
    frame : pd.DataFrame
    index : bool
        Write the index as the first column (headed by its name, e.g. ``model``).
    digits : int
        Decimals kept in floats (``None``: ``:g`` formatting only).
    align_numbers : bool
        Right-align numeric columns (``---:``).
    fixed : bool
        Show floats with exactly ``digits`` decimals (``1.500``), trailing zeros kept.
    """
    cols = [str(c) for c in frame.columns]
    head = ([str(frame.index.name or "")] if index else []) + cols
    numeric = [pd.api.types.is_numeric_dtype(t) for t in frame.dtypes]
    rule = (["---"] if index else []) + ["---:" if align_numbers and n else "---" for n in numeric]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(rule) + "|"]
    for label, row in zip(frame.index, frame.itertuples(index=False, name=None)):
        cells = ([format_cell(label, digits, fixed)] if index else []) + [format_cell(v, digits, fixed) for v in row]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
