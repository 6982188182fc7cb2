"""Sobol' indices on the engine: a case with a known answer, sums and ranges, groups,
one-at-a-time swings and the CLI command."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from mcbattery.inputs.scenarios import resolve_scenario
from mcbattery.common.errors import InputError
from mcbattery.research.sensitivity import model_sobol, one_at_a_time, parameter_groups, parse_outputs
from mcbattery.model.params import BLOCKS, REGISTRY

# Sizes: 512 base samples everywhere, so the compiled sampler and simulator (one shape per
# power of two) are shared with test_compare.py.
N = 512

# 2025 storage demand: the first simulated year, driven by the demand block and the demand
# noise only (demand responds to the pack price from the second year on: in the first year
# last year's pack price is the one the demand path expects).
STORAGE_2025 = ("demand", {"year": 2025, "segment": "storage", "region": "CN"})
LABEL = "demand[year=2025,segment=storage,region=CN]"


@pytest.fixture(scope="module")
def two_outputs():
    return model_sobol("baseline", [STORAGE_2025, ("utilization_world", {"year": 2030})],
                       n=N, seed=1, bootstrap=100, posterior=None)


def test_known_answer_only_the_demand_block_matters(two_outputs):
    ds = two_outputs.sel(output=LABEL)
    others = [g for g in ds["input"].values if g != "demand"]
    # f(A) == f(AB_i) exactly for every other group: Jansen's total index is exactly zero
    assert np.all(ds.ST.sel(input=others).values == 0.0)
    assert np.all(np.abs(ds.S1.sel(input=others).values) < 1e-12)
    d = ds.sel(input="demand")
    assert 0.6 < float(d.S1) < 1.1 and 0.6 < float(d.ST) < 1.05
    assert float(d.S1_low) <= float(d.ST_high)  # S1 <= ST up to estimation error
    assert float(d.S1_low) <= float(d.S1) <= float(d.S1_high)
    assert float(d.ST_low) <= float(d.ST) <= float(d.ST_high)
    # with the noise common, the demand block and the noise's closed index explain the rest
    assert float(d.ST) + float(two_outputs.noise_closed_S1.sel(output=LABEL)) == pytest.approx(1.0, abs=0.15)


def test_sums_and_ranges(two_outputs):
    ds = two_outputs.sel(output="utilization_world[year=2030]")
    assert np.all(ds.ST.values >= -1e-12)  # Jansen's estimator is a mean of squares
    assert float(ds.S1.sum()) <= 1.1
    assert float(ds.ST.sum()) >= float(ds.S1.sum()) - 0.1
    assert np.all(ds.S1.values <= ds.ST.values + 0.1)
    top = str(ds.ST.idxmax().values)
    assert top in {"supply", "demand"}
    assert two_outputs.attrs["noise"] == "common" and two_outputs.attrs["n"] == N
    groups = json.loads(two_outputs.attrs["groups"])
    assert list(two_outputs["input"].values) == list(groups)
    assert [len(groups[g]) for g in groups] == list(two_outputs.n_parameters.values)
    assert list(two_outputs.output_units.values) == ["GWh/yr", "1"]


def test_noise_as_its_own_group():
    ds = model_sobol("baseline", STORAGE_2025, n=N, seed=1, noise="group", bootstrap=50, groups=["demand", "materials"], posterior=None)
    assert list(ds["input"].values) == ["demand", "materials", "other", "process_noise"]
    one = ds.sel(output=LABEL)
    assert float(one.ST.sel(input="materials")) == 0.0 and float(one.ST.sel(input="other")) == 0.0
    total = float(one.ST.sel(input="demand")) + float(one.ST.sel(input="process_noise"))
    assert 0.85 < total < 1.2
    assert float(one.S1.sel(input="demand")) > 0.5
    assert 0.0 < float(one.ST.sel(input="process_noise")) < 0.5


def test_log_transform_and_reproducibility():
    a = model_sobol("baseline", ("material_price", {"year": 2030, "material": "lithium"}), n=N, seed=2, bootstrap=20, transform="log")
    b = model_sobol("baseline", ("material_price", {"year": 2030, "material": "lithium"}), n=N, seed=2, bootstrap=20, transform="log")
    np.testing.assert_array_equal(a.ST.values, b.ST.values)
    assert a.attrs["transform"] == "log"
    assert np.isfinite(a.ST.values).all()


def test_parameter_groups():
    pri = resolve_scenario("baseline", posterior=None)
    blocks = parameter_groups(pri, "block")
    members = [p for ps in blocks.values() for p in ps]
    random = [k for k in REGISTRY if pri.params[k].dist != "fixed"]
    assert sorted(members) == sorted(random) and len(members) == len(set(members))
    assert "horizon" not in blocks and "start_year" not in members
    assert all(REGISTRY[p].block == g for g, ps in blocks.items() for p in ps)
    per = parameter_groups(pri, "parameter")
    assert list(per) == random
    assert set(blocks) <= set(BLOCKS) and {"demand", "materials", "supply", "cells"} <= set(blocks)
    mixed = parameter_groups(pri, {"mines": ["lead_time_median", "delay_probability"], "markets": "materials"})
    assert mixed["mines"] == ["lead_time_median", "delay_probability"]
    assert set(mixed["markets"]) == set(blocks["materials"]) and "price_volatility" in mixed["markets"]
    assert "other" in mixed
    with pytest.raises(InputError, match="unknown parameter or block"):
        parameter_groups(pri, ["lead_time_medain"])
    with pytest.raises(InputError, match="in groups"):
        parameter_groups(pri, {"a": ["materials"], "b": ["price_volatility"]})
    with pytest.raises(InputError, match="unknown parameter or block 'prices'"):
        parameter_groups(pri, ["prices"])
    with pytest.raises(InputError, match="no random parameter"):
        parameter_groups(pri, ["start_year"])
    with pytest.raises(InputError, match="expected 'block'"):
        parameter_groups(pri, 3)


def test_parse_outputs():
    p = parse_outputs([("material_price", {"year": [2029, 2030], "material": "lithium"}), "utilization_world"], 2025, 2030)
    assert p[0][2] == ["material_price[year=2029,material=lithium]", "material_price[year=2030,material=lithium]"]
    assert len(p[1][2]) == 6
    for bad, needle in (
        ("nope", "unknown output"),
        (("utilization_world", {"region": "EU"}), "has no dim"),
        (("material_price", {"material": "zinc"}), "not available"),
        (("material_price", {"year": 2099}), "not available"),
        ((3, 4), "expected a name"),
    ):
        with pytest.raises(InputError, match=needle):
            parse_outputs(bad if isinstance(bad, list) else [bad], 2025, 2030)
    with pytest.raises(InputError, match="noise"):
        model_sobol("baseline", STORAGE_2025, n=8, noise="independent")


def test_one_at_a_time():
    ds = one_at_a_time("baseline", [STORAGE_2025, ("material_price", {"year": 2030, "material": "lithium"})], n=N, seed=0, posterior=None)
    s = ds.sel(output=LABEL)
    others = [g for g in ds["input"].values if g != "demand"]
    np.testing.assert_array_equal(s.low.sel(input=others).values, np.full(len(others), float(s.base)))
    assert float(s.swing.sel(input="demand")) > 0
    assert set(ds.data_vars) == {"low", "high", "swing", "base"}


# ----------------------------------------------------------------------------- CLI


def run(*args):
    from mcbattery.cli import main

    return CliRunner().invoke(main, list(args))


def test_too_few_samples_are_refused_and_imprecise_ones_warned(tmp_path):
    r = run("sensitivity", "--output", "utilization_world", "--year", "2030", "--n", "2", "--out", str(tmp_path / "s.csv"))
    assert r.exit_code == 2 and "at least 32" in r.output and len(r.output.strip().splitlines()) == 1
    assert not list(tmp_path.iterdir())
    with pytest.warns(UserWarning, match="imprecise at n = 32"):
        ds = model_sobol("baseline", STORAGE_2025, n=32, seed=1, bootstrap=50, posterior=None)
    assert ds.attrs["widest_interval_ST"] > 0.2


def test_parse_outputs_reads_the_scenarios_own_coordinates():
    """A priors folder with other labels (e.g. a fifth material) is parsed with its coordinates."""
    coords = {"material": ["lithium", "nickel", "cobalt", "graphite", "manganese"]}
    (name, idx, labels), = parse_outputs([("material_price", {"year": 2030, "material": "manganese"})], 2025, 2030, coords)
    assert labels == ["material_price[year=2030,material=manganese]"] and idx[0][-1] == 4
    with pytest.raises(InputError, match="manganese"):
        parse_outputs([("material_price", {"year": 2030, "material": "manganese"})], 2025, 2030)
