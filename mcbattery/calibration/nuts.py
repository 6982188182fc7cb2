"""One NUTS driver for every model the calibration fits.

:func:`sampler` compiles numpyro's functional ``hmc`` kernel (algorithm NUTS) on any
potential energy into one jitted run ``(key, z0, *data) -> (draws, stats)``: chains run
sequentially (``lax.map``) or vectorised (``vmap``), and one ``lax.scan`` runs warm-up and
sampling (adaptation stops by itself after ``num_warmup`` steps), which halves the
compilation compared with separate loops. Data are traced arguments, so one compiled sampler
serves every data set of the same shapes; samplers are cached on their settings.

:func:`run_nuts` drives a numpyro model (potential energy, transforms and Jacobians from
:func:`numpyro.infer.util.potential_energy`); :func:`fit_model` runs one calibration model by
name. The learning-curve fits (:mod:`mcbattery.calibration.learning`) call :func:`sampler`
with their own Kalman-filter potential.
"""

from __future__ import annotations

import functools
import time
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np
from numpyro.distributions.transforms import biject_to
from numpyro.infer.hmc import hmc
from numpyro.infer.util import potential_energy

from mcbattery.calibration.models import MODEL_FUNCTIONS, model_inputs
from mcbattery.calibration.priors import DEFAULT_PRIORS, MODELS, prior_centre, prior_distributions
from mcbattery.common.errors import InputError

__all__ = ["sampler", "run_nuts", "initial_points", "constrain", "fit_model", "STATS"]

#: Sampler statistics recorded per draw.
STATS = ("diverging", "num_steps", "accept_prob", "energy", "potential_energy")


@functools.lru_cache(maxsize=64)
def sampler(potential_gen: Callable, num_warmup: int, num_samples: int, num_chains: int, target_accept: float,
            max_tree_depth: int, chain_method: str = "sequential", *, init: Callable | None = None,
            stats: tuple[str, ...] = STATS, dense_mass: bool = False):
    """Jitted NUTS run ``(key, z0, *data) -> (z, stats)``, one per settings.

    ``potential_gen(*data)`` returns the potential energy ``z -> −log density`` of the
    unconstrained position ``z`` (a pytree). Each chain's key comes from
    ``jax.random.split(key, num_chains)``. ``z0``: starting points with a leading chain axis;
    or ``init(key) -> z`` draws each chain's start from the first half of its split key
    (the second drives the chain), and ``z0`` is ignored (pass None). Returns draws with leading axes
    (chain, draw) and the ``stats`` fields of the sampler state, each (chain, draw).
    ``dense_mass``: adapt a full mass matrix (for the calibration models' few, correlated
    parameters) instead of a diagonal one.
    """
    init_kernel, sample_kernel = hmc(potential_fn_gen=potential_gen, algo="NUTS")

    def one_chain(key, z0, data):
        if init is not None:
            k_init, key = jax.random.split(key)
            z0 = init(k_init)
        state = init_kernel(z0, num_warmup, target_accept_prob=target_accept, max_tree_depth=max_tree_depth,
                            dense_mass=dense_mass, model_args=data, rng_key=key)

        def step(st, _):
            st = sample_kernel(st, model_args=data)
            return st, (st.z, {k: getattr(st, k) for k in stats})

        _, out = jax.lax.scan(step, state, None, length=num_warmup + num_samples)
        return jax.tree_util.tree_map(lambda x: x[num_warmup:], out)

    @jax.jit
    def run(key, z0, *data):
        keys = jax.random.split(key, num_chains)
        starts = keys if init is not None else z0  # with ``init``, a chain's start comes from its key
        if chain_method == "sequential":
            return jax.lax.map(lambda a: one_chain(a[0], a[1], data), (keys, starts))
        return jax.vmap(one_chain, in_axes=(0, 0, None))(keys, starts, data)

    return run


