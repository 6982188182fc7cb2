"""Calibrate the engine's priors against history with numpyro (NUTS) and save the posterior.

Three small Bayesian models, each a pure numpyro function fitted on data up to ``until``:

* :func:`learning_model` -- Wright's law for the Li-ion cell price (real 2024 USD/kWh,
  2010 on) against cumulative production ``Q_t = Q0 + s * cumsum(IEA World EV battery
  demand)``, with the Farmer-Lafond / Way MA(1) noise in first differences and the exact
  tridiagonal Gaussian likelihood of :mod:`mcbattery.learning` (its ``_log_likelihood`` is
  reused as is). ``Q0`` (cumulative Li-ion production before 2010, GWh) and ``s`` (all
  Li-ion / EV demand) are latents with priors; only their ratio is identified.
* :func:`price_model` -- the lithium carbonate process of :mod:`mcbattery.prices` at
  monthly resolution: log-price mean reversion towards a cost anchor, a two-state boom
  regime with drift (marginalised by the forward algorithm in ``jax.lax.scan``), Gaussian
  noise; tightness = 0 (no historical tightness series), so ``tightness_premium`` and
  ``boom_entry_tightness`` keep their expert priors. The reversion, volatility and drift
  carry their priors on the engine's annual scale and are converted to monthly values
  exactly (:func:`monthly_price_parameters`, the engine's own conversion); entry/exit are
  monthly and stored as the engine's annual probabilities of a switch within a year,
  1 − (1 − p)¹² (:func:`annual_price_parameters`), which the engine turns back into the
  same monthly probabilities. The engine runs this monthly process inside each year
  (:func:`mcbattery.prices.step`), so the posterior plugs straight in.
* :func:`demand_model` -- a logistic S-curve for IEA World EV battery demand (2015-2024 by
  default; 2010 on is available) with log-normal AR(1) errors, giving the EV
  ``demand_saturation``, ``demand_growth_rate`` and ``demand_noise_sd``.

:func:`calibrate` fits all three with the same (chain, draw) counts and returns an ArviZ
``InferenceData``. Variables that map onto engine parameters carry the engine name and dims
from :data:`mcbattery.params.REGISTRY` (elements the data do not inform, e.g. Na-ion, are
drawn from their expert prior in ``priors/*.toml``); model latents are prefixed
``learning__``, ``price__`` or ``demand__``. :func:`engine_samples` returns the engine
arrays ``(samples, *dims)``; :func:`save_posterior` writes the ArviZ NetCDF and, beside it,
``engine_samples.nc`` (NetCDF3, read by :mod:`mcbattery.posterior`). See docs/calibration.md.
"""

from __future__ import annotations

import datetime as _dt
import functools
import hashlib
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist
import pandas as pd
import xarray as xr
from numpyro.distributions.transforms import biject_to
from numpyro.infer.hmc import hmc
from numpyro.infer.util import potential_energy

from mcbattery import __version__
from mcbattery.inputs import datasets
from mcbattery.calibration import learning
from mcbattery.model import prices
from mcbattery.model.coords import COORDS
from mcbattery.common.errors import InputError
from mcbattery.model.params import REGISTRY
from mcbattery.inputs.priors import PRIORS_DIR

__all__ = [
    "LearningPriors",
    "PricePriors",
    "DemandPriors",
    "learning_data",
    "price_data",
    "demand_data",
    "learning_model",
    "price_model",
    "demand_model",
    "price_log_likelihood",
    "monthly_price_parameters",
    "annual_price_parameters",
    "simulate_price_monthly",
    "simulate_price_annual",
    "simulate_demand",
    "fit_model",
    "run_nuts",
    "initial_points",
    "constrain",
    "prior_distributions",
    "sample_priors",
    "calibrate",
    "engine_samples",
    "check_diagnostics",
    "diagnostics_table",
    "save_posterior",
    "load_posterior",
    "posterior_hash",
    "boom_check",
    "summary_table",
    "posterior_readme",
    "moore_comparison",
    "cell_series",
    "engine_dataset",
    "engine_samples_path",
    "learning_rate_summary",
    "ENGINE_MAP",
    "MODELS",
    "SHIPPED_POSTERIOR",
    "PUBLISHED_LEARNING",
]

MODELS = ("learning", "price", "demand")
LEARNING_FIRST_YEAR = 2010
DEMAND_FIRST_YEAR = 2015
#: Reference of the anchor trend: the anchor equals ``lithium_cost_anchor`` in mid-2024, as in
#: the engine (``anchor(t) = A * exp(trend * (t + 1))`` with t = 0 in 2025).
ANCHOR_YEAR = 2024
SHIPPED_POSTERIOR = PRIORS_DIR / "posterior" / "posterior.nc"
ENGINE_SAMPLES_NAME = "engine_samples.nc"

#: Published Li-ion learning estimates to print beside ours.
PUBLISHED_LEARNING = {
    "Ziegler & Trancik (2021), cells, per doubling": (0.20, 0.24),
    "Way et al. (2022), exponent 0.421 +/- 0.063": (1 - 2 ** -(0.421 - 0.063), 1 - 2 ** -(0.421 + 0.063)),
}

#: engine parameter -> (model, model variable, calibrated labels of the first dim or None for scalars).
#: Labels not listed are drawn from the parameter's expert prior (priors/*.toml).
ENGINE_MAP: dict[str, tuple[str, str, tuple[str, ...] | None]] = {
    "conversion_learning_exponent": ("learning", "learning__exponent", ("LFP", "NMC")),
    "cost_noise_sd": ("learning", "learning__noise_scale", ("LFP", "NMC")),
    "cost_noise_autocorrelation": ("learning", "learning__noise_autocorrelation", None),
    "lithium_cost_anchor": ("price", "price__anchor", None),
    "lithium_cost_anchor_trend": ("price", "price__anchor_trend", None),
    "price_reversion": ("price", "price__reversion", None),
    "price_volatility": ("price", "price__volatility", None),
    "boom_drift": ("price", "price__drift", None),
    "boom_entry_logit": ("price", "price__boom_entry_logit", None),
    "boom_exit_probability": ("price", "price__boom_exit_probability", None),
    "demand_saturation": ("demand", "demand__saturation", ("EV",)),
    "demand_growth_rate": ("demand", "demand__growth_rate", ("EV",)),
    "demand_noise_sd": ("demand", "demand__noise_sd", ("EV",)),
}
if "boom_ceiling" in REGISTRY:  # the engine's boom drift fades at boom_ceiling x anchor
    ENGINE_MAP["boom_ceiling"] = ("price", "price__ceiling", None)


# ---------------------------------------------------------------------------------------
# Priors of the calibration models (see docs/calibration.md for sources)
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LearningPriors:
    """Wright's-law calibration priors.

    q0: cumulative Li-ion production before 2010 [GWh] ~ LogNormal(log q0_median, q0_log_sd);
    nonev_scale: all Li-ion / EV battery demand [1] ~ LogNormal(log median, log_sd);
    curve: exponent, noise scale and MA(1) priors of :class:`mcbattery.learning.Priors`.
    """

    q0_median: float = 100.0
    q0_log_sd: float = 0.5
    nonev_scale_median: float = 1.4
    nonev_scale_log_sd: float = 0.2
    #: growth of annual Li-ion production before 2010 [1/yr]: from well under 1 GWh/yr in the
    #: mid-1990s to roughly 20-25 GWh/yr in 2009 (docs/calibration.md, the q0 prior), ln(44)/14.
    early_growth_median: float = 0.30
    curve: learning.Priors = field(default_factory=lambda: learning.Priors.default("wright"))


@dataclass(frozen=True)
class PricePriors:
    """Lithium price calibration priors, on the engine's annual scale where it has one.

    reversion k ~ Beta(a, b) [share of the log gap closed per year]; volatility [log-sd of
    annual (point-sampled) changes] and boom drift [log price per year in a boom] ~ LogNormal;
    anchor [USD2024/t] ~ LogNormal; anchor trend [1/yr] ~ Normal(0, sd); monthly boom entry
    and exit probabilities ~ Beta; boom ceiling [price/anchor] ~ LogNormal (if fitted).
    """

    reversion_a: float = 2.0
    reversion_b: float = 2.0
    volatility_median: float = 0.3
    volatility_log_sd: float = 0.5
    drift_median: float = 0.9
    drift_log_sd: float = 0.5
    anchor_median: float = 11000.0
    anchor_log_sd: float = 0.5
    anchor_trend_sd: float = 0.01
    entry_a: float = 1.0
    entry_b: float = 30.0
    exit_a: float = 1.5
    exit_b: float = 12.0
    ceiling_median: float = 12.0
    ceiling_log_sd: float = 0.5
    #: fit the boom ceiling (price / anchor where the boom drift has faded to zero); None: when
    #: the engine has the parameter ``boom_ceiling`` (mcbattery.prices.step).
    ceiling: bool | None = None

    @property
    def with_ceiling(self) -> bool:
        return ("boom_ceiling" in REGISTRY) if self.ceiling is None else bool(self.ceiling)


