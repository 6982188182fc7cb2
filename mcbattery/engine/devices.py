"""JAX settings: cores as JAX devices, the unrolled random-number generator, and a persistent
compilation cache.

The engine shards each chunk's blocks of draws over ``jax.local_devices()`` and the numbers do
not depend on how many there are (docs/scaling.md). On a CPU, JAX shows one device by default
and runs the block loop on it; exposing every core as its own device lets the blocks run in
parallel. GPUs are unaffected: the setting only concerns the host (CPU) platform.

On CPUs JAX compiles its threefry generator as a loop over the cipher's five key-injection
rounds, which keeps the program small but runs the generator several times slower than the
straight-line version JAX uses on GPUs (each loop turn copies the whole array of counters).
:func:`unrolled_threefry` switches CPUs to the straight-line version: the same cipher and the
same bits, faster (about 5x for a large array of bits, measured in docs/scaling.md).

Compiling the engine's kernel takes about 10 s on a CPU; :func:`use_compilation_cache` keeps
compiled programs on disk (JAX's persistent cache), so later runs of the same model shape
start at once. The engine turns the cache on by itself before its first compilation (the CLI,
the Python API and notebooks alike) unless it is switched off: ``MCBATTERY_CACHE_DIR=""`` in
the environment, or ``use_compilation_cache(False)`` in Python.
"""

from __future__ import annotations

import os

__all__ = ["unrolled_threefry", "use_compilation_cache", "use_cpu_cores", "use_default_cache"]

CACHE_MAX_BYTES = 2**30  # with filelock installed, the cache evicts least recently used programs beyond this


_CACHE = {"chosen": False}  # set once the cache was turned on or off, by the user or by default


def use_default_cache() -> None:
    """Turn the persistent compilation cache on (:func:`use_compilation_cache` with its
    defaults) unless it was already chosen in this process; the engine calls this before it
    compiles anything."""
    if not _CACHE["chosen"]:
        use_compilation_cache()


def use_compilation_cache(path: str | os.PathLike | None | bool = None) -> str | None:
    """Keep compiled programs in a persistent cache directory and return it (None: off).

    ``False`` turns the cache off for this process (the engine then leaves it off). ``path`` defaults to ``$MCBATTERY_CACHE_DIR``, else ``$XDG_CACHE_HOME/mcbattery/jax``
    (``~/.cache/mcbattery/jax``). An empty ``MCBATTERY_CACHE_DIR`` turns the cache off; a cache
    directory already given to JAX (``JAX_COMPILATION_CACHE_DIR``) is left as it is. Cached
    programs are JAX's own compilation of the same computation: results do not change.
    """
    import jax

    _CACHE["chosen"] = True
    if path is False:
        jax.config.update("jax_compilation_cache_dir", None)
        return None
    if path is None or path is True:
        path = None
        if os.environ.get("JAX_COMPILATION_CACHE_DIR") or jax.config.jax_compilation_cache_dir:
            return jax.config.jax_compilation_cache_dir or os.environ["JAX_COMPILATION_CACHE_DIR"]
        path = os.environ.get("MCBATTERY_CACHE_DIR")
        if path is None:
            base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
            path = os.path.join(base, "mcbattery", "jax")
    if not str(path):
        return None
    try:
        os.makedirs(path, exist_ok=True)
    except OSError:
        return None  # an unwritable cache only costs compile time
    jax.config.update("jax_compilation_cache_dir", str(path))
    try:  # JAX bounds the cache's size only with filelock installed; otherwise it grows (one entry per model shape)
        import filelock  # noqa: F401

        jax.config.update("jax_compilation_cache_max_size", CACHE_MAX_BYTES)
    except ImportError:
        pass
    return str(path)


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


def initialize_hosts(coordinator_address: str | None = None, num_processes: int | None = None, process_id: int | None = None,
                     heartbeat_timeout: int = 100, **kwargs) -> None:
    """``jax.distributed.initialize`` for mcbattery runs, with CPU collectives over gloo.
    Without arguments JAX reads the cluster's environment (SLURM, Open MPI, Kubernetes...).
    Call it before anything else uses JAX. mcbattery notices a process that stops within
    :data:`mcbattery.engine.hosts.SILENT` seconds, well before JAX's ``heartbeat_timeout``."""
    import jax

    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(coordinator_address, num_processes, process_id,
                               heartbeat_timeout_seconds=heartbeat_timeout, **kwargs)


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
