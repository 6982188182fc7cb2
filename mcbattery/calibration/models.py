"""The calibration models as pure numpyro functions, with their likelihood pieces and
posterior-predictive replicates.

* :func:`learning_model` -- Wright's law for the Li-ion cell price (real 2024 USD/kWh,
  2010 on) against cumulative production ``Q_t = Q0 + s * cumsum(IEA World EV battery
  demand)``, with the Farmer-Lafond / Way MA(1) noise in first differences and the exact
  tridiagonal Gaussian likelihood (:func:`increments_log_likelihood`, also the static limit
  of :mod:`mcbattery.calibration.learning`'s filter). ``Q0`` (cumulative Li-ion production
  before 2010, GWh) and ``s`` (all Li-ion / EV demand) are latents with priors; only their
  ratio is identified.
* :func:`demand_model` -- logistic growth of IEA World EV battery demand (2015-2024 by
  default; 2010 on is available): each year's log growth is ``r (1 - D_{t-1}/K)`` plus an
  AR(1) growth shock, so shocks persist in the level (Way et al. 2022), giving the EV
  ``demand_saturation``, ``demand_growth_rate``, ``demand_noise_sd`` and
  ``demand_growth_persistence``.
* :func:`chemistry_model` -- the engine's chemistry choice (cost-driven target, inertia) on
  the world BEV LFP share, giving ``chemistry_cost_sensitivity`` (EV) and
  ``chemistry_adjustment_rate``.
* :func:`price_model` (one per material: ``price_lithium``, ``price_nickel``,
  ``price_cobalt``) -- the monthly price noise of :mod:`mcbattery.model.materials` around
  a trending anchor, giving ``price_anchor``, ``price_anchor_trend``, ``price_reversion`` and
  ``price_volatility`` of that material.

Sites are prefixed with the model name; their priors are
:func:`mcbattery.calibration.priors.prior_distributions`.
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpyro
import numpyro.distributions as dist

from mcbattery.calibration.priors import MODELS, DemandPriors, LearningPriors, prior_distributions
from mcbattery.model import prices
from mcbattery.model.demand import logistic_growth

__all__ = [
    "learning_model",
    "price_model",
    "demand_model",
    "MODEL_FUNCTIONS",
    "model_inputs",
    "increment_covariance",
    "innovations",
    "increments_log_likelihood",
    "consecutive_increments",
    "learning_increments",
    "learning_pointwise",
    "monthly_price_parameters",
    "price_deviations",
    "price_pointwise",
    "chemistry_model",
    "chemistry_path",
    "chemistry_pointwise",
    "demand_growth_shocks",
    "demand_pointwise",
    "predictive_fn",
]


# ---------------------------------------------------------------------------------------
# MA(1) increments: exact Gaussian likelihood (tridiagonal covariance, innovations form)
# ---------------------------------------------------------------------------------------


def increment_covariance(sigma, rho, gaps, mask, first):
    """Diagonal ``a`` and sub-diagonal ``e`` of the covariance of MA(1) increments spanning
    ``gaps`` years each [log-cost²]: a = σ²[g(1+ρ²) + 2(g−1)ρ], e = σ²ρ between neighbours.
    ``mask``: real (not padding) increments; ``first``: the first real one."""
    s2 = sigma**2
    a = s2 * (gaps * (1 + rho**2) + 2 * (gaps - 1) * rho)
    e = s2 * rho
    a = jnp.where(mask, a, 1.0)
    e = jnp.where(mask & ~first, e, 0.0)
    return a, e


def innovations(a, e, r):
    """LDLᵀ recursion of a symmetric tridiagonal matrix (diagonal ``a``, sub-diagonal ``e``)
    applied to residuals ``r``: one-step prediction variances d and errors z."""

    def step(carry, x):
        d_prev, z_prev = carry
        a_i, e_i, r_i = x
        l_i = e_i / d_prev
        d_i = a_i - e_i * l_i
        z_i = r_i - l_i * z_prev
        return (d_i, z_i), (d_i, z_i)

    init = (jnp.ones((), a.dtype), jnp.zeros((), a.dtype))
    _, (d, z) = jax.lax.scan(step, init, (a, e, r))
    return d, z


def increments_log_likelihood(slope, sigma, rho, dx, gaps, dy, mask, first):
    """Exact Gaussian log-likelihood [nats] of log-cost increments ``dy`` = −slope·``dx`` +
    MA(1) noise, in O(n) (:func:`increment_covariance`, :func:`innovations`)."""
    r = jnp.where(mask, dy + slope * dx, 0.0)
    a, e = increment_covariance(sigma, rho, gaps, mask, first)
    d, z = innovations(a, e, r)
    return -0.5 * jnp.sum(jnp.where(mask, jnp.log(d) + z**2 / d + math.log(2 * math.pi), 0.0))


def consecutive_increments(n: int):
    """Annual gaps, mask and first-increment flag of ``n`` consecutive yearly increments."""
    first = jnp.zeros(n, bool).at[0].set(True)
    return jnp.ones(n), jnp.ones(n, bool), first


# ---------------------------------------------------------------------------------------
# Model 1: Wright's law on the cell price with latent pre-2010 production
# ---------------------------------------------------------------------------------------


def learning_increments(q0, scale, cum_ev, log_cost):
    """(Δlog Q, Δlog c) between consecutive years with Q = q0 + scale * cum_ev [GWh]."""
    log_q = jnp.log(q0 + scale * jnp.asarray(cum_ev))
    return jnp.diff(log_q), jnp.diff(jnp.asarray(log_cost))


def learning_pointwise(b, sigma, rho, dx, dy):
    """One-step-ahead log densities of the increments, shape (n,) [nats]; they sum to
    :func:`increments_log_likelihood` (innovations form of the same likelihood)."""
    gaps, mask, first = consecutive_increments(dy.shape[-1])
    r = dy + b * dx
    a, e = increment_covariance(sigma, rho, gaps, mask, first)
    d, z = innovations(a, e, r)
    return -0.5 * (jnp.log(d) + z**2 / d + math.log(2 * math.pi))


def learning_model(cum_ev, log_cost=None, priors: LearningPriors = LearningPriors()):
    """Wright's law with MA(1) noise in first differences (annual clock).

    Δlog c_t = −b Δlog Q_t + u_t + ρ u_{t−1}, u_t ~ N(0, σ²), Q_t = q0 + s · cum_ev_t;
    b has the learning-curve Student-t prior truncated at 0.
    ``cum_ev``: cumulative IEA World EV battery demand [GWh] per year; ``log_cost``: log cell
    price per year (None: prior only). Sites ``learning__q0`` [GWh], ``learning__nonev_scale``,
    ``learning__exponent`` b, ``learning__noise_scale`` σ, ``learning__noise_autocorrelation`` ρ.
    """
    q0, scale, b, sigma, rho = (numpyro.sample(k, d) for k, d in prior_distributions("learning", priors).items())
    if log_cost is None:
        return
    dx, dy = learning_increments(q0, scale, cum_ev, log_cost)
    gaps, mask, first = consecutive_increments(dy.shape[-1])
    numpyro.factor("learning__loglik", increments_log_likelihood(b, sigma, rho, dx, gaps, dy, mask, first))


# ---------------------------------------------------------------------------------------
# Price models: one per material, monthly AR(1) in log price around a trending anchor
# ---------------------------------------------------------------------------------------


def monthly_price_parameters(reversion, volatility):
    """Engine annual (k, σ) → monthly (k_m, σ_m), exact for the AR(1) in log price; the
    engine's own conversion (:func:`mcbattery.model.prices.monthly_parameters`)."""
    k_m, s_m, _ = prices.monthly_parameters(reversion, volatility, 0.0 * reversion)
    return k_m, s_m


