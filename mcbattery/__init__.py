"""mcbattery: probabilistic Monte Carlo forecasts of the lithium-ion battery value chain.

The top-level names are imported lazily so that ``import mcbattery`` (and the CLI's
``--help``) stays fast; JAX is loaded on first use of the engine.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

from .errors import InputError

_LAZY = {
    "forecast": "mcbattery.api",
    "Forecast": "mcbattery.api",
    "load_priors": "mcbattery.priors",
    "load_scenario": "mcbattery.priors",
    "list_scenarios": "mcbattery.priors",
}

__all__ = ["__version__", "InputError", *_LAZY]


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'mcbattery' has no attribute {name!r}")