@dataclass(frozen=True)
class DemandPriors:
    """EV demand S-curve priors: saturation K [GWh/yr], growth rate r [1/yr], midpoint year,
    AR(1) innovation sd [log] and persistence of the log deviations."""

    saturation_median: float = 7000.0
    saturation_log_sd: float = 0.35
    growth_median: float = 0.4
    growth_log_sd: float = 0.5
    midpoint_mean: float = 2030.0
    midpoint_sd: float = 10.0
    noise_median: float = 0.1
    noise_log_sd: float = 0.75
    persistence_a: float = 5.0
    persistence_b: float = 5.0


# ---------------------------------------------------------------------------------------
# Data (all truncated at ``until``, inclusive)
# ---------------------------------------------------------------------------------------


def _check_until(until) -> int | None:
    if until is None:
        return None
    try:
        u = int(until)
    except (TypeError, ValueError):
        raise InputError(f"expected a year; got {until!r}", field="until") from None
    if u != until or not 1900 <= u <= 2200:
        raise InputError(f"expected a whole year; got {until!r}", field="until")
    return u


def learning_data(until: int | None = None, first_year: int = LEARNING_FIRST_YEAR) -> dict[str, np.ndarray]:
    """Cell price (real 2024 USD/kWh) and cumulative IEA World EV battery demand (GWh) by year.

    Returns ``year``, ``cell_price``, ``log_cost``, ``cum_ev`` (GWh, cumulative since 2010,
    including the year itself) for years ``first_year``..``until`` present in both series.
    """
    until = _check_until(until)
    price = datasets.cell_price().set_index("year")["cell_price_usd2024_per_kwh"]
    ev = datasets.battery_demand("World", by="total").set_index("year")["gwh"].sort_index()
    cum = ev.cumsum()
    years = [int(y) for y in price.index if y >= first_year and y in cum.index and (until is None or y <= until)]
    if len(years) < 4:
        raise InputError(f"expected at least 4 years of cell prices and EV demand up to {until}; got {len(years)}",
                         field="until")
    years = np.array(years)
    cost = price.loc[years].to_numpy(float)
    return {"year": years, "cell_price": cost, "log_cost": np.log(cost), "cum_ev": cum.loc[years].to_numpy(float)}


def price_data(until: int | None = None) -> dict[str, np.ndarray]:
    """Monthly China Li2CO3 spot, real 2024 USD/t: ``month`` (datetime64), ``price``,
    ``log_price`` and ``tau`` (years from mid-``ANCHOR_YEAR``, for the anchor trend)."""
    until = _check_until(until)
    df = datasets.lithium_carbonate_monthly()
    if until is not None:
        df = df[df["month"].dt.year <= until]
    if len(df) < 12:
        raise InputError(f"expected at least 12 months of lithium prices up to {until}; got {len(df)}", field="until")
    month = df["month"].to_numpy()
    price = df["price_usd2024_per_t"].to_numpy(float)
    tau = (df["month"].dt.year - ANCHOR_YEAR + (df["month"].dt.month - 6.5) / 12).to_numpy(float)
    return {"month": month, "price": price, "log_price": np.log(price), "tau": tau}


def demand_data(until: int | None = None, first_year: int = DEMAND_FIRST_YEAR) -> dict[str, np.ndarray]:
    """IEA World EV battery demand (GWh/yr): ``year``, ``demand``, ``log_demand``."""
    until = _check_until(until)
    ev = datasets.battery_demand("World", by="total").sort_values("year")
    ev = ev[(ev["year"] >= first_year) & ((ev["year"] <= until) if until is not None else True)]
    if len(ev) < 5:
        raise InputError(f"expected at least 5 years of EV battery demand up to {until}; got {len(ev)}", field="until")
    d = ev["gwh"].to_numpy(float)
    return {"year": ev["year"].to_numpy(int), "demand": d, "log_demand": np.log(d)}


# ---------------------------------------------------------------------------------------
# Prior distributions of the latent sites (one place for models, initialisation, prior draws)
# ---------------------------------------------------------------------------------------


def prior_distributions(model: str, priors=None) -> dict[str, dist.Distribution]:
    """Latent site name → numpyro prior, in sampling order, for ``model``."""
    if model == "learning":
        p = priors or LearningPriors()
        return {
            "learning__q0": dist.LogNormal(math.log(p.q0_median), p.q0_log_sd),
            "learning__nonev_scale": dist.LogNormal(math.log(p.nonev_scale_median), p.nonev_scale_log_sd),
            # truncated at 0: the engine's exponents are nonnegative (cell costs do not rise with output)
            "learning__exponent": dist.TruncatedDistribution(learning._trend_prior(p.curve), low=0.0),
            "learning__noise_scale": learning._noise_prior(p.curve),
            "learning__noise_autocorrelation": learning._rho_prior(p.curve),
        }
    if model == "price":
        p = priors or PricePriors()
        return {
            "price__reversion": dist.Beta(p.reversion_a, p.reversion_b),
            "price__volatility": dist.LogNormal(math.log(p.volatility_median), p.volatility_log_sd),
            "price__drift": dist.LogNormal(math.log(p.drift_median), p.drift_log_sd),
            "price__anchor": dist.LogNormal(math.log(p.anchor_median), p.anchor_log_sd),
            "price__anchor_trend": dist.Normal(0.0, p.anchor_trend_sd),
            "price__entry_monthly": dist.Beta(p.entry_a, p.entry_b),
            "price__exit_monthly": dist.Beta(p.exit_a, p.exit_b),
            **({"price__ceiling": dist.LogNormal(math.log(p.ceiling_median), p.ceiling_log_sd)} if p.with_ceiling else {}),
        }
    if model == "demand":
        p = priors or DemandPriors()
        return {
            "demand__saturation": dist.LogNormal(math.log(p.saturation_median), p.saturation_log_sd),
            "demand__growth_rate": dist.LogNormal(math.log(p.growth_median), p.growth_log_sd),
            "demand__midpoint_year": dist.Normal(p.midpoint_mean, p.midpoint_sd),
            "demand__noise_sd": dist.LogNormal(math.log(p.noise_median), p.noise_log_sd),
            "demand__noise_persistence": dist.Beta(p.persistence_a, p.persistence_b),
        }
    raise InputError(f"expected one of {', '.join(MODELS)}; got {model!r}", field="model")


def _centre(d: dist.Distribution) -> float:
    """A central value of a prior: the median of a log-normal, else the (transformed) mean/location."""
    if isinstance(d, dist.LogNormal):
        return float(np.exp(d.loc))
    if isinstance(d, dist.StudentT):
        return float(d.loc)
    if isinstance(d, dist.LeftTruncatedDistribution):
        return float(_truncated_t_ppf(d, 0.5))
    if isinstance(d, dist.TransformedDistribution):
        x = jnp.asarray(_centre(d.base_dist))
        for t in d.transforms:
            x = t(x)
        return float(x)
    return float(d.mean)


def sample_priors(model: str, priors=None, n: int = 1000, seed: int = 0) -> dict[str, np.ndarray]:
    """``n`` prior draws of the model's latent sites (numpy; same distributions as the model)."""
    rng = np.random.default_rng(seed)
    out = {}
    for name, d in prior_distributions(model, priors).items():
        out[name] = _draw_numpy(d, n, rng)
    return out


def _truncated_t_ppf(d, u):
    """Quantile function of a left-truncated Student-t prior at probabilities ``u``."""
    import scipy.stats

    b = d.base_dist
    if not isinstance(b, dist.StudentT):  # pragma: no cover - only Student-t is truncated here
        raise TypeError(f"no quantile function for truncated {type(b).__name__}")
    base = scipy.stats.t(float(b.df), float(b.loc), float(b.scale))
    lo = base.cdf(float(d.low))
    return base.ppf(lo + (1.0 - lo) * np.asarray(u, float))


