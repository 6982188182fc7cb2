"""Analytic limits of :mod:`mcbattery.model.trade`: the block alone, with exact expectations."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

from mcbattery.model import trade
from mcbattery.model.params import block


def test_trade_allocation_conserves_cells():
    p = block("policy", {"home_bias": jnp.array([1.0, 0.3, 0.2, 0.3]), "cost_dispersion": jnp.array(0.1)})
    demand_r = jnp.array([500.0, 100.0, 150.0, 80.0])
    cap = jnp.array([1000.0, 60.0, 100.0, 100.0])
    yld = jnp.array([0.95, 0.7, 0.8, 0.9])
    prod, imp, gap = trade.allocate(p, demand_r, cap, yld, jnp.array([50.0, 70, 60, 55]), jnp.array([50.0, 80, 55, 53]), 0.9, jnp.ones(4), exporter=0)
    assert float(prod.sum()) == pytest.approx(float(demand_r.sum()) * (1 - float(gap)), rel=1e-5)
    assert float(gap) == 0.0
    assert np.all(np.asarray(prod) <= np.asarray(cap * 0.9 * yld) + 1e-3)
    # not enough capacity anywhere: the gap is the shortfall
    prod, imp, gap = trade.allocate(p, demand_r * 10, cap, yld, jnp.full(4, 50.0), jnp.full(4, 50.0), 0.9, jnp.ones(4), exporter=0)
    assert float(gap) == pytest.approx(1 - float((cap * 0.9 * yld).sum()) / float(demand_r.sum() * 10), rel=1e-4)


def test_a_quota_blocks_imports_beyond_it_and_leaves_a_gap_when_capacity_is_short():
    p = block("policy", {"home_bias": jnp.array([1.0, 0.0, 0.0, 0.0]), "cost_dispersion": jnp.array(0.1)})
    demand_r = jnp.array([500.0, 100.0, 150.0, 80.0])
    cap = jnp.array([2000.0, 60.0, 400.0, 200.0])
    yld = jnp.ones(4)
    cheap_imports = (jnp.full(4, 80.0), jnp.full(4, 50.0))
    free = trade.allocate(p, demand_r, cap, yld, *cheap_imports, 1.0, jnp.ones(4), exporter=0)
    capped = trade.allocate(p, demand_r, cap, yld, *cheap_imports, 1.0, jnp.array([1.0, 0.2, 0.2, 1.0]), exporter=0)
    assert float(capped[1][1]) == pytest.approx(0.2, abs=1e-5) and float(capped[1][2]) == pytest.approx(0.2, abs=1e-5)
    assert float(free[1][1]) > 0.5
    # the US can only make 60 of its 80 domestic GWh: 20 GWh (of 830) unmet
    assert float(capped[2]) == pytest.approx(20.0 / 830.0, rel=1e-4)
