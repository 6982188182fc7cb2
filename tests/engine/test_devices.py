"""Same seed, same numbers on 1, 2 or 4 devices (4 CPU devices forced in a subprocess)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import jax, numpy as np, mcbattery
    devs = jax.local_devices()
    assert len(devs) == 4, devs
    # 9,000 draws = 36 blocks = 3 groups of 16 blocks (the last one partial): one device runs
    # three chunks, two devices two (the second on one device), four devices one (3 busy)
    runs = [mcbattery.forecast(draws=9000, seed=5, keep_draws=9000, chunk_size=512, devices=devs[:k]) for k in (1, 2, 4)]
    for r in runs[1:]:
        for v in runs[0].draws.data_vars:
            np.testing.assert_array_equal(runs[0].draws[v].values, r.draws[v].values)
        for v in runs[0].summary.data_vars:
            np.testing.assert_array_equal(runs[0].summary[v].values, r.summary[v].values, err_msg=v)
    print("devices", [r.summary.attrs["device"] for r in runs])
    print("IDENTICAL")
    """
)


def test_results_identical_across_device_counts():
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=4", JAX_PLATFORMS="cpu")
    proc = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "IDENTICAL" in proc.stdout
    assert "4 x cpu" in proc.stdout


CORES_SCRIPT = textwrap.dedent(
    """
    from mcbattery.engine.devices import use_cpu_cores
    print("asked", use_cpu_cores(3))
    import jax
    print("cpu devices", len(jax.devices("cpu")))
    print("after init", use_cpu_cores(5))
    """
)


def test_use_cpu_cores_before_and_after_jax_starts():
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"} | {"JAX_PLATFORMS": "cpu"}
    proc = subprocess.run([sys.executable, "-c", CORES_SCRIPT], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "asked 3" in proc.stdout and "cpu devices 3" in proc.stdout
    assert "after init 3" in proc.stdout  # too late to change: reports what is in use


def test_use_cpu_cores_respects_xla_flags():
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=2", JAX_PLATFORMS="cpu")
    proc = subprocess.run([sys.executable, "-c", CORES_SCRIPT], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "cpu devices 2" in proc.stdout


def test_unrolled_threefry_gives_the_same_random_numbers():
    import jax
    import jax.numpy as jnp
    import numpy as np

    from mcbattery.engine.devices import unrolled_threefry

    @jax.jit
    def draw(key):
        return (
            jax.random.normal(jax.random.fold_in(key, 7), (501,)),
            jax.random.uniform(jax.random.split(key, 3)[1], (33, 5)),
            jax.random.gamma(key, jnp.arange(0.5, 9.0)),
            jax.random.bits(key, (64,), jnp.uint32),
        )

    key = jax.random.PRNGKey(123)
    try:
        assert unrolled_threefry(False)
        jax.clear_caches()
        rolled = [np.asarray(x) for x in draw(key)]
        assert unrolled_threefry(True)
        jax.clear_caches()
        unrolled = [np.asarray(x) for x in draw(key)]
    finally:
        unrolled_threefry(True)  # the package's setting (mcbattery.engine turns it on)
    for a, b in zip(rolled, unrolled):
        np.testing.assert_array_equal(a, b)


def test_compilation_cache_makes_the_second_run_reuse_the_program(tmp_path):
    """The CLI keeps compiled programs in MCBATTERY_CACHE_DIR; a second run loads them and
    writes the same numbers. An empty MCBATTERY_CACHE_DIR turns the cache off."""
    import numpy as np
    import xarray as xr

    from mcbattery.engine.devices import use_compilation_cache

    env = {k: v for k, v in os.environ.items() if k != "JAX_COMPILATION_CACHE_DIR"}
    env.update(MCBATTERY_CACHE_DIR=str(tmp_path / "cache"), JAX_PLATFORMS="cpu")
    outs = []
    for i in range(2):
        out = tmp_path / f"f{i}.nc"
        cmd = [sys.executable, "-m", "mcbattery", "forecast", "--draws", "300", "--end-year", "2030", "--out", str(out), "-q"]
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
        assert proc.returncode == 0, proc.stderr[-3000:]
        outs.append(xr.load_dataset(out))
        if i == 0:
            entries = sorted(p.name for p in (tmp_path / "cache").iterdir())
            assert any(e.startswith("jit_engine_kernel") for e in entries), entries
    for v in outs[0].data_vars:
        np.testing.assert_array_equal(outs[0][v].values, outs[1][v].values, err_msg=v)
    probe = "from mcbattery.engine.devices import use_compilation_cache; print(use_compilation_cache())"
    off = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=dict(env, MCBATTERY_CACHE_DIR=""), timeout=120)
    assert off.stdout.strip() == "None", off.stderr[-2000:]
    assert use_compilation_cache() == os.environ.get("JAX_COMPILATION_CACHE_DIR")  # the test session's own cache is kept


def test_python_api_turns_the_cache_on_by_default(tmp_path):
    """The engine sets the cache before its first compilation in Python too; MCBATTERY_CACHE_DIR=""
    and ``use_compilation_cache(False)`` keep it off."""
    env = {k: v for k, v in os.environ.items() if k != "JAX_COMPILATION_CACHE_DIR"}
    env.update(MCBATTERY_CACHE_DIR=str(tmp_path / "cache"), JAX_PLATFORMS="cpu")
    probe = (
        "import sys, jax, mcbattery\n"
        "from mcbattery.engine import sample_draws\n"
        "from mcbattery.engine.devices import use_compilation_cache\n"
        "if sys.argv[1] == 'off': use_compilation_cache(False)\n"
        "sample_draws(mcbattery.load_scenario('baseline'), [0, 1])\n"
        "print(jax.config.jax_compilation_cache_dir)\n"
    )
    run = lambda arg, **extra: subprocess.run([sys.executable, "-c", probe, arg], capture_output=True, text=True,  # noqa: E731
                                              env=dict(env, **extra), timeout=300)
    on = run("default")
    assert on.stdout.strip() == str(tmp_path / "cache"), on.stderr[-2000:]
    assert run("default", MCBATTERY_CACHE_DIR="").stdout.strip() == "None"
    assert run("off").stdout.strip() == "None"