def _draw_numpy(d: dist.Distribution, n: int, rng: np.random.Generator) -> np.ndarray:
    if isinstance(d, dist.LogNormal):
        return np.exp(float(d.loc) + float(d.scale) * rng.standard_normal(n))
    if isinstance(d, dist.Normal):
        return float(d.loc) + float(d.scale) * rng.standard_normal(n)
    if isinstance(d, dist.StudentT):
        return float(d.loc) + float(d.scale) * rng.standard_t(float(d.df), n)
    if isinstance(d, dist.Beta):
        return rng.beta(float(d.concentration1), float(d.concentration0), n)
    if isinstance(d, dist.LeftTruncatedDistribution):
        return _truncated_t_ppf(d, rng.random(n))
    if isinstance(d, dist.TransformedDistribution):
        x = jnp.asarray(_draw_numpy(d.base_dist, n, rng))
        for t in d.transforms:
            x = t(x)
        return np.asarray(x, np.float64)
    raise TypeError(f"no numpy sampler for {type(d).__name__}")  # pragma: no cover


# ---------------------------------------------------------------------------------------
# Model 1: Wright's law on the cell price with latent pre-2010 production
# ---------------------------------------------------------------------------------------


def _first_mask(n: int):
    """Annual gaps, mask and first-increment flag of ``n`` consecutive increments."""
    first = jnp.zeros(n, bool).at[0].set(True)
    return jnp.ones(n), jnp.ones(n, bool), first


def learning_increments(q0, scale, cum_ev, log_cost):
    """(Δlog Q, Δlog c) between consecutive years with Q = q0 + scale * cum_ev [GWh]."""
    log_q = jnp.log(q0 + scale * jnp.asarray(cum_ev))
    return jnp.diff(log_q), jnp.diff(jnp.asarray(log_cost))


def learning_pointwise(b, sigma, rho, dx, dy):
    """One-step-ahead log densities of the increments, shape (n,) [nats]; they sum to
    :func:`mcbattery.learning._log_likelihood` (innovations form of the same likelihood)."""
    gaps, mask, first = _first_mask(dy.shape[-1])
    r = dy + b * dx
    a, e = learning._increment_cov(sigma, rho, gaps, mask, first)
    d, z = learning._innovations(a, e, r)
    return -0.5 * (jnp.log(d) + z**2 / d + math.log(2 * math.pi))


def learning_model(cum_ev, log_cost=None, priors: LearningPriors = LearningPriors()):
    """Wright's law with MA(1) noise in first differences (annual clock).

    Δlog c_t = −b Δlog Q_t + u_t + ρ u_{t−1}, u_t ~ N(0, σ²), Q_t = q0 + s · cum_ev_t;
    b has the :mod:`mcbattery.learning` Student-t prior truncated at 0.
    ``cum_ev``: cumulative IEA World EV battery demand [GWh] per year; ``log_cost``: log cell
    price per year (None: prior only). Sites ``learning__q0`` [GWh], ``learning__nonev_scale``,
    ``learning__exponent`` b, ``learning__noise_scale`` σ, ``learning__noise_autocorrelation`` ρ.
    """
    q0, scale, b, sigma, rho = (numpyro.sample(k, d) for k, d in prior_distributions("learning", priors).items())
    if log_cost is None:
        return
    dx, dy = learning_increments(q0, scale, cum_ev, log_cost)
    gaps, mask, first = _first_mask(dy.shape[-1])
    numpyro.factor("learning__loglik", learning._log_likelihood(b, sigma, rho, dx, gaps, dy, mask, first))


# ---------------------------------------------------------------------------------------
# Model 2: lithium carbonate price, monthly, boom regime marginalised (forward algorithm)
# ---------------------------------------------------------------------------------------


def monthly_price_parameters(reversion, volatility, drift):
    """Engine annual (k, σ, δ) → monthly (k_m, σ_m, δ_m), exact for the AR(1) in log price;
    the engine's own conversion (:func:`mcbattery.prices.monthly_parameters`).

    With φ = 1 − k_m the monthly persistence, twelve months give φ¹² = 1 − k, the variance of
    the year-end log price given the last is σ_m²(1 − φ²⁴)/(1 − φ²) = σ², and a full year in
    the boom regime adds δ_m(1 − φ¹²)/(1 − φ) = δ to the year-end log price.
    """
    return prices.monthly_parameters(reversion, volatility, drift)


def annual_price_parameters(entry, exit_):
    """Monthly boom entry/exit probabilities → the engine's annual (entry, exit): the
    probability of the switch within a year at constant conditions, 1 − (1 − p)¹²
    (:func:`mcbattery.prices.annual_probability`). The engine turns them back into exactly
    these monthly probabilities (:func:`mcbattery.prices.monthly_hazard`; entry through
    ``boom_entry_logit`` = logit of the annual entry, at zero tightness).
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
    (see :func:`prior_distributions`). Returns (log p(y_m | y_<m) (M−1,), P(boom_m | y_<m)
    (M−1,), P(boom_m | y_≤m) (M−1,)).
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
    [price/anchor] when the engine has a boom ceiling. ``tau``: years from mid-2024 per
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
# Simulators (numpy; tests, posterior predictive checks and the boom check)
# ---------------------------------------------------------------------------------------


def simulate_price_monthly(params: dict, months: int, log_price0, tau0: float = 0.0, boom0=0, seed: int = 0,
                           paths: int | None = None):
    """Simulate the monthly price model. ``params``: site values (scalars or (S,) arrays; see
    :func:`prior_distributions`). Returns (log price, boom) arrays (S, months + 1) starting at
    ``log_price0`` in regime ``boom0``; month m is at ``tau0 + m/12`` years from mid-2024."""
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
    """Simulate the engine's price block (:func:`mcbattery.prices.step`: twelve monthly steps a
    year) with tightness 0, as the engine runs it.

    ``engine``: engine-named parameter arrays (S,) (from :func:`engine_samples`);
    ``first_year``: calendar year of the first simulated year (anchor as in the engine:
    ``A·exp(trend·(t − mid-2024))`` month by month); the last month before it is at
    ``log_price0`` in regime ``boom0``. Returns log annual mean prices (the engine's
    ``lithium_price``) (S·paths_per_sample, years + 1), column 0 = ``log_price0``.
    """
    p = {k: jnp.repeat(jnp.asarray(np.broadcast_to(engine.get(k, 0.0), np.shape(engine["price_reversion"])),
                                   jnp.float32), paths_per_sample) for k in _PRICE_ENGINE}
    n = p["price_reversion"].shape[0]
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


# ---------------------------------------------------------------------------------------
# Sampling
# ---------------------------------------------------------------------------------------

_MODELS = {"learning": learning_model, "price": price_model, "demand": demand_model}
_DATA_KEYS = {"learning": ("cum_ev", "log_cost"), "price": ("log_price", "tau"), "demand": ("years", "log_demand")}
_STATS = ("diverging", "num_steps", "accept_prob", "energy", "potential_energy")


def _model_inputs(name: str, data: dict) -> tuple:
    """The model's data arguments (float32 arrays) in :data:`_DATA_KEYS` order."""
    cols = {"learning": ("cum_ev", "log_cost"), "price": ("log_price", "tau"), "demand": ("year", "log_demand")}[name]
    return tuple(jnp.asarray(data[c], jnp.float32) for c in cols)


@functools.lru_cache(maxsize=32)
def _sampler(fn, kwargs: tuple, num_warmup: int, num_samples: int, num_chains: int, target_accept: float,
             max_tree_depth: int, chain_method: str):
    """Jitted NUTS run ``(key, z0 {site: (chain, ...)}, *data) -> (z, stats)``, one per settings.

    numpyro's functional ``hmc`` kernel on the potential energy of the numpyro model ``fn``
    called as ``fn(*data, **dict(kwargs))`` (transforms and Jacobians from
    :func:`numpyro.infer.util.potential_energy`). Data are traced arguments, so one compiled
    sampler serves every data set of the same shapes. One ``lax.scan`` runs warm-up and
    sampling (adaptation stops by itself after ``num_warmup`` steps), which halves the
    compilation compared with separate loops.
    """
    model_kwargs = dict(kwargs)

    def potential_gen(*data):
        return lambda z: potential_energy(fn, data, model_kwargs, z)

    init_kernel, sample_kernel = hmc(potential_fn_gen=potential_gen, algo="NUTS")

    def one_chain(key, z0, data):
        state = init_kernel(z0, num_warmup, target_accept_prob=target_accept, max_tree_depth=max_tree_depth,
                            model_args=data, rng_key=key)

        def step(st, _):
            st = sample_kernel(st, model_args=data)
            return st, (st.z, {k: getattr(st, k) for k in _STATS})

        _, out = jax.lax.scan(step, state, None, length=num_warmup + num_samples)
        return jax.tree_util.tree_map(lambda x: x[num_warmup:], out)

    @jax.jit
    def run(key, z0, *data):
        keys = jax.random.split(key, num_chains)
        if chain_method == "sequential":
            return jax.lax.map(lambda a: one_chain(a[0], a[1], data), (keys, z0))
        return jax.vmap(one_chain, in_axes=(0, 0, None))(keys, z0, data)

    return run


