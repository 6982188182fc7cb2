"""Multi-host runs: every process simulates a contiguous, group-aligned share of the draws on
its local devices, then the processes exchange their accumulators and merge them in process
order.

Launch one process per host (or per GPU group) with the usual JAX environment, e.g.::

    # on each of N hosts, with the coordinator's address and this host's rank
    python -c "import jax; jax.distributed.initialize(); from mcbattery.api import \\
        forecast_distributed; forecast_distributed('baseline', draws=10**8).to_netcdf('f.nc')"

Every draw is the same as in a single-process run (draws depend only on seed and index).
Histogram counts, exceedance counts, minima and maxima are therefore identical for any number
of hosts; means and variances agree to float64 rounding (they are merged per host, then across
hosts with Chan's formula).
"""

from __future__ import annotations

import math

import numpy as np

from mcbattery.engine.kernel import BLOCK, GROUP
from mcbattery.engine.runner import RunResult, run
from mcbattery.engine.streaming import Accumulator


def share(draws: int, n_processes: int, index: int) -> tuple[int, int]:
    """The draw range ``[first, last)`` of process ``index``, aligned to whole groups of
    blocks (GROUP * BLOCK draws) so that every group's moments are merged the same way as in
    a single-process run."""
    unit = GROUP * BLOCK
    per = int(math.ceil(draws / n_processes / unit)) * unit
    return min(index * per, draws), min((index + 1) * per, draws)


def merge(results: list[RunResult]) -> RunResult:
    """Merge the shares of one run (in process order) into one result."""
    first = results[0]
    acc = Accumulator(first.acc.n_columns, first.acc.n_thresholds)
    for r in results:
        acc.merge(r.acc)
    kept = {}
    for r in results:
        for k, v in r.kept.items():
            kept[k] = np.concatenate([kept[k], v]) if k in kept else v
    return RunResult(
        layout=first.layout,
        acc=acc,
        kept=kept,
        draws=max(r.draws for r in results),
        seed=first.seed,
        chunk_size=first.chunk_size,
        seconds=max(r.seconds for r in results),
        device=f"{len(results)} processes x {first.device}",
        thresholds=first.thresholds,
    )


def run_share(priors, draws: int, n_processes: int, index: int, **kwargs) -> RunResult:
    """Run process ``index``'s share of a ``draws``-draw run on its local devices."""
    lo, hi = share(draws, n_processes, index)
    result = run(priors, draws=hi, first=lo, **kwargs)
    result.draws = draws
    return result


def allgather(result: RunResult) -> list[RunResult]:
    """Exchange accumulators between JAX processes (after ``jax.distributed.initialize()``)."""
    import jax
    from jax.experimental import multihost_utils

    a = result.acc
    fields = {
        "count": np.asarray([a.count], np.int64),
        "mean": a.mean,
        "m2": a.m2,
        "vmin": a.vmin,
        "vmax": a.vmax,
        "hist": a.hist,
        "exceed": a.exceed,
        "invalid": np.asarray([a.invalid], np.int64),
    }
    gathered = {k: np.asarray(multihost_utils.process_allgather(v)) for k, v in fields.items()}
    out = []
    for p in range(jax.process_count()):
        acc = Accumulator(a.n_columns, a.n_thresholds)
        acc.count = int(gathered["count"][p][0])
        for k in ("mean", "m2", "vmin", "vmax", "hist", "exceed"):
            setattr(acc, k, gathered[k][p])
        acc.invalid = int(gathered["invalid"][p][0])
        out.append(RunResult(result.layout, acc, result.kept if p == jax.process_index() else {}, result.draws, result.seed, result.chunk_size, result.seconds, result.device, result.thresholds))
    return out


def run_all_hosts(priors, draws: int, **kwargs) -> RunResult:
    """Run this process's share of ``draws`` and return the run merged across every JAX process
    (call ``jax.distributed.initialize()`` first)."""
    import jax

    n, i = jax.process_count(), jax.process_index()
    return merge(allgather(run_share(priors, draws, n, i, **kwargs)))
