"""Tests of the Python entry point (mcbattery.api): validation, provenance, the regenerate command."""

from __future__ import annotations

import numpy as np
import pytest

import mcbattery
from mcbattery.api import Forecast, forecast, forecast_command
from mcbattery.common.errors import InputError


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
