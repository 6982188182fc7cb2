"""The Monte Carlo driver: chunks of draws, one jitted kernel, streaming reductions.

A draw's randomness is ``fold_in(PRNGKey(seed), draw_index)`` and draws are always computed
in blocks of ``BLOCK`` (a loop over blocks with a traced trip count), so every draw sees the
same compiled arithmetic whatever the chunk size: same seed, bit-identical draws. Means and
variances are reduced per block and merged along one fixed binary tree over the block index
with Chan's formula: on the device inside aligned groups of ``GROUP`` blocks, on the host
above them. Histograms and exceedances are integer counts. Summaries are therefore
bit-identical for any chunk size and device count; chunk sizes are rounded up to whole groups
on every device, and the last chunk runs only the blocks it needs. A CPU core runs one block per
loop turn; accelerators run ``ACCELERATOR_WAVE_GROUPS`` whole groups side by side per turn,
always with the same shapes, so the same holds there.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from . import model
from .coords import shape_of
from .devices import unrolled_threefry
from .outputs import BINS, OUTPUTS, edges
from .priors import Priors
from .recycling import HISTORY
from .sampling import make_sampler, prior_fields, structure
from .streaming import Accumulator, tree_merge

BLOCK = 256  # draws per on-device reduction block
GROUP = 16  # blocks whose moments the device merges into one tree node; chunks are whole groups per device
FLUSH_GROUPS = 15  # uint16 histogram counts are emptied into int32 after this many groups (15 x 16 x 256 < 2**16)
# Groups simulated side by side per loop turn, by platform: 0 = one block at a time, which keeps a
# CPU core's working set in cache; accelerators need many draws at once to fill their cores.
WAVE_GROUPS = {"cpu": 0}
ACCELERATOR_WAVE_GROUPS = 16  # 16 groups = 65,536 draws per turn on GPUs (and TPUs)
HIST_LIMIT = 2**31 - 1  # device histogram totals are int32: read back before any bin could pass this
UNROLLED_THREEFRY = unrolled_threefry()  # same random numbers, generated faster on CPUs


@dataclass
class Layout:
    """Where each output sits in the flat (draw, column) matrix of one chunk."""

    years: np.ndarray
    names: tuple[str, ...]
    shapes: dict[str, tuple[int, ...]]  # (year, *dims)
    slices: dict[str, slice]
    lo: np.ndarray  # per column, grid low in transformed units
    width: np.ndarray  # per column, bin width in transformed units
    log: np.ndarray  # per column, bool
    thr_cols: np.ndarray  # columns with thresholds, repeated per threshold
    thr_vals: np.ndarray
    thr_segments: tuple = ()  # the same as contiguous (start, stop, threshold) column ranges

    thresholds: tuple = ()

    @property
    def key(self) -> tuple:
        return self.thresholds

    @property
    def n_columns(self) -> int:
        return int(self.lo.size)


def make_layout(n_years: int, start_year: int, thresholds: dict[str, tuple[float, ...]]) -> Layout:
    shapes, slices, lo, width, log, tcols, tvals, segs = {}, {}, [], [], [], [], [], []
    k = 0
    for name, spec in OUTPUTS.items():
        shape = (n_years, *shape_of(spec.dims))
        size = int(np.prod(shape))
        shapes[name], slices[name] = shape, slice(k, k + size)
        kind, a, b = spec.grid
        is_log = kind == "log"
        ta, tb = (math.log(a), math.log(b)) if is_log else (a, b)
        lo += [ta] * size
        width += [(tb - ta) / BINS] * size
        log += [is_log] * size
        for thr in thresholds.get(name, ()):
            tcols += list(range(k, k + size))
            tvals += [thr] * size
            segs.append((k, k + size, float(thr)))
        k += size
    return Layout(
        years=np.arange(start_year, start_year + n_years),
        names=tuple(OUTPUTS),
        shapes=shapes,
        slices=slices,
        lo=np.asarray(lo),
        width=np.asarray(width),
        log=np.asarray(log),
        thr_cols=np.asarray(tcols, dtype=np.int64),
        thr_vals=np.asarray(tvals),
        thr_segments=tuple(segs),
        thresholds=tuple(sorted((k, tuple(v)) for k, v in thresholds.items())),
    )


def deployment_history(start_year: int) -> np.ndarray:
    """Battery deployments (GWh/yr) 1, 2, ... HISTORY years before ``start_year``: the IEA
    EV battery demand (World); zero before the data begins. Scaled in the model by
    ``deployment_history_scale`` for non-EV uses."""
    from .datasets import battery_demand

    df = battery_demand("World", by="total")
    by_year = dict(zip(df["year"].astype(int), df["gwh"].astype(float)))
    return np.array([by_year.get(start_year - a, 0.0) for a in range(1, HISTORY + 1)])


@dataclass
class RunResult:
    """Raw results of a run: merged statistics, kept draws and bookkeeping."""

    layout: Layout
    acc: Accumulator
    kept: dict[str, np.ndarray]
    draws: int
    seed: int
    chunk_size: int
    seconds: float
    device: str
    thresholds: dict[str, tuple[float, ...]]
    extra: dict = field(default_factory=dict)


def _flatten(outputs: dict[str, jax.Array], layout: Layout) -> jax.Array:
    n = next(iter(outputs.values())).shape[0]
    return jnp.concatenate([outputs[k].reshape(n, -1) for k in layout.names], axis=1)


def draw_randomness(key, n_years: int, dtype=jnp.float32):
    """Split one draw's key into (parameter key, process noise): normals ~ N(0, 1) shaped
    (years, model.N_NORMALS) and uniforms ~ U[1e-7, 1) shaped (years, model.N_UNIFORMS).
    The one place that decides which random numbers a draw consumes."""
    kp, kn, ku = jax.random.split(key, 3)
    normals = jax.random.normal(kn, (n_years, model.N_NORMALS), dtype)
    uniforms = jax.random.uniform(ku, (n_years, model.N_UNIFORMS), dtype, minval=1e-7, maxval=1.0)
    return kp, normals, uniforms


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
    fields: the prior numbers (:func:`mcbattery.sampling.prior_fields`).
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

    def one(key, fields):
        kp, normals, uniforms = draw_randomness(key, n_years, dtype)
        return model.simulate(sampler(kp, fields), normals, uniforms, history, start_year)

    def simulate_rows(indices, base_key, fields):
        """Draws ``indices`` -> outputs (rows, columns)."""
        keys = jax.vmap(lambda i: jax.random.fold_in(base_key, i))(indices)
        return _flatten(jax.vmap(one, in_axes=(0, None))(keys, fields), layout)

    def block_moments(x, valid):
        """Count, mean and M2 over the draw axis (-2) of x (..., BLOCK, columns)."""
        v = valid[..., None]
        nb = jnp.sum(valid, axis=-1, dtype=dtype)
        mean = jnp.where(v, x, 0.0).sum(axis=-2) / jnp.maximum(nb, 1.0)[..., None]
        m2 = jnp.sum(jnp.where(v, x - mean[..., None, :], 0.0) ** 2, axis=-2)  # a reduce, not a dot
        return nb, mean, m2

    def count_rows(carry, x, finite, real):
        """Add rows x (rows, columns) to the running extrema and the integer counts."""
        hist, vmin, vmax, exceed, invalid = carry
        valid = finite & real
        vmin = jnp.minimum(vmin, jnp.min(jnp.where(valid[:, None], x, jnp.inf), axis=0))
        vmax = jnp.maximum(vmax, jnp.max(jnp.where(valid[:, None], x, -jnp.inf), axis=0))
        # histogram: bin 0 = underflow, BINS + 1 = overflow; invalid rows carry zero weight
        tx = jnp.where(is_log, jnp.log(jnp.maximum(x, 1e-30)), x)
        b = jnp.clip(jnp.floor((tx - lo) / width) + 1, 0, BINS + 1).astype(jnp.int32)
        flat = (jnp.arange(n_cols, dtype=jnp.int32) * (BINS + 2))[None, :] + b
        flat = jnp.where(valid[:, None], flat, n_hist)  # invalid rows count in the spare last slot
        hist = hist.at[flat.ravel()].add(jnp.ones((), hist.dtype))
        # static column ranges, not a gather: the comparisons fuse with the other reductions
        above = [jnp.sum((x[:, a:b] > jnp.asarray(t, dtype)) & valid[:, None], axis=0, dtype=jnp.int32)
                 for a, b, t in layout.thr_segments]
        exceed = exceed + (jnp.concatenate(above) if above else jnp.zeros(0, jnp.int32))
        invalid = invalid + jnp.sum(~finite & real, dtype=jnp.int32)
        return hist, vmin, vmax, exceed, invalid

    def block(carry, indices, base_key, n_valid, fields):
        """Simulate and reduce one block of BLOCK draws (always the same shapes)."""
        x = simulate_rows(indices, base_key, fields)  # (BLOCK, columns)
        finite = jnp.all(jnp.isfinite(x), axis=1)
        real = indices < n_valid
        carry = count_rows(carry, x, finite, real)
        return carry, (*block_moments(x, finite & real), x)

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
            x = simulate_rows(idx, base_key, fields)  # (wb * BLOCK, columns)
            finite = jnp.all(jnp.isfinite(x), axis=1)
            real = (idx < n_valid) & (w * wb + local // BLOCK < n_blocks)
            c = count_rows(c, x, finite, real)
            nb, mean, m2 = block_moments(x.reshape(wb, BLOCK, n_cols), (finite & real).reshape(wb, BLOCK))
            merge = jax.vmap(lambda n, a, b: tree_merge(n, a, b, xp=jnp))
            root = merge(nb.reshape(wave_groups, group), mean.reshape(wave_groups, group, n_cols),
                         m2.reshape(wave_groups, group, n_cols))
            nodes = tuple(jax.lax.dynamic_update_slice_in_dim(buf, r, w * wave_groups, 0) for buf, r in zip(nodes, root))
            if with_draws:
                xs = jax.lax.dynamic_update_slice_in_dim(xs, x.reshape(wb, BLOCK, n_cols), w * wb, 0)
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


class _Job(NamedTuple):
    """A dispatched chunk: its first draw, draws, groups per device, whether its draws are
    kept, and the kernel's (possibly still running) results."""

    start: int
    n: int
    groups: int
    want: bool
    res: tuple


