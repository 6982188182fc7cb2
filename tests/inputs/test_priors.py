"""Priors and scenarios: the shipped files are valid, and every kind of bad input is named."""

from __future__ import annotations

import numpy as np
import pytest

from mcbattery import InputError, list_scenarios, load_priors, load_scenario
from mcbattery.model.params import REGISTRY


def test_shipped_priors_cover_registry_with_units_and_sources():
    p = load_priors()
    assert set(p.params) == set(REGISTRY)
    for prior in p.params.values():
        assert prior.units.strip() and prior.source.strip()


def test_required_scenarios_exist_and_load():
    names = list_scenarios()
    for name in ("baseline", "unipolar", "cooperation", "lithium_supply_shock"):
        assert name in names and names[name]
        s = load_scenario(name)
        assert s.scenario == name


def test_scenario_shifts_change_hash_and_values():
    base = load_scenario("baseline")
    shock = load_scenario("lithium_supply_shock")
    assert base.hash() != shock.hash()
    lithium = list(base.coords["material"]).index("lithium")
    assert base["supply_shock_fraction"].dims == ("material",)
    np.testing.assert_array_equal(base["supply_shock_fraction"].fields["value"], 0.0)
    hit = shock["supply_shock_fraction"]
    assert hit.dist == "uniform" and hit.fields["low"][lithium] > 0  # lithium mines lose capacity
    others = np.arange(len(base.coords["material"])) != lithium
    np.testing.assert_array_equal(hit.fields["high"][others], 0.0)  # the other materials are untouched
    uni = load_scenario("unipolar")
    # a scale shift moves the location, not the file's copy of the prior
    assert np.all(uni["announced_completion"].fields["mean"][1:3] < base["announced_completion"].fields["mean"][1:3])


BAD_CASES = {
    "empty": ("", "empty"),
    "truncated": ('[demand_start]\ndims = ["segment"]\ndist = "lognormal"\nmedian = { EV = 9', "not valid TOML"),
    "missing_field": ('[price_volatility]\ndims = ["material"]\ndist = "truncnormal"\nmean = 0.2\nsd = 0.1\nlow = 0.0\nunits = "1"\nsource = "x"\n', "missing field 'high'"),
    "unknown_field": ('[price_volatility]\ndims = ["material"]\ndist = "truncnormal"\nmean = 0.2\nsd = 0.1\nlow = 0.0\nhigh = 1.0\nsdev = 1\nunits = "1"\nsource = "x"\n', "unknown field 'sdev'"),
    "misspelt_param": ('[price_volatilty]\ndist = "fixed"\nvalue = 0.2\nunits = "1"\nsource = "x"\n', "did you mean"),
    "zero_scale": ('[price_volatility]\ndims = ["material"]\ndist = "truncnormal"\nmean = 0.2\nsd = 0.0\nlow = 0.0\nhigh = 1.0\nunits = "1"\nsource = "x"\n', "must be > 0"),
    "negative_scale": ('[recycling_capacity_start]\ndist = "lognormal"\nmedian = 1e4\nsigma = -0.2\nunits = "1"\nsource = "x"\n', "must be > 0"),
    "inverted": ('[price_volatility]\ndims = ["material"]\ndist = "uniform"\nlow = 0.5\nhigh = 0.1\nunits = "1"\nsource = "x"\n', "bounds inverted"),
    "unknown_dist": ('[price_volatility]\ndims = ["material"]\ndist = "gaussian"\nmean = 0.2\nunits = "1"\nsource = "x"\n', "unknown distribution"),
    "non_numeric": ('[price_volatility]\ndims = ["material"]\ndist = "fixed"\nvalue = "high"\nunits = "1"\nsource = "x"\n', "expected a number"),
    "nan": ('[price_volatility]\ndims = ["material"]\ndist = "fixed"\nvalue = { lithium = 0.2, nickel = nan, cobalt = 0.2, graphite = 0.2 }\nunits = "1"\nsource = "x"\n', "finite"),
    "inf": ('[price_volatility]\ndims = ["material"]\ndist = "fixed"\nvalue = inf\nunits = "1"\nsource = "x"\n', "finite"),
    "no_source": ('[price_volatility]\ndims = ["material"]\ndist = "fixed"\nvalue = 0.2\nunits = "1"\n', "missing field 'source'"),
    "out_of_support": ('[price_reversion]\ndims = ["material"]\ndist = "fixed"\nvalue = { lithium = 0.5, nickel = 0.5, cobalt = 1.5, graphite = 0.5 }\nunits = "1"\nsource = "x"\n', "support"),
    "normal_on_positive": ('[recycling_capacity_start]\ndist = "normal"\nmean = 1e4\nsd = 1e3\nunits = "1"\nsource = "x"\n', "truncnormal"),
    "bad_label": ('[scrap_floor]\ndims = ["region"]\ndist = "beta"\nmean = { CN = 0.03, US = 0.06, EU = 0.06, RoW = 0.05 }\nconcentration = 50.0\nunits = "1"\nsource = "x"\n', "unknown region label"),
    "wrong_dims": ('[scrap_floor]\ndims = ["chemistry"]\ndist = "beta"\nmean = 0.05\nconcentration = 50.0\nunits = "1"\nsource = "x"\n', "dims must be"),
    "shares_not_one": ('[demand_region_share]\ndims = ["segment", "region"]\ndist = "fixed"\nvalue = 0.3\nunits = "1"\nsource = "x"\n', "sum to 1"),
}