def price_deviations(params: dict, model: str, log_price, tau):
    """Log deviations of the monthly prices from the anchor, ``log P − log A − trend·τ``."""
    return jnp.asarray(log_price) - jnp.log(params[f"{model}__anchor"]) - params[f"{model}__anchor_trend"] * jnp.asarray(tau)


def price_pointwise(params: dict, model: str, log_price, tau):
    """One-month-ahead log densities of the prices after the first month [nats], shape (M−1,):
    ξ_m = (1 − k_m) ξ_{m−1} + σ_m ε_m for the deviations ξ of :func:`price_deviations`."""
    k_m, s_m = monthly_price_parameters(params[f"{model}__reversion"], params[f"{model}__volatility"])
    xi = price_deviations(params, model, log_price, tau)
    return dist.Normal((1.0 - k_m) * xi[:-1], s_m).log_prob(xi[1:])


def price_model(log_price, tau, priors=None, model: str = "price_lithium"):
    """Monthly log price of one material (real 2024 USD/t) around its long-run incentive
    price: log P_m = log A + trend·τ_m + ξ_m, ξ an AR(1) with the engine's annual reversion and
    volatility converted to monthly values. In the engine the clearing level of the material
    market moves the level each year; without a history of market balances the calibration
    fits the noise around the anchor (docs/calibration.md). ``tau``: years from mid-2024.
    Sites ``<model>__anchor`` [USD2024/t, 2024], ``__anchor_trend`` [1/yr], ``__reversion``,
    ``__volatility``."""
    params = {n: numpyro.sample(n, d) for n, d in prior_distributions(model, priors).items()}
    if log_price is None:
        return
    numpyro.factor(f"{model}__loglik", jnp.sum(price_pointwise(params, model, log_price, tau)))


