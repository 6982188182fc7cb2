"""The few array operations the model needs beyond the array API, for JAX and NumPy alike.

The model is written once, for one draw or for many with the draw axis *last* (every array is
``(*dims, draws)``, so the same code broadcasts scalar parameters over draws). On JAX arrays
these dispatch to ``jax.numpy`` / ``jax.lax`` (the engine runs each block of draws this way,
draws last); on NumPy arrays they run in NumPy and :func:`scan` is a plain Python loop. That
NumPy path is the benchmark baseline and the independent check of the engine
(benchmarks/numpy_model.py).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import scipy.special


def xp(*arrays):
    """``jax.numpy`` if any argument is a JAX array (or tracer), else ``numpy``."""
    return jnp if any(isinstance(a, jax.Array) for a in arrays) else np


def scan(f, init, xs):
    """``jax.lax.scan`` for JAX inputs; a Python loop over the leading axis for NumPy ones.

    Under JAX each step's inputs reach it through the carry, sliced one step ahead: sliced in
    the step itself, XLA fuses the slice into every loop that uses the step's inputs, and each
    of those loops then reloads the step counter per element, which keeps LLVM from
    vectorising it along the draws (same results; docs/scaling.md)."""
    leaves = jax.tree_util.tree_leaves(xs)
    if any(isinstance(a, jax.Array) for a in leaves + jax.tree_util.tree_leaves(init)):
        # each step's inputs reach it through the carry, taken one step ahead
        tm = jax.tree_util.tree_map
        ahead = tm(lambda a: jnp.concatenate([a[1:], a[:1]]), xs)

        def body(c, nxt):
            carry, out = f(*c)
            return (carry, nxt), out

        (carry, _), outs = jax.lax.scan(body, (init, tm(lambda a: a[0], xs)), ahead)
        return carry, outs
    carry, outs = init, []
    for i in range(leaves[0].shape[0]):
        carry, out = f(carry, jax.tree_util.tree_map(lambda a: a[i], xs))
        outs.append(out)
    if not outs or outs[0] is None:
        return carry, None
    return carry, jax.tree_util.tree_map(lambda *a: np.stack(a), *outs)


def _slices(x, axis: int):
    """The slices of ``x`` along ``axis``, in order."""
    axis = axis % x.ndim
    return [x[(slice(None),) * axis + (i,)] for i in range(x.shape[axis])]


def total(x, axis: int):
    """Sum over a small ``axis`` (a model dimension, never the draws). Under JAX an unrolled
    sum in index order: XLA runs reductions over a handful of elements as separate library
    calls on CPUs, and the engine was 4.5 % faster without them (benchmarks/RESULTS.md)."""
    if isinstance(x, jax.Array):
        return _sum_over(_slices(x, axis))
    return x.sum(axis=axis)


def largest(x, axis: int):
    """Maximum over a small ``axis`` (unrolled under JAX, like :func:`total`)."""
    if isinstance(x, jax.Array):
        out = None
        for t in _slices(x, axis):
            out = t if out is None else jnp.maximum(out, t)
        return out
    return x.max(axis=axis)


def softmax(x, axis: int = -1):
    """Softmax over a small ``axis`` (unrolled reductions under JAX, like :func:`total`)."""
    np_ = xp(x)
    e = np_.exp(x - np_.expand_dims(largest(x, axis), axis))
    return e / np_.expand_dims(total(e, axis), axis)


def sigmoid(x):
    return jax.nn.sigmoid(x) if isinstance(x, jax.Array) else scipy.special.expit(x)


def softplus(x):
    return jax.nn.softplus(x) if isinstance(x, jax.Array) else np.logaddexp(x, 0.0)


def gammaln(x):
    return jax.scipy.special.gammaln(x) if isinstance(x, jax.Array) else scipy.special.gammaln(x)


def one_hot(index, n: int, dtype):
    """One-hot along a new axis 1: ``index`` (k, *draws) -> (k, n, *draws)."""
    classes = np.arange(n).reshape((n,) + (1,) * (np.ndim(index) - 1))
    return (xp(index).expand_dims(index, 1) == classes).astype(dtype)


def _sum_over(terms):
    """Sum of a list of arrays in list order. Under JAX an unrolled sum of products replaces
    ``dot``/``einsum``: a vmapped dot becomes a batched matrix product whose summation order
    (and so the last bit) depends on how many draws a chunk holds; this does not."""
    total = terms[0]
    for t in terms[1:]:
        total = total + t
    return total


def dot(a, b):
    """Sum over the leading axis of ``a`` and ``b`` (vectors over a dimension, draws last)."""
    if xp(a, b) is jnp:
        return _sum_over([a[i] * b[i] for i in range(a.shape[0])])
    return np.einsum("i...,i...->...", a, b)


def vecmat(v, m):
    """``v @ m``: v (i, *draws), m (i, j, *draws) -> (j, *draws)."""
    if xp(v, m) is jnp:
        return _sum_over([v[i] * m[i] for i in range(m.shape[0])])
    return np.einsum("i...,ij...->j...", v, m)


def matvec(m, v):
    """``m @ v``: m (i, j, *draws), v (j, *draws) -> (i, *draws)."""
    if xp(m, v) is jnp:
        return _sum_over([m[:, j] * v[j] for j in range(m.shape[1])])
    return np.einsum("ij...,j...->i...", m, v)


def expand(x, batch_ndim: int):
    """``x`` with ``batch_ndim`` trailing singleton axes, to broadcast against arrays whose
    draws come last (a no-op for the one-draw JAX path, where ``batch_ndim`` is 0)."""
    return x.reshape(x.shape + (1,) * batch_ndim) if batch_ndim else x


def batch_ndim(scalar_param) -> int:
    """Number of draw axes of a scalar parameter: 0 under JAX (one draw), 1 for NumPy batches."""
    return len(getattr(scalar_param, "shape", ()))


def set_row(x, i: int, value):
    """``x`` with row ``i`` (first axis) replaced by ``value`` (``x.at[i].set`` under JAX)."""
    if isinstance(x, jax.Array):
        return x.at[i].set(value)
    out = x.copy()
    out[i] = value
    return out


def add_row(x, i: int, value):
    """``x`` with ``value`` added to row ``i`` (first axis) (``x.at[i].add`` under JAX)."""
    if isinstance(x, jax.Array):
        return x.at[i].add(value)
    out = x.copy()
    out[i] = out[i] + value
    return out


def add_rows_from(x, start: int, value):
    """``x`` with ``value`` added to rows ``start:`` (``x.at[start:].add`` under JAX)."""
    if isinstance(x, jax.Array):
        return x.at[start:].add(value)
    out = x.copy()
    out[start:] = out[start:] + value
    return out


def matmul(a, b):
    """``a @ b``: a (i, j, *draws), b (j, k, *draws) -> (i, k, *draws)."""
    if xp(a, b) is jnp:
        return _sum_over([a[:, j, None] * b[j][None] for j in range(a.shape[1])])
    return np.einsum("ij...,jk...->ik...", a, b)
