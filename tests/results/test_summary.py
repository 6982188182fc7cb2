"""Histogram quantiles: exact to within one bin, with under/overflow falling back on min/max."""

from __future__ import annotations

import numpy as np
import pytest

from mcbattery.model.outputs import BINS, OUTPUTS, edges, quantile_error_bound
from mcbattery.results.summary import histogram_quantiles


def _hist(x, e):
    idx = np.clip(np.searchsorted(e, x, side="right"), 0, BINS + 1)
    return np.bincount(idx, minlength=BINS + 2)[None, :]


@pytest.mark.parametrize("name", ["material_price", "unmet_share", "cost_gap"])
def test_quantiles_within_one_bin(name):
    spec = OUTPUTS[name]
    e = edges(spec)
    rng = np.random.default_rng(0)
    lo, hi = spec.grid[1], spec.grid[2]
    if spec.grid[0] == "log":
        x = np.exp(rng.uniform(np.log(lo) + 1, np.log(hi) - 1, 5000))
    else:
        x = rng.uniform(lo + 0.1 * (hi - lo), hi - 0.1 * (hi - lo), 5000)
    qs = (0.05, 0.5, 0.95)
    got = histogram_quantiles(_hist(x, e), e, np.array([x.min()]), np.array([x.max()]), qs, spec.grid[0] == "log")[:, 0]
    exact = np.quantile(x, qs, method="inverted_cdf")
    width = np.diff(e)[np.clip(np.searchsorted(e, exact) - 1, 0, BINS - 1)]
    assert np.all(np.abs(got - exact) <= width * 1.0001)
    assert quantile_error_bound(spec)


def test_out_of_grid_values_use_min_and_max():
    spec = OUTPUTS["material_price"]
    e = edges(spec)
    lo, hi = spec.grid[1], spec.grid[2]
    assert lo > 50.0 and hi < 2e7, "the values below must lie outside the grid"
    x = np.array([20.0, 50.0, 300.0, 2e7, 3e7])  # two below, two above the grid
    got = histogram_quantiles(_hist(x, e), e, np.array([20.0]), np.array([3e7]), (0.0001, 0.9999), True)[:, 0]
    assert 20.0 <= got[0] < e[0]
    assert e[-1] < got[1] <= 3e7


def test_point_mass_at_grid_edge_is_exact():
    spec = OUTPUTS["shortage_ever"]  # 0/1 indicator on a [0, 1] grid: 1.0 falls in the overflow bin
    e = edges(spec)
    x = np.array([0.0] * 90 + [1.0] * 10)
    got = histogram_quantiles(_hist(x, e), e, np.array([0.0]), np.array([1.0]), (0.5, 0.95), False)[:, 0]
    assert got[0] == pytest.approx(0.0, abs=1 / BINS)
    assert got[1] == pytest.approx(1.0)


def test_empty_column_gives_nan():
    spec = OUTPUTS["unmet_share"]
    e = edges(spec)
    got = histogram_quantiles(np.zeros((1, BINS + 2), dtype=np.int64), e, np.array([np.inf]), np.array([-np.inf]), (0.5,), False)
    assert np.isnan(got).all()