def run_nuts(fn, data: tuple, z0: dict, seed: int = 0, *, kwargs: tuple = (), num_warmup: int = 1000,
             num_samples: int = 1000, target_accept: float = 0.95, max_tree_depth: int = 10,
             chain_method: str = "sequential") -> tuple[dict, dict]:
    """NUTS on any numpyro model ``fn(*data, **dict(kwargs))`` from unconstrained starting
    points ``z0`` {site: (chains, ...)} (see :func:`initial_points`). Returns unconstrained
    draws {site: (chain, draw, ...)} and sampler statistics {field: (chain, draw)}.
    ``kwargs`` must be hashable (a tuple of pairs): the compiled sampler is cached on it."""
    num_chains = int(next(iter(z0.values())).shape[0])
    run = _sampler(fn, tuple(kwargs), int(num_warmup), int(num_samples), num_chains, float(target_accept),
                   int(max_tree_depth), chain_method)
    z, stats = run(jax.random.PRNGKey(seed), z0, *data)
    return z, {k: np.asarray(v) for k, v in stats.items()}


def initial_points(model: str, priors, key, num_chains: int, batch_shape: tuple = (), radius: float = 0.5) -> dict:
    """Per-chain starts (chains, *batch_shape): prior centres (:func:`_centre`) in
    unconstrained space ± U(−radius, radius)."""
    z0 = {}
    for i, (name, d) in enumerate(prior_distributions(model, priors).items()):
        u = biject_to(d.support).inv(jnp.asarray(_centre(d), jnp.float32))
        jitter = jax.random.uniform(jax.random.fold_in(key, i), (num_chains, *batch_shape), minval=-radius, maxval=radius)
        z0[name] = (u + jitter).astype(jnp.float32)
    return z0


def constrain(model: str, priors, z: dict) -> dict[str, np.ndarray]:
    """Unconstrained draws → site values (float64 numpy)."""
    dists = prior_distributions(model, priors)
    return {k: np.asarray(biject_to(dists[k].support)(v), np.float64) for k, v in z.items()}


def _prior_kwargs(model: str) -> dict:
    return {"learning": {"cum_ev": None, "log_cost": None}, "price": {"log_price": None, "tau": None},
            "demand": {"years": None, "log_demand": None}}[model]


def fit_model(model: str, data: dict, seed: int = 0, *, priors=None, num_warmup: int = 1000,
              num_samples: int = 1000, num_chains: int = 4, target_accept: float = 0.95,
              max_tree_depth: int = 10, chain_method: str = "sequential") -> tuple[dict, dict, float]:
    """Run NUTS on one model. Returns (samples {site: (chain, draw)}, stats {field: (chain,
    draw)}, seconds incl. compilation). ``data`` as from :func:`learning_data` /
    :func:`price_data` / :func:`demand_data`; ``seed`` fixes everything."""
    if model not in _MODELS:
        raise InputError(f"expected one of {', '.join(MODELS)}; got {model!r}", field="model")
    if priors is None:
        priors = {"learning": LearningPriors, "price": PricePriors, "demand": DemandPriors}[model]()
    t0 = time.perf_counter()
    key = jax.random.fold_in(jax.random.PRNGKey(seed), MODELS.index(model))
    k_init, k_run = jax.random.split(key)
    z0 = initial_points(model, priors, k_init, int(num_chains))
    run_seed = int(jax.random.randint(k_run, (), 0, 2**31 - 1))
    z, stats = run_nuts(_MODELS[model], _model_inputs(model, data), z0, run_seed, kwargs=(("priors", priors),),
                        num_warmup=num_warmup, num_samples=num_samples, target_accept=target_accept,
                        max_tree_depth=max_tree_depth, chain_method=chain_method)
    return constrain(model, priors, z), stats, time.perf_counter() - t0


def _prior_draws(model: str, priors, n: int, seed: int) -> dict:
    return sample_priors(model, priors, n, seed=seed * 31 + 1 + MODELS.index(model))


# ---------------------------------------------------------------------------------------
# Derived quantities, engine view, predictive checks
# ---------------------------------------------------------------------------------------


def _derived(model: str, s: dict, data: dict) -> dict:
    """Derived variables (same leading shape as the samples)."""
    out = {}
    if model == "learning":
        out["learning__learning_rate"] = 1.0 - 2.0 ** (-s["learning__exponent"])
        out["learning__cumulative_production_last"] = s["learning__q0"] + s["learning__nonev_scale"] * data["cum_ev"][-1]
        out["learning__q0_ratio"] = s["learning__q0"] / s["learning__nonev_scale"]
    elif model == "price":
        k_m, s_m, d_m = monthly_price_parameters(jnp.asarray(s["price__reversion"]), jnp.asarray(s["price__volatility"]),
                                                 jnp.asarray(s["price__drift"]))
        p_in, p_out = annual_price_parameters(jnp.asarray(s["price__entry_monthly"]), jnp.asarray(s["price__exit_monthly"]))
        p_in = np.asarray(p_in, np.float64)
        out["price__reversion_monthly"] = np.asarray(k_m, np.float64)
        out["price__volatility_monthly"] = np.asarray(s_m, np.float64)
        out["price__drift_monthly"] = np.asarray(d_m, np.float64)
        out["price__boom_entry_probability"] = p_in
        out["price__boom_entry_logit"] = np.log(p_in) - np.log1p(-p_in)
        out["price__boom_exit_probability"] = np.asarray(p_out, np.float64)
        e, x = s["price__entry_monthly"], s["price__exit_monthly"]
        out["price__boom_share"] = e / (e + x)
        out["price__boom_duration_months"] = 1.0 / x
    else:
        K, r, mid = s["demand__saturation"], s["demand__growth_rate"], s["demand__midpoint_year"]
        last = float(data["year"][-1])
        out["demand__curve_last"] = K / (1.0 + np.exp(-r * (last - mid)))
        out["demand__growth_last"] = r * (1.0 - out["demand__curve_last"] / K)
    return out


_PRICE_ENGINE = tuple(k for k, v in REGISTRY.items() if v.block == "prices" and k != "lithium_price_start")


def _engine_prior_draws(n: int, seed: int, names: tuple[str, ...] = tuple(ENGINE_MAP)) -> dict[str, np.ndarray]:
    """``n`` draws ``(n, *dims)`` of engine parameters ``names`` from the shipped expert priors
    (priors/*.toml; same distributions as :mod:`mcbattery.sampling`, drawn with numpy)."""
    import scipy.stats

    from mcbattery.inputs.priors import load_priors

    pri = load_priors()
    rng = np.random.default_rng([seed, 7919])
    out = {}
    for name in names:
        p = pri[name]
        f = {k: np.asarray(v, float) for k, v in p.fields.items()}
        shape = np.broadcast_shapes(*(v.shape for v in f.values()))
        f = {k: np.broadcast_to(v, shape) for k, v in f.items()}
        size = (n, *shape)
        if p.dist == "fixed":
            x = np.broadcast_to(f["value"], size).copy()
        elif p.dist == "normal":
            x = f["mean"] + f["sd"] * rng.standard_normal(size)
        elif p.dist == "lognormal":
            x = f["median"] * np.exp(f["sigma"] * rng.standard_normal(size))
        elif p.dist == "truncnormal":
            a, b = (f["low"] - f["mean"]) / f["sd"], (f["high"] - f["mean"]) / f["sd"]
            x = scipy.stats.truncnorm.rvs(a, b, loc=f["mean"], scale=f["sd"], size=size, random_state=rng)
        elif p.dist == "uniform":
            x = f["low"] + (f["high"] - f["low"]) * rng.random(size)
        elif p.dist == "triangular":
            x = rng.triangular(f["low"], f["mode"], np.maximum(f["high"], f["low"] + 1e-12), size)
        elif p.dist == "beta":
            x = rng.beta(f["mean"] * f["concentration"], (1 - f["mean"]) * f["concentration"], size)
        else:  # pragma: no cover - no mapped parameter has another distribution
            raise InputError(f"cannot draw a {p.dist} prior here", field=name)
        out[name] = np.asarray(x, np.float64)
    return out


