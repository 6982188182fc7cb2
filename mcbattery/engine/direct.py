"""Run the model on given parameters, outside the streaming driver: parameters of given draw
indices, and outputs for given parameters with the process noise of given draw indices
(common random numbers for scenario comparison and sensitivity analysis). Compiled once per
prior structure, horizon and shape; :func:`sample_rows` and :func:`simulate_rows` split any
number of rows into padded batches of one compiled shape."""

from __future__ import annotations

import contextlib
import math
from functools import lru_cache

import jax
import jax.numpy as jnp
import numpy as np

from mcbattery.engine.devices import use_default_cache
from mcbattery.engine.kernel import deployment_history, draw_randomness
from mcbattery.engine.sampling import make_sampler, prior_fields, structure
from mcbattery.inputs.priors import Priors
from mcbattery.inputs.priors import PRIORS_DIR
from mcbattery.model import noise
from mcbattery.model.coords import Coords, load_coords
from mcbattery.model.scan import simulate_batch

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
def _simulator(n_years: int, start_year: int, dtype: str, coords: Coords):
    dt = _jnp_dtype(dtype)
    slots = noise.layout(coords)

    @jax.jit
    def go(seed, idx, params, history):
        base = jax.random.PRNGKey(seed)

        _, normals, uniforms = jax.vmap(lambda i: draw_randomness(jax.random.fold_in(base, i), n_years, slots, dt))(idx)
        return simulate_batch(params, normals, uniforms, history, coords, start_year)

    return go


@lru_cache(maxsize=8)
def _history(start_year: int):
    return deployment_history(start_year)


def x64(dtype: str):
    """A context that enables float64 inside it when ``dtype`` is "float64" (never process-wide)."""
    return jax.enable_x64(True) if dtype == "float64" else contextlib.nullcontext()


def sample_draws(priors, indices, seed: int = 0, dtype: str = "float32") -> dict[str, np.ndarray]:
    """Parameters of the given draw indices (name -> (len(indices), *dims)); the same numbers
    as ``engine.sample_params`` for those indices. Compiled once per prior structure and
    number of indices."""
    use_default_cache()
    with x64(dtype):
        fn = _sampler(structure(priors), dtype)
        out = fn(jnp.uint32(seed), jnp.asarray(indices, jnp.int32), prior_fields(priors, _jnp_dtype(dtype)))
        return {k: np.asarray(v) for k, v in out.items()}


def simulate_draws(
    params: dict[str, np.ndarray], noise_indices, seed: int, start_year: int, end_year: int, dtype: str = "float32",
    coords: Coords | None = None,
) -> dict[str, np.ndarray]:
    """Run the model on given parameters, row ``j`` with the process noise of draw index
    ``noise_indices[j]`` (as ``engine.simulate_params``, but any index per row). ``coords``:
    the priors' coordinates (default: the shipped ones). Returns outputs name -> (rows, years,
    *dims)."""
    n_years = end_year - start_year + 1
    coords = coords if coords is not None else load_coords(PRIORS_DIR)
    use_default_cache()
    with x64(dtype):
        dt = _jnp_dtype(dtype)
        fn = _simulator(n_years, start_year, dtype, coords)
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
    start_year = priors.start_year
    n = next(iter(params.values())).shape[0]
    missing = set(priors.params) - set(params)
    if missing:
        params = {**sample_params(priors, n, seed, start, dtype), **params}
    return simulate_draws(params, np.arange(start, start + n), seed, start_year, end_year, jnp.dtype(dtype).name, priors.coords)


# Batched helpers: any number of rows in padded batches of one compiled shape.

CHUNK_UNIT = 256  # batch sizes are rounded up to a multiple, to limit the compiled shapes


def chunk_rows(chunk_size: int, total: int | None = None) -> int:
    """Rows per device call: ``chunk_size`` rounded up to a multiple of CHUNK_UNIT, and for
    small jobs no more than the next power of two >= ``total`` (at least CHUNK_UNIT). Shapes
    therefore come from a short list (256, 512, 1024, ... up to the chunk size): a process
    compiles the sampler and the simulator once per prior structure, horizon and shape."""
    rows = max(CHUNK_UNIT, int(math.ceil(chunk_size / CHUNK_UNIT)) * CHUNK_UNIT)
    if total is not None:
        rows = min(rows, max(CHUNK_UNIT, 1 << max(int(total) - 1, 0).bit_length()))
    return rows


def sample_rows(priors, indices, seed: int = 0, batch: int = 4096, dtype: str = "float32") -> dict[str, np.ndarray]:
    """:func:`sample_draws` for any number of indices, in padded batches of ``batch`` rows
    (one compiled shape)."""
    indices = np.asarray(indices, np.int64)
    rows = chunk_rows(batch, len(indices))
    parts = []
    for s in range(0, len(indices), rows):
        idx = indices[s : s + rows]
        m = len(idx)
        pad = np.concatenate([idx, np.full(rows - m, idx[-1])])
        parts.append({k: v[:m] for k, v in sample_draws(priors, pad, seed, dtype).items()})
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def simulate_rows(
    params: dict[str, np.ndarray], noise_indices, seed: int, start_year: int, end_year: int,
    batch: int = 4096, dtype: str = "float32", keep=None, progress=None, coords: Coords | None = None,
) -> dict[str, np.ndarray]:
    """:func:`simulate_draws` for any number of rows, in padded batches of ``batch`` rows.
    ``keep``: output names to return (default all); ``progress``: a bar with ``update(rows)``;
    ``coords``: the priors' coordinates (default: the shipped ones)."""
    noise_indices = np.asarray(noise_indices, np.int64)
    total = len(noise_indices)
    rows = chunk_rows(batch, total)
    parts = []
    for s in range(0, total, rows):
        m = min(rows, total - s)
        take = np.concatenate([np.arange(s, s + m), np.full(rows - m, s + m - 1)])
        p = {k: v[take] for k, v in params.items()}
        out = simulate_draws(p, noise_indices[take], seed, start_year, end_year, dtype, coords)
        parts.append({k: v[:m] for k, v in out.items() if keep is None or k in keep})
        if progress is not None:
            progress.update(m)
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def all_finite(outputs: dict[str, np.ndarray]) -> np.ndarray:
    """Rows whose every output value is finite (the engine drops the others too)."""
    ok = None
    for v in outputs.values():
        f = np.isfinite(v.reshape(v.shape[0], -1)).all(axis=1)
        ok = f if ok is None else ok & f
    return ok
