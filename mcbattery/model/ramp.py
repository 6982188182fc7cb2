"""Factory ramp-up: scrap rates that fall with experience towards a regional floor.

Each region's scrap rate is the capacity-weighted mix of experienced lines and new lines,
which enter at the new-plant scrap rate (40-90 % for newcomers, source 003). Experience
accrues with running hours, so the gap to the floor shrinks by exp(-rate x utilisation).
"""

from __future__ import annotations

import jax.numpy as jnp

from mcbattery.model import ops


def step(p, scrap, capacity_before, new_capacity, utilization):
    """Scrap rate per region after one year of running at ``utilization`` and adding
    ``new_capacity`` (GWh/yr) to ``capacity_before`` (GWh/yr)."""
    xp = ops.xp(scrap)
    floor = p.scrap_floor
    learned = floor + (scrap - floor) * xp.exp(-p.scrap_learning_rate * utilization)
    total = capacity_before + new_capacity
    mixed = (capacity_before * learned + new_capacity * p.scrap_new_plant) / xp.maximum(total, 1e-9)
    return xp.clip(mixed, 0.0, 0.99)


def plant_trajectory(scrap_new_plant, scrap_floor, rate, utilization, years):
    """Scrap rate of one new plant over its first ``years`` years (year 0 = first year),
    running at a constant ``utilization``. Scalars or broadcastable arrays."""
    age = jnp.arange(years)
    shape = jnp.broadcast_shapes(jnp.shape(scrap_new_plant), jnp.shape(scrap_floor), jnp.shape(rate))
    age = age.reshape((-1,) + (1,) * len(shape))
    return scrap_floor + (scrap_new_plant - scrap_floor) * jnp.exp(-rate * utilization * age)
