"""Throughput of the streaming engine against plain NumPy and against the cost of its random numbers.

    python benchmarks/throughput.py --draws 10000 100000 1000000 [--years 16] [--chunk-size 16384] [--json]

For the baseline priors and each N:

engine_s          wall time of ``mcbattery.engine.run`` for N draws (summary statistics only, no
                  kept draws), after a warm-up call with the same chunk shape; compile_s is that
                  warm-up's extra time (first call minus an identical second call).
numpy_s           :func:`numpy_model.simulate_numpy` on the same draws (same parameters and random
                  numbers, generated beforehand and not timed), in float32 like the engine. For
                  N above --numpy-max-draws the first --numpy-max-draws draws are timed and the
                  time scaled linearly to N (numpy_measured_draws says how many ran).
rng_bound_s       time to generate only the random numbers the model consumes for N draws (the
                  sampler's uniform / normal / gamma blocks plus the per-year normals and
                  uniforms), jitted, in the engine's chunk and block layout, blocking on the
                  result: a floor for any implementation that draws the same numbers.
peak_rss_mb       the process's maximum resident set size after the engine run for N (engine runs
                  come first, NumPy inputs later, so it is not inflated by the NumPy baseline).
wave_groups       groups of 4,096 draws the engine simulates side by side per loop turn (0: one
                  256-draw block per turn, the CPU default; --wave-groups sets it, e.g. to tune a GPU).
threefry_unrolled whether the threefry cipher was compiled straight-line on CPUs (JAX's own
                  choice is a slower rolled loop; docs/scaling.md); the numbers are the same.
load_avg_1m       the machine's 1-minute load average before and after the engine timing: other
                  processes competing for the cores slow every figure down.
check_max_err     the engine's first 64 kept draws against the NumPy model (float64) on the same
                  inputs, in units of the reference test's tolerance (1e-3 |numpy| + 1e-5
                  max|numpy|), over the draws that follow the same discrete branches: <= 1 means
                  the benchmarked engine computes the same draws as the NumPy model.
check_diverged    how many of those 64 draws took another discrete branch (a lead time or a
                  delay rounded the other way in float32; tests/benchmarks/test_numpy_model.py
                  allows 2 of 64).

--repeat R keeps the fastest of R timings of each figure (other processes add noise).
--profile adds sim_only_s: sampling + simulation of N draws in the engine's block layout with a
plain sum instead of the streaming reductions, so engine_s - sim_only_s is the cost of the
reductions (histograms, moments, min / max, exceedances, the per-chunk draw buffer, host merge).

Needs only jax, numpy and scipy (plus the package); no progress bar.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from mcbattery.engine.devices import use_cpu_cores  # noqa: E402


def _cpu_devices(argv) -> int:
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--cpu-devices", type=int, default=0)
    return pre.parse_known_args(argv)[0].cpu_devices


if __name__ == "__main__":  # before the engine's modules start JAX (they create arrays on import)
    use_cpu_cores(_cpu_devices(sys.argv[1:]) or None)

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402

from numpy_model import OUTPUT_NAMES, rng_bound_fn, sample_inputs, simulate_numpy  # noqa: E402

from mcbattery import engine  # noqa: E402
from mcbattery.engine import kernel, runner  # noqa: E402
from mcbattery.inputs.priors import load_scenario  # noqa: E402
from mcbattery.engine.sampling import make_sampler, prior_fields, structure  # noqa: E402

BLOCK = engine.BLOCK
CHECK_DRAWS = 64


def best(repeat, fn):
    """Fastest of ``repeat`` timings (the others are lost to noise from other processes)."""
    return min(fn() for _ in range(max(repeat, 1)))


def peak_rss_mb() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return r / 1024.0 if sys.platform != "darwin" else r / 2**20


def device_info() -> dict:
    d = jax.devices()
    # threefry_unrolled: whether CPUs run the straight-line cipher (mcbattery.engine.devices.unrolled_threefry)
    return {"device": f"{len(d)} x {d[0].device_kind}", "platform": d[0].platform,
            "threefry_unrolled": kernel.UNROLLED_THREEFRY, "wave_groups": runner.wave_groups(d[0].platform)}


def effective_chunk(draws: int, chunk_size: int) -> int:
    """Draws per engine call for N draws on this machine's devices (``engine.chunk_draws``)."""
    return engine.chunk_draws(draws, chunk_size, len(jax.local_devices()))


