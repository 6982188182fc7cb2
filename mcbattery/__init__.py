"""mcbattery: probabilistic Monte Carlo forecasts of the lithium-ion battery value chain.

The top-level names are imported lazily so that ``import mcbattery`` (and the CLI's
``--help``) stays fast; JAX is loaded on first use of the engine.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

from mcbattery.common.errors import InputError

_LAZY = {
    "forecast": "mcbattery.api",
    "forecast_distributed": "mcbattery.api",
    "Forecast": "mcbattery.api",
    "load_priors": "mcbattery.inputs.priors",
    "load_scenario": "mcbattery.inputs.priors",
    "list_scenarios": "mcbattery.inputs.priors",
    "prior_overview": "mcbattery.inputs.overview",
    "compare": "mcbattery.research.compare",
    "model_sobol": "mcbattery.research.sensitivity",
    "discover": "mcbattery.research.discover",
}

__all__ = ["__version__", "InputError", *_LAZY]


def __dir__():
    """The public names (``__all__``) and the subpackages, as tab completion shows them."""
    return sorted({*__all__, *_MODULES})


#: Subpackages and modules reachable as attributes after ``import mcbattery``.
_MODULES = ("api", "calibration", "cli", "common", "engine", "inputs", "learning", "model", "research", "results", "sensitivity")


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    if name in _MODULES:
        return importlib.import_module(f"mcbattery.{name}")
    raise AttributeError(f"module 'mcbattery' has no attribute {name!r}")
