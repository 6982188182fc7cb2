"""Scenario discovery: PRIM boxes on the kept draws' sampled parameters."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from click.testing import CliRunner

pytest.importorskip("ema_workbench")

from mcbattery.common.errors import InputError  # noqa: E402
from mcbattery.research.discover import discover, parameter_table, parse_outcome  # noqa: E402


def synthetic(n=2000, seed=0) -> xr.Dataset:
    """Draws whose outcome is exactly a box: a > 0.7 and b < 0.3 (c is noise)."""
    rng = np.random.default_rng(seed)
    a, b, c = rng.uniform(size=n), rng.uniform(size=n), rng.normal(size=(n, 2))
    hit = (a > 0.7) & (b < 0.3)
    shortage = np.where(hit, 0.2, 0.0)[:, None] + 0.01 * rng.uniform(size=(n, 3))
    return xr.Dataset(
        {"shortage": (("draw", "year"), shortage, {"units": "1", "role": "output"}),
         "a": (("draw",), a, {"units": "yr", "role": "parameter"}),
         "b": (("draw",), b, {"units": "1", "role": "parameter"}),
         "c": (("draw", "region"), c, {"units": "1", "role": "parameter"})},
        coords={"draw": np.arange(n), "year": [2029, 2030, 2031], "region": ["CN", "EU"]},
        attrs={"scenario": "synthetic", "seed": 0},
    )


def test_prim_finds_the_box_that_makes_the_outcome():
    d = discover(synthetic(), "shortage[year=2030] > 0.1", density=0.9)
    assert d.base_rate == pytest.approx(0.3 * 0.3, abs=0.03)
    box = d.boxes[0]
    lim = box.limits.set_index("parameter")
    assert set(lim.index) == {"a", "b"}  # the noise parameters are not restricted
    assert lim.loc["a", "low"] == pytest.approx(0.7, abs=0.05) and lim.loc["a", "restricted"] == "low"
    assert lim.loc["b", "high"] == pytest.approx(0.3, abs=0.05) and lim.loc["b", "restricted"] == "high"
    assert box.density >= 0.9 and box.coverage > 0.8 and 0 < box.mass < 0.2
    traj = d.trajectories[0]
    assert {"coverage", "density", "mass", "res_dim", "selected"} <= set(traj.columns) and traj["selected"].sum() == 1
    assert "box 1: coverage" in d.summary() and "a " in d.summary()
    table = d.table()
    assert list(table["box"].unique()) == [1] and {"coverage", "density", "low", "high", "units"} <= set(table.columns)


def test_parameters_are_flattened_per_element_and_outcomes_checked():
    x, units = parameter_table(synthetic(200))
    assert list(x.columns) == ["a", "b", "c[CN]", "c[EU]"] and units["a"] == "yr"
    assert parse_outcome("cost_gap[year=2030, region=EU, chemistry=LFP] >= 0") == (
        "cost_gap", {"year": 2030, "region": "EU", "chemistry": "LFP"}, ">=", 0.0)
    for bad, needle in (("shortage > ", "expected OUTPUT"), ("shortage[year] > 1", "DIM=LABEL"),
                        ("nope[year=2030] > 1", "unknown output"), ("shortage > 0.1", "select one label"),
                        ("shortage[year=2099] > 0.1", "not available"), ("shortage[year=2030] > 5", "holds in 0")):
        with pytest.raises(InputError, match=needle):
            discover(synthetic(200), bad)
    with pytest.raises(InputError, match="no sampled parameters"):
        discover(synthetic(200)[["shortage"]], "shortage[year=2030] > 0.1")


def test_on_a_forecast_and_from_the_command_line(baseline_small, tmp_path):
    # a lithium shortage year (more than 10 % of demand unmet) by 2030
    outcome = "shortage_ever[year=2030,material=lithium] > 0.5"
    d = discover(baseline_small, outcome, max_parameters=12)
    assert len(d.parameters) == 12 and 0 < d.base_rate < 1
    ever = baseline_small.draws.shortage_ever.sel(year=2030, material="lithium")
    assert d.base_rate == pytest.approx(float((ever > 0.5).mean()))
    box = d.boxes[0]
    assert 0 < box.coverage <= 1 and box.density >= d.base_rate
    lim = box.limits
    assert ((lim["low"] >= lim["sampled_low"]) & (lim["high"] <= lim["sampled_high"])).all()
    assert set(lim["parameter"]) <= set(d.parameters)
    baseline_small.to_netcdf(tmp_path / "f.nc")
    from mcbattery.cli import main

    out, png = tmp_path / "boxes.csv", tmp_path / "tradeoff.png"
    r = CliRunner().invoke(main, ["discover", outcome, "--draws-file", str(tmp_path / "f_draws.nc"),
                                  "--max-parameters", "12", "--out", str(out), "--plot", str(png)])
    assert r.exit_code == 0, r.output
    assert "box 1: coverage" in r.output and "base rate" in r.output
    table = pd.read_csv(out)
    assert {"box", "parameter", "low", "high", "coverage", "density"} <= set(table.columns)
    assert (tmp_path / "boxes_trajectory.csv").exists() and png.stat().st_size > 10_000
    r = CliRunner().invoke(main, ["discover", "shortage > > 1", "--out", str(tmp_path / "x.csv")])
    assert r.exit_code == 2 and len(r.output.strip().splitlines()) == 1 and not (tmp_path / "x.csv").exists()
