"""Tests of the Python entry point (mcbattery.api): validation, provenance, the regenerate command,
and kept draws that carry the sampled parameters beside the outputs."""

from __future__ import annotations

import numpy as np
import pytest

import mcbattery
from mcbattery.api import Forecast, forecast, forecast_command
from mcbattery.common.errors import InputError
from mcbattery.engine import sample_params, simulate_params


def test_regenerate_command_is_complete_and_quoted(tmp_path):
    import shlex

    scen = tmp_path / "my scenario.toml"
    cmd = forecast_command(str(scen), draws=1000, seed=3, end_year=2035, priors="my priors", posterior="post.nc",
                           thresholds={"material_price": (20000.0, 40000.0)}, dtype="float64")
    assert shlex.split(cmd) == ["mcbattery", "forecast", "--scenario", str(scen), "--priors", "my priors",
                                "--posterior", "post.nc", "--draws", "1000", "--seed", "3", "--end-year", "2035",
                                "--float64", "--threshold", "material_price=20000", "--threshold", "material_price=40000"]
    assert "--no-posterior" in forecast_command("baseline", draws=5, seed=0, posterior=None)


@pytest.mark.parametrize("kwargs, field", [
    (dict(draws=0), "draws"), (dict(seed=-1), "seed"), (dict(chunk_size=0), "chunk_size"),
    (dict(keep_draws=-1), "keep_draws"), (dict(end_year=2020), "end_year"), (dict(quantiles=(0.5, 1.0)), "quantiles"),
    (dict(thresholds={"nope": (1.0,)}), "thresholds"), (dict(thresholds={"unmet_share": (float("nan"),)}), "thresholds"),
    (dict(dtype="float16"), "dtype"),
])
def test_bad_arguments_are_input_errors(kwargs, field):
    with pytest.raises(InputError, match=field):
        forecast("baseline", **{"draws": 256, **kwargs})


def test_forecast_provenance_and_outputs(baseline_small, tmp_path):
    f = baseline_small
    assert isinstance(f, Forecast) and f.priors.scenario == "baseline"
    a = f.summary.attrs
    for key in ("mcbattery_version", "jax_version", "created_at", "scenario", "priors_hash", "resolved_hash",
                "calibrated", "posterior_file", "seed", "draws", "valid_draws", "chunk_size", "dtype", "device",
                "start_year", "end_year", "command", "history"):
        assert key in a, key
    assert (a["seed"], a["draws"], a["valid_draws"] + a["invalid_draws"]) == (7, 2048, 2048)
    assert a["command"].startswith("mcbattery forecast --scenario baseline --draws 2048 --seed 7")
    assert f.draws.sizes["draw"] == 512 and f.draws.attrs["seed"] == 7
    path = f.to_netcdf(tmp_path / "f.nc")
    assert path.is_file() and (tmp_path / "f_draws.nc").is_file()
    csv = f.to_csv(tmp_path / "f.txt")
    assert csv.suffix == ".csv" and csv.is_file()


def test_priors_object_and_scenario_name_give_the_same_numbers():
    pri = mcbattery.load_scenario("unipolar")
    a = forecast(pri, draws=256, seed=1, chunk_size=256, posterior=None)
    b = forecast("unipolar", draws=256, seed=1, chunk_size=256, posterior=None)
    np.testing.assert_array_equal(a.summary.material_price_mean.values, b.summary.material_price_mean.values)
    assert a.summary.attrs["calibrated"] == 0


def test_kept_draws_carry_their_parameters(baseline_small):
    d = baseline_small.draws
    roles = {k: v.attrs.get("role") for k, v in d.data_vars.items()}
    params = [k for k, r in roles.items() if r == "parameter"]
    outputs = [k for k, r in roles.items() if r == "output"]
    assert set(roles.values()) == {"parameter", "output"} and len(params) > 40 and "material_price" in outputs
    pri = baseline_small.priors
    assert all(pri[k].dist != "fixed" for k in params)  # constants are left out
    assert d["announced_completion"].dims == ("draw", "region") and d["announced_completion"].attrs["units"]
    want = sample_params(pri, d.sizes["draw"], seed=baseline_small.summary.attrs["seed"])
    for k in params:
        np.testing.assert_array_equal(d[k].values, want[k], err_msg=k)
    # the parameters are those behind the kept outputs: simulating them gives the same draws
    out = simulate_params(pri, want, seed=baseline_small.summary.attrs["seed"])
    # (another compiled program: float32 rounding, compounded over the years)
    np.testing.assert_allclose(out["material_price"], d["material_price"].values, rtol=5e-4)
    np.testing.assert_allclose(out["cell_price"], d["cell_price"].values, rtol=5e-4)


def test_summary_records_the_command(baseline_small):
    a = baseline_small.summary.attrs
    assert a["command"] == "mcbattery forecast --scenario baseline --draws 2048 --seed 7 --keep-draws 512"
    assert a["history"].endswith(a["command"]) and a["history"].startswith(a["created_at"])
