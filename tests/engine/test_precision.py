"""Stop-when-precise and streaming draws to Zarr."""

from __future__ import annotations

import json

import numpy as np
import pytest
import xarray as xr

import mcbattery
from mcbattery import InputError


def test_stops_when_targets_met_and_reports_error():
    f = mcbattery.forecast(draws=200_000, seed=0, chunk_size=2048, target_mcse={"unmet_share_exceedance": 0.02, "material_price_mean": 1500})
    s = f.summary
    assert 4096 <= s.attrs["draws"] < 200_000
    got = json.loads(s.attrs["achieved_mcse"])
    assert got["unmet_share_exceedance"] <= 0.02 and got["material_price_mean"] <= 1500
    # the reported error is the one the summary shows
    assert float(s.material_price_mcse.max()) == pytest.approx(got["material_price_mean"], rel=1e-6)
    assert float(s.unmet_share_exceedance_mcse.max()) == pytest.approx(got["unmet_share_exceedance"], rel=1e-6)


def test_bad_targets():
    with pytest.raises(InputError, match="target_mcse.price"):
        mcbattery.forecast(draws=10, target_mcse={"price": 1.0})
    with pytest.raises(InputError, match="positive"):
        mcbattery.forecast(draws=10, target_mcse={"material_price_mean": -1})


def test_draws_stream_to_zarr_identically(tmp_path):
    store = tmp_path / "draws.zarr"
    f = mcbattery.forecast(draws=700, seed=4, chunk_size=256, keep_draws=600, draws_store=store)
    assert f.draws is None
    z = xr.open_zarr(store)
    assert z.sizes["draw"] == 600 and list(z.year.values[:2]) == [2025, 2026]
    ref = mcbattery.forecast(draws=700, seed=4, chunk_size=512, keep_draws=600)
    np.testing.assert_array_equal(z.cell_cost.values, ref.draws.cell_cost.values)
    assert z.attrs["seed"] == 4
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
