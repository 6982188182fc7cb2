"""Tests of the array operations shared by the JAX and NumPy paths (mcbattery.model.ops): the
NumPy path (draws last) gives what the JAX path gives one draw at a time."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mcbattery.model import ops

RNG = np.random.default_rng(0)


def test_xp_dispatch():
    assert ops.xp(np.ones(2)) is np and ops.xp(np.ones(2), jnp.ones(2)) is jnp
    assert ops.batch_ndim(jnp.float32(1.0)) == 0 and ops.batch_ndim(np.ones(5)) == 1


@pytest.mark.parametrize("fn", ["sigmoid", "softplus", "gammaln"])
def test_elementwise_functions_agree(fn):
    x = RNG.uniform(0.1, 4.0, 7)
    np.testing.assert_allclose(getattr(ops, fn)(x), np.asarray(getattr(ops, fn)(jnp.asarray(x))), rtol=1e-5)


def test_softmax_over_a_dimension_with_draws_last():
    x = RNG.standard_normal((4, 6))  # (chemistry, draws)
    got = ops.softmax(x, axis=0)
    np.testing.assert_allclose(got.sum(axis=0), 1.0)
    for j in range(6):
        np.testing.assert_allclose(got[:, j], np.asarray(ops.softmax(jnp.asarray(x[:, j]), axis=0)), rtol=1e-5)


def test_small_axis_sum_and_max_draw_by_draw_and_in_index_order():
    x = RNG.standard_normal((3, 16, 4))  # (e.g. region, pipeline slot, draws)
    for axis in (0, 1):
        tot, big = ops.total(x, axis), ops.largest(x, axis)
        np.testing.assert_allclose(tot, x.sum(axis=axis))
        np.testing.assert_array_equal(big, x.max(axis=axis))
        for j in range(4):
            xj = jnp.asarray(x[..., j], jnp.float32)
            np.testing.assert_allclose(np.asarray(ops.total(xj, axis)), tot[..., j], rtol=1e-5, atol=1e-6)
            np.testing.assert_array_equal(np.asarray(ops.largest(xj, axis)), np.float32(x[..., j]).max(axis=axis))
    # under JAX the sum runs in index order, the same for any batch it is vmapped over
    xj = jnp.asarray(x[..., 0], jnp.float32)
    in_order = xj[:, 0]
    for i in range(1, 16):
        in_order = in_order + xj[:, i]
    np.testing.assert_array_equal(np.asarray(ops.total(xj, 1)), np.asarray(in_order))


def test_one_hot_dot_vecmat_matvec_draw_by_draw():
    draws = 5
    idx = RNG.integers(0, 4, (3, draws))
    oh = ops.one_hot(idx, 4, np.float32)
    assert oh.shape == (3, 4, draws)
    v, w = RNG.standard_normal((3, draws)), RNG.standard_normal((3, draws))
    m = RNG.standard_normal((3, 2, draws))
    d, vm, mv = ops.dot(v, w), ops.vecmat(v, m), ops.matvec(np.moveaxis(m, 0, 1), RNG.standard_normal((3, draws)))
    assert d.shape == (draws,) and vm.shape == (2, draws) and mv.shape == (2, draws)
    for j in range(draws):
        np.testing.assert_array_equal(np.asarray(ops.one_hot(jnp.asarray(idx[:, j]), 4, jnp.float32)), oh[..., j])
        np.testing.assert_allclose(float(ops.dot(jnp.asarray(v[:, j]), jnp.asarray(w[:, j]))), d[j], rtol=1e-5)
        np.testing.assert_allclose(np.asarray(ops.vecmat(jnp.asarray(v[:, j]), jnp.asarray(m[..., j]))), vm[:, j],
                                   rtol=1e-5, atol=1e-6)


def test_row_updates_copy_numpy_arrays():
    x = np.zeros((3, 2))
    y = ops.set_row(x, 1, 5.0)
    z = ops.add_row(y, 1, 1.0)
    w = ops.add_rows_from(z, 1, 2.0)
    assert x.sum() == 0.0  # inputs untouched
    np.testing.assert_array_equal(w, [[0, 0], [8, 8], [2, 2]])
    np.testing.assert_array_equal(np.asarray(ops.add_rows_from(ops.set_row(jnp.zeros((3, 2)), 1, 5.0), 1, 2.0)),
                                  [[0, 0], [7, 7], [2, 2]])
    assert ops.expand(np.ones(3), 2).shape == (3, 1, 1) and ops.expand(np.ones(3), 0).shape == (3,)


def test_scan_is_lax_scan_or_a_loop():
    def f(carry, x):
        return carry + x, carry * x

    xs = RNG.standard_normal(6)
    c_np, out_np = ops.scan(f, 0.0, xs)
    c_jx, out_jx = ops.scan(f, jnp.float32(0.0), jnp.asarray(xs, jnp.float32))
    assert isinstance(out_np, np.ndarray) and isinstance(out_jx, jax.Array)
    np.testing.assert_allclose(c_np, float(c_jx), rtol=1e-5)
    np.testing.assert_allclose(out_np, np.asarray(out_jx), rtol=1e-5, atol=1e-6)
    assert ops.scan(lambda c, x: (c + x, None), 0.0, xs)[1] is None


def test_scan_hands_each_step_its_own_inputs_under_jax():
    """The JAX path passes each step's inputs through the carry: the same numbers as a plain
    ``lax.scan``, for several input arrays and a step that uses its position."""
    def f(carry, x):
        t, z, u = x
        carry = carry * 0.5 + z * jnp.exp(-u) + t
        return carry, (carry, z[0] - u)

    ts = jnp.arange(5, dtype=jnp.float32)
    zs = jnp.asarray(RNG.standard_normal((5, 3)), jnp.float32)
    us = jnp.asarray(RNG.uniform(size=(5, 3)), jnp.float32)
    init = jnp.zeros(3, jnp.float32)
    got = jax.jit(lambda: ops.scan(f, init, (ts, zs, us)))()
    want = jax.jit(lambda: jax.lax.scan(f, init, (ts, zs, us)))()
    for g, w in zip(jax.tree_util.tree_leaves(got), jax.tree_util.tree_leaves(want)):
        np.testing.assert_array_equal(np.asarray(g), np.asarray(w))


def test_one_hot_takes_draws_last_under_jax_and_numpy():
    idx = np.array([[0, 2], [1, 1]])  # (k, draws)
    want = (idx[:, None, :] == np.arange(3)[None, :, None]).astype(np.float32)
    np.testing.assert_array_equal(ops.one_hot(idx, 3, np.float32), want)
    np.testing.assert_array_equal(np.asarray(ops.one_hot(jnp.asarray(idx), 3, jnp.float32)), want)
    np.testing.assert_array_equal(np.asarray(ops.one_hot(jnp.asarray([2, 0]), 3, jnp.float32)), np.eye(3)[[2, 0]])
