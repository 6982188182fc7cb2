"""Tests of the model's state between years (mcbattery.model.state): a pytree grouped by
mechanism, with the documented shapes."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from mcbattery.model import pipeline, recycling
from mcbattery.model.params import group
from mcbattery.model.scan import initial_state
from mcbattery.model.state import State, YearInputs
from mcbattery.model.step import context


def test_initial_state_has_the_documented_shapes(one_draw):
    params, _, _, history, coords, start_year = one_draw
    s = initial_state(group(params), history, context(coords, start_year))
    assert isinstance(s, State) and State._fields == ("demand", "price", "costs", "supply", "expectations", "deployments")
    n = coords.size
    assert s.demand.shock.shape == (n("segment"),)
    assert s.price.log_price.shape == s.price.boom.shape == s.price.log_price_year.shape == ()
    for field in s.costs:
        assert field.shape == (n("chemistry"),)
    assert s.supply.lithium_capacity.shape == (3,) and s.supply.cell_capacity.shape == (n("region"),)
    assert s.supply.pipeline.shape == (3 + n("region"), pipeline.LENGTH)
    assert s.supply.cell_utilization.shape == s.supply.scrap.shape == (n("region"),)
    assert all(x.shape == () for x in s.expectations)
    assert s.deployments.shape == (recycling.HISTORY,)


def test_state_is_a_pytree(one_draw):
    params, _, _, history, coords, start_year = one_draw
    s = initial_state(group(params), history, context(coords, start_year))
    leaves, tree = jax.tree_util.tree_flatten(s)
    assert len(leaves) == sum(len(part) for part in s[:-1]) + 1  # every array of every mechanism
    doubled = jax.tree_util.tree_map(lambda x: 2 * x, s)
    assert jax.tree_util.tree_structure(doubled) == tree and isinstance(doubled, State)
    assert float(doubled.price.log_price) == 2 * float(s.price.log_price)
    y = YearInputs(jnp.int32(0), jnp.zeros(3), jnp.zeros(2))
    assert len(jax.tree_util.tree_leaves(y)) == 3
