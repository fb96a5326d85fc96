"""Plots and HTML/Markdown reports of backtest and detector results (layer 4)."""

from .._lazy import attach

_NAMES = {
    "plot_forecast": "plots",
    "plot_backtest": "plots",
    "plot_anomalies": "plots",
    "plot_attention": "plots",
    "plot_periodogram": "plots",
    "plot_scalogram": "plots",
    "plot_regimes": "plots",
    "plot_ranks": "plots",
    "plot_reliability": "plots",
    "plot_confusion": "plots",
    "render_report": "html",
    "render_html": "html",
    "render_backtest": "html",
    "render_detectors": "html",
    "render_markdown": "html",
}

__getattr__, __dir__, __all__ = attach(__name__, _NAMES)