class Compiled(NamedTuple):
    """A jitted, sharded kernel and what the driver needs to feed it."""

    call: Callable  # (firsts, n_blocks, n_valid, fields, base_key, hist, chunk_groups, with_draws)
    hist_sharding: object  # where the per-device histogram totals live
    hist_size: int  # columns * (BINS + 2) + 1 per device

    def zero_hist(self, n_dev: int) -> jax.Array:
        return jax.device_put(np.zeros((n_dev, self.hist_size), np.int32), self.hist_sharding)


def chunk_draws(draws: int, chunk_size: int, n_dev: int) -> int:
    """Draws per device call for a run of ``draws``: ``chunk_size`` capped at ``draws`` and
    rounded up to whole groups on every device (the last call is trimmed to the blocks it needs)."""
    unit = GROUP * BLOCK * n_dev
    return max(unit, -(-min(chunk_size, max(draws, 1)) // unit) * unit)


def wave_groups(platform: str) -> int:
    """Groups run side by side per loop turn on ``platform`` (0: one block at a time)."""
    return WAVE_GROUPS.get(platform, ACCELERATOR_WAVE_GROUPS)


@lru_cache(maxsize=16)
def compiled_kernel(struct: tuple, n_years: int, start_year: int, layout_key: tuple, dtype, devices: tuple,
                    waves: int = 0) -> Compiled:
    """One jitted kernel per (prior structure, horizon, output layout, dtype, devices, wave
    width), reused across scenarios and calls. Each device runs its own contiguous range of whole groups
    (``shard_map``; ``firsts`` and ``n_blocks`` hold one value per device) and keeps its own
    histogram totals, so the block and group arithmetic, and hence every number, is the same
    for 1, 2 or N devices."""
    from jax.sharding import Mesh, NamedSharding
    from jax.sharding import PartitionSpec as P

    layout = make_layout(n_years, start_year, dict(layout_key))
    kernel = make_kernel(struct, n_years, start_year, layout, dtype, narrow_counts=devices[0].platform == "cpu", wave_groups=waves)
    mesh = Mesh(np.array(devices), ("d",))

    def sharded(firsts, n_blocks, n_valid, fields, base_key, hist, chunk_groups, with_draws):
        def per_device(first, n_blocks, n_valid, fields, base_key, hist):
            res = kernel(base_key, first[0], n_blocks[0], n_valid, fields, hist[0], chunk_groups, with_draws)
            return tuple(r[None] for r in res)

        f = jax.shard_map(
            per_device, mesh=mesh, in_specs=(P("d"), P("d"), P(), P(), P(), P("d")), out_specs=P("d"), check_vma=False
        )
        return f(firsts, n_blocks, n_valid, fields, base_key, hist)

    call = jax.jit(sharded, static_argnames=("chunk_groups", "with_draws"))
    return Compiled(call, NamedSharding(mesh, P("d")), layout.n_columns * (BINS + 2) + 1)


def run(
    priors: Priors,
    draws: int,
    seed: int = 0,
    chunk_size: int = 16384,
    keep_draws: int = 0,
    end_year: int = 2040,
    thresholds: dict[str, tuple[float, ...]] | None = None,
    progress: bool | Callable | None = None,
    dtype=jnp.float32,
    devices=None,
    on_draws: Callable[[int, dict[str, np.ndarray]], None] | None = None,
    stop: Callable[["Accumulator", Layout], bool] | None = None,
    first: int = 0,
) -> RunResult:
    """Run ``draws`` draws in chunks and return merged statistics plus the first
    ``keep_draws`` draws in full. ``devices``: the JAX devices to shard draws over (default:
    all local devices; on a multi-host cluster initialise ``jax.distributed`` first).
    ``on_draws(start, outputs)`` receives every chunk's full draws (for streaming them to a
    store) instead of keeping them; ``stop(acc, layout)`` is asked after each chunk and ends the
    run early when it returns True (``draws`` is then a maximum). ``first``: run only draws
    ``first .. draws - 1`` (a host's share in a multi-host run, see :mod:`mcbattery.distributed`)."""
    start_year = int(round(float(priors["start_year"].fields["value"])))
    n_years = end_year - start_year + 1
    thresholds = {k: v.thresholds for k, v in OUTPUTS.items()} | (thresholds or {})
    layout = make_layout(n_years, start_year, thresholds)
    devices = tuple(devices) if devices is not None else tuple(jax.local_devices())
    n_dev = len(devices)
    group_draws = GROUP * BLOCK
    if first % group_draws and first < draws:
        raise ValueError(f"first must be a multiple of {group_draws} draws (whole groups of blocks), got {first}")
    chunk = chunk_draws(draws - first, chunk_size, n_dev)
    chunk_groups = chunk // (group_draws * n_dev)
    compiled = compiled_kernel(structure(priors), n_years, start_year, layout.key, dtype, devices, wave_groups(devices[0].platform))
    fields = prior_fields(priors, dtype)
    base_key = jax.random.PRNGKey(seed)
    acc = Accumulator(layout.n_columns, layout.thr_cols.size)
    n_cols = layout.n_columns
    kept_rows: list[np.ndarray] = []
    keep_draws = min(keep_draws, draws)
    t0 = time.perf_counter()
    bar = _progress_bar(progress, draws - first)

    def launch(start, hist):
        """Dispatch the chunk at ``start`` (asynchronously): whole groups per device, devices
        filled in order, so the last chunk runs only the blocks it needs."""
        n_here = min(chunk, draws - start)
        blocks = -(-n_here // BLOCK)
        per_dev = -(-blocks // (GROUP * n_dev)) * GROUP  # blocks per device this chunk
        firsts = [start + d * per_dev * BLOCK for d in range(n_dev)]
        n_blocks = [min(per_dev, max(0, blocks - d * per_dev)) for d in range(n_dev)]
        want = start < keep_draws  # the full draws leave the device only when they are kept
        res = compiled.call(jnp.asarray(firsts, jnp.int32), jnp.asarray(n_blocks, jnp.int32), jnp.int32(draws),
                            fields, base_key, hist, chunk_groups=chunk_groups, with_draws=want)
        return _Job(start, n_here, per_dev // GROUP, want, res)

    def absorb(job):
        """Merge a finished chunk's group moments (in global order) and counts on the host."""
        start, n_here, g, want, res = job
        nb, mean, m2, vmin, vmax, _, exceed, invalid = (np.asarray(a) for a in res[:8])
        acc.add_moments(nb[:, :g].reshape(-1), mean[:, :g].reshape(-1, n_cols), m2[:, :g].reshape(-1, n_cols))
        acc.add_counts(vmin.min(axis=0), vmax.max(axis=0), exceed.sum(axis=0, dtype=np.int64), int(invalid.sum()))
        if want:
            rows = np.asarray(res[8])[:, : g * GROUP * BLOCK].reshape(-1, n_cols)[: keep_draws - start]
            if on_draws is not None:
                on_draws(start, {k: rows[:, layout.slices[k]].reshape((-1, *layout.shapes[k])) for k in layout.names})
            else:
                kept_rows.append(rows)
        if bar is not None:
            bar.update(n_here)

    def read_hist(hist):
        counts = np.asarray(hist)[:, :-1].sum(axis=0, dtype=np.int64)
        acc.add_hist(counts.reshape(n_cols, BINS + 2))

    # Histogram totals stay on the devices (int32) and are read back at the end, before they
    # could overflow, or after every chunk when a stopping rule needs them. Without a stopping
    # rule the next chunk is dispatched before the previous one is merged on the host.
    zero = compiled.zero_hist(n_dev)
    hist, since, pending = zero, 0, None
    for start in range(first, draws, chunk):
        if since + min(chunk, draws - start) > HIST_LIMIT:
            read_hist(hist)
            hist, since = zero, 0
        job = launch(start, hist)
        hist, since = job.res[5], since + job.n
        if stop is None:
            if pending is not None:
                absorb(pending)
            pending = job
            continue
        absorb(job)
        read_hist(hist)
        hist, since = zero, 0
        done = start + job.n
        if done < draws and stop(acc, layout):
            draws = done
            break
    if pending is not None:
        absorb(pending)
    if since:
        read_hist(hist)
    if bar is not None:
        bar.close()
    seconds = time.perf_counter() - t0
    kept = {}
    if kept_rows:
        flat = np.concatenate(kept_rows)
        kept = {k: flat[:, layout.slices[k]].reshape((-1, *layout.shapes[k])) for k in layout.names}
    return RunResult(
        layout=layout,
        acc=acc,
        kept=kept,
        draws=draws,
        seed=seed,
        chunk_size=chunk,
        seconds=seconds,
        device=f"{n_dev} x {devices[0].device_kind} ({devices[0].platform})",
        thresholds=thresholds,
    )


def _progress_bar(progress, total):
    if not progress:
        return None
    if callable(progress) and not isinstance(progress, bool):
        return progress(total)
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="draw", unit_scale=True, desc="simulating", smoothing=0.1)


# Cached kernels for running the model on given parameters (scenario comparison, sensitivity
# analysis): seed and draw indices are arguments, so a chunked loop compiles once per prior
# structure, horizon and shape.

def _jnp_dtype(dtype: str):
    return getattr(jnp, dtype)


@lru_cache(maxsize=16)
def _sampler(struct: tuple, dtype: str):
    sample = make_sampler(struct, _jnp_dtype(dtype))

    @jax.jit
    def go(seed, idx, fields):
        base = jax.random.PRNGKey(seed)
        keys = jax.vmap(lambda i: jax.random.fold_in(base, i))(idx)
        return jax.vmap(lambda k: sample(jax.random.split(k, 3)[0], fields))(keys)

    return go


@lru_cache(maxsize=16)
def _simulator(n_years: int, start_year: int, dtype: str):
    dt = _jnp_dtype(dtype)

    @jax.jit
    def go(seed, idx, params, history):
        base = jax.random.PRNGKey(seed)

        def one(i, p):
            _, normals, uniforms = draw_randomness(jax.random.fold_in(base, i), n_years, dt)
            return model.simulate(p, normals, uniforms, history, start_year)

        return jax.vmap(one)(idx, params)

    return go


@lru_cache(maxsize=8)
def _history(start_year: int):
    return deployment_history(start_year)


def _x64(dtype: str):
    import contextlib

    return jax.enable_x64(True) if dtype == "float64" else contextlib.nullcontext()


def sample_draws(priors, indices, seed: int = 0, dtype: str = "float32") -> dict[str, np.ndarray]:
    """Parameters of the given draw indices (name -> (len(indices), *dims)); the same numbers
    as ``engine.sample_params`` for those indices. Compiled once per prior structure and
    number of indices."""
    with _x64(dtype):
        fn = _sampler(structure(priors), dtype)
        out = fn(jnp.uint32(seed), jnp.asarray(indices, jnp.int32), prior_fields(priors, _jnp_dtype(dtype)))
        return {k: np.asarray(v) for k, v in out.items()}


def simulate_draws(
    params: dict[str, np.ndarray], noise_indices, seed: int, start_year: int, end_year: int, dtype: str = "float32"
) -> dict[str, np.ndarray]:
    """Run the model on given parameters, row ``j`` with the process noise of draw index
    ``noise_indices[j]`` (as ``engine.simulate_params``, but any index per row). Returns
    outputs name -> (rows, years, *dims)."""
    n_years = end_year - start_year + 1
    with _x64(dtype):
        dt = _jnp_dtype(dtype)
        fn = _simulator(n_years, start_year, dtype)
        p = {k: jnp.asarray(v, dt) for k, v in params.items()}
        out = fn(jnp.uint32(seed), jnp.asarray(noise_indices, jnp.int32), p, jnp.asarray(_history(start_year), dt))
        return {k: np.asarray(v) for k, v in out.items()}



def sample_params(priors: Priors, n: int, seed: int = 0, start: int = 0, dtype=jnp.float32) -> dict[str, np.ndarray]:
    """The parameters of draws ``start .. start + n - 1`` (name -> (n, *dims)), exactly as
    :func:`run` samples them for the same seed."""
    return sample_draws(priors, np.arange(start, start + n), seed, jnp.dtype(dtype).name)


def simulate_params(
    priors: Priors, params: dict[str, np.ndarray], seed: int = 0, start: int = 0, end_year: int = 2040, dtype=jnp.float32
) -> dict[str, np.ndarray]:
    """Run the model for given parameters (name -> (n, *dims)) with the process noise of
    draws ``start .. start + n - 1`` for ``seed``. Returns outputs name -> (n, years, *dims).

    Used for sensitivity analysis and scenario comparison: the same draw indices give the
    same process noise (common random numbers) whatever the parameters.
    """
    start_year = int(round(float(priors["start_year"].fields["value"])))
    n = next(iter(params.values())).shape[0]
    missing = set(priors.params) - set(params)
    if missing:
        params = {**sample_params(priors, n, seed, start, dtype), **params}
    return simulate_draws(params, np.arange(start, start + n), seed, start_year, end_year, jnp.dtype(dtype).name)
