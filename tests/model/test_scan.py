"""Tests of the model over a horizon (mcbattery.model.scan)."""

from __future__ import annotations

import jax
import numpy as np
import pytest

from mcbattery.model import pipeline
from mcbattery.model.outputs import OUTPUTS
from mcbattery.model.params import group
from mcbattery.model.scan import announced_tranche, initial_pipeline, prepare, simulate, start_conditions
from mcbattery.model.step import ANNOUNCED_UNTIL, context, row_lead_times


def test_one_draw_has_every_output_with_its_dims(one_draw):
    params, normals, uniforms, history, coords, start_year = one_draw
    out = simulate(params, normals, uniforms, history, coords, start_year)
    assert set(out) == set(OUTPUTS)
    for name, spec in OUTPUTS.items():
        assert out[name].shape == (6, *coords.shape(spec.dims)), name
        assert np.all(np.isfinite(np.asarray(out[name]))), name
    again = jax.jit(simulate, static_argnums=(4, 5))(params, normals, uniforms, history, coords, start_year)
    np.testing.assert_allclose(np.asarray(again["material_price"]), np.asarray(out["material_price"]), rtol=1e-5)


def test_numpy_batch_with_draws_last_matches_the_jax_draw(one_draw):
    """The same code on NumPy arrays (draws last, a Python loop over years) gives the JAX draw."""
    params, normals, uniforms, history, coords, start_year = one_draw
    out = simulate(params, normals, uniforms, history, coords, start_year)
    np_params = {k: np.asarray(v, np.float32)[..., None] for k, v in params.items()}
    np_out = simulate(np_params, np.asarray(normals)[..., None], np.asarray(uniforms)[..., None],
                      np.asarray(history)[:, None], coords, start_year)
    for name in ("material_price", "cell_cost", "cell_price", "demand", "unmet_share", "cell_capacity"):
        np.testing.assert_allclose(np_out[name][..., 0], np.asarray(out[name]), rtol=2e-3, atol=1e-4, err_msg=name)


def test_start_conditions_clear_the_market_at_the_start_price(one_draw):
    """Mine capacity at the start is what the start price calls for: output = demand at that
    price, utilisation as the supply curve says (capped at its maximum)."""
    params, _, _, _, coords, start_year = one_draw
    p = group(params)
    start = start_conditions(p, context(coords, start_year))
    assert np.all(np.asarray(start["mining"]) > 0) and np.all(np.asarray(start["material_demand"]) > 0)
    assert start["d0"].shape == (coords.size("segment"), coords.size("region"))
    np.testing.assert_allclose(start["d_region"], np.asarray(start["d0"]).sum(axis=0), rtol=1e-6)
    assert float(start["pack_price"]) > float(np.min(np.asarray(start["cost"])))


def test_initial_pipeline_and_announced_tranche(one_draw):
    params, _, _, history, coords, start_year = one_draw
    p = group(params)
    ctx, _ = prepare(p, history, coords, start_year)
    pipe = np.asarray(initial_pipeline(p, ctx))
    M = coords.size("material")
    assert pipe.shape == (2 * M + 1 + coords.size("region"), pipeline.LENGTH)
    assert np.all(pipe[2 * M:] == 0.0)  # no committed cell or recycling projects: cells come from announcements
    # committed mines: growth of start capacity for one lead time, then nothing
    lead = np.round(np.asarray(row_lead_times(p, ctx)))
    for m in range(M):
        g = float(params["mining_committed_growth"][m])
        assert pipe[m, 0] == pytest.approx(float(ctx.mining_start[m]) * g, rel=1e-5)
        assert np.all(pipe[m, int(lead[m]):] == 0.0)
    tranche = np.asarray(announced_tranche(p, start_year))
    gap = np.maximum(np.asarray(params["cell_capacity_announced_2030"]) - np.asarray(params["cell_capacity_start"]), 0)
    np.testing.assert_allclose(tranche, gap / (ANNOUNCED_UNTIL - start_year + 1), rtol=1e-6)
