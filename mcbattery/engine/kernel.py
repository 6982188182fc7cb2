"""The jitted kernel: simulate blocks of draws and reduce them on the device.

A draw's randomness is ``fold_in(PRNGKey(seed), draw_index)`` and draws are always computed
in blocks of ``BLOCK`` (a loop over blocks with a traced trip count), so every draw sees the
same compiled arithmetic whatever the chunk size. Means and variances are reduced per block
and merged on the device inside aligned groups of ``GROUP`` blocks with Chan's formula;
histograms and exceedances are integer counts.
"""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np

from mcbattery.engine.devices import unrolled_threefry
from mcbattery.engine.layout import Layout, flatten_columns
from mcbattery.engine.sampling import make_sampler, random_normal, random_uniform
from mcbattery.engine.streaming import tree_merge
from mcbattery.model import noise
from mcbattery.model.scan import simulate_batch
from mcbattery.model.outputs import BINS
from mcbattery.model.recycling import HISTORY

BLOCK = 256  # draws per on-device reduction block
GROUP = 16  # blocks whose moments the device merges into one tree node; chunks are whole groups per device
FLUSH_GROUPS = 15  # uint16 histogram counts are emptied into int32 after this many groups (15 x 16 x 256 < 2**16)
UNROLLED_THREEFRY = unrolled_threefry()  # same random numbers, generated faster on CPUs


def deployment_history(start_year: int) -> np.ndarray:
    """Battery deployments (GWh/yr) 1, 2, ... HISTORY years before ``start_year``: the IEA
    EV battery demand (World); zero before the data begins. Scaled in the model by
    ``deployment_history_scale`` for non-EV uses."""
    from mcbattery.inputs.datasets import battery_demand

    df = battery_demand("World", by="total")
    by_year = dict(zip(df["year"].astype(int), df["gwh"].astype(float)))
    return np.array([by_year.get(start_year - a, 0.0) for a in range(1, HISTORY + 1)])


def draw_randomness(key, n_years: int, slots: noise.NoiseLayout, dtype=jnp.float32):
    """Split one draw's key into (parameter key, process noise): normals ~ N(0, 1) shaped
    (years, slots.n_normals) and uniforms ~ U[1e-7, 1) shaped (years, slots.n_uniforms), drawn
    in float32 for every ``dtype`` (a float64 run simulates the same draws).
    The one place that decides which random numbers a draw consumes."""
    kp, kn, ku = jax.random.split(key, 3)
    normals = random_normal(kn, (n_years, slots.n_normals), dtype)
    uniforms = random_uniform(ku, (n_years, slots.n_uniforms), dtype, minval=1e-7, maxval=1.0)
    return kp, normals, uniforms


def simulate_keys(sampler, keys, fields, history, coords, start_year: int, n_years: int, dtype=jnp.float32) -> dict:
    """Each key's parameters (``sampler``) and process noise, run through the model with the
    draws last: outputs name -> (years, *dims, draws)."""
    slots = noise.layout(coords)
    kp, normals, uniforms = jax.vmap(lambda k: draw_randomness(k, n_years, slots, dtype))(keys)
    params = jax.vmap(sampler, in_axes=(0, None))(kp, fields)
    return simulate_batch(params, normals, uniforms, history, coords, start_year, draws_first=False)