# ---------------------------------------------------------------------------------------
# Chemistry choice: LFP share of new EV cells, moving toward a cost-driven target with inertia
# ---------------------------------------------------------------------------------------


def chemistry_path(sensitivity, rate, trend, share0, cost_gap):
    """LFP share of new EV cells, year by year: s_t = s_{t−1} + ψ (target_t − s_{t−1}),
    target_t = logistic(logit s_0 + trend·t + λ·g_t) with g_t the change since the first year of
    log(NMC cost / LFP cost) in the year before (the engine's target: a chemistry that got
    relatively cheaper gains share). ``share0``: observed first-year share; ``cost_gap``: g_t."""
    base = jnp.log(share0) - jnp.log1p(-share0)

    def step(s, x):
        t, g = x
        target = jax.nn.sigmoid(base + trend * t + sensitivity * g)
        s = s + rate * (target - s)
        return s, s

    n = cost_gap.shape[0]
    _, path = jax.lax.scan(step, jnp.asarray(share0, cost_gap.dtype), (jnp.arange(1, n, dtype=cost_gap.dtype), cost_gap[1:]))
    return path


def chemistry_pointwise(params: dict, share, cost_gap):
    """Log densities [nats] of the observed logit shares after the first year around the model path."""
    path = chemistry_path(params["chemistry__cost_sensitivity"], params["chemistry__adjustment_rate"],
                          params["chemistry__trend"], share[0], cost_gap)
    logit = lambda s: jnp.log(s) - jnp.log1p(-s)  # noqa: E731
    return dist.Normal(logit(path), params["chemistry__noise_sd"]).log_prob(logit(share[1:]))


def chemistry_model(share, cost_gap, priors=None):
    """The engine's chemistry choice for two chemistries (LFP vs nickel-based) on the world
    BEV LFP share. Sites ``chemistry__cost_sensitivity`` λ, ``chemistry__adjustment_rate`` ψ,
    ``chemistry__trend`` [1/yr], ``chemistry__noise_sd`` (logit share)."""
    params = {n: numpyro.sample(n, d) for n, d in prior_distributions("chemistry", priors).items()}
    if share is None:
        return
    numpyro.factor("chemistry__loglik", jnp.sum(chemistry_pointwise(params, jnp.asarray(share), jnp.asarray(cost_gap))))


# ---------------------------------------------------------------------------------------
# Model 3: EV battery demand, logistic growth with AR(1) growth shocks
# ---------------------------------------------------------------------------------------


def demand_growth_shocks(log_demand, saturation, rate):
    """Growth shocks u_t = Δlog D_t − r (1 − D_{t−1}/K), shape (n−1,) [log/yr]."""
    log_demand = jnp.asarray(log_demand)
    return jnp.diff(log_demand) - logistic_growth(jnp.exp(log_demand[:-1]), saturation, rate)


def demand_pointwise(u, sigma, phi):
    """Log densities of AR(1) growth shocks u (stationary start), shape (n,) [nats]."""
    first = dist.Normal(0.0, sigma / jnp.sqrt(1.0 - phi**2)).log_prob(u[:1])
    rest = dist.Normal(phi * u[:-1], sigma).log_prob(u[1:])
    return jnp.concatenate([first, rest])


