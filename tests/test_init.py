"""Tests of the package entry (mcbattery/__init__.py): lazy top-level names, subpackages as
attributes, and an import that does not start JAX."""

from __future__ import annotations

import subprocess
import sys

import pytest

import mcbattery


def test_lazy_names_resolve_to_their_homes():
    from mcbattery import api
    from mcbattery.inputs import priors

    assert mcbattery.forecast is api.forecast and mcbattery.Forecast is api.Forecast
    assert mcbattery.forecast_distributed is api.forecast_distributed
    assert mcbattery.load_scenario is priors.load_scenario and mcbattery.list_scenarios is priors.list_scenarios
    assert mcbattery.load_priors is priors.load_priors
    assert issubclass(mcbattery.InputError, ValueError)
    assert set(mcbattery.__all__) <= set(dir(mcbattery))


@pytest.mark.parametrize("name", ["api", "calibration", "cli", "common", "engine", "inputs", "learning", "model",
                                  "research", "results", "sensitivity"])
def test_subpackages_are_attributes(name):
    import importlib

    assert getattr(mcbattery, name) is importlib.import_module(f"mcbattery.{name}")


def test_unknown_attribute():
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        mcbattery.nope  # noqa: B018


def test_import_does_not_start_jax():
    code = "import sys, mcbattery; mcbattery.list_scenarios; print('jax' in sys.modules)"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and r.stdout.strip() == "False"
