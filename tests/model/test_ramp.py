"""Analytic limits of :mod:`mcbattery.model.ramp`: the block alone, with exact expectations."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

from mcbattery.model import ramp
from mcbattery.model.params import block


def test_ramp_single_plant_and_fleet_mix():
    traj = ramp.plant_trajectory(0.8, 0.05, 0.5, 1.0, 4)
    assert np.asarray(traj) == pytest.approx(0.05 + 0.75 * np.exp(-0.5 * np.arange(4)), rel=1e-6)
    p = block("ramp", {"scrap_floor": jnp.array([0.05]), "scrap_learning_rate": jnp.array([0.5]), "scrap_new_plant": jnp.array([0.8])})
    s = ramp.step(p, jnp.array([0.05]), jnp.array([100.0]), jnp.array([100.0]), jnp.array([1.0]))
    assert float(s[0]) == pytest.approx((0.05 + 0.8) / 2)
