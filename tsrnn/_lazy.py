"""Lazy attribute loading for the public subpackages: ``from tsrnn.models import ARIMA`` imports only the
module that defines ``ARIMA`` (torch is not imported to use a baseline)."""

from __future__ import annotations

import importlib


def attach(package: str, mapping: dict[str, str]):
    """Return ``(__getattr__, __dir__, __all__)`` for a package whose names live in submodules.

    ``mapping`` maps a public name to the submodule (relative to ``package``) that defines it.
    """

    def __getattr__(name: str):
        mod = mapping.get(name)
        if mod is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{mod}"), name)
        return value

    def __dir__():
        return sorted(mapping)

    return __getattr__, __dir__, sorted(mapping)
