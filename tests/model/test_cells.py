"""Analytic limits of :mod:`mcbattery.model.cells`: margins, prices, operating margins, closures."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

from mcbattery.model import cells
from mcbattery.model.params import block


def _p(**over):
    values = {"cell_margin_reference": 0.10, "cell_margin_slope": 1.0, "reference_cell_utilization": 0.8,
              "cell_margin_max": 0.5, "cell_closure_rate": 0.3, "loss_memory": 0.5}
    values.update(over)
    return block("cells", {k: jnp.asarray(v) for k, v in values.items()}, fill=0.0)


def test_margin_follows_world_utilisation_within_its_bounds():
    p = _p()
    u = jnp.array([0.0, 0.3, 0.8, 0.9, 1.0])
    mu = np.asarray(cells.margin(p, u))
    np.testing.assert_allclose(mu, [-0.7, -0.4, 0.1, 0.2, 0.3], atol=1e-6)
    assert float(cells.margin(_p(cell_margin_slope=5.0), jnp.array(1.0))) == pytest.approx(0.5)
    assert float(cells.margin(_p(cell_margin_slope=5.0), jnp.array(0.0))) == pytest.approx(-1.0)


def test_prices_floor_the_world_price_at_cash_cost_and_cap_domestic_prices_at_imports():
    # regions CN (exporter), US, EU; chemistries LFP, NMC
    cost = jnp.array([[50.0, 60.0], [80.0, 90.0], [60.0, 70.0]])
    capital = 0.2 * cost
    tariff = jnp.array([0.0, 1.0, 0.0])
    transport = 2.0
    # healthy market: 10% over full cost everywhere, imports land with tariff and transport
    world, landed, domestic, cash = cells.prices(cost, capital, 0.1, tariff, transport, exporter=0)
    np.testing.assert_allclose(world, [55.0, 66.0], rtol=1e-6)
    np.testing.assert_allclose(landed[1], [112.0, 134.0], rtol=1e-6)
    np.testing.assert_allclose(landed[2], [57.0, 68.0], rtol=1e-6)
    np.testing.assert_allclose(landed[0], world, rtol=1e-6)
    np.testing.assert_allclose(domestic[1], [88.0, 99.0], rtol=1e-6)  # protected: own price
    np.testing.assert_allclose(domestic[2], [57.0, 68.0], rtol=1e-6)  # must meet imports
    np.testing.assert_allclose(cash, 0.8 * cost, rtol=1e-6)
    # price war: the exporter sells at cash cost; the EU meets landed imports below its own cash cost
    world, landed, domestic, cash = cells.prices(cost, capital, -0.9, tariff, transport, exporter=0)
    np.testing.assert_allclose(world, [40.0, 48.0], rtol=1e-6)
    np.testing.assert_allclose(domestic[2], [42.0, 50.0], rtol=1e-6)
    assert np.all(np.asarray(domestic[2]) < np.asarray(cash[2]))


def test_operating_margin_is_mix_weighted_revenue_with_credits_over_full_cost():
    price = jnp.array([[55.0, 66.0], [60.0, 60.0]])
    cost = jnp.array([[50.0, 60.0], [80.0, 80.0]])
    mix = jnp.array([[0.5, 0.5], [1.0, 0.0]])
    m = np.asarray(cells.operating_margin(price, cost, jnp.array([0.0, 10.0]), mix))
    np.testing.assert_allclose(m, [0.1, 70.0 / 80.0 - 1.0], rtol=1e-6)


def test_closure_remembers_losses_and_closes_in_proportion():
    p = _p()
    losses = jnp.zeros(2)
    margins = jnp.array([0.2, -0.15])
    for year in range(30):
        losses, closed = cells.closure(p, losses, margins)
    # steady state: loss = 0.15 / (1 - memory) = 0.3, closure = 0.3 x 0.3
    np.testing.assert_allclose(losses, [0.0, 0.3], atol=1e-6)
    np.testing.assert_allclose(closed, [0.0, 0.09], atol=1e-6)
    _, closed = cells.closure(_p(cell_closure_rate=1.0), jnp.array([0.0, 5.0]), margins)
    assert float(closed[1]) == pytest.approx(0.5)  # never more than half a region's capacity in a year
