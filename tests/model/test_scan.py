"""Tests of the model over a horizon (mcbattery.model.scan)."""

from __future__ import annotations

import jax
import numpy as np
import pytest

from mcbattery.model import pipeline
from mcbattery.model.outputs import OUTPUTS
from mcbattery.model.params import group
from mcbattery.model.scan import announced_tranche, initial_pipeline, simulate
from mcbattery.model.step import ANNOUNCED_UNTIL, context


def test_one_draw_has_every_output_with_its_dims(one_draw):
    params, normals, uniforms, history, coords, start_year = one_draw
    out = simulate(params, normals, uniforms, history, coords, start_year)
    assert set(out) == set(OUTPUTS)
    for name, spec in OUTPUTS.items():
        assert out[name].shape == (6, *coords.shape(spec.dims)), name
        assert np.all(np.isfinite(np.asarray(out[name]))), name
    again = jax.jit(simulate, static_argnums=(4, 5))(params, normals, uniforms, history, coords, start_year)
    np.testing.assert_allclose(np.asarray(again["lithium_price"]), np.asarray(out["lithium_price"]), rtol=1e-5)


def test_numpy_batch_with_draws_last_matches_the_jax_draw(one_draw):
    """The same code on NumPy arrays (draws last, a Python loop over years) gives the JAX draw."""
    params, normals, uniforms, history, coords, start_year = one_draw
    out = simulate(params, normals, uniforms, history, coords, start_year)
    np_params = {k: np.asarray(v, np.float32)[..., None] for k, v in params.items()}
    np_out = simulate(np_params, np.asarray(normals)[..., None], np.asarray(uniforms)[..., None],
                      np.asarray(history)[:, None], coords, start_year)
    for name in ("lithium_price", "cell_cost", "demand", "shortage"):
        np.testing.assert_allclose(np_out[name][..., 0], np.asarray(out[name]), rtol=2e-3, atol=1e-5, err_msg=name)


def test_initial_pipeline_and_announced_tranche(one_draw):
    params, _, _, _, coords, start_year = one_draw
    p = group(params)
    ctx = context(coords, start_year)
    pipe = np.asarray(initial_pipeline(p, ctx))
    assert pipe.shape == (3 + coords.size("region"), pipeline.LENGTH)
    assert np.all(pipe[3:] == 0.0)  # no committed cell projects: cells come from announcements
    mining = float(params["mining_capacity_start"]) * float(params["committed_growth"][coords.at("stage", "mining")])
    assert pipe[0, 0] == pytest.approx(mining, rel=1e-5)
    tranche = np.asarray(announced_tranche(p, start_year))
    gap = np.maximum(np.asarray(params["cell_capacity_announced_2030"]) - np.asarray(params["cell_capacity_start"]), 0)
    np.testing.assert_allclose(tranche, gap / (ANNOUNCED_UNTIL - start_year + 1), rtol=1e-6)
