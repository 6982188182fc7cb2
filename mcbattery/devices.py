"""CPU settings: cores as JAX devices, and the unrolled random-number generator.

The engine shards each chunk's blocks of draws over ``jax.local_devices()`` and the numbers do
not depend on how many there are (docs/scaling.md). On a CPU, JAX shows one device by default
and runs the block loop on it; exposing every core as its own device lets the blocks run in
parallel. GPUs are unaffected: the setting only concerns the host (CPU) platform.

On CPUs JAX compiles its threefry generator as a loop over the cipher's five key-injection
rounds, which keeps the program small but runs the generator several times slower than the
straight-line version JAX uses on GPUs (each loop turn copies the whole array of counters).
:func:`unrolled_threefry` switches CPUs to the straight-line version: the same cipher and the
same bits, faster (about 5x for a large array of bits, measured in docs/scaling.md).
"""

from __future__ import annotations

import os

__all__ = ["unrolled_threefry", "use_cpu_cores"]


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


def unrolled_threefry(enable: bool = True) -> bool:
    """Compile ``jax.random``'s threefry2x32 cipher unrolled on CPUs (``enable=False``: JAX's
    default rolled loop). Both compute the same function, so every random number is unchanged.

    Affects programs compiled afterwards in this process. Relies on JAX internals; where they
    are not found (another JAX version) it changes nothing and returns False.
    """
    try:
        from jax._src.interpreters import mlir
        from jax._src.random import threefry2x32 as tf

        rule = tf._threefry2x32_lowering_rule if enable else tf._threefry2x32_cpu_lowering_rule
        mlir.register_lowering(tf.threefry2x32_p, rule, platform="cpu")
    except (ImportError, AttributeError):
        return False
    return True
