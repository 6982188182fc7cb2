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

import os
import time
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from mcbattery.engine.devices import use_default_cache
from mcbattery.engine.kernel import BLOCK, GROUP, make_kernel
from mcbattery.engine.layout import Layout, make_layout
from mcbattery.engine.sampling import prior_fields, structure
from mcbattery.engine.streaming import Accumulator
from mcbattery.common.errors import InputError
from mcbattery.inputs.priors import Priors
from mcbattery.model.outputs import BINS, OUTPUTS

# Groups simulated side by side per loop turn, by platform: 0 = one block at a time, which keeps a
# CPU core's working set in cache; accelerators need many draws at once to fill their cores.
WAVE_GROUPS = {"cpu": 0}
ACCELERATOR_WAVE_GROUPS = 16  # 16 groups = 65,536 draws per turn on GPUs (and TPUs)
HIST_LIMIT = 2**31 - 1  # device histogram totals are int32: read back before any bin could pass this
MAX_DRAWS = 2**31 - GROUP * BLOCK  # draw indices are int32 on the devices, padding included
INVALID_CHUNKS = 8  # chunks with invalid draws noted for diagnosis (mcbattery.engine.diagnose)


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


class _Job(NamedTuple):
    """A dispatched chunk: its first draw, draws, groups per device, whether its draws are
    kept, and the kernel's (possibly still running) results."""

    start: int
    n: int
    groups: int
    want: bool
    res: tuple


class Compiled(NamedTuple):
    """A jitted kernel, run by every device on its own share of a chunk."""

    call: Callable  # (firsts, n_blocks, n_valid, fields, base_key, hists, chunk_groups, with_draws)
    devices: tuple  # the devices, in draw order
    hist_size: int  # columns * (BINS + 2) + 1 per device

    def zero_hist(self, n_dev: int) -> list:
        return [jax.device_put(np.zeros(self.hist_size, np.int32), d) for d in self.devices[:n_dev]]


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
    width), reused across scenarios and calls. Every device runs the same single-device program
    on its own contiguous range of whole groups (dispatched asynchronously, so devices work side
    by side) and keeps its own histogram totals. The block and group arithmetic, and hence every
    number, is therefore the same for 1, 2 or N devices: a program partitioned over several
    devices is optimised differently from a single-device one, and can differ in the last bit."""
    thresholds, coords = layout_key
    layout = make_layout(n_years, start_year, dict(thresholds), coords)
    kernel = make_kernel(struct, n_years, start_year, layout, dtype, narrow_counts=devices[0].platform == "cpu", wave_groups=waves)

    def engine_kernel(first, n_blocks, n_valid, fields, base_key, hist, chunk_groups, with_draws):
        return kernel(base_key, first, n_blocks, n_valid, fields, hist, chunk_groups, with_draws)

    jitted = jax.jit(engine_kernel, static_argnames=("chunk_groups", "with_draws"))
    placed: dict = {}  # the last call's shared inputs, and their copies on every device

    def shared(fields, base_key, n_valid):
        last = placed.get("src")
        if last is None or last[0] is not fields or last[1] is not base_key or last[2] != int(n_valid):
            placed.update(src=(fields, base_key, int(n_valid)),
                          on=[jax.device_put((fields, base_key, np.int32(n_valid)), d) for d in devices])
        return placed["on"]

    def call(firsts, n_blocks, n_valid, fields, base_key, hists, chunk_groups, with_draws):
        on = shared(fields, base_key, n_valid)
        outs = []
        for d, dev in enumerate(devices):
            f, k, nv = on[d]
            first, nb = jax.device_put((np.int32(firsts[d]), np.int32(n_blocks[d])), dev)
            outs.append(jitted(first, nb, nv, f, k, hists[d], chunk_groups=chunk_groups, with_draws=with_draws))
        return tuple(list(r) for r in zip(*outs))  # per result: one array per device

    return Compiled(call, devices, layout.n_columns * (BINS + 2) + 1)


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
    ``first .. draws - 1`` (a host's share in a multi-host run, see :mod:`mcbattery.engine.hosts`)."""
    if draws > MAX_DRAWS:
        raise InputError(f"expected at most {MAX_DRAWS} draws (the engine indexes draws in int32), got {draws}", field="draws")
    start_year = priors.start_year
    n_years = end_year - start_year + 1
    thresholds = {k: v.thresholds for k, v in OUTPUTS.items()} | (thresholds or {})
    layout = make_layout(n_years, start_year, thresholds, priors.coords)
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
    invalid_chunks: list[tuple[int, int]] = []
    keep_draws = min(keep_draws, draws)
    t0 = time.perf_counter()
    bar = _progress_bar(progress, draws - first)
    use_default_cache()

    def launch(start, hist):
        """Dispatch the chunk at ``start`` (asynchronously): whole groups per device, devices
        filled in order, so the last chunk runs only the blocks it needs."""
        n_here = min(chunk, draws - start)
        blocks = -(-n_here // BLOCK)
        per_dev = -(-blocks // (GROUP * n_dev)) * GROUP  # blocks per device this chunk
        n_blocks = [min(per_dev, max(0, blocks - d * per_dev)) for d in range(n_dev)]
        # a device without blocks starts at ``start``: its nominal first draw may not fit int32
        firsts = [start + d * per_dev * BLOCK if n_blocks[d] else start for d in range(n_dev)]
        want = start < keep_draws  # the full draws leave the device only when they are kept
        res = compiled.call(firsts, n_blocks, np.int32(draws), fields, base_key, hist, chunk_groups=chunk_groups, with_draws=want)
        return _Job(start, n_here, per_dev // GROUP, want, res)

    def absorb(job):
        """Merge a finished chunk's group moments (in global order) and counts on the host."""
        start, n_here, g, want, res = job
        nb, mean, m2, vmin, vmax, _, exceed, invalid = (np.asarray(a) for a in res[:8])
        acc.add_moments(nb[:, :g].reshape(-1), mean[:, :g].reshape(-1, n_cols), m2[:, :g].reshape(-1, n_cols))
        acc.add_counts(vmin.min(axis=0), vmax.max(axis=0), exceed.sum(axis=0, dtype=np.int64), int(invalid.sum()))
        if invalid.sum() and len(invalid_chunks) < INVALID_CHUNKS:
            invalid_chunks.append((start, n_here))
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
        if bar is not None:
            bar.compiled()  # the first launch compiled (or loaded) the kernel; the rest is simulation
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
        extra={"invalid_chunks": invalid_chunks},
    )


def available_memory() -> int | None:
    """Bytes of memory available to a new allocation (Linux MemAvailable), or None if unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def _progress_bar(progress, total):
    """A :class:`~mcbattery.common.progress.Progress` bar (``progress``: True, False, None for
    automatic, or a callable ``total -> bar`` with ``update``/``close``), or None."""
    if callable(progress) and not isinstance(progress, bool):
        return progress(total)
    from mcbattery.common.progress import Progress, wanted

    return Progress(total, unit="draw", desc="simulating") if wanted(progress) else None
