"""Analytic limits of :mod:`mcbattery.model.costs`: the block alone, with exact expectations."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

from mcbattery.model import costs
from mcbattery.model.params import block


def test_wrights_law_exact_without_noise():
    # doubling cumulative production with b = log2(1/(1-0.2)) cuts cost by exactly 20%
    b = -np.log2(0.8)
    f = costs.learning_factor(jnp.array(2000.0), jnp.array(1000.0), jnp.array(b))
    assert float(f) == pytest.approx(0.8, rel=1e-6)
    p = block("costs", {"cost_noise_sd": jnp.zeros(3), "cost_noise_autocorrelation": jnp.array(0.19)})
    nu, u = costs.noise_step(p, jnp.zeros(3), jnp.zeros(3), jnp.ones(3))
    assert np.all(np.asarray(nu) == 0) and np.all(np.asarray(u) == 0)


def test_cost_noise_is_integrated_ma1():
    p = block("costs", {"cost_noise_sd": jnp.array([1.0]), "cost_noise_autocorrelation": jnp.array(0.5)})
    nu, u = jnp.zeros(1), jnp.zeros(1)
    eps = [1.0, 0.0, 0.0]
    path = []
    for e in eps:
        nu, u = costs.noise_step(p, nu, u, jnp.array([e]))
        path.append(float(nu[0]))
    assert path == pytest.approx([1.0, 1.5, 1.5])


def test_cell_cost_composition_and_yield():
    p = block("costs", {
        "cumulative_production_start": jnp.array([1.0, 1.0, 1.0]),
        "other_materials_cost_start": jnp.array([10.0, 20.0, 30.0]),
        "conversion_cost_start": jnp.array([5.0, 5.0, 5.0]),
        "materials_learning_exponent": jnp.zeros(3),
        "conversion_learning_exponent": jnp.zeros(3),
        "materials_cost_multiplier": jnp.array([2.0, 2.0, 4.0, 2.0]),
        "conversion_cost_multiplier": jnp.ones((4, 3)).at[1].set(3.0),
    })
    cell = costs.cell_costs(p, jnp.ones(3), jnp.zeros(3), jnp.array(10000.0), jnp.array([500.0, 600.0, 0.0]),
                            jnp.array([1.0, 0.5, 1.0, 1.0]), exporter=0)
    # China (reference): lithium 10,000 USD/t x 500 t/GWh = 5 USD/kWh
    assert np.asarray(cell[0]) == pytest.approx([5 + 10 + 5, 6 + 20 + 5, 0 + 30 + 5])
    # US: conversion x3, yield 0.5 doubles the cost
    assert np.asarray(cell[1]) == pytest.approx(2 * np.array([5 + 10 + 15, 6 + 20 + 15, 30 + 15]))
    # EU: materials multiplier 4 relative to China's 2
    assert float(cell[2, 0]) == pytest.approx(5 + 20 + 5)