def time_engine(priors, draws, seed, chunk_size, end_year, keep_draws=0):
    t0 = time.perf_counter()
    res = engine.run(priors, draws, seed=seed, chunk_size=chunk_size, end_year=end_year, keep_draws=keep_draws, progress=False)
    return time.perf_counter() - t0, res


def turn_draws() -> int:
    """Draws the engine simulates per loop turn on this platform: one block on CPUs, a wave of
    whole groups side by side on accelerators (``engine.runner.wave_groups``)."""
    waves = runner.wave_groups(jax.local_devices()[0].platform)
    return waves * engine.GROUP * BLOCK if waves else BLOCK


def on_devices(fn, turn):
    """Run ``fn(base_key, first, n_turns, fields) -> scalar`` (``turn`` draws per loop turn)
    over a chunk's draws, split the way the engine splits them: each local device takes an
    equal, contiguous share of the turns the chunk needs (``shard_map``)."""
    from jax.sharding import Mesh
    from jax.sharding import PartitionSpec as P

    devices = jax.local_devices()
    n_dev = len(devices)
    mesh = Mesh(np.array(devices), ("d",))

    @jax.jit
    def run(base_key, start, per_dev_blocks, fields):
        firsts = start + jnp.arange(n_dev, dtype=jnp.int32) * per_dev_blocks * turn

        def per_device(first, per_dev_blocks, fields, base_key):
            return fn(base_key, first[0], per_dev_blocks, fields)[None]

        f = jax.shard_map(per_device, mesh=mesh, in_specs=(P("d"), P(), P(), P()), out_specs=P("d"), check_vma=False)
        return f(firsts, per_dev_blocks, fields, base_key).sum()

    def call(base_key, start, n, fields):
        return run(base_key, jnp.int32(start), jnp.int32(-(-n // (turn * n_dev))), fields)

    return call


def time_chunks(fn, fields, draws, chunk, seed):
    """Wall time of ``fn`` over N draws, one call per chunk, blocking on each result."""
    key = jax.random.PRNGKey(seed)
    t0 = time.perf_counter()
    for start in range(0, draws, chunk):
        float(fn(key, start, min(chunk, draws - start), fields))  # blocks until done
    return time.perf_counter() - t0


def sim_only_fn(priors, n_years, start_year, turn=BLOCK):
    """Sampler + model in the engine's layout (``turn`` draws vmapped per loop turn), reduced
    by a plain sum: the engine minus its streaming reductions."""
    sampler = make_sampler(structure(priors), jnp.float32)
    history = jnp.asarray(kernel.deployment_history(start_year), jnp.float32)

    def sim(keys, fields):
        out = kernel.simulate_keys(sampler, keys, fields, history, priors.coords, start_year, n_years)
        return sum(jnp.sum(v) for v in out.values())

    @jax.jit
    def f(base_key, first, n_blocks, fields):
        def body(b, s):
            idx = first + b * turn + jnp.arange(turn, dtype=jnp.int32)
            keys = jax.vmap(lambda i: jax.random.fold_in(base_key, i))(idx)
            return s + sim(keys, fields)

        return jax.lax.fori_loop(0, n_blocks, body, jnp.float32(0))

    return f


def time_numpy(inputs, n, numpy_chunk, dtype):
    p, z, u = inputs.params, inputs.normals, inputs.uniforms
    t0 = time.perf_counter()
    for a in range(0, n, numpy_chunk):
        b = min(n, a + numpy_chunk)
        simulate_numpy({k: v[a:b] for k, v in p.items()}, z[a:b], u[a:b], inputs.history, inputs.start_year, inputs.coords, dtype=dtype)
    return time.perf_counter() - t0


def check_error(kept: dict, inputs) -> tuple[float, int]:
    """(largest |engine - numpy| over the kept draws that follow the same discrete branches, in
    units of the reference test's tolerance 1e-3 |numpy| + 1e-5 max|numpy| per output; number of
    draws beyond 1, where float32 rounding took another discrete branch)."""
    n = next(iter(kept.values())).shape[0]
    sub = {k: v[:n] for k, v in inputs.params.items()}
    ref = simulate_numpy(sub, inputs.normals[:n], inputs.uniforms[:n], inputs.history, inputs.start_year, inputs.coords, dtype=np.float64)
    per_draw = np.zeros(n)
    for name in OUTPUT_NAMES:
        a, b = np.asarray(kept[name], np.float64), ref[name]
        tol = 1e-3 * np.abs(b) + 1e-5 * np.max(np.abs(b)) + 1e-300
        per_draw = np.maximum(per_draw, (np.abs(a - b) / tol).reshape(n, -1).max(axis=1))
    same = per_draw <= 1.0
    return float(per_draw[same].max()) if same.any() else float("inf"), int((~same).sum())


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--draws", type=int, nargs="+", required=True)
    ap.add_argument("--years", type=int, default=16, help="simulated years (default 16: 2025-2040)")
    ap.add_argument("--chunk-size", type=int, default=16384)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--scenario", default="baseline")
    ap.add_argument("--numpy-max-draws", type=int, default=100_000, help="time NumPy on at most this many draws")
    ap.add_argument("--numpy-chunk", type=int, default=4096, help="draws per NumPy call")
    ap.add_argument("--repeat", type=int, default=1, help="time each figure this many times, keep the fastest")
    ap.add_argument("--numpy-dtype", default="float32", choices=("float32", "float64"))
    ap.add_argument("--profile", action="store_true", help="also time sampling + simulation without the reductions")
    ap.add_argument("--json", action="store_true", help="one JSON line per N")
    ap.add_argument("--cpu-devices", type=int, default=0,
                    help="without a GPU: run the engine (and the bounds) on this many CPU devices (0: one per core)")
    ap.add_argument("--wave-groups", type=int, default=None,
                    help="groups of 4,096 draws simulated side by side per loop turn on this platform "
                         "(0: one block per turn; default: the engine's choice, engine.runner.wave_groups)")
    args = ap.parse_args(argv)
    use_cpu_cores(args.cpu_devices or None)  # effective only if JAX has not started yet
    if min(args.draws) < 1 or args.years < 1:
        ap.error("--draws and --years must be positive")
    if args.wave_groups is not None:
        if args.wave_groups < 0:
            ap.error("--wave-groups must be 0 or more")
        runner.WAVE_GROUPS[jax.local_devices()[0].platform] = args.wave_groups

    priors = load_scenario(args.scenario)
    start_year = priors.start_year
    end_year = start_year + args.years - 1
    info = device_info()
    rows = {n: {"draws": n, "years": args.years, **info} for n in args.draws}
    log = (lambda *a: print(*a, file=sys.stderr, flush=True)) if args.json else (lambda *a: print(*a, flush=True))
    log(f"# {args.scenario}, {args.years} years, chunk size {args.chunk_size}, {info['device']} ({info['platform']}), jax {jax.__version__}")

    # 1. engine: compile once per chunk shape, then time the streaming run (summary only)
    compiled: dict[int, float] = {}
    check = None
    for n in sorted(args.draws):
        chunk = effective_chunk(n, args.chunk_size)
        if chunk not in compiled:
            first, _ = time_engine(priors, chunk, args.seed, args.chunk_size, end_year)
            second, _ = time_engine(priors, chunk, args.seed, args.chunk_size, end_year)
            compiled[chunk] = first - second
            if check is None:  # kept draws come from another compiled variant (draws leave the device)
                check = time_engine(priors, chunk, args.seed, args.chunk_size, end_year, keep_draws=CHECK_DRAWS)[1].kept
        load_before = os.getloadavg()[0]
        s = best(args.repeat, lambda: time_engine(priors, n, args.seed, args.chunk_size, end_year)[0])
        rows[n].update(
            load_avg_1m=[round(load_before, 2), round(os.getloadavg()[0], 2)],
            chunk_size=chunk,
            compile_s=compiled[chunk],
            engine_s=s,
            engine_draw_years_per_s=n * args.years / s,
            peak_rss_mb=peak_rss_mb(),
        )
        log(f"engine  N={n:>9,}  {s:9.2f} s  (compile {compiled[chunk]:.1f} s)")

    # 2. the random-number bound, chunked like the engine
    turn = turn_draws()
    rng = on_devices(rng_bound_fn(priors, args.years, block=turn), turn)
    fields = prior_fields(priors)
    unit = turn * len(jax.local_devices())
    time_chunks(rng, fields, unit, unit, args.seed)  # compile (block count is an argument)
    for n in sorted(args.draws):
        chunk = effective_chunk(n, args.chunk_size)
        s = best(args.repeat, lambda: time_chunks(rng, fields, n, chunk, args.seed))
        rows[n].update(rng_bound_s=s, ratio_to_rng_bound=rows[n]["engine_s"] / s)
        log(f"rng     N={n:>9,}  {s:9.2f} s")

    if args.profile:
        fn = on_devices(sim_only_fn(priors, args.years, start_year, turn), turn)
        time_chunks(fn, fields, unit, unit, args.seed)  # compile
        for n in sorted(args.draws):
            chunk = effective_chunk(n, args.chunk_size)
            s = best(args.repeat, lambda: time_chunks(fn, fields, n, chunk, args.seed))
            rows[n].update(sim_only_s=s, reduction_share=1.0 - s / rows[n]["engine_s"])
            log(f"simonly N={n:>9,}  {s:9.2f} s")

    # 3. NumPy on the same draws (inputs generated up front, not timed)
    m_max = min(max(args.draws), args.numpy_max_draws)
    inputs = sample_inputs(priors, m_max, args.seed, end_year=end_year)
    err, diverged = check_error(check, inputs) if check else (float("nan"), -1)
    for n in sorted(args.draws):
        m = min(n, m_max)
        s = best(args.repeat, lambda: time_numpy(inputs, m, args.numpy_chunk, np.dtype(args.numpy_dtype))) * (n / m)
        rows[n].update(
            numpy_s=s,
            numpy_draw_years_per_s=n * args.years / s,
            numpy_measured_draws=m,
            numpy_extrapolated=m < n,
            numpy_dtype=args.numpy_dtype,
            speedup_vs_numpy=s / rows[n]["engine_s"],
            check_max_err=err,
            check_diverged=diverged,
        )
        log(f"numpy   N={n:>9,}  {s:9.2f} s" + (f"  (extrapolated from {m:,} draws)" if m < n else ""))

    stamp = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    for n in args.draws:
        rows[n].update(jax_version=jax.__version__, python=platform.python_version(), utc=stamp)
    if args.json:
        for n in args.draws:
            print(json.dumps(rows[n]), flush=True)
    else:
        print_table([rows[n] for n in args.draws], args.profile)
    return 0


def print_table(rows, profile):
    cols = [
        ("draws", "{:,}"),
        ("engine_s", "{:.2f}"),
        ("engine_draw_years_per_s", "{:,.0f}"),
        ("compile_s", "{:.1f}"),
        ("numpy_s", "{:.2f}"),
        ("numpy_draw_years_per_s", "{:,.0f}"),
        ("speedup_vs_numpy", "{:.1f}"),
        ("rng_bound_s", "{:.2f}"),
        ("ratio_to_rng_bound", "{:.1f}"),
        ("peak_rss_mb", "{:,.0f}"),
    ]
    if profile:
        cols += [("sim_only_s", "{:.2f}"), ("reduction_share", "{:.0%}")]
    head = [c for c, _ in cols]
    body = [[f.format(r[c]) + ("*" if c == "numpy_s" and r["numpy_extrapolated"] else "") for c, f in cols] for r in rows]
    width = [max(len(h), *(len(b[i]) for b in body)) for i, h in enumerate(head)]
    print("  ".join(h.rjust(w) for h, w in zip(head, width)))
    for b in body:
        print("  ".join(x.rjust(w) for x, w in zip(b, width)))
    r = rows[0]
    print(f"device: {r['device']} ({r['platform']}), years: {r['years']}, numpy dtype: {r['numpy_dtype']}")
    print("1-min load average before/after each engine timing: " + ", ".join(f"{x['load_avg_1m'][0]}/{x['load_avg_1m'][1]}" for x in rows))
    ext = [x for x in rows if x["numpy_extrapolated"]]
    if ext:
        print(f"* NumPy timed on the first {ext[0]['numpy_measured_draws']:,} draws and scaled linearly to N")
    print(f"engine vs NumPy on the first {CHECK_DRAWS} draws: max difference {r['check_max_err']:.2f} x the test tolerance "
          f"({r['check_diverged']} draws on another discrete branch)")


if __name__ == "__main__":
    sys.exit(main())
