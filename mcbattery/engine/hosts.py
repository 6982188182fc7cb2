"""Multi-host runs: every process simulates a contiguous, group-aligned share of the draws on
its local devices, then the processes exchange their accumulators and merge them in process
order.

Start one process per host (or per GPU group) and call
:func:`mcbattery.engine.devices.initialize_hosts` (or ``jax.distributed.initialize``) in each
before anything else uses JAX; ``mcbattery forecast
--distributed`` does it for you, reading SLURM's environment or ``--coordinator``,
``--num-processes`` and ``--process-id``. docs/scaling.md gives the launch commands.

Every draw is the same as in a single-process run (draws depend only on seed and index).
Histogram counts, exceedance counts, minima and maxima are therefore identical for any number
of hosts; means and variances agree to float64 rounding (they are merged per host, then across
hosts with Chan's formula). Before the exchange every process waits for the others to finish
their shares; if one of them stops (its heartbeats end) or ``timeout`` passes, the others
raise :class:`~mcbattery.common.errors.HostsError` and nothing is written.
"""

from __future__ import annotations

import math
import time

import numpy as np

from mcbattery.common.errors import HostsError
from mcbattery.engine.kernel import BLOCK, GROUP
from mcbattery.engine.runner import INVALID_CHUNKS, RunResult, run
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
        extra={"invalid_chunks": [c for r in results for c in r.extra.get("invalid_chunks", [])]},
    )


def run_share(priors, draws: int, n_processes: int, index: int, **kwargs) -> RunResult:
    """Run process ``index``'s share of a ``draws``-draw run on its local devices."""
    lo, hi = share(draws, n_processes, index)
    result = run(priors, draws=hi, first=lo, **kwargs)
    result.draws = draws
    return result


_CALLS = [0]  # runs merged by this process so far: the same sequence in every process
BEAT = 1.0  # seconds between this process's signs of life while a run is merged
SILENT = 20.0  # seconds without a sign of life after which a process counts as stopped


class Liveness:
    """Signs of life in the JAX key-value store while a multi-host run goes on: a thread
    writes this process's clock every BEAT seconds; :meth:`wait` waits for every process to
    finish its share, and names one that stopped (silent for ``silent`` seconds: killed,
    crashed or cut off) or that did not finish within ``timeout`` seconds."""

    def __init__(self, silent: float = SILENT):
        import threading

        import jax
        from jax._src import distributed

        self.n, self.me = jax.process_count(), jax.process_index()
        self.client = distributed.global_state.client
        _CALLS[0] += 1
        self.key = f"mcbattery/run-{_CALLS[0]}"
        self.silent = silent
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._beat, daemon=True)
        self.thread.start()

    def _beat(self):
        while True:
            try:
                self.client.key_value_set(f"{self.key}/alive/{self.me}", repr(time.time()), allow_overwrite=True)
            except Exception:  # noqa: BLE001 - the coordinator is gone; the waiter reports it
                return
            if self.stop.wait(BEAT):
                return

    def _get(self, key: str) -> str | None:
        try:
            return self.client.key_value_try_get(key)
        except Exception:  # noqa: BLE001 - not there (yet)
            return None

    def wait(self, timeout: float | None = None) -> None:
        """Mark this process done and return once every process is; else raise HostsError."""
        try:
            self.client.key_value_set(f"{self.key}/done/{self.me}", "1")
        except Exception as exc:  # noqa: BLE001
            raise HostsError(f"process {self.me} of {self.n}: lost the coordinator, process 0 ({exc.__class__.__name__}); "
                             "nothing written") from None
        waiting = set(range(self.n)) - {self.me}
        t0 = time.monotonic()
        seen = {j: (None, t0) for j in waiting}  # last sign of life and when it changed
        while True:
            for j in sorted(waiting):
                if self._get(f"{self.key}/done/{j}") is not None:
                    waiting.discard(j)
                    continue
                beat, since = seen[j]
                now_beat = self._get(f"{self.key}/alive/{j}")
                if now_beat != beat:
                    seen[j] = (now_beat, time.monotonic())
                elif time.monotonic() - since > self.silent:
                    what = "stopped answering" if beat is not None else "never answered"
                    raise HostsError(f"process {self.me} of {self.n}: process {j} {what} for {self.silent:g} s before "
                                     "finishing its share (it died or was cut off); nothing written")
            if not waiting:
                return
            if timeout is not None and time.monotonic() - t0 > timeout:
                raise HostsError(f"process {self.me} of {self.n}: process {min(waiting)} did not finish its share within "
                                 f"{timeout:g} s; nothing written")
            time.sleep(BEAT / 4)

    def close(self):
        self.stop.set()


def allgather(result: RunResult) -> list[RunResult]:
    """Exchange accumulators between JAX processes (after ``jax.distributed.initialize()``),
    exactly: counts in int64 and moments in float64 whatever JAX's default precision."""
    import jax
    from jax.experimental import multihost_utils

    a = result.acc
    chunks = np.full((INVALID_CHUNKS, 2), -1, np.int64)
    noted = result.extra.get("invalid_chunks", [])[:INVALID_CHUNKS]
    if noted:
        chunks[: len(noted)] = noted
    fields = {
        "count": np.asarray([a.count], np.int64),
        "mean": a.mean,
        "m2": a.m2,
        "vmin": a.vmin,
        "vmax": a.vmax,
        "hist": a.hist,
        "exceed": a.exceed,
        "invalid": np.asarray([a.invalid], np.int64),
        "chunks": chunks,
    }
    with jax.enable_x64(True):  # without it the exchange would round to int32 / float32
        gathered = {k: np.asarray(multihost_utils.process_allgather(v)) for k, v in fields.items()}
    out = []
    for p in range(jax.process_count()):
        acc = Accumulator(a.n_columns, a.n_thresholds)
        acc.count = int(gathered["count"][p][0])
        for k in ("mean", "m2", "vmin", "vmax", "hist", "exceed"):
            setattr(acc, k, gathered[k][p])
        acc.invalid = int(gathered["invalid"][p][0])
        extra = {"invalid_chunks": [tuple(int(x) for x in c) for c in gathered["chunks"][p] if c[0] >= 0]}
        out.append(RunResult(result.layout, acc, result.kept if p == jax.process_index() else {}, result.draws, result.seed,
                             result.chunk_size, result.seconds, result.device, result.thresholds, extra))
    return out


def run_all_hosts(priors, draws: int, timeout: float | None = None, **kwargs) -> RunResult:
    """Run this process's share of ``draws`` and return the run merged across every JAX process
    (call :func:`mcbattery.engine.devices.initialize_hosts` first). ``timeout``: seconds to
    wait for the other processes once this one is done (default: as long as they live)."""
    import jax

    n, i = jax.process_count(), jax.process_index()
    if n == 1:
        return merge([run_share(priors, draws, 1, 0, **kwargs)])
    live = Liveness(min(SILENT, timeout) if timeout else SILENT)
    try:
        result = run_share(priors, draws, n, i, **kwargs)
        live.wait(timeout)
        return merge(allgather(result))
    finally:
        live.close()


def barrier(name: str, timeout: float = 7 * 24 * 3600.0) -> None:
    """Wait until every JAX process reaches ``name`` (no-op in a single process)."""
    import jax
    from jax._src import distributed

    if jax.process_count() > 1 and distributed.global_state.client is not None:
        distributed.global_state.client.wait_at_barrier(f"mcbattery/{name}", int(timeout * 1000))
