"""Posterior samples replace priors jointly; the engine hooks reproduce run()."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

import mcbattery
from mcbattery import InputError
from mcbattery.engine import sample_params, simulate_params


def _samples_file(path, values):
    ds = xr.Dataset(
        {
            "price_reversion": ("sample", np.asarray(values)),
            "boom_drift": ("sample", np.asarray(values) * 2),
            "demand__latent": ("sample", np.zeros(len(values))),  # a model variable (<model>__name): ignored
        },
        attrs={"data_vintage": "2024-04", "created_at": "2026-01-01"},
    )
    ds.to_netcdf(path, engine="scipy")
    return path


def test_posterior_samples_used_jointly(tmp_path):
    f = _samples_file(tmp_path / "engine_samples.nc", [0.11, 0.22, 0.33])
    pri = mcbattery.load_scenario("baseline", posterior=f)
    assert pri["price_reversion"].dist == "empirical"
    got = sample_params(pri, 200, seed=1)
    assert set(np.round(got["price_reversion"].astype(float), 5)) == {0.11, 0.22, 0.33}
    np.testing.assert_allclose(got["boom_drift"], 2 * got["price_reversion"], rtol=1e-6)
    fc = mcbattery.forecast("baseline", draws=256, seed=1, posterior=f, chunk_size=256)
    assert fc.summary.attrs["calibrated"] == 1 and fc.summary.attrs["posterior_hash"]
    assert fc.summary.attrs["data_vintage"] == "2024-04"
    assert pri.hash() != mcbattery.load_scenario("baseline").hash()


def test_scenario_shifts_apply_on_top_of_posterior(tmp_path):
    f = _samples_file(tmp_path / "engine_samples.nc", [0.2, 0.4])
    sc = tmp_path / "s.toml"
    sc.write_text('[meta]\ndescription = "x"\n[shift.price_reversion]\nscale = 0.5\n')
    pri = mcbattery.load_scenario(sc, posterior=f)
    np.testing.assert_allclose(pri["price_reversion"].fields["samples"], [0.1, 0.2])
    sc.write_text('[meta]\ndescription = "x"\n[shift.price_reversion]\nscale = 4\n')
    with pytest.raises(InputError, match="outside"):
        mcbattery.load_scenario(sc, posterior=f)


def test_bad_posterior_files(tmp_path):
    with pytest.raises(InputError, match="not found"):
        mcbattery.load_scenario("baseline", posterior=tmp_path / "none.nc")
    bad = tmp_path / "bad.nc"
    xr.Dataset({"price_reversion": ("sample", [0.5, 1.5])}).to_netcdf(bad, engine="scipy")
    with pytest.raises(InputError, match="outside"):
        mcbattery.load_scenario("baseline", posterior=bad)
    junk = tmp_path / "junk.nc"
    junk.write_text("not netcdf")
    with pytest.raises(InputError, match="cannot read posterior"):
        mcbattery.load_scenario("baseline", posterior=junk)


def test_engine_hooks_reproduce_run():
    pri = mcbattery.load_scenario("baseline")
    f = mcbattery.forecast(pri, draws=256, seed=9, keep_draws=256, chunk_size=256)
    params = sample_params(pri, 256, seed=9)
    out = simulate_params(pri, params, seed=9)
    np.testing.assert_allclose(out["lithium_price"], f.draws.lithium_price.values, rtol=1e-4)
    np.testing.assert_allclose(out["cell_cost"], f.draws.cell_cost.values, rtol=1e-4)


def test_unknown_posterior_variable_is_refused_with_a_suggestion(tmp_path):
    from mcbattery import InputError
    from mcbattery.inputs.posterior import load_engine_samples

    path = tmp_path / "p.nc"
    xr.Dataset({"price_reversion": ("sample", [0.3, 0.4]), "boom_drfit": ("sample", [0.1, 0.2])}).to_netcdf(path, engine="scipy")
    with pytest.raises(InputError, match=r"boom_drfit: not a model parameter; did you mean \['boom_drift'"):
        load_engine_samples(path)