def _engine_view(samples: dict, fill: dict, shape: tuple[int, int]) -> dict[str, xr.DataArray]:
    """Engine-named variables (chain, draw, *dims): mapped elements from ``samples``, the rest
    from ``fill`` (expert-prior draws (chain·draw, *dims))."""
    out = {}
    for name, (_, var, labels) in ENGINE_MAP.items():
        dims = REGISTRY[name].dims
        base = fill[name].reshape(*shape, *fill[name].shape[1:]).copy()
        if var not in samples:  # not fitted (e.g. a model option left it out): expert prior
            arr, labels = base, ()
        elif labels is None:
            arr = samples[var]
        else:
            arr = base
            coord = list(COORDS[dims[0]])
            for lab in labels:
                arr[..., coord.index(lab)] = samples[var]
        if labels is None:
            calibrated, from_prior = "all", ""
        elif not labels:
            calibrated, from_prior = "none", "all"
        else:
            calibrated = ",".join(labels)
            from_prior = ",".join(c for c in COORDS[dims[0]] if c not in labels)
        coords = {d: list(COORDS[d]) for d in dims}
        out[name] = xr.DataArray(arr, dims=("chain", "draw", *dims), coords=coords,
                                 attrs={"model": ENGINE_MAP[name][0], "model_variable": var,
                                        "calibrated": calibrated, "from_expert_prior": from_prior})
    return out


@functools.lru_cache(maxsize=8)
def _predictive_fn(model: str, names: tuple[str, ...]):
    """Jitted ``(params (n,) per site, keys (n, 2), *data) -> (pointwise log-lik, replicate)``."""
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

    in_axes = (0,) * (len(names) + 1) + (None,) * len(_DATA_KEYS[model])
    return jax.jit(jax.vmap(one, in_axes=in_axes))


def _predictive(model: str, s: dict, data: dict, seed: int, priors=None) -> tuple[np.ndarray, np.ndarray]:
    """(pointwise log-likelihood, posterior-predictive replicate) arrays (chain, draw, n), float32."""
    names = tuple(prior_distributions(model, priors))
    shape = s[names[0]].shape
    flat = [jnp.asarray(s[k].reshape(-1), jnp.float32) for k in names]
    key = jax.random.fold_in(jax.random.PRNGKey(seed + 2), MODELS.index(model))
    keys = jax.random.split(key, flat[0].shape[0])
    ll, rep = _predictive_fn(model, names)(*flat, keys, *_model_inputs(model, data))
    return np.asarray(ll, np.float32).reshape(*shape, -1), np.asarray(rep, np.float32).reshape(*shape, -1)


_OBS = {
    "learning": ("learning__log_cost_increment", "learning__year"),
    "price": ("price__log_price", "price__month"),
    "demand": ("demand__log_demand", "demand__year"),
}


def _observed(model: str, data: dict) -> tuple[np.ndarray, np.ndarray]:
    """(observed values, coordinate) of the model's likelihood terms."""
    if model == "learning":
        return np.diff(data["log_cost"]), data["year"][1:]
    if model == "price":
        return data["log_price"][1:], data["month"][1:]
    return data["log_demand"], data["year"]


def _vintage(datas: dict) -> dict[str, str]:
    month = pd.Timestamp(datas["price"]["month"][-1])
    return {
        "cell_price": str(int(datas["learning"]["year"][-1])),
        "iea_ev_battery_demand": str(int(max(datas["learning"]["year"][-1], datas["demand"]["year"][-1]))),
        "lithium_carbonate_monthly": f"{month.year}-{month.month:02d}",
    }


# ---------------------------------------------------------------------------------------
# calibrate()
# ---------------------------------------------------------------------------------------


def calibrate(until: int | None = None, seed: int = 0, num_warmup: int = 1000, num_samples: int = 1000,
              num_chains: int = 4, *, priors: dict | None = None, target_accept: float = 0.95,
              max_tree_depth: int = 10, chain_method: str = "sequential", models=MODELS,
              demand_first_year: int = DEMAND_FIRST_YEAR, progress: bool | None = None):
    """Fit the three models on data up to ``until`` (inclusive; None = all) and return an
    ArviZ ``InferenceData`` with groups posterior, sample_stats, log_likelihood,
    posterior_predictive, observed_data, constant_data and prior.

    All models share (chain, draw) = (``num_chains``, ``num_samples``); every random number
    follows from ``seed``. ``priors``: optional {"learning": LearningPriors(...), "price":
    PricePriors(...), "demand": DemandPriors(...)}. ``models``: a subset to fit (engine
    variables of models left out are absent). ``demand_first_year``: first year of the
    demand fit (2010: the whole IEA series). ``until`` must leave at least 12 months of
    lithium prices (``until`` >= 2018). ``progress``: a bar over the models, naming the one being
    fitted (as in :func:`mcbattery.forecast`).
    """
    from mcbattery.common.progress import Progress

    import arviz as az

    until = _check_until(until)
    for name, v, lo in (("num_warmup", num_warmup, 1), ("num_samples", num_samples, 4), ("num_chains", num_chains, 1)):
        if int(v) != v or v < lo:
            raise InputError(f"expected a whole number >= {lo}; got {v!r}", field=name)
    models = tuple(models)
    if not models or set(models) - set(MODELS):
        raise InputError(f"expected a subset of {list(MODELS)}; got {list(models)}", field="models")
    if chain_method not in ("vectorized", "sequential"):
        raise InputError(f"expected 'vectorized' or 'sequential'; got {chain_method!r}", field="chain_method")
    priors = dict(priors or {})
    defaults = {"learning": LearningPriors(), "price": PricePriors(), "demand": DemandPriors()}
    unknown = set(priors) - set(MODELS)
    if unknown:
        raise InputError(f"unknown models {sorted(unknown)}", field="priors")
    priors = {m: priors.get(m, defaults[m]) for m in MODELS}
    datas = {"learning": learning_data(until), "price": price_data(until),
             "demand": demand_data(until, first_year=int(demand_first_year))}
    shape = (int(num_chains), int(num_samples))
    n = shape[0] * shape[1]

    post, prior, stats, loglik, ppc, obs, const = {}, {}, {}, {}, {}, {}, {}
    seconds = {}
    fitted_post, fitted_prior = {}, {}
    bar = Progress(len(models), unit="model", desc="calibrating", enabled=progress, compiling=False)
    for m in models:
        bar.stage(f"fitting {m} (compile + NUTS)")
        s, st, sec = fit_model(m, datas[m], seed, priors=priors[m], num_warmup=int(num_warmup),
                               num_samples=int(num_samples), num_chains=int(num_chains), target_accept=target_accept,
                               max_tree_depth=max_tree_depth, chain_method=chain_method)
        seconds[m] = sec
        s.update(_derived(m, s, datas[m]))
        pr = {k: v.reshape(shape) for k, v in _prior_draws(m, priors[m], n, seed).items()}
        pr.update(_derived(m, pr, datas[m]))
        fitted_post.update(s)
        fitted_prior.update(pr)
        for k, v in s.items():
            post[k] = (("chain", "draw"), v)
        for k, v in pr.items():
            prior[k] = (("chain", "draw"), v)
        for k, v in st.items():
            stats[f"{m}__{k}"] = (("chain", "draw"), v)
        var, dim = _OBS[m]
        ll, rep = _predictive(m, s, datas[m], seed, priors[m])
        values, coord = _observed(m, datas[m])
        loglik[var] = (("chain", "draw", dim), ll)
        ppc[var] = (("chain", "draw", dim), rep)
        obs[var] = ((dim,), values)
        if m == "learning":
            const["learning__cum_ev"] = (("learning__year_all",), datas[m]["cum_ev"])
        if m == "price":
            const["price__tau"] = (("price__month_all",), datas[m]["tau"])
        bar.update(1)
    bar.close()
    coords_for = {
        "learning__year": datas["learning"]["year"][1:], "learning__year_all": datas["learning"]["year"],
        "price__month": datas["price"]["month"][1:], "price__month_all": datas["price"]["month"],
        "demand__year": datas["demand"]["year"],
    }
    base = {"chain": np.arange(shape[0]), "draw": np.arange(shape[1])}

    def ds(vars_: dict, with_chain=True) -> xr.Dataset:
        d = xr.Dataset(vars_)
        extra = {k: v for k, v in coords_for.items() if k in d.dims}
        return d.assign_coords({**(base if with_chain else {}), **extra})

    fill_post = _engine_prior_draws(n, seed)
    fill_prior = _engine_prior_draws(n, seed + 1)
    eng_post = {k: v for k, v in _engine_view(fitted_post, fill_post, shape).items() if ENGINE_MAP[k][0] in models}
    eng_prior = {k: v for k, v in _engine_view(fitted_prior, fill_prior, shape).items() if ENGINE_MAP[k][0] in models}
    # Stored in float32: the samplers run in float32, so nothing is lost and the file stays small.
    posterior = (xr.merge([ds(post), xr.Dataset(eng_post)]) if eng_post else ds(post)).astype(np.float32, keep_attrs=True)
    prior_ds = (xr.merge([ds(prior), xr.Dataset(eng_prior)]) if eng_prior else ds(prior)).astype(np.float32, keep_attrs=True)
    stats_ds = ds(stats)
    stats_ds["diverging"] = sum(stats_ds[f"{m}__diverging"].astype(int) for m in models) > 0
    vintage = _vintage(datas)
    attrs = {
        "created_at": _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat(),
        "mcbattery_version": __version__,
        "data_vintage": "; ".join(f"{k} {v}" for k, v in vintage.items()),
        **{f"data_vintage_{k}": v for k, v in vintage.items()},
        "until": "none" if until is None else str(until),
        "seed": int(seed),
        "num_warmup": int(num_warmup),
        "num_samples": int(num_samples),
        "num_chains": int(num_chains),
        "models": ",".join(models),
        "demand_first_year": int(demand_first_year),
        "sampler": f"numpyro NUTS (target_accept {target_accept}, max_tree_depth {max_tree_depth}, {chain_method})",
        **{f"seconds_{m}": round(seconds[m], 2) for m in models},
        "engine_convention": "engine-named variables carry REGISTRY dims; labels listed in 'from_expert_prior' "
                             "are draws from priors/*.toml",
    }
    posterior.attrs.update(attrs)
    stats_ds.attrs.update({f"seconds_{m}": round(seconds[m], 2) for m in models})
    idata = az.InferenceData(
        posterior=posterior,
        sample_stats=stats_ds,
        log_likelihood=ds(loglik),
        posterior_predictive=ds(ppc),
        observed_data=ds(obs, with_chain=False),
        constant_data=ds(const, with_chain=False),
        prior=prior_ds,
    )
    _check_support(engine_samples(idata))
    idata.posterior.attrs["posterior_sha256"] = posterior_hash(idata)
    return idata


