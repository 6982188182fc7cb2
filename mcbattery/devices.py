"""CPU cores as JAX devices.

The engine shards each chunk's blocks of draws over ``jax.local_devices()`` and the numbers do
not depend on how many there are (docs/scaling.md). On a CPU, JAX shows one device by default
and runs the block loop on it; exposing every core as its own device lets the blocks run in
parallel. GPUs are unaffected: the setting only concerns the host (CPU) platform.
"""

from __future__ import annotations

import os

__all__ = ["use_cpu_cores"]


def use_cpu_cores(n: int | None = None) -> int:
    """Ask JAX for ``n`` CPU devices (default: the cores this process may use).

    Works only before JAX initialises its backends (its first device query or computation);
    afterwards, or when the ``XLA_FLAGS`` environment variable already sets
    ``--xla_force_host_platform_device_count``, it changes nothing. Returns the number of CPU
    devices that will be (or already are) in use.
    """
    import jax
    from jax._src import xla_bridge

    if n is None:
        n = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    n = max(int(n), 1)
    forced = "xla_force_host_platform_device_count" in os.environ.get("XLA_FLAGS", "")
    if xla_bridge.backends_are_initialized() or forced:
        return len(jax.devices("cpu"))
    jax.config.update("jax_num_cpu_devices", n)
    return n