def make_kernel(struct: tuple, n_years: int, start_year: int, layout: Layout, dtype=jnp.float32,
                narrow_counts: bool = False, wave_groups: int = 0) -> Callable:
    """Build ``kernel(base_key, first, n_blocks, n_valid, fields, hist, chunk_groups, with_draws)``.

    Runs draws ``first + [0, n_blocks * BLOCK)`` (``first`` a multiple of GROUP * BLOCK) as
    groups of GROUP blocks and returns, per group, the count, mean and M2 of every column
    merged on the device along the group's binary tree of blocks (``chunk_groups`` rows; groups
    not run are empty), then running min / max, ``hist`` (int32, columns * (BINS + 2) + 1, the
    last slot counting invalid rows) plus this call's histogram counts, exceedance counts, the
    number of non-finite draws and, with ``with_draws``, the draws (chunk_groups * GROUP * BLOCK,
    columns). Draws with index >= n_valid are padding.
    fields: the prior numbers (:func:`mcbattery.engine.sampling.prior_fields`).
    narrow_counts: count histogram hits in uint16 and add them into ``hist`` every FLUSH_GROUPS
    groups. The counts are the same; on CPUs the scatter into a half-size table is about twice
    as fast (it stays in cache). GPUs have no 16-bit atomic add, so they count in int32.
    wave_groups: 0 runs one block at a time (CPUs: a block's working set stays in cache);
    n > 0 runs n groups side by side per loop turn (accelerators; int32 counts).
    """
    sampler = make_sampler(struct, dtype)
    history = jnp.asarray(deployment_history(start_year), dtype)
    lo = jnp.asarray(layout.lo, dtype)
    width = jnp.asarray(layout.width, dtype)
    is_log = jnp.asarray(layout.log)
    n_thr = layout.thr_cols.size
    n_cols = layout.n_columns
    n_hist = n_cols * (BINS + 2)
    group, flush_groups = GROUP, FLUSH_GROUPS
    assert group & (group - 1) == 0, "GROUP must be a power of two"
    narrow_counts = narrow_counts and not wave_groups
    assert not narrow_counts or flush_groups * group * BLOCK < 2**16, "uint16 counts could overflow"

    def simulate_columns(indices, base_key, fields):
        """Draws ``indices`` -> outputs (columns, draws): the model runs with the draws last
        (:func:`~mcbattery.model.scan.simulate_batch`), so each column's draws are contiguous."""
        keys = jax.vmap(lambda i: jax.random.fold_in(base_key, i))(indices)
        return flatten_columns(simulate_keys(sampler, keys, fields, history, layout.coords, start_year, n_years, dtype), layout)

    def block_moments(x, valid):
        """Count, mean and M2 over the draw axis (-1) of x (..., columns, BLOCK); valid (..., BLOCK)."""
        v = valid[..., None, :]
        nb = jnp.sum(valid, axis=-1, dtype=dtype)
        mean = jnp.where(v, x, 0.0).sum(axis=-1) / jnp.maximum(nb, 1.0)[..., None]
        m2 = jnp.sum(jnp.where(v, x - mean[..., None], 0.0) ** 2, axis=-1)  # a reduce, not a dot
        return nb, mean, m2

    def count_columns(carry, x, finite, real, by_column: bool = True):
        """Add x (columns, draws) to the running extrema and the integer counts. by_column:
        scatter the histogram counts column by column (CPUs: each column's draws hit a few
        neighbouring bins, cache-friendly), else draw by draw (GPUs: neighbouring threads add
        to different columns' bins instead of contending for one)."""
        hist, vmin, vmax, exceed, invalid = carry
        valid = finite & real
        vmin = jnp.minimum(vmin, jnp.min(jnp.where(valid, x, jnp.inf), axis=1))
        vmax = jnp.maximum(vmax, jnp.max(jnp.where(valid, x, -jnp.inf), axis=1))
        # histogram: bin 0 = underflow, BINS + 1 = overflow; invalid draws carry zero weight
        tx = jnp.where(is_log[:, None], jnp.log(jnp.maximum(x, 1e-30)), x)
        b = jnp.clip(jnp.floor((tx - lo[:, None]) / width[:, None]) + 1, 0, BINS + 1).astype(jnp.int32)
        flat = (jnp.arange(n_cols, dtype=jnp.int32) * (BINS + 2))[:, None] + b
        flat = jnp.where(valid, flat, n_hist)  # invalid draws count in the spare last slot
        hist = hist.at[flat if by_column else flat.T].add(jnp.ones((), hist.dtype))
        # non-finite draws: the draws the table set aside, less the padding. Counting them from
        # `flat` also keeps XLA from fusing the bin arithmetic into the scatter's flattened
        # index copy, a one-dimensional loop that runs it scalar (benchmarks/RESULTS.md)
        set_aside = jnp.sum(flat == n_hist, dtype=jnp.int32) // n_cols
        invalid = invalid + set_aside - jnp.sum(~real, dtype=jnp.int32)
        # static column ranges, not a gather: the comparisons fuse with the other reductions
        above = [jnp.sum((x[a:b] > jnp.asarray(t, dtype)) & valid, axis=1, dtype=jnp.int32)
                 for a, b, t in layout.thr_segments]
        exceed = exceed + (jnp.concatenate(above) if above else jnp.zeros(0, jnp.int32))
        return hist, vmin, vmax, exceed, invalid

    def block(carry, indices, base_key, n_valid, fields):
        """Simulate and reduce one block of BLOCK draws (always the same shapes)."""
        x = simulate_columns(indices, base_key, fields)  # (columns, BLOCK)
        finite = jnp.all(jnp.isfinite(x), axis=0)
        real = indices < n_valid
        carry = count_columns(carry, x, finite, real)
        return carry, (*block_moments(x, finite & real), x.T)

    def empty_nodes(k):
        """k empty tree nodes: count, mean and M2 all zero (merging with them changes nothing)."""
        return jnp.zeros(k, dtype), jnp.zeros((k, n_cols), dtype), jnp.zeros((k, n_cols), dtype)

    def init_carry(hist):
        return (hist, jnp.full(n_cols, jnp.inf, dtype), jnp.full(n_cols, -jnp.inf, dtype),
                jnp.zeros(n_thr, jnp.int32), jnp.zeros((), jnp.int32))

    def wave_kernel(base_key, first, n_blocks, n_valid, fields, hist, chunk_groups, with_draws):
        """Like ``kernel``, but each loop turn simulates ``wave_groups`` whole groups side by side
        (one vmapped computation of wave_groups * GROUP * BLOCK draws), for accelerators that a
        single block cannot fill. Every turn has the same shapes (groups past ``n_blocks`` are
        computed and given zero weight), so results do not depend on the chunk size."""
        wb = wave_groups * group  # blocks per turn
        rows = -(-chunk_groups // wave_groups) * wave_groups
        nodes = empty_nodes(rows)
        xs = jnp.zeros((rows * group if with_draws else 1, BLOCK, n_cols), dtype)
        local = jnp.arange(wb * BLOCK, dtype=jnp.int32)

        def body(w, state):
            c, nodes, xs = state
            idx = first + w * wb * BLOCK + local
            x = simulate_columns(idx, base_key, fields)  # (columns, wb * BLOCK)
            finite = jnp.all(jnp.isfinite(x), axis=0)
            real = (idx < n_valid) & (w * wb + local // BLOCK < n_blocks)
            c = count_columns(c, x, finite, real, by_column=False)
            by_block = jnp.moveaxis(x.reshape(n_cols, wb, BLOCK), 1, 0)  # (wb, columns, BLOCK)
            nb, mean, m2 = block_moments(by_block, (finite & real).reshape(wb, BLOCK))
            merge = jax.vmap(lambda n, a, b: tree_merge(n, a, b, xp=jnp))
            root = merge(nb.reshape(wave_groups, group), mean.reshape(wave_groups, group, n_cols),
                         m2.reshape(wave_groups, group, n_cols))
            nodes = tuple(jax.lax.dynamic_update_slice_in_dim(buf, r, w * wave_groups, 0) for buf, r in zip(nodes, root))
            if with_draws:
                xs = jax.lax.dynamic_update_slice_in_dim(xs, jnp.moveaxis(by_block, 1, 2), w * wb, 0)
            return c, nodes, xs

        c, (nb, mean, m2), xs = jax.lax.fori_loop(0, (n_blocks + wb - 1) // wb, body, (init_carry(hist), nodes, xs))
        vmin, vmax, exceed, invalid = c[1:]
        return nb, mean, m2, vmin, vmax, c[0], exceed, invalid, xs.reshape(-1, n_cols)

    def kernel(base_key, first, n_blocks, n_valid, fields, hist, chunk_groups, with_draws):
        """``n_blocks`` is traced, so XLA compiles the loop bodies once and never unrolls or
        inlines them: every block and every group merge runs the same arithmetic whatever the
        chunk size."""
        carry = init_carry(jnp.zeros(n_hist + 1, jnp.uint16) if narrow_counts else hist)
        nodes = empty_nodes(chunk_groups)
        xs = jnp.zeros((chunk_groups * group if with_draws else 1, BLOCK, n_cols), dtype)
        n_groups = (n_blocks + group - 1) // group

        def flush(counts, total):
            return jnp.zeros_like(counts), total + counts.astype(jnp.int32)

        def group_body(g, state):
            c, total, nodes, xs = state

            def block_body(j, s):
                c, (nbs, means, m2s), xs = s
                k = g * group + j  # block index in this call
                idx = first + k * BLOCK + jnp.arange(BLOCK, dtype=jnp.int32)
                c, (nb, mean, m2, x) = block(c, idx, base_key, n_valid, fields)
                stats = (nbs.at[j].set(nb), means.at[j].set(mean), m2s.at[j].set(m2))
                return c, stats, xs.at[k].set(x) if with_draws else xs

            c, stats, xs = jax.lax.fori_loop(0, jnp.minimum(group, n_blocks - g * group), block_body, (c, empty_nodes(group), xs))
            root = tree_merge(*stats, xp=jnp)  # blocks not run are empty: they change nothing
            nodes = tuple(buf.at[g].set(r) for buf, r in zip(nodes, root))
            if narrow_counts:  # empty the uint16 table before any count can pass 65535
                last = ((g + 1) % flush_groups == 0) | (g + 1 == n_groups)
                counts, total = jax.lax.cond(last, flush, lambda h, t: (h, t), c[0], total)
                c = (counts, *c[1:])
            return c, total, nodes, xs

        total = hist if narrow_counts else jnp.zeros(1, jnp.int32)
        (counts, vmin, vmax, exceed, invalid), total, (nb, mean, m2), xs = jax.lax.fori_loop(
            0, n_groups, group_body, (carry, total, nodes, xs)
        )
        return nb, mean, m2, vmin, vmax, total if narrow_counts else counts, exceed, invalid, xs.reshape(-1, n_cols)

    return wave_kernel if wave_groups else kernel


