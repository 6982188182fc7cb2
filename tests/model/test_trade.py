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
    prod, imp, gap = trade.allocate(p, demand_r, cap, yld, jnp.array([50.0, 70, 60, 55]), jnp.array([50.0, 80, 55, 53]), 0.9, exporter=0)
    assert float(prod.sum()) == pytest.approx(float(demand_r.sum()) * (1 - float(gap)), rel=1e-5)
    assert float(gap) == 0.0
    assert np.all(np.asarray(prod) <= np.asarray(cap * 0.9 * yld) + 1e-3)
    # not enough capacity anywhere: the gap is the shortfall
    prod, imp, gap = trade.allocate(p, demand_r * 10, cap, yld, jnp.full(4, 50.0), jnp.full(4, 50.0), 0.9, exporter=0)
    assert float(gap) == pytest.approx(1 - float((cap * 0.9 * yld).sum()) / float(demand_r.sum() * 10), rel=1e-4)


def test_production_credit_phase_out():
    p = block("policy", {"production_credit": jnp.array([0.0, 35.0]), "production_credit_end_year": jnp.array([2040.0, 2033.0]), "production_credit_phase_out": jnp.array([0.0, 4.0])})
    got = [float(trade.credit(p, float(y))[1]) for y in (2029, 2030, 2031, 2032, 2033)]
    assert got == pytest.approx([35.0, 26.25, 17.5, 8.75, 0.0])


def test_tariff_raises_landed_cost():
    p = block("policy", {"import_tariff": jnp.array([0.0, 0.5, 0.0, 0.1]), "transport_cost": jnp.array(3.0)})
    cell = jnp.full((4, 3), 60.0).at[0].set(40.0)
    landed = np.asarray(trade.import_cost(p, cell, exporter=0))
    assert landed[:, 0].tolist() == pytest.approx([40.0, 63.0, 43.0, 47.0])
