"""Tests of scenario resolution (mcbattery.inputs.scenarios)."""

from __future__ import annotations

import pytest

from mcbattery.common.errors import InputError
from mcbattery.inputs.posterior import default_posterior
from mcbattery.inputs.priors import load_scenario
from mcbattery.inputs.scenarios import resolve_scenario


def test_default_posterior_is_the_shipped_one():
    pri = resolve_scenario("baseline")
    shipped = default_posterior()
    assert shipped is not None and pri.posterior["file"] == shipped.name
    assert pri.hash() == load_scenario("baseline", None, shipped).hash()


def test_priors_only_and_given_priors():
    pri = resolve_scenario("unipolar", posterior=None)
    assert not pri.posterior and pri.scenario == "unipolar"
    assert pri.hash() == load_scenario("unipolar").hash()
    assert resolve_scenario(pri) is pri  # resolved priors are used as given
    assert resolve_scenario(pri, priors="/nonexistent", posterior="/nonexistent") is pri


def test_scenario_file_and_priors_folder(priors_copy, tmp_path):
    f = tmp_path / "mine.toml"
    f.write_text('[meta]\nname = "mine"\ndescription = "a test"\n[shift.price_volatility]\nscale = 1.5\n',
                 encoding="utf-8")
    pri = resolve_scenario(f, priors=priors_copy, posterior=None)
    assert pri.scenario_description == "a test" and str(pri.directory) == str(priors_copy)
    assert pri.hash() != resolve_scenario("baseline", priors=priors_copy, posterior=None).hash()
    with pytest.raises(InputError):
        resolve_scenario("no_such_scenario", posterior=None)
    with pytest.raises(InputError, match="posterior"):
        resolve_scenario("baseline", posterior=tmp_path / "missing.nc")