@functools.lru_cache(maxsize=32)
def _model_potential(fn: Callable, kwargs: tuple) -> Callable:
    """Potential-energy generator of the numpyro model ``fn(*data, **dict(kwargs))``."""
    model_kwargs = dict(kwargs)

    def potential_gen(*data):
        return lambda z: potential_energy(fn, data, model_kwargs, z)

    return potential_gen


def run_nuts(fn, data: tuple, z0: dict, seed: int = 0, *, kwargs: tuple = (), num_warmup: int = 1000,
             num_samples: int = 1000, target_accept: float = 0.95, max_tree_depth: int = 10,
             chain_method: str = "sequential", dense_mass: bool = False) -> tuple[dict, dict]:
    """NUTS on any numpyro model ``fn(*data, **dict(kwargs))`` from unconstrained starting
    points ``z0`` {site: (chains, ...)} (see :func:`initial_points`). Returns unconstrained
    draws {site: (chain, draw, ...)} and sampler statistics {field: (chain, draw)}.
    ``kwargs`` must be hashable (a tuple of pairs): the compiled sampler is cached on it."""
    num_chains = int(next(iter(z0.values())).shape[0])
    run = sampler(_model_potential(fn, tuple(kwargs)), int(num_warmup), int(num_samples), num_chains,
                  float(target_accept), int(max_tree_depth), chain_method, dense_mass=bool(dense_mass))
    z, stats = run(jax.random.PRNGKey(seed), z0, *data)
    return z, {k: np.asarray(v) for k, v in stats.items()}


def initial_points(model: str, priors, key, num_chains: int, batch_shape: tuple = (), radius: float = 0.5) -> dict:
    """Per-chain starts (chains, *batch_shape) of a calibration model's sites: prior centres
    (:func:`~mcbattery.calibration.priors.prior_centre`) in unconstrained space ± U(−radius, radius)."""
    z0 = {}
    for i, (name, d) in enumerate(prior_distributions(model, priors).items()):
        u = biject_to(d.support).inv(jnp.asarray(prior_centre(d), jnp.float32))
        jitter = jax.random.uniform(jax.random.fold_in(key, i), (num_chains, *batch_shape), minval=-radius, maxval=radius)
        z0[name] = (u + jitter).astype(jnp.float32)
    return z0


def constrain(model: str, priors, z: dict) -> dict[str, np.ndarray]:
    """Unconstrained draws of a calibration model's sites → site values (float64 numpy)."""
    dists = prior_distributions(model, priors)
    return {k: np.asarray(biject_to(dists[k].support)(v), np.float64) for k, v in z.items()}


def fit_model(model: str, data: dict, seed: int = 0, *, priors=None, num_warmup: int = 1000,
              num_samples: int = 1000, num_chains: int = 4, target_accept: float = 0.995,
              dense_mass: bool = True, max_tree_depth: int = 10, chain_method: str = "sequential") -> tuple[dict, dict, float]:
    """Run NUTS on one calibration model. Returns (samples {site: (chain, draw)}, stats
    {field: (chain, draw)}, seconds incl. compilation). ``data`` as from
    :mod:`mcbattery.calibration.data`; ``seed`` fixes everything."""
    if model not in MODEL_FUNCTIONS:
        raise InputError(f"expected one of {', '.join(MODELS)}; got {model!r}", field="model")
    if priors is None:
        priors = DEFAULT_PRIORS[model]()
    t0 = time.perf_counter()
    key = jax.random.fold_in(jax.random.PRNGKey(seed), MODELS.index(model))
    k_init, k_run = jax.random.split(key)
    z0 = initial_points(model, priors, k_init, int(num_chains))
    run_seed = int(jax.random.randint(k_run, (), 0, 2**31 - 1))
    z, stats = run_nuts(MODEL_FUNCTIONS[model], model_inputs(model, data), z0, run_seed, kwargs=(("priors", priors),),
                        num_warmup=num_warmup, num_samples=num_samples, target_accept=target_accept,
                        max_tree_depth=max_tree_depth, chain_method=chain_method, dense_mass=dense_mass)
    return constrain(model, priors, z), stats, time.perf_counter() - t0
