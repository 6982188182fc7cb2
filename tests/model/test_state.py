"""Tests of the model's state between years (mcbattery.model.state): a pytree grouped by
mechanism, with the documented shapes."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from mcbattery.model import pipeline, recycling
from mcbattery.model.params import group
from mcbattery.model.scan import prepare
from mcbattery.model.state import State, YearInputs


def _state(one_draw):
    params, _, _, history, coords, start_year = one_draw
    return prepare(group(params), history, coords, start_year)[1], coords


def test_initial_state_has_the_documented_shapes(one_draw):
    s, coords = _state(one_draw)
    assert isinstance(s, State) and State._fields == ("demand", "chemistry", "materials", "costs", "cells", "recycling",
                                                      "shortage", "pipeline")
    n = coords.size
    assert s.demand.growth_shock.shape == s.demand.base.shape == (n("segment"),) and s.demand.other_shock.shape == (n("material"),)
    assert s.chemistry.share.shape == (n("segment"), n("region"), n("chemistry"))
    assert s.chemistry.cell_cost.shape == (n("region"), n("chemistry"))
    for field in s.materials:
        assert field.shape == (n("material"),)
    for field in s.costs:
        assert field.shape == (n("chemistry"),)
    for name in ("capacity", "utilization", "scrap", "losses", "domestic_cost", "landed_cost"):
        assert getattr(s.cells, name).shape == (n("region"),), name
    assert s.cells.growth.shape == s.cells.demand.shape == s.recycling.capacity.shape == ()
    assert s.recycling.deployments.shape == (recycling.HISTORY,)
    assert s.shortage.years.shape == s.shortage.first.shape == (n("material"),)
    assert s.pipeline.shape == (2 * n("material") + 1 + n("region"), pipeline.LENGTH)


def test_initial_state_starts_at_the_priors(one_draw):
    """Start prices, capacities and shares are the priors' values; nothing is remembered yet."""
    params, _, _, history, coords, start_year = one_draw
    s, _ = _state(one_draw)
    np.testing.assert_allclose(s.materials.price, params["price_start"], rtol=1e-6)
    np.testing.assert_allclose(s.cells.capacity, params["cell_capacity_start"], rtol=1e-6)
    np.testing.assert_allclose(s.chemistry.share, params["chemistry_share_start"], rtol=1e-6)
    assert np.all(np.asarray(s.cells.losses) == 0) and np.all(np.asarray(s.shortage.years) == 0)
    assert np.all(np.asarray(s.materials.mining) > 0) and np.all(np.asarray(s.materials.stocks) > 0)


def test_state_is_a_pytree(one_draw):
    s, _ = _state(one_draw)
    leaves, tree = jax.tree_util.tree_flatten(s)
    assert len(leaves) == sum(len(part) for part in s[:-1]) + 1  # every array of every mechanism
    doubled = jax.tree_util.tree_map(lambda x: 2 * x, s)
    assert jax.tree_util.tree_structure(doubled) == tree and isinstance(doubled, State)
    np.testing.assert_allclose(doubled.materials.price, 2 * np.asarray(s.materials.price), rtol=1e-6)
    y = YearInputs(jnp.int32(0), jnp.zeros(3), jnp.zeros(2))
    assert len(jax.tree_util.tree_leaves(y)) == 3
