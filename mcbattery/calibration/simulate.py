"""Simulators of the calibration models, for tests, posterior predictive checks and the boom
check: the monthly price model on its own sites, the engine's price block on engine
parameters, and the demand S-curve with AR(1) errors."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from mcbattery.calibration.models import demand_log_curve, price_step_terms
from mcbattery.model import prices
from mcbattery.model.params import block as params_block
from mcbattery.model.params import REGISTRY

__all__ = ["simulate_price_monthly", "simulate_price_annual", "simulate_demand", "ENGINE_PRICE_PARAMETERS"]

#: Engine parameters the price block reads (the start price aside).
ENGINE_PRICE_PARAMETERS = tuple(k for k, v in REGISTRY.items() if v.block == "prices" and k != "lithium_price_start")


def simulate_price_monthly(params: dict, months: int, log_price0, tau0: float = 0.0, boom0=0, seed: int = 0,
                           paths: int | None = None):
    """Simulate the monthly price model. ``params``: site values (scalars or (S,) arrays; see
    :func:`~mcbattery.calibration.priors.prior_distributions`). Returns (log price, boom)
    arrays (S, months + 1) starting at ``log_price0`` in regime ``boom0``; month m is at
    ``tau0 + m/12`` years from mid-2024."""
    rng = np.random.default_rng(seed)
    p = {k: np.atleast_1d(np.asarray(v, float)) for k, v in params.items()}
    n = max(v.size for v in p.values()) if paths is None else paths
    p = {k: jnp.asarray(np.broadcast_to(v, (n,)) if v.size in (1, n) else v) for k, v in p.items()}
    y = np.empty((n, months + 1))
    boom = np.zeros((n, months + 1))
    y[:, 0] = log_price0
    boom[:, 0] = boom0
    stay = 1.0 - np.asarray(p["price__exit_monthly"])
    enter = np.asarray(p["price__entry_monthly"])
    for m in range(1, months + 1):
        u = rng.random(n)
        boom[:, m] = np.where(boom[:, m - 1] > 0.5, u < stay, u < enter)
        mean0, d_m, s_m = (np.asarray(a, float) for a in price_step_terms(p, jnp.asarray(y[:, m - 1]), tau0 + m / 12.0))
        y[:, m] = mean0 + d_m * boom[:, m] + s_m * rng.standard_normal(n)
    return y, boom


def simulate_price_annual(engine: dict, years: int, log_price0, first_year: int, boom0=0, seed: int = 0,
                          paths_per_sample: int = 1):
    """Simulate the engine's price block (:func:`mcbattery.model.prices.step`: twelve monthly
    steps a year) with tightness 0, as the engine runs it.

    ``engine``: engine-named parameter arrays (S,) (from
    :func:`~mcbattery.calibration.engine_map.engine_samples`); ``first_year``: calendar year
    of the first simulated year (anchor as in the engine: ``A·exp(trend·(t − mid-2024))``
    month by month); the last month before it is at ``log_price0`` in regime ``boom0``.
    Returns log annual mean prices (the engine's ``lithium_price``) (S·paths_per_sample,
    years + 1), column 0 = ``log_price0``.
    """
    p = {k: jnp.repeat(jnp.asarray(np.broadcast_to(engine.get(k, 0.0), np.shape(engine["price_reversion"])),
                                   jnp.float32), paths_per_sample) for k in ENGINE_PRICE_PARAMETERS}
    n = p["price_reversion"].shape[0]
    p = params_block("prices", p, jnp.zeros(n, jnp.float32))
    key = jax.random.PRNGKey(seed)
    kz, ku = jax.random.split(key)
    eps = jax.random.normal(kz, (years, prices.MONTHS, n))
    uu = jax.random.uniform(ku, (years, prices.MONTHS, n), minval=1e-7, maxval=1.0)
    t0 = first_year - 2025

    def one(carry, xs):
        lp, bm = carry
        t, e, u = xs
        lp, bm, mean, _ = prices.step(p, t0 + t, lp, bm, jnp.zeros_like(lp), e, u)
        return (lp, bm), jnp.log(mean)

    start = (jnp.full(n, log_price0, jnp.float32), jnp.full(n, float(boom0), jnp.float32))
    _, path = jax.jit(lambda s, xs: jax.lax.scan(one, s, xs))(start, (jnp.arange(years, dtype=jnp.float32), eps, uu))
    return np.concatenate([np.full((n, 1), log_price0), np.asarray(path, float).T], axis=1)


def simulate_demand(years, saturation, rate, midpoint, noise_sd, persistence, seed: int = 0) -> np.ndarray:
    """Simulate the demand model at ``years`` for one parameter set; returns demand [GWh/yr]."""
    rng = np.random.default_rng(seed)
    years = np.asarray(years, float)
    eta = np.empty(years.size)
    eta[0] = noise_sd / math.sqrt(1 - persistence**2) * rng.standard_normal()
    for t in range(1, years.size):
        eta[t] = persistence * eta[t - 1] + noise_sd * rng.standard_normal()
    curve = np.asarray(demand_log_curve(years, saturation, rate, midpoint), float)
    return np.exp(curve + eta)