def _check_support(samples: dict[str, np.ndarray]) -> None:
    """Every engine sample inside its REGISTRY support (the engine refuses others)."""
    from mcbattery.model.params import SUPPORTS

    for name, arr in samples.items():
        lo, hi = SUPPORTS[REGISTRY[name].support]
        bad = ~np.isfinite(arr) | (arr < lo) | (arr > hi)
        if bad.any():
            raise InputError(f"{int(bad.sum())} posterior samples outside the {REGISTRY[name].support} range "
                             f"[{lo}, {hi}]", field=name)


# ---------------------------------------------------------------------------------------
# Engine samples, diagnostics
# ---------------------------------------------------------------------------------------


def engine_samples(idata) -> dict[str, np.ndarray]:
    """Engine parameter arrays ``name -> (samples, *REGISTRY dims)``, samples = chain × draw
    (chain-major), for every engine-named variable in the posterior group."""
    post = idata.posterior
    out = {}
    for name in ENGINE_MAP:
        if name not in post:
            continue
        dims = REGISTRY[name].dims
        da = post[name].transpose("chain", "draw", *dims)
        out[name] = np.asarray(da.values, np.float64).reshape(-1, *da.shape[2:])
    return out


def _model_vars(idata, model: str) -> list[str]:
    return [k for k in idata.posterior.data_vars if k.startswith(f"{model}__")]


def diagnostics_table(idata) -> pd.DataFrame:
    """Per model: r_hat_max, ess_bulk_min, divergences, the worst variables and fit seconds.

    Rank-normalised split R-hat and bulk ESS (ArviZ, Vehtari et al. 2021) over the model's
    ``<model>__`` variables (every engine-named variable is one of them, re-labelled).
    """
    import arviz as az

    rows = {}
    for m in MODELS:
        names = _model_vars(idata, m)
        if not names:
            continue
        sub = idata.posterior[names]
        rhat = az.rhat(sub)
        ess = az.ess(sub, method="bulk")
        r = {k: float(rhat[k].max()) for k in names}
        e = {k: float(ess[k].min()) for k in names}
        r = {k: v for k, v in r.items() if np.isfinite(v)}
        e = {k: v for k, v in e.items() if np.isfinite(v)}
        worst_r = max(r, key=r.get) if r else ""
        worst_e = min(e, key=e.get) if e else ""
        div = int(np.asarray(idata.sample_stats[f"{m}__diverging"].values).sum())
        rows[m] = {
            "r_hat_max": r.get(worst_r, float("nan")),
            "r_hat_worst": worst_r,
            "ess_bulk_min": e.get(worst_e, float("nan")),
            "ess_worst": worst_e,
            "divergences": div,
            "draws": int(idata.posterior.sizes["chain"] * idata.posterior.sizes["draw"]),
            "seconds": float(idata.posterior.attrs.get(f"seconds_{m}", float("nan"))),
        }
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "model"
    return table


def check_diagnostics(idata, max_rhat: float = 1.01, min_ess: float = 400.0, max_divergences: int = 0) -> list[str]:
    """Failures of the convergence checks, one line each (empty list: all passed)."""
    failures = []
    table = diagnostics_table(idata)
    for m, row in table.iterrows():
        if not np.isfinite(row.r_hat_max) or row.r_hat_max > max_rhat:
            failures.append(f"{m}: R-hat {row.r_hat_max:.3f} > {max_rhat} ({row.r_hat_worst})")
        if not np.isfinite(row.ess_bulk_min) or row.ess_bulk_min < min_ess:
            failures.append(f"{m}: bulk ESS {row.ess_bulk_min:.0f} < {min_ess:g} ({row.ess_worst})")
        if row.divergences > max_divergences:
            failures.append(f"{m}: {row.divergences} divergent transitions > {max_divergences}")
    return failures


def learning_rate_summary(idata, level: float = 0.9) -> dict[str, float]:
    """Li-ion cell learning rate per doubling 1 − 2^−b: mean, median, lower, upper (central ``level``)."""
    lr = np.asarray(idata.posterior["learning__learning_rate"].values).reshape(-1)
    b = np.asarray(idata.posterior["learning__exponent"].values).reshape(-1)
    lo, hi = np.quantile(lr, [(1 - level) / 2, (1 + level) / 2])
    blo, bhi = np.quantile(b, [(1 - level) / 2, (1 + level) / 2])
    return {"mean": float(lr.mean()), "median": float(np.median(lr)), "lower": float(lo), "upper": float(hi),
            "exponent_mean": float(b.mean()), "exponent_lower": float(blo), "exponent_upper": float(bhi),
            "level": level}


# ---------------------------------------------------------------------------------------
# Saving and loading
# ---------------------------------------------------------------------------------------


def posterior_hash(idata) -> str:
    """sha256 of the posterior group's values (variables sorted by name, float64 C order)."""
    h = hashlib.sha256()
    post = idata.posterior
    for name in sorted(post.data_vars):
        h.update(name.encode())
        h.update(np.ascontiguousarray(post[name].values, dtype=np.float64).tobytes())
    return h.hexdigest()


def engine_samples_path(path: str | Path) -> Path:
    """Where :func:`save_posterior` puts the NetCDF3 engine samples beside ``path``:
    ``engine_samples.nc`` for ``posterior.nc``, else ``<stem>_engine_samples.nc``."""
    path = Path(path)
    name = ENGINE_SAMPLES_NAME if path.stem == "posterior" else f"{path.stem}_{ENGINE_SAMPLES_NAME}"
    return path.with_name(name)


