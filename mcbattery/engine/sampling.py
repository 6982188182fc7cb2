"""Turn resolved priors into a per-draw JAX sampler of the parameter pytree.

Each draw gets one block of uniforms and one of gamma variates (for beta and Dirichlet
priors) from its own key; every parameter element reads a fixed
slot, so a draw's parameters depend only on (seed, draw index) and on the priors, never on
chunking or device count. The distribution *types* and shapes are static; their numbers are
passed in as arrays (``prior_fields``), so one compiled kernel serves every scenario.
"""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import ndtr, ndtri

from mcbattery.inputs.priors import Priors

Params = dict[str, jax.Array]
Fields = dict[str, dict[str, jax.Array]]


def structure(priors: Priors) -> tuple:
    """Hashable static description: (name, dist, shape) per parameter, sorted by name."""
    out = []
    for name in sorted(priors.params):
        p = priors.params[name]
        if p.dist == "empirical":
            shape = np.shape(p.fields["samples"])[1:]
        else:
            shape = np.broadcast_shapes(*(np.shape(v) for v in p.fields.values()))
        out.append((name, p.dist, tuple(int(s) for s in shape)))
    return tuple(out)


def prior_fields(priors: Priors, dtype=jnp.float32) -> Fields:
    """The numbers of every prior, broadcast to the parameter's shape, as device arrays."""
    out = {}
    for name, dist, shape in structure(priors):
        fields = priors.params[name].fields
        if dist == "empirical":
            out[name] = {"samples": jnp.asarray(fields["samples"], dtype)}
        else:
            out[name] = {k: jnp.asarray(np.broadcast_to(v, shape), dtype) for k, v in fields.items()}
    return out


#: Random numbers are drawn in float32 whatever the compute dtype and then cast, so a float64
#: run simulates the same draws as a float32 run and differs from it by rounding only.
RANDOM_DTYPE = jnp.float32


def random_normal(key: jax.Array, shape: tuple, dtype) -> jax.Array:
    """Standard normals drawn in RANDOM_DTYPE, cast to ``dtype``."""
    return jax.random.normal(key, shape, RANDOM_DTYPE).astype(dtype)


def random_uniform(key: jax.Array, shape: tuple, dtype, minval: float = 0.0, maxval: float = 1.0) -> jax.Array:
    """Uniforms on [minval, maxval) drawn in RANDOM_DTYPE, cast to ``dtype``."""
    return jax.random.uniform(key, shape, RANDOM_DTYPE, minval=minval, maxval=maxval).astype(dtype)


GAMMA_TRIALS = 4


def gamma_variates(key: jax.Array, alpha: jax.Array, trials: int = GAMMA_TRIALS) -> jax.Array:
    """Gamma(alpha, 1) variates by Marsaglia & Tsang (2000) with a fixed number of trials.

    A fixed trial count (no rejection loop) keeps vectorised sampling fast: with acceptance
    >= 0.95 per trial for shape >= 1, all four fail with probability < 7e-6 (far less for the
    larger shapes of most priors), in which case the last proposal is used. Shapes < 1 are
    boosted: G(a) = G(a + 1) U^(1/a).
    """
    boost = alpha < 1.0
    a = jnp.where(boost, alpha + 1.0, alpha)
    d = a - 1.0 / 3.0
    c = 1.0 / jnp.sqrt(9.0 * d)
    kz, ku, kb = jax.random.split(key, 3)
    z = random_normal(kz, (trials, *alpha.shape), alpha.dtype)
    u = random_uniform(ku, (trials, *alpha.shape), alpha.dtype, minval=1e-12, maxval=1.0)
    v = (1.0 + c * z) ** 3
    ok = (v > 0) & (jnp.log(u) < 0.5 * z**2 + d - d * v + d * jnp.log(jnp.maximum(v, 1e-30)))
    chosen = v[trials - 1]  # the first accepted trial, else the last proposal
    for t in range(trials - 2, -1, -1):  # a select chain fuses into one loop (no argmax/gather)
        chosen = jnp.where(ok[t], v[t], chosen)
    x = d * jnp.maximum(chosen, 1e-30)
    ub = random_uniform(kb, alpha.shape, alpha.dtype, minval=1e-12, maxval=1.0)
    return jnp.where(boost, x * ub ** (1.0 / alpha), x)


ELEMENTWISE = {
    "normal": ("mean", "sd"),
    "lognormal": ("median", "sigma"),
    "uniform": ("low", "high"),
    "truncnormal": ("mean", "sd", "low", "high"),
    "triangular": ("low", "mode", "high"),
}


def _transform(dist: str, f: dict[str, jax.Array], e: jax.Array) -> jax.Array:
    """Map uniforms ``e`` to draws of ``dist`` with (flat, concatenated) fields ``f``."""
    if dist == "normal":
        return f["mean"] + f["sd"] * ndtri(e)
    if dist == "lognormal":
        return f["median"] * jnp.exp(f["sigma"] * ndtri(e))
    if dist == "uniform":
        return f["low"] + (f["high"] - f["low"]) * e
    if dist == "truncnormal":
        a = ndtr((f["low"] - f["mean"]) / f["sd"])
        b = ndtr((f["high"] - f["mean"]) / f["sd"])
        x = f["mean"] + f["sd"] * ndtri(jnp.clip(a + (b - a) * e, 1e-12, 1 - 1e-12))
        return jnp.clip(x, f["low"], f["high"])
    lo, mo, hi = f["low"], f["mode"], f["high"]  # triangular
    fc = (mo - lo) / jnp.maximum(hi - lo, 1e-30)
    left = lo + jnp.sqrt(e * (hi - lo) * (mo - lo))
    right = hi - jnp.sqrt((1 - e) * (hi - lo) * (hi - mo))
    return jnp.where(e < fc, left, right)


