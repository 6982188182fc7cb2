"""Tests of one year of the value chain (mcbattery.model.step)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from mcbattery.model import recycling
from mcbattery.model.outputs import OUTPUTS
from mcbattery.model.params import group
from mcbattery.model.scan import announced_tranche, initial_state
from mcbattery.model.state import YearInputs
from mcbattery.model.step import context, step


def _start(one_draw):
    params, normals, uniforms, history, coords, start_year = one_draw
    p = group(params)
    ctx = context(coords, start_year)._replace(retirement_pmf=recycling.retirement_pmf(p.recycling),
                                               tranche=announced_tranche(p, start_year) * p.supply.announced_completion)
    return p, ctx, initial_state(p, history, ctx), normals, uniforms, coords


def test_context_names_its_positions(one_draw):
    *_, coords, start_year = one_draw
    ctx = context(coords, start_year)
    assert ctx.start_year == start_year and ctx.exporter == coords.exporter
    assert (ctx.mining, ctx.cells) == (coords.at("stage", "mining"), coords.at("stage", "cells"))
    assert list(ctx.row_stage[:3]) == [ctx.mining, ctx.refining, ctx.recycling]
    assert list(ctx.row_stage[3:]) == [ctx.cells] * coords.size("region")
    np.testing.assert_array_equal(ctx.lithium_free, coords.mask("chemistry", "lithium_free"))


def test_a_step_keeps_the_state_structure_and_reports_every_output(one_draw):
    p, ctx, s0, normals, uniforms, coords = _start(one_draw)
    s1, out = step(s0, YearInputs(jnp.int32(0), normals[0], uniforms[0]), p, ctx)
    assert jax.tree_util.tree_structure(s1) == jax.tree_util.tree_structure(s0)
    for a, b in zip(jax.tree_util.tree_leaves(s0), jax.tree_util.tree_leaves(s1)):
        assert a.shape == b.shape
    assert set(out) == set(OUTPUTS)
    for name, spec in OUTPUTS.items():
        assert out[name].shape == coords.shape(spec.dims), name


def test_balances_and_bounds_hold(one_draw):
    """Shares sum to one, utilisations and fractions lie in [0, 1], the shortage is what the
    lithium balance says, and the deployment history moves by one year."""
    p, ctx, s, normals, uniforms, coords = _start(one_draw)
    for t in range(3):
        prev = s
        s, out = step(s, YearInputs(jnp.int32(t), normals[t], uniforms[t]), p, ctx)
        assert abs(float(out["chemistry_share"].sum()) - 1) < 1e-5
        for name in ("utilization", "cell_utilization", "import_share", "shortage", "cell_supply_gap", "scrap_rate",
                     "recycled_share", "price_boom"):
            x = np.asarray(out[name])
            assert np.all((x >= -1e-6) & (x <= 1 + 1e-6)), name
        np.testing.assert_allclose(
            float(out["shortage"]), np.clip(1 - float(out["lithium_supply"]) / float(out["lithium_demand"]), 0, 1), atol=1e-5)
        np.testing.assert_allclose(np.asarray(s.deployments[1:]), np.asarray(prev.deployments[:-1]), rtol=1e-6)
        np.testing.assert_allclose(float(s.deployments[0]), float(out["cell_production"].sum()), rtol=1e-5)
