"""The model in plain NumPy: the throughput baseline and an independent check of the engine.

``simulate_numpy`` runs the model's own step functions (:mod:`mcbattery.model.step`) on NumPy
arrays, vectorised over draws (the draw axis last) with a plain Python loop over years and
months: what a user would write in NumPy, and the same equations as the engine, written once.
What it checks independently is everything the engine adds: compilation, vmapping, sharding,
chunking and the streaming reductions.

``sample_inputs`` reproduces, with ``jax.random``, exactly the parameters and random numbers the
engine feeds the model for draws ``first .. first + n - 1`` of a seed, so the two can be
compared draw by draw.
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

import numpy as np

from mcbattery.model.outputs import OUTPUTS
from mcbattery.model.scan import simulate_batch

OUTPUT_NAMES = tuple(OUTPUTS)


def simulate_numpy(params, normals, uniforms, history, start_year: int, coords, *, dtype=np.float32):
    """Simulate ``n`` draws with NumPy.

    params: {name: (n, *dims)}; normals: (n, years, n_normals); uniforms: (n, years,
    n_uniforms); history: (HISTORY,) deployments 1..HISTORY years before ``start_year``.
    Returns {output name: (n, years, *dims)} in ``dtype`` (inputs are cast to it).
    """
    p = {k: np.asarray(v, dtype) for k, v in params.items()}
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return simulate_batch(p, np.asarray(normals, dtype), np.asarray(uniforms, dtype), np.asarray(history, dtype), coords, start_year)


# --------------------------------------------------------------------------- inputs


class Inputs(NamedTuple):
    params: dict
    normals: np.ndarray
    uniforms: np.ndarray
    history: np.ndarray
    start_year: int
    coords: object


@lru_cache(maxsize=8)
def _input_generator(struct: tuple, n_years: int, dtype_name: str, coords):
    """One jitted generator per (prior structure, horizon, dtype); seed and draw indices are
    arguments, so new seeds or scenarios with the same structure do not recompile."""
    import jax
    import jax.numpy as jnp

    from mcbattery.engine.kernel import draw_randomness
    from mcbattery.engine.sampling import make_sampler
    from mcbattery.model import noise

    dt = jnp.dtype(dtype_name)
    sampler = make_sampler(struct, dt)
    slots = noise.layout(coords)

    @jax.jit
    def gen(base_key, indices, fields):
        def one(i):
            kp, normals, uniforms = draw_randomness(jax.random.fold_in(base_key, i), n_years, slots, dt)
            return sampler(kp, fields), normals, uniforms

        return jax.vmap(one)(indices)

    return gen


def sample_inputs(priors, n: int, seed: int, *, first: int = 0, end_year: int = 2040, dtype="float32") -> Inputs:
    """The parameters and random numbers the engine uses for draws ``first .. first+n-1``.

    Mirrors ``engine.make_kernel``'s ``one``: key = fold_in(PRNGKey(seed), i); the process noise
    from ``engine.kernel.draw_randomness``; params = make_sampler(structure(priors))(kp,
    prior_fields(priors)). Uses ``jax.random`` for this input generation only; returns NumPy
    arrays.
    """
    import jax
    import jax.numpy as jnp

    from mcbattery.engine.kernel import deployment_history
    from mcbattery.engine.sampling import prior_fields, structure

    dt = jnp.dtype(dtype)
    start_year = priors.start_year
    n_years = end_year - start_year + 1
    gen = _input_generator(structure(priors), n_years, dt.name, priors.coords)
    indices = jnp.arange(first, first + n, dtype=jnp.int32)
    params, normals, uniforms = gen(jax.random.PRNGKey(seed), indices, prior_fields(priors, dt))
    params = {k: np.asarray(v) for k, v in params.items()}
    history = np.asarray(jnp.asarray(deployment_history(start_year), dt))
    return Inputs(params, np.asarray(normals), np.asarray(uniforms), history, start_year, priors.coords)


def _sampler_draw_counts(struct, dtype):
    """How many uniforms ("u") and gamma variates ("g") one draw of ``make_sampler(struct)``
    consumes and the gamma shape function, as the sampler declares them; and whether it draws
    the posterior-row uniform."""
    from mcbattery.engine.sampling import make_sampler

    sample = make_sampler(struct, dtype)
    counts = {"u": sample.n_uniform, "g": sample.n_gamma}
    gamma_shapes = sample.gamma_shapes
    row_uniform = any(dist == "empirical" for _, dist, _ in struct)
    return counts, gamma_shapes, row_uniform


def rng_bound_fn(priors, n_years: int, dtype="float32", block: int = 256):
    """A jitted ``f(base_key, first, n_blocks, fields) -> scalar`` that generates exactly the
    random numbers draws ``first .. first + n_blocks * block - 1`` consume: the sampler's
    uniform (and, in older layouts, normal) block, its gamma variates (with the sampler's own
    gamma generator, ``sampling.gamma_variates`` when it has one), the posterior-row uniform if
    any, and the per-year normals and uniforms. Laid out like the engine (a loop over blocks of
    ``block`` draws, vmapped inside) and reduced to one number so nothing can be skipped."""
    import jax
    import jax.numpy as jnp

    from mcbattery.engine import sampling
    from mcbattery.engine.sampling import structure

    from mcbattery.model import noise

    dt = jnp.dtype(dtype)
    slots = noise.layout(priors.coords)
    counts, gamma_shapes, row_uniform = _sampler_draw_counts(structure(priors), dt)
    gamma = getattr(sampling, "gamma_variates", None)
    if gamma is None:

        def gamma(key, alpha):
            return jax.random.gamma(key, alpha, dtype=dt)

    def one(i, base_key, fields):
        kp, kn, ku = jax.random.split(jax.random.fold_in(base_key, i), 3)
        kz, kuu, kg = jax.random.split(kp, 3)
        s = jnp.zeros((), dt)
        if counts.get("z", 0):
            s += sampling.random_normal(kz, (counts["z"],), dt).sum()
        s += sampling.random_uniform(kuu, (max(counts.get("u", 0), 1),), dt, minval=1e-7, maxval=1 - 1e-7).sum()
        if counts.get("g", 0):
            s += gamma(kg, gamma_shapes(fields).astype(dt)).sum()
        if row_uniform:
            s += sampling.random_uniform(jax.random.fold_in(kp, 0x5EED), (), dt)
        s += sampling.random_normal(kn, (n_years, slots.n_normals), dt).sum()
        s += sampling.random_uniform(ku, (n_years, slots.n_uniforms), dt, minval=1e-7, maxval=1.0).sum()
        return s

    @jax.jit
    def f(base_key, first, n_blocks, fields):
        def body(b, acc):
            idx = first + b * block + jnp.arange(block, dtype=jnp.int32)
            return acc + jax.vmap(one, in_axes=(0, None, None))(idx, base_key, fields).sum()

        return jax.lax.fori_loop(0, n_blocks, body, jnp.zeros((), dt))

    return f


__all__ = ["simulate_numpy", "sample_inputs", "rng_bound_fn", "Inputs", "OUTPUT_NAMES"]
