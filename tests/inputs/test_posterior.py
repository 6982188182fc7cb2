"""Posterior samples replace priors jointly; the engine hooks reproduce run()."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

import mcbattery
from mcbattery import InputError
from mcbattery.engine import sample_params, simulate_params
from mcbattery.inputs.priors import shipped_coords


MATERIALS = list(shipped_coords()["material"])
OFFSET = 0.01 * np.arange(len(MATERIALS))  # each material's samples differ, so a mixed-up axis shows


def _per_material(values):
    """A (sample, material) variable: sample s, material m holds values[s] + OFFSET[m]."""
    data = np.asarray(values, dtype=float)[:, None] + OFFSET
    return xr.DataArray(data, dims=("sample", "material"), coords={"material": MATERIALS})


def _samples_file(path, values):
    reversion = _per_material(values)
    ds = xr.Dataset(
        {
            "price_reversion": reversion,
            "price_volatility": reversion * 2,
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
    rev = got["price_reversion"].astype(float)
    assert rev.shape == (200, len(MATERIALS))
    for m, off in enumerate(OFFSET):
        assert set(np.round(rev[:, m], 5)) == set(np.round(np.array([0.11, 0.22, 0.33]) + off, 5))
    np.testing.assert_allclose(rev - OFFSET, np.repeat(rev[:, :1], len(MATERIALS), axis=1), rtol=1e-5)  # one sample per draw
    np.testing.assert_allclose(got["price_volatility"], 2 * got["price_reversion"], rtol=1e-6)
    fc = mcbattery.forecast("baseline", draws=256, seed=1, posterior=f, chunk_size=256)
    assert fc.summary.attrs["calibrated"] == 1 and fc.summary.attrs["posterior_hash"]
    assert fc.summary.attrs["data_vintage"] == "2024-04"
    assert pri.hash() != mcbattery.load_scenario("baseline").hash()


def test_scenario_shifts_apply_on_top_of_posterior(tmp_path):
    f = _samples_file(tmp_path / "engine_samples.nc", [0.2, 0.4])
    sc = tmp_path / "s.toml"
    sc.write_text('[meta]\ndescription = "x"\n[shift.price_reversion]\nscale = 0.5\n')
    pri = mcbattery.load_scenario(sc, posterior=f)
    np.testing.assert_allclose(pri["price_reversion"].fields["samples"], 0.5 * (np.array([[0.2], [0.4]]) + OFFSET))
    np.testing.assert_allclose(pri["price_volatility"].fields["samples"], 2 * (np.array([[0.2], [0.4]]) + OFFSET))  # not shifted
    sc.write_text('[meta]\ndescription = "x"\n[shift.price_reversion]\nscale = { nickel = 0.5 }\n')
    got = mcbattery.load_scenario(sc, posterior=f)["price_reversion"].fields["samples"]
    want = np.array([[0.2], [0.4]]) + OFFSET
    want[:, MATERIALS.index("nickel")] *= 0.5
    np.testing.assert_allclose(got, want)
    sc.write_text('[meta]\ndescription = "x"\n[shift.price_reversion]\nscale = 4\n')
    with pytest.raises(InputError, match="outside"):
        mcbattery.load_scenario(sc, posterior=f)


def test_bad_posterior_files(tmp_path):
    with pytest.raises(InputError, match="not found"):
        mcbattery.load_scenario("baseline", posterior=tmp_path / "none.nc")
    bad = tmp_path / "bad.nc"
    xr.Dataset({"price_reversion": _per_material([0.5, 0.995])}).to_netcdf(bad, engine="scipy")  # 0.995 + 0.03 > 1
    with pytest.raises(InputError, match="outside"):
        mcbattery.load_scenario("baseline", posterior=bad)
    xr.Dataset({"price_reversion": ("sample", [0.5, 0.6])}).to_netcdf(bad, engine="scipy")  # its material dim left out
    with pytest.raises(InputError, match=r"price_reversion: expected dims \('sample', material\)"):
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
    np.testing.assert_allclose(out["material_price"], f.draws.material_price.values, rtol=1e-4)
    np.testing.assert_allclose(out["cell_cost"], f.draws.cell_cost.values, rtol=1e-4)


def test_unknown_posterior_variable_is_refused_with_a_suggestion(tmp_path):
    from mcbattery import InputError
    from mcbattery.inputs.posterior import load_engine_samples

    path = tmp_path / "p.nc"
    xr.Dataset({"price_reversion": _per_material([0.3, 0.4]), "price_volatilty": _per_material([0.1, 0.2])}).to_netcdf(path, engine="scipy")
    with pytest.raises(InputError, match=r"price_volatilty: not a model parameter; did you mean \['price_volatility'"):
        load_engine_samples(path)