def _atomic(path: Path, write) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def engine_dataset(idata) -> xr.Dataset:
    """The engine samples as a Dataset: variables = engine parameter names, dims (sample, *dims)."""
    samples = engine_samples(idata)
    if not samples:
        raise InputError("no engine-named variables in the posterior", field="posterior")
    n = next(iter(samples.values())).shape[0]
    data, coords = {}, {"sample": np.arange(n, dtype=np.int32)}
    for name, arr in samples.items():
        dims = REGISTRY[name].dims
        src = idata.posterior[name].attrs
        data[name] = xr.DataArray(arr, dims=("sample", *dims),
                                  attrs={k: str(v) for k, v in src.items()})
        for d in dims:
            coords[d] = np.array(COORDS[d], dtype=object)
    return xr.Dataset(data, coords=coords)


_PACKED_GROUPS = ("posterior_predictive", "log_likelihood")


def _write_inference_data(idata, path: Path) -> None:
    """ArviZ layout (one NetCDF4 group per InferenceData group), zlib + shuffle compressed.

    posterior_predictive and log_likelihood are packed to int16 with scale_factor/add_offset
    (resolution below 1e-4 of the data range; CF packing, decoded on read); every other group
    is stored exactly.
    """
    mode = "w"
    for group in idata.groups():
        ds = idata[group]
        encoding = {}
        for name, da in ds.data_vars.items():
            enc = {"zlib": True, "complevel": 4, "shuffle": True}
            if group in _PACKED_GROUPS and np.issubdtype(da.dtype, np.floating):
                lo, hi = float(da.min()), float(da.max())
                enc.update(dtype="int16", scale_factor=(hi - lo) / 65000.0 if hi > lo else 1.0,
                           add_offset=(hi + lo) / 2.0, _FillValue=np.int16(-32768))
            encoding[name] = enc
        ds.to_netcdf(path, mode=mode, group=group, engine="h5netcdf", encoding=encoding)
        mode = "a"


def save_posterior(idata, path: str | Path) -> tuple[Path, Path]:
    """Write ``idata`` (ArviZ NetCDF4) to ``path`` and the engine samples (NetCDF3, readable
    with scipy alone) beside it; both atomically (temporary file + ``os.replace``).

    Stamps attrs: created_at, mcbattery_version, data_vintage (and per series), until, seed,
    posterior_sha256. Returns (posterior path, engine samples path).
    """
    path = Path(path)
    if path.suffix != ".nc":
        raise InputError(f"expected a .nc file name; got {path.name!r}", file=str(path), field="out")
    path.parent.mkdir(parents=True, exist_ok=True)
    post_attrs = idata.posterior.attrs
    post_attrs["posterior_sha256"] = posterior_hash(idata)
    post_attrs.setdefault("created_at", _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat())
    post_attrs.setdefault("mcbattery_version", __version__)
    stamp = {k: post_attrs[k] for k in post_attrs if k in (
        "created_at", "mcbattery_version", "data_vintage", "until", "seed", "posterior_sha256", "num_chains",
        "num_samples", "num_warmup") or k.startswith("data_vintage_")}
    eng = engine_dataset(idata)
    eng.attrs.update({k: (v if isinstance(v, (int, float)) else str(v)) for k, v in stamp.items()})
    eng.attrs["source_posterior"] = path.name
    eng.attrs["convention"] = ("sample = chain-major flattening of (chain, draw) of the posterior; elements named in a "
                               "variable's from_expert_prior attr are draws from priors/*.toml")
    engine_path = engine_samples_path(path)
    _atomic(path, lambda tmp: _write_inference_data(idata, tmp))
    _atomic(engine_path, lambda tmp: eng.to_netcdf(tmp, engine="scipy", format="NETCDF3_64BIT"))
    return path, engine_path


def posterior_readme(idata, boom: pd.DataFrame | None = None) -> str:
    """Markdown README for a shipped posterior folder: provenance, data vintage, diagnostics,
    the learning rate and the calibrated engine parameters."""
    a = idata.posterior.attrs
    lines = [
        "# Shipped calibrated posterior",
        "",
        "Written by `mcbattery calibrate --ship` (see docs/calibration.md); every forecast uses",
        "`engine_samples.nc` unless run with `--no-posterior`. Do not edit by hand: re-run the command.",
        "",
        f"* created: {a.get('created_at')}, mcbattery {a.get('mcbattery_version')}, seed {a.get('seed')}",
        f"* data vintage: {a.get('data_vintage')}; fitted on data up to: {a.get('until')}"
        f" (EV demand S-curve from {a.get('demand_first_year')})",
        f"* sampler: {a.get('sampler')}; {a.get('num_chains')} chains x {a.get('num_samples')} draws"
        f" (+{a.get('num_warmup')} warm-up) per model",
        f"* posterior sha256: `{a.get('posterior_sha256')}`",
        "* files: `posterior.nc` (ArviZ InferenceData, NetCDF4), `engine_samples.nc` (NetCDF3, engine",
        "  parameters with dims (sample, *dims); elements not informed by data are expert-prior draws)",
        "",
        "## Diagnostics",
        "",
        "| model | R-hat max | bulk ESS min | divergences | seconds |",
        "| --- | --- | --- | --- | --- |",
    ]
    for m, row in diagnostics_table(idata).iterrows():
        lines.append(f"| {m} | {row.r_hat_max:.3f} | {row.ess_bulk_min:,.0f} | {row.divergences} | {row.seconds:.1f} |")
    lr = learning_rate_summary(idata)
    lines += ["", f"Li-ion cell learning rate per doubling: {lr['median']:.1%} (90 % interval {lr['lower']:.1%}"
              f" to {lr['upper']:.1%}), exponent {lr['exponent_mean']:.3f}.", "",
              "## Calibrated engine parameters (median, 90 % interval)", "",
              "| parameter | posterior | expert prior |", "| --- | --- | --- |"]
    def g(x: float) -> str:
        return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.3g}"

    for name, row in summary_table(idata).iterrows():
        lines.append(f"| `{name}` | {g(row.posterior_median)} ({g(row.posterior_low)} to {g(row.posterior_high)}) | "
                     f"{g(row.expert_prior_median)} ({g(row.expert_prior_low)} to {g(row.expert_prior_high)}) |")
    if boom is not None:
        lines += ["", f"Boom check from {boom.attrs['origin']} (observed max/start within {boom.attrs['horizon']} "
                  f"years {boom.attrs['observed_ratio']:.1f}):", ""]
        for process, row in boom.iterrows():
            probs = ", ".join(f"{k} = {v:.1%}" for k, v in row.items() if k.startswith("P("))
            lines.append(f"* {process}: {probs}")
    return "\n".join(lines) + "\n"


def load_posterior(path: str | Path | None = None):
    """Read a saved posterior (default: the shipped ``priors/posterior/posterior.nc``)."""
    import arviz as az

    path = Path(path) if path is not None else SHIPPED_POSTERIOR
    if not path.is_file():
        raise InputError("posterior file not found", file=str(path), field="posterior")
    try:
        return az.from_netcdf(str(path))
    except Exception as exc:  # noqa: BLE001 - any reader failure is bad input
        raise InputError(f"cannot read posterior ({exc.__class__.__name__})", file=str(path), field="posterior") from None


def summary_table(idata, level: float = 0.9) -> pd.DataFrame:
    """Engine parameters the calibration informs: posterior median and central ``level``
    interval, the same for the calibration prior and for the engine's expert prior
    (priors/*.toml), and the posterior/prior sd ratio (small: the data inform it; near 1:
    the prior dominates). One row per calibrated element (e.g. conversion_learning_exponent[LFP])."""
    q = [(1 - level) / 2, 0.5, (1 + level) / 2]
    post, prior = idata.posterior, idata.prior
    names = [k for k in ENGINE_MAP if k in post]
    expert = _engine_prior_draws(4000, 0, tuple(names))
    rows = []
    for name in names:
        da_post, da_prior = post[name], prior[name]
        labels = [x for x in da_post.attrs.get("calibrated", "all").split(",") if x and x not in ("all", "none")]
        dims = REGISTRY[name].dims
        elements = [(f"{name}[{lab}]", {dims[0]: lab}, list(COORDS[dims[0]]).index(lab)) for lab in labels] or [(name, {}, None)]
        if da_post.attrs.get("calibrated") == "none":
            continue
        for label, sel, idx in elements:
            x = np.asarray(da_post.sel(sel).values, float).reshape(-1)
            pr = np.asarray(da_prior.sel(sel).values, float).reshape(-1)
            ex = expert[name] if idx is None else expert[name][:, idx]
            a, b, c = np.quantile(x, q)
            pa, pb, pc = np.quantile(pr, q)
            ea, eb, ec = np.quantile(ex, q)
            rows.append({"parameter": label, "model": ENGINE_MAP[name][0], "posterior_median": b,
                         "posterior_low": a, "posterior_high": c, "calibration_prior_median": pb,
                         "calibration_prior_low": pa, "calibration_prior_high": pc, "expert_prior_median": eb,
                         "expert_prior_low": ea, "expert_prior_high": ec,
                         "sd_ratio": float(x.std() / pr.std()) if pr.std() > 0 else float("nan")})
    return pd.DataFrame(rows).set_index("parameter")


