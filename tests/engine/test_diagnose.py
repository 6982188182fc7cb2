"""Tests of finding the parameters behind invalid draws (mcbattery.engine.diagnose)."""

from __future__ import annotations

import pytest

import mcbattery
from mcbattery.engine.diagnose import EXAMINE, Diagnosis, diagnose_invalid
from mcbattery.engine.runner import run


@pytest.fixture(scope="module")
def wild(tmp_path_factory):
    """A scenario whose material price volatility is far too wide: some draws overflow."""
    f = tmp_path_factory.mktemp("wild") / "wild.toml"
    f.write_text('[meta]\ndescription = "wild prices"\n[set.price_volatility]\ndist = "lognormal"\n'
                 'median = 3.0\nsigma = 1.5\n', encoding="utf-8")
    pri = mcbattery.load_scenario(f)
    return pri, run(pri, draws=4096, seed=0, chunk_size=4096, end_year=2030)


def test_the_changed_parameter_is_found(wild):
    pri, result = wild
    assert result.acc.invalid > 0 and result.extra["invalid_chunks"] == [(0, 4096)]
    d = diagnose_invalid(pri, result)
    assert d.examined == min(EXAMINE, result.acc.invalid)
    assert d.parameters[0] == ("price_volatility", d.examined)  # restoring it makes every examined draw finite
    assert "material_price" in d.outputs


def test_a_clean_run_has_nothing_to_diagnose():
    pri = mcbattery.load_scenario("baseline")
    result = run(pri, draws=256, seed=0, chunk_size=256, end_year=2027)
    assert result.acc.invalid == 0 and diagnose_invalid(pri, result) == Diagnosis()
