"""Tests of the plausibility read-out against the documents' ranges (mcbattery.research.plausibility)."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from mcbattery.common.errors import InputError
from mcbattery.research.plausibility import RANGES, plausibility


def _draws(n=200, seed=0):
    """Synthetic kept draws, 2025 and 2030, with known distributions."""
    rng = np.random.default_rng(seed)
    years, regions, chems = [2025, 2030], ["CN", "US", "EU", "ROW"], ["LFP", "NMC", "Na-ion"]
    price = np.full((n, 2, 4, 3), 60.0)
    price[:, 0, 0, 0] = rng.uniform(40.0, 60.0, n)  # CN LFP 2025: P(46..53) = 7/20
    cost = price * 1.3
    cost[:, :, 2, :] = 1.3 * price[:, :, 0, :]  # EU cells cost 30% more than CN cells
    cap = np.full((n, 2, 4), 1000.0)
    cap[:, 1, 0] = np.linspace(5000.0, 7000.0, n)
    dem = np.full((n, 2, 3), 1000.0)
    pack = np.stack([np.full(n, 100.0), np.linspace(30.0, 80.0, n)], axis=1)
    return xr.Dataset(
        {"cell_price": (("draw", "year", "region", "chemistry"), price),
         "cell_cost": (("draw", "year", "region", "chemistry"), cost),
         "cell_capacity": (("draw", "year", "region"), cap),
         "demand_world": (("draw", "year", "segment"), dem),
         "pack_price_average": (("draw", "year"), pack)},
        coords={"draw": np.arange(n), "year": years, "region": regions, "chemistry": chems,
                "segment": ["EV", "storage", "other"]})


def test_probabilities_are_the_share_of_draws_in_each_range():
    t = plausibility(_draws(4000)).set_index("quantity")
    assert list(t.index) == [r.name for r in RANGES]
    assert t.loc["2025 CN LFP cell price", "p_in_range"] == pytest.approx(7 / 20, abs=0.03)
    assert t.loc["2025 CN NMC cell price", "p_in_range"] == 1.0  # 60 is inside 56-68
    assert t.loc["2025 EU LFP cost premium over CN cells", "p_in_range"] == pytest.approx(1.0)  # 30% inside 24-50%
    assert t.loc["2025 EU NMC cost premium over CN cells", "p_in_range"] == 0.0  # 30% above 10-27%
    assert t.loc["2030 CN cell capacity", "p_in_range"] == pytest.approx(858 / 2000, abs=0.01)
    assert t.loc["2030 world battery demand", "p_in_range"] == 1.0
    # pack 2030/2025 - 1 uniform on [-0.7, -0.2]: P(-0.6..-0.4) = 0.4
    assert t.loc["pack price change 2025-2030", "p_in_range"] == pytest.approx(0.4, abs=0.01)
    assert t.loc["pack price change 2025-2030", "median"] == pytest.approx(-0.45, abs=0.01)
    assert (t.q05 <= t["median"]).all() and (t["median"] <= t.q95).all()


def test_the_forecast_draws_give_a_row_per_range(baseline_small):
    t = plausibility(baseline_small.draws)
    assert len(t) == len(RANGES) and t.p_in_range.between(0, 1).all() and t["median"].notna().all()
    cap = baseline_small.draws.cell_capacity.sel(year=2030, region="CN").values
    expected = np.mean((cap >= 5862.0) & (cap <= 6720.0))
    assert t.set_index("quantity").loc["2030 CN cell capacity", "p_in_range"] == pytest.approx(expected)


def test_bad_input_is_refused():
    with pytest.raises(InputError, match="kept draws"):
        plausibility(xr.Dataset())
    with pytest.raises(InputError, match="covering 2025 and 2030"):
        plausibility(_draws().sel(year=[2030]))