# ---------------------------------------------------------------------------------------
# Checks and companions: boom reproduction, Moore variant, the built-in cell series
# ---------------------------------------------------------------------------------------


def boom_check(idata, origin: int = 2020, horizon: int = 3, ratios=(5.0, 10.0), paths_per_sample: int = 25,
               seed: int = 0) -> pd.DataFrame:
    """How often the fitted price process produces a 2021-2023 sized boom from ``origin``.

    Starts at the observed ``origin`` annual mean price outside a boom (tightness 0) and
    reports P(max over the next ``horizon`` years of the annual mean price / start > r) for
    the engine's price block (posterior engine samples through :func:`mcbattery.prices.step`,
    twelve monthly steps a year, its ``lithium_price`` the annual mean), the fitted monthly
    process (the calibration's own simulator on the posterior sites, annual means of months)
    and, for reference, the engine with its expert priors; plus the observed ratio. The first
    two are the same process written twice, so they differ only by Monte Carlo error.
    """
    data = price_data()
    df = pd.DataFrame({"year": pd.DatetimeIndex(data["month"]).year, "price": data["price"]})
    annual = df.groupby("year")["price"].mean()
    if origin not in annual.index:
        raise InputError(f"no lithium prices for {origin}", field="origin")
    start = float(annual.loc[origin])
    window = [y for y in range(origin + 1, origin + horizon + 1) if y in annual.index]
    observed = float(annual.loc[window].max() / start) if window else float("nan")
    eng = engine_samples(idata)
    rows = []
    # the engine's price block, posterior engine samples
    lp = simulate_price_annual(eng, horizon, math.log(start), origin + 1, seed=seed, paths_per_sample=paths_per_sample)
    mx_post = np.exp(lp[:, 1:].max(axis=1) - lp[:, 0])
    # the engine's price block, expert priors (the shipped TOML priors, same number of samples)
    n = next(iter(eng.values())).shape[0]
    prior_p = _engine_prior_draws(n, seed + 3, _PRICE_ENGINE)
    lp_prior = simulate_price_annual(prior_p, horizon, math.log(start), origin + 1, seed=seed + 1,
                                     paths_per_sample=paths_per_sample)
    mx_prior = np.exp(lp_prior[:, 1:].max(axis=1) - lp_prior[:, 0])
    # monthly fitted process: annual means of simulated months
    post = idata.posterior
    names = [k for k in prior_distributions("price", PricePriors(ceiling=True)) if k in post]
    sites = {k: np.repeat(np.asarray(post[k].values).reshape(-1), paths_per_sample) for k in names}
    tau0 = origin + 1 - ANCHOR_YEAR - 6.5 / 12  # month 1 of the simulation is January of origin + 1
    ym, _ = simulate_price_monthly(sites, 12 * horizon, math.log(start), tau0=tau0, boom0=0, seed=seed + 2)
    means = np.exp(ym[:, 1:]).reshape(ym.shape[0], horizon, 12).mean(axis=2)
    mx_month = means.max(axis=1) / start
    for label, mx in (("engine price block, posterior", mx_post), ("monthly fit, posterior", mx_month),
                      ("engine price block, expert priors", mx_prior)):
        row = {"process": label, "paths": mx.size, "median_max_ratio": float(np.median(mx))}
        for r in ratios:
            row[f"P(max/start > {r:g})"] = float(np.mean(mx > r))
        rows.append(row)
    out = pd.DataFrame(rows).set_index("process")
    out.attrs.update(origin=origin, horizon=horizon, start_price=start, observed_ratio=observed)
    return out


def moore_comparison(until: int | None = None, seed: int = 0, idata=None, **fit_options) -> dict[str, Any]:
    """Moore's-law (time trend) fit of the same cell prices (2010 on) with
    :func:`mcbattery.learning.fit`: posterior summary, annual decline (mean and 90% interval)
    and, with a calibrated ``idata``, PSIS-LOO of the one-step-ahead increments for both laws
    (``elpd_moore``, ``elpd_wright``: (estimate, se))."""
    import arviz as az

    d = learning_data(until)
    frame = pd.DataFrame({"year": d["year"], "unit_cost": d["cell_price"]})
    fit = learning.fit(frame, seed=seed, model="moore", **fit_options)
    mu = fit.posterior["progress_rate"].values
    out = {
        "summary": fit.summary(),
        "diagnostics": fit.diagnostics,
        "annual_decline_mean": float(1 - np.exp(-mu).mean()),
        "annual_decline_90": tuple(float(x) for x in 1 - np.exp(-np.quantile(mu, [0.05, 0.95]))),
        "fit": fit,
    }
    if idata is not None:
        dy = jnp.asarray(np.diff(d["log_cost"]), jnp.float32)
        ll = jax.vmap(lambda a, b, c: learning_pointwise(a, b, c, jnp.ones_like(dy), dy))(
            *(jnp.asarray(fit.posterior[k].values.reshape(-1), jnp.float32)
              for k in ("progress_rate", "noise_scale", "noise_autocorrelation")))
        ll = np.asarray(ll, float).reshape(*mu.shape, -1)
        with np.errstate(all="ignore"):
            moore = az.loo(az.from_dict(posterior={"mu": mu}, log_likelihood={"y": ll}))
            wright = az.loo(idata, var_name="learning__log_cost_increment")
        out["elpd_moore"] = (float(moore.elpd_loo), float(moore.se))
        out["elpd_wright"] = (float(wright.elpd_loo), float(wright.se))
    return out


def cell_series(q0: float | None = None, nonev_scale: float | None = None, posterior: str | Path | None = None,
                until: int | None = None, first_year: int = 1991, early_growth: float | None = None) -> pd.DataFrame:
    """The built-in Li-ion cell series for hindcasts: columns series, year,
    cumulative_production [GWh], unit_cost [USD2024/kWh].

    From 2010: ``q0 + nonev_scale · cumulative IEA EV demand``. Before 2010 (years from
    ``first_year``, cell prices from 1991) no production series ships, so cumulative
    production follows the prior path of the calibration: exponential growth at
    ``early_growth`` per year reaching ``q0`` at the end of 2009, i.e.
    ``Q_t = q0 · exp(−early_growth · (2009 − t))``. ``q0``, ``nonev_scale`` and
    ``early_growth`` default to the prior medians of :class:`LearningPriors`, so a hindcast
    uses nothing fitted to the outcomes it scores; ``posterior`` takes ``q0`` and
    ``nonev_scale`` from that posterior's means instead.
    """
    pri = LearningPriors()
    if posterior is not None:
        path = Path(posterior)
        post = load_posterior(path).posterior
        if "learning__q0" not in post:
            raise InputError("posterior has no learning__q0", file=str(path), field="posterior")
        q0 = float(post["learning__q0"].mean()) if q0 is None else q0
        nonev_scale = float(post["learning__nonev_scale"].mean()) if nonev_scale is None else nonev_scale
    q0 = pri.q0_median if q0 is None else float(q0)
    nonev_scale = pri.nonev_scale_median if nonev_scale is None else float(nonev_scale)
    g = pri.early_growth_median if early_growth is None else float(early_growth)
    if not (q0 > 0 and nonev_scale > 0 and g > 0):
        raise InputError("expected positive q0, nonev_scale and early_growth", field="cell_series")
    d = learning_data(until)
    frame = pd.DataFrame({"series": "li_ion_cell", "year": d["year"],
                          "cumulative_production": q0 + nonev_scale * d["cum_ev"], "unit_cost": d["cell_price"]})
    if first_year < LEARNING_FIRST_YEAR:
        price = datasets.cell_price().set_index("year")["cell_price_usd2024_per_kwh"]
        years = np.array([int(y) for y in price.index if first_year <= y < LEARNING_FIRST_YEAR])
        early = pd.DataFrame({"series": "li_ion_cell", "year": years,
                              "cumulative_production": q0 * np.exp(-g * (LEARNING_FIRST_YEAR - 1 - years)),
                              "unit_cost": price.loc[years].to_numpy(float)})
        frame = pd.concat([early, frame], ignore_index=True)
    return frame