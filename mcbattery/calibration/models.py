"""The three calibration models as pure numpyro functions, with their likelihood pieces and
posterior-predictive replicates.

* :func:`learning_model` -- Wright's law for the Li-ion cell price (real 2024 USD/kWh,
  2010 on) against cumulative production ``Q_t = Q0 + s * cumsum(IEA World EV battery
  demand)``, with the Farmer-Lafond / Way MA(1) noise in first differences and the exact
  tridiagonal Gaussian likelihood (:func:`increments_log_likelihood`, also the static limit
  of :mod:`mcbattery.calibration.learning`'s filter). ``Q0`` (cumulative Li-ion production
  before 2010, GWh) and ``s`` (all Li-ion / EV demand) are latents with priors; only their
  ratio is identified.
* :func:`price_model` -- the lithium carbonate process of :mod:`mcbattery.model.prices` at
  monthly resolution: log-price mean reversion towards a cost anchor, a two-state boom
  regime with drift (marginalised by the forward algorithm in ``jax.lax.scan``), Gaussian
  noise; tightness = 0 (no historical tightness series), so ``tightness_premium`` and
  ``boom_entry_tightness`` keep their expert priors. The reversion, volatility and drift
  carry their priors on the engine's annual scale and are converted to monthly values
  exactly (:func:`monthly_price_parameters`, the engine's own conversion); entry/exit are
  monthly and stored as the engine's annual probabilities of a switch within a year,
  1 − (1 − p)¹² (:func:`annual_price_parameters`), which the engine turns back into the
  same monthly probabilities. The engine runs this monthly process inside each year
  (:func:`mcbattery.model.prices.step`), so the posterior plugs straight in.
* :func:`demand_model` -- a logistic S-curve for IEA World EV battery demand (2015-2024 by
  default; 2010 on is available) with log-normal AR(1) errors, giving the EV
  ``demand_saturation``, ``demand_growth_rate`` and ``demand_noise_sd``.

Sites are prefixed with the model name (``learning__``, ``price__``, ``demand__``); their
priors are :func:`mcbattery.calibration.priors.prior_distributions`.
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpyro
import numpyro.distributions as dist

from mcbattery.calibration.priors import DemandPriors, LearningPriors, PricePriors, prior_distributions
from mcbattery.model import prices

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
    "annual_price_parameters",
    "price_step_terms",
    "price_log_likelihood",
    "demand_log_curve",
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
# Model 2: lithium carbonate price, monthly, boom regime marginalised (forward algorithm)
# ---------------------------------------------------------------------------------------


def monthly_price_parameters(reversion, volatility, drift):
    """Engine annual (k, σ, δ) → monthly (k_m, σ_m, δ_m), exact for the AR(1) in log price;
    the engine's own conversion (:func:`mcbattery.model.prices.monthly_parameters`).

    With φ = 1 − k_m the monthly persistence, twelve months give φ¹² = 1 − k, the variance of
    the year-end log price given the last is σ_m²(1 − φ²⁴)/(1 − φ²) = σ², and a full year in
    the boom regime adds δ_m(1 − φ¹²)/(1 − φ) = δ to the year-end log price.
    """
    return prices.monthly_parameters(reversion, volatility, drift)


def annual_price_parameters(entry, exit_):
    """Monthly boom entry/exit probabilities → the engine's annual (entry, exit): the
    probability of the switch within a year at constant conditions, 1 − (1 − p)¹²
    (:func:`mcbattery.model.prices.annual_probability`). The engine turns them back into
    exactly these monthly probabilities (:func:`mcbattery.model.prices.monthly_hazard`;
    entry through ``boom_entry_logit`` = logit of the annual entry, at zero tightness).
    """
    return prices.annual_probability(entry), prices.annual_probability(exit_)


def price_step_terms(params: dict, y_prev, tau):
    """Monthly step of the engine's price process: (mean outside a boom, boom increment,
    noise sd) of the next log price given the previous ``y_prev`` at times ``tau``.

    mean = y_prev + k_m (log A + trend·τ − y_prev); the boom adds δ_m, faded linearly in
    log price to zero at ``ceiling`` × anchor when a ceiling is fitted (as in the engine).
    """
    k_m, s_m, d_m = monthly_price_parameters(params["price__reversion"], params["price__volatility"],
                                             params["price__drift"])
    log_a = jnp.log(params["price__anchor"]) + params["price__anchor_trend"] * tau
    mean0 = y_prev + k_m * (log_a - y_prev)
    if "price__ceiling" in params:
        d_m = d_m * jnp.clip(1.0 - (y_prev - log_a) / jnp.log(params["price__ceiling"]), 0.0, 1.0)
    return mean0, d_m, s_m


def price_log_likelihood(log_price, tau, params: dict):
    """Forward algorithm of the two-regime monthly price model, conditional on the first month.

    y_m = y_{m−1} + k_m (log A + trend·τ_m − y_{m−1}) + δ_m·boom_m + σ_m ε_m; the regime
    switches first (entry e, exit x per month; stationary start). ``params``: site values
    (see :func:`~mcbattery.calibration.priors.prior_distributions`). Returns (log p(y_m | y_<m)
    (M−1,), P(boom_m | y_<m) (M−1,), P(boom_m | y_≤m) (M−1,)).
    """
    y = jnp.asarray(log_price)
    tau = jnp.asarray(tau)
    entry, exit_ = params["price__entry_monthly"], params["price__exit_monthly"]
    mean0, d_m, s_m = price_step_terms(params, y[:-1], tau[1:])
    means = jnp.stack([mean0, mean0 + d_m], axis=-1)
    log_em = dist.Normal(means, s_m).log_prob(y[1:, None])
    log_t = jnp.log(jnp.stack([jnp.stack([1.0 - entry, entry]), jnp.stack([exit_, 1.0 - exit_])]))
    s = entry + exit_
    alpha0 = jnp.log(jnp.stack([exit_ / s, entry / s]))

    def step(alpha, le):
        pred = jax.scipy.special.logsumexp(alpha[:, None] + log_t, axis=0)
        a = pred + le
        c = jax.scipy.special.logsumexp(a)
        return a - c, (c, jnp.exp(pred[1]), jnp.exp(a[1] - c))

    _, (ll, pred_boom, filt_boom) = jax.lax.scan(step, alpha0, log_em)
    return ll, pred_boom, filt_boom


def price_model(log_price, tau, priors: PricePriors = PricePriors(), observed: bool = True):
    """Monthly lithium carbonate log price (real 2024 USD/t) with a marginalised boom regime.

    Sites on the engine's annual scale: ``price__reversion`` k, ``price__volatility`` σ,
    ``price__drift`` δ, ``price__anchor`` A [USD2024/t, mid-2024], ``price__anchor_trend``
    [1/yr]; monthly: ``price__entry_monthly``, ``price__exit_monthly``; ``price__ceiling``
    [price/anchor] unless the priors leave the ceiling out. ``tau``: years from mid-2024 per
    month. ``observed=False`` gives the prior only.
    """
    params = {n: numpyro.sample(n, d) for n, d in prior_distributions("price", priors).items()}
    if log_price is None or not observed:
        return
    ll, _, _ = price_log_likelihood(log_price, tau, params)
    numpyro.factor("price__loglik", jnp.sum(ll))


# ---------------------------------------------------------------------------------------
# Model 3: EV battery demand S-curve with AR(1) log errors
# ---------------------------------------------------------------------------------------


def demand_log_curve(years, saturation, rate, midpoint):
    """log of K / (1 + exp(−r (year − midpoint))) [log GWh/yr]."""
    return jnp.log(saturation) + jax.nn.log_sigmoid(rate * (jnp.asarray(years, jnp.float32) - midpoint))


def demand_pointwise(eta, sigma, phi):
    """Log densities of AR(1) log deviations η (stationary start), shape (n,) [nats]."""
    first = dist.Normal(0.0, sigma / jnp.sqrt(1.0 - phi**2)).log_prob(eta[:1])
    rest = dist.Normal(phi * eta[:-1], sigma).log_prob(eta[1:])
    return jnp.concatenate([first, rest])


def demand_model(years, log_demand=None, priors: DemandPriors = DemandPriors()):
    """log D_t = log K − log(1 + exp(−r (t − t_mid))) + η_t, η_t = φ η_{t−1} + σ ε_t.

    Sites ``demand__saturation`` K [GWh/yr], ``demand__growth_rate`` r [1/yr],
    ``demand__midpoint_year``, ``demand__noise_sd`` σ, ``demand__noise_persistence`` φ.
    """
    K, r, mid, sigma, phi = (numpyro.sample(k, d) for k, d in prior_distributions("demand", priors).items())
    if log_demand is None:
        return
    eta = jnp.asarray(log_demand) - demand_log_curve(years, K, r, mid)
    numpyro.factor("demand__loglik", jnp.sum(demand_pointwise(eta, sigma, phi)))


# ---------------------------------------------------------------------------------------
# The models by name, their data arguments, posterior predictive
# ---------------------------------------------------------------------------------------

MODEL_FUNCTIONS = {"learning": learning_model, "price": price_model, "demand": demand_model}
#: The data series each model takes, in argument order (keys of :mod:`~mcbattery.calibration.data`'s dicts).
MODEL_DATA = {"learning": ("cum_ev", "log_cost"), "price": ("log_price", "tau"), "demand": ("year", "log_demand")}


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

    elif model == "price":

        def one(*args):
            params, (key, y, tau) = dict(zip(names, args[:len(names)])), args[len(names):]
            ll, pred, _ = price_log_likelihood(y, tau, params)
            mean0, d_m, s_m = price_step_terms(params, y[:-1], tau[1:])
            k1, k2 = jax.random.split(key)
            boom = jax.random.uniform(k1, pred.shape) < pred
            return ll, mean0 + d_m * boom + s_m * jax.random.normal(k2, pred.shape)

    else:

        def one(K, r, mid, sig, phi, key, yrs, ld):
            curve = demand_log_curve(yrs, K, r, mid)
            ll = demand_pointwise(ld - curve, sig, phi)
            e = jax.random.normal(key, yrs.shape)
            eta0 = sig / jnp.sqrt(1.0 - phi**2) * e[0]

            def ar1(c, x):
                c = phi * c + sig * x
                return c, c

            _, rest = jax.lax.scan(ar1, eta0, e[1:])
            return ll, curve + jnp.concatenate([eta0[None], rest])

    in_axes = (0,) * (len(names) + 1) + (None,) * len(MODEL_DATA[model])
    return jax.jit(jax.vmap(one, in_axes=in_axes))
