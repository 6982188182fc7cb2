"""Tests of one year of the value chain (mcbattery.model.step)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from mcbattery.model.outputs import OUTPUTS
from mcbattery.model.params import group
from mcbattery.model.scan import prepare
from mcbattery.model.state import YearInputs
from mcbattery.model.step import SHORTAGE_LEVEL, context, step


def _start(one_draw):
    params, normals, uniforms, history, coords, start_year = one_draw
    p = group(params)
    ctx, s0 = prepare(p, history, coords, start_year)
    return p, ctx, s0, normals, uniforms, coords


def test_context_names_its_positions(one_draw):
    *_, coords, start_year = one_draw
    ctx = context(coords, start_year)
    assert ctx.start_year == start_year and ctx.exporter == coords.exporter
    assert (ctx.mining, ctx.refining, ctx.cells, ctx.recycling) == tuple(
        coords.at("stage", s) for s in ("mining", "refining", "cells", "recycling"))
    M, R = coords.size("material"), coords.size("region")
    assert (ctx.n_materials, ctx.n_regions) == (M, R)
    assert list(ctx.row_stage) == [ctx.mining] * M + [ctx.refining] * M + [ctx.recycling] + [ctx.cells] * R


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
    """Shares sum to one, utilisations and fractions lie in [0, 1], world demand is the sum of
    segments, a shortage year is one with more than SHORTAGE_LEVEL of demand unmet, and the
    deployment history moves by one year."""
    p, ctx, s, normals, uniforms, coords = _start(one_draw)
    for t in range(3):
        prev = s
        s, out = step(s, YearInputs(jnp.int32(t), normals[t], uniforms[t]), p, ctx)
        np.testing.assert_allclose(np.asarray(out["chemistry_share"]).sum(axis=-1), 1.0, atol=1e-5)
        np.testing.assert_allclose(float(out["chemistry_share_world"].sum()), 1.0, atol=1e-5)
        for name in ("utilization_world", "cell_utilization", "import_share", "unmet_share", "cell_supply_gap",
                     "scrap_rate", "recycled_share"):
            x = np.asarray(out[name])
            assert np.all((x >= -1e-6) & (x <= 1 + 1e-6)), name
        np.testing.assert_allclose(np.asarray(out["demand_world"]), np.asarray(out["demand"]).sum(axis=1), rtol=1e-6)
        short = np.asarray(out["unmet_share"]) > SHORTAGE_LEVEL
        np.testing.assert_array_equal(np.asarray(s.shortage.years), np.asarray(prev.shortage.years) + short)
        assert np.all(np.asarray(out["material_price"]) > 0)
        np.testing.assert_allclose(np.asarray(s.recycling.deployments[1:]), np.asarray(prev.recycling.deployments[:-1]),
                                   rtol=1e-6)