def drop_param(folder, name):
    """Remove the table ``[name]`` from whichever prior file defines it."""
    for f in folder.glob("*.toml"):
        out, skip = [], False
        for line in f.read_text().splitlines():
            if line.startswith("["):
                skip = line.strip() == f"[{name}]"
            if not skip:
                out.append(line)
        f.write_text("\n".join(out) + "\n")


@pytest.mark.parametrize("case", sorted(BAD_CASES))
def test_bad_prior_file_is_named(priors_copy, case):
    import re

    text, expected = BAD_CASES[case]
    for name in re.findall(r"^\[(\w+)\]", text, flags=re.M):
        drop_param(priors_copy, name)
    if case in ("empty", "truncated"):
        drop_param(priors_copy, "demand_start")
    (priors_copy / "zz_bad.toml").write_text(text)
    with pytest.raises(InputError) as err:
        load_priors(priors_copy)
    msg = str(err.value)
    assert expected in msg
    assert "zz_bad.toml" in msg
    assert "\n" not in msg


def test_missing_parameter_is_named(priors_copy):
    drop_param(priors_copy, "price_volatility")
    with pytest.raises(InputError, match=r"missing parameter\(s\) \['price_volatility'\]"):
        load_priors(priors_copy)


def test_unknown_scenario_and_bad_scenario_files(tmp_path):
    with pytest.raises(InputError, match="unknown scenario 'nope'"):
        load_scenario("nope")
    bad = tmp_path / "bad.toml"
    bad.write_text('[meta]\ndescription = "x"\n[shift.price_volatilty]\nscale = 2\n')
    with pytest.raises(InputError, match="did you mean"):
        load_scenario(bad)
    bad.write_text('[meta]\ndescription = "x"\n[shift.scrap_floor]\nscale = { Mars = 2 }\n')
    with pytest.raises(InputError, match="unknown region label"):
        load_scenario(bad)
    bad.write_text('[meta]\ndescription = "x"\n[shift.reference_utilization]\nscale = { cobalt = 3 }\n')  # beta mean 0.8 -> 2.4
    with pytest.raises(InputError, match="between 0 and 1"):
        load_scenario(bad)
    bad.write_text('[meta]\ndescription = "x"\n[shift.price_reversion]\nscale = 3\n')  # truncnormal bounds beyond 1
    with pytest.raises(InputError, match="price_reversion: truncnormal support exceeds the parameter's unit range"):
        load_scenario(bad)
    bad.write_text('[shift.price_reversion]\nscale = 0.5\n')
    with pytest.raises(InputError, match="meta"):
        load_scenario(bad)


def test_set_replaces_distribution(tmp_path):
    f = tmp_path / "s.toml"
    f.write_text('[meta]\ndescription = "x"\n[set.supply_shock_fraction]\ndist = "uniform"\nlow = 0.1\nhigh = 0.3\n')
    s = load_scenario(f)
    assert s["supply_shock_fraction"].dist == "uniform"
    assert s["supply_shock_fraction"].units == load_priors()["supply_shock_fraction"].units
