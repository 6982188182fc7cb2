"""Tests of running the model on given parameters and draw indices (mcbattery.engine.direct)."""

from __future__ import annotations

import numpy as np
import pytest

import mcbattery
from mcbattery.engine import direct


def test_helpers_reproduce_the_engine_draws(baseline_small):
    """The cached sampler/simulator give the forecast's own draws (seed 7, draws 0..511)."""
    pri = baseline_small.priors
    par = direct.sample_rows(pri, np.arange(512), seed=7)
    out = direct.simulate_rows(par, np.arange(512), 7, 2025, 2040)
    kept = baseline_small.draws
    # two compiled programs (other batch shapes): float32 rounding, compounded over 16 years
    for name in ("material_price", "cell_cost", "demand", "cell_capacity", "scrap_rate"):
        np.testing.assert_allclose(out[name], kept[name].values, rtol=5e-4, err_msg=name)
    # a row's noise follows its noise index, not its position
    swapped = direct.simulate_rows({k: v[[1, 0]] for k, v in par.items()}, np.array([1, 0]), 7, 2025, 2040)
    np.testing.assert_allclose(swapped["material_price"][0], out["material_price"][1], rtol=1e-5)
    assert not np.allclose(swapped["material_price"][0], out["material_price"][0])


def test_rows_do_not_depend_on_the_batch_size():
    pri = mcbattery.load_scenario("baseline")
    idx = np.array([5, 900, 3, 3, 700])
    a = direct.sample_rows(pri, idx, seed=2, batch=256)
    b = direct.sample_rows(pri, idx, seed=2, batch=1024)
    c = direct.sample_draws(pri, idx, seed=2)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])
        np.testing.assert_array_equal(a[k], c[k])
    np.testing.assert_array_equal(a["price_reversion"][2], a["price_reversion"][3])  # same index, same draw
    out = direct.simulate_rows(a, idx, 2, 2025, 2030, batch=256, keep=("material_price",))
    assert set(out) == {"material_price"} and out["material_price"].shape == (5, 6, 4)


def test_sample_and_simulate_params_are_the_runs_draws():
    pri = mcbattery.load_scenario("baseline")
    p = direct.sample_params(pri, 4, seed=3, start=10)
    q = direct.sample_draws(pri, np.arange(10, 14), seed=3)
    for k in p:
        np.testing.assert_array_equal(p[k], q[k])
    out = direct.simulate_params(pri, {"price_reversion": p["price_reversion"]}, seed=3, start=10, end_year=2027)
    assert out["material_price"].shape == (4, 3, len(pri.coords["material"]))
    ref = direct.simulate_draws(p, np.arange(10, 14), 3, 2025, 2027)
    np.testing.assert_array_equal(out["material_price"], ref["material_price"])


@pytest.mark.parametrize("chunk, total, rows", [(1, None, 256), (300, None, 512), (4096, 10, 256),
                                                (4096, 700, 1024), (5000, 10**6, 5120)])
def test_chunk_rows_come_from_a_short_list_of_shapes(chunk, total, rows):
    assert direct.chunk_rows(chunk, total) == rows


def test_all_finite_and_x64():
    out = {"a": np.array([[1.0, 2.0], [np.nan, 0.0], [3.0, 4.0]]), "b": np.array([1.0, 2.0, np.inf])}
    np.testing.assert_array_equal(direct.all_finite(out), [True, False, False])
    import jax.numpy as jnp

    with direct.x64("float64"):
        assert jnp.zeros(1, jnp.float64).dtype == jnp.float64
    assert jnp.zeros(1).dtype == jnp.float32  # never process-wide