def _gamma_ratio_indices(g_slot, dists, shapes, n_rows):
    """Index arrays over the gamma variates (with one zero appended at ``n_rows``) such that
    ``g[num]`` over the in-order sum of ``g[den[:, j]]`` is every beta (G_a / (G_a + G_b)) and
    Dirichlet (G_i / sum over the last axis) value, and each parameter's output slots.

    The sums are unrolled in a fixed order rather than written as a product with a 0/1 matrix:
    a vmapped product's summation order depends on the number of draws in a chunk."""
    n_out = sum(size for _, size in g_slot.values())
    width = max([2] + [shapes[n][-1] for n in g_slot if dists[n] == "dirichlet"])
    num = np.full(max(n_out, 1), n_rows, np.int32)
    den = np.full((max(n_out, 1), width), n_rows, np.int32)
    out_slot, at = {}, 0
    for name, (start, size) in g_slot.items():
        cols = at + np.arange(size)
        num[cols] = start + np.arange(size)
        if dists[name] == "beta":
            den[cols, 0] = start + np.arange(size)
            den[cols, 1] = start + size + np.arange(size)
        else:  # sums over the last axis, the Dirichlet's components
            k = shapes[name][-1]
            for row in np.arange(size).reshape(-1, k):
                den[at + row, :k] = start + row
        out_slot[name] = (at, size)
        at += size
    return num, den, out_slot


def make_sampler(struct: tuple, dtype=jnp.float32) -> Callable[[jax.Array, Fields], Params]:
    """Return ``sample(key, fields) -> {name: array(shape)}`` for one draw.

    Parameters of the same distribution type are transformed together in one vectorised
    operation (small graphs compile fast); each still reads its own fixed uniform slots.
    """
    n_u = n_g = 0
    u_slot: dict[str, tuple[int, int]] = {}
    g_slot: dict[str, tuple[int, int]] = {}
    groups: dict[str, list[str]] = {d: [] for d in ELEMENTWISE}
    shapes: dict[str, tuple[int, ...]] = {}
    dists: dict[str, str] = {}
    for name, dist, shape in struct:
        size = int(np.prod(shape, dtype=np.int64))
        shapes[name], dists[name] = shape, dist
        # Every parameter owns `size` uniform slots whatever its distribution (normal types use
        # the inverse CDF), so a scenario that changes one prior's type keeps every other
        # parameter's random numbers: common random numbers across scenarios.
        u_slot[name] = (n_u, size)
        n_u += size
        if dist in ELEMENTWISE:
            groups[dist].append(name)
        elif dist in ("beta", "dirichlet"):
            g_slot[name] = (n_g, size)
            n_g += 2 * size if dist == "beta" else size
    gathers = {
        d: np.concatenate([np.arange(u_slot[nm][0], u_slot[nm][0] + u_slot[nm][1]) for nm in names])
        for d, names in groups.items()
        if names
    }
    num, den, g_out = _gamma_ratio_indices(g_slot, dists, shapes, max(n_g, 1))

    def gamma_shapes(fields: Fields) -> jax.Array:
        parts = []
        for name in g_slot:
            f = fields[name]
            if dists[name] == "beta":
                parts += [jnp.ravel(f["mean"] * f["concentration"]), jnp.ravel((1 - f["mean"]) * f["concentration"])]
            else:
                parts.append(jnp.ravel(f["mean"] * f["concentration"]))
        return jnp.concatenate(parts) if parts else jnp.ones(1, dtype)

    def sample(key: jax.Array, fields: Fields) -> Params:
        _, ku, kg = jax.random.split(key, 3)
        u = random_uniform(ku, (max(n_u, 1),), dtype, minval=1e-7, maxval=1 - 1e-7)
        g = gamma_variates(kg, gamma_shapes(fields).astype(dtype))
        # every beta / Dirichlet value at once: numerator over its group's sum, gathered from one
        # padded copy of g (one consumer: per-parameter slices of g would each recompute the
        # gamma proposals' random bits inside their own fused loop)
        gz = jnp.concatenate([g, jnp.zeros(1, g.dtype)])
        total = gz[den[:, 0]]
        for j in range(1, den.shape[1]):
            total = total + gz[den[:, j]]
        ratio = gz[num] / jnp.maximum(total, 1e-30)
        # one posterior sample index per draw, shared by every empirical parameter
        row_u = random_uniform(jax.random.fold_in(key, 0x5EED), (), dtype)
        out: Params = {}
        for dist, names in groups.items():
            if not names:
                continue
            f = {k: jnp.concatenate([jnp.ravel(fields[nm][k]) for nm in names]) for k in ELEMENTWISE[dist]}
            x = _transform(dist, f, u[gathers[dist]])
            at = 0
            for nm in names:
                size = u_slot[nm][1]
                out[nm] = x[at : at + size].reshape(shapes[nm])
                at += size
        for name, dist in dists.items():
            f = fields[name]
            if dist == "empirical":
                n_samples = f["samples"].shape[0]
                row = jnp.minimum((row_u * n_samples).astype(jnp.int32), n_samples - 1)
                out[name] = f["samples"][row]
            elif dist == "fixed":
                out[name] = f["value"]
            elif dist in ("beta", "dirichlet"):
                start, size = g_out[name]
                out[name] = ratio[start : start + size].reshape(shapes[name])
            elif dist not in ELEMENTWISE:  # pragma: no cover - validated in priors
                raise ValueError(dist)
        return {k: jnp.broadcast_to(out[k], shapes[k]).astype(dtype) for k, _, _ in struct}

    # what one draw consumes, for benchmarks that time the random numbers alone
    sample.n_uniform = n_u
    sample.n_gamma = n_g
    sample.gamma_shapes = gamma_shapes
    return sample