def demand_model(years, log_demand=None, priors: DemandPriors = DemandPriors()):
    """Δlog D_t = r (1 − D_{t−1}/K) + u_t, u_t = φ u_{t−1} + σ ε_t (``years`` consecutive).

    Sites ``demand__saturation`` K [GWh/yr], ``demand__growth_rate`` r [1/yr],
    ``demand__noise_sd`` σ [log/yr], ``demand__growth_persistence`` φ.
    """
    K, r, sigma, phi = (numpyro.sample(k, d) for k, d in prior_distributions("demand", priors).items())
    if log_demand is None:
        return
    u = demand_growth_shocks(log_demand, K, r)
    numpyro.factor("demand__loglik", jnp.sum(demand_pointwise(u, sigma, phi)))


# ---------------------------------------------------------------------------------------
# The models by name, their data arguments, posterior predictive
# ---------------------------------------------------------------------------------------

MODEL_FUNCTIONS = {"learning": learning_model, "demand": demand_model, "chemistry": chemistry_model,
                   **{m: functools.partial(price_model, model=m) for m in MODELS if m.startswith("price_")}}
#: The data series each model takes, in argument order (keys of :mod:`~mcbattery.calibration.data`'s dicts).
MODEL_DATA = {"learning": ("cum_ev", "log_cost"), "demand": ("year", "log_demand"), "chemistry": ("share", "cost_gap"),
              **{m: ("log_price", "tau") for m in MODELS if m.startswith("price_")}}


def model_inputs(model: str, data: dict) -> tuple:
    """The model's data arguments (float32 arrays) from a data dict of
    :mod:`mcbattery.calibration.data`."""
    return tuple(jnp.asarray(data[c], jnp.float32) for c in MODEL_DATA[model])


@functools.lru_cache(maxsize=8)
def predictive_fn(model: str, names: tuple[str, ...]):
    """Jitted ``(site values (n,) per site in ``names`` order, keys (n, 2), *model inputs) ->
    (pointwise log-likelihood (n, m), posterior-predictive replicate (n, m))``."""
    if model == "learning":

        def one(q0, sc, b, sig, rho, key, cum, lc):
            dx, dy = learning_increments(q0, sc, cum, lc)
            ll = learning_pointwise(b, sig, rho, dx, dy)
            u = sig * jax.random.normal(key, (dy.shape[0] + 1,))
            return ll, -b * dx + u[1:] + rho * u[:-1]

    elif model.startswith("price_"):

        def one(*args):
            params, (key, y, tau) = dict(zip(names, args[:len(names)])), args[len(names):]
            ll = price_pointwise(params, model, y, tau)
            k_m, s_m = monthly_price_parameters(params[f"{model}__reversion"], params[f"{model}__volatility"])
            xi = price_deviations(params, model, y, tau)
            rep = y[1:] - xi[1:] + (1.0 - k_m) * xi[:-1] + s_m * jax.random.normal(key, xi[1:].shape)
            return ll, rep

    elif model == "chemistry":

        def one(*args):
            params, (key, share, gap) = dict(zip(names, args[:len(names)])), args[len(names):]
            ll = chemistry_pointwise(params, share, gap)
            path = chemistry_path(params["chemistry__cost_sensitivity"], params["chemistry__adjustment_rate"],
                                  params["chemistry__trend"], share[0], gap)
            logit = jnp.log(path) - jnp.log1p(-path) + params["chemistry__noise_sd"] * jax.random.normal(key, path.shape)
            return ll, jax.nn.sigmoid(logit)

    else:

        def one(K, r, sig, phi, key, yrs, ld):
            u = demand_growth_shocks(ld, K, r)
            ll = demand_pointwise(u, sig, phi)
            u_prev = jnp.concatenate([jnp.zeros(1), u[:-1]])
            scale = jnp.concatenate([jnp.full(1, 1.0 / jnp.sqrt(1.0 - phi**2)), jnp.ones(u.shape[0] - 1)])
            growth = logistic_growth(jnp.exp(ld[:-1]), K, r) + phi * u_prev + sig * scale * jax.random.normal(key, u.shape)
            return ll, ld[:-1] + growth

    in_axes = (0,) * (len(names) + 1) + (None,) * len(MODEL_DATA[model])
    return jax.jit(jax.vmap(one, in_axes=in_axes))
