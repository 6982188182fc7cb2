"""Bayesian experience curves (Wright's law) and time trends (Moore's law) with MA(1) noise.

Model (Farmer & Lafond 2016; Lafond et al. 2018; Way et al. 2022), on an annual clock::

    Δlog c_t = −b Δlog Q_t + u_t + ρ u_{t−1},    u_t ~ N(0, σ²)       (model="wright")
    Δlog c_t = −μ            + u_t + ρ u_{t−1}                        (model="moore")

``c`` is unit cost (any currency unit), ``Q`` cumulative production (any unit), ``b`` the
dimensionless learning exponent (learning rate per doubling = 1 − 2^−b), ``μ`` the progress
rate in log-cost per year, ``σ`` the innovation scale in log-cost per year and ``ρ`` the
MA(1) coefficient.

Irregular year gaps: the noise lives on the annual clock and unobserved years are summed
over. An observed increment spanning ``g`` years is ``−b·(total Δlog Q) + Σ_g (u_k + ρ u_{k−1})``,
whose variance is ``σ²[g(1+ρ²) + 2(g−1)ρ]``; consecutive increments share one innovation,
so their covariance is ``σ²ρ``; others are independent. The likelihood is this exact
tridiagonal Gaussian, evaluated in O(n) with the innovations (LDLᵀ) recursion, so the
first increment is not conditioned on an unknown pre-sample innovation.

Priors (defaults in :class:`Priors`; see docs/learning.md for sources) are weakly
informative for technologies in general, not only batteries.
"""

from __future__ import annotations

import functools
import math
from dataclasses import asdict, dataclass, field
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import numpyro.distributions as dist
import pandas as pd
import scipy.stats
import xarray as xr
from numpyro.diagnostics import effective_sample_size, split_gelman_rubin
from numpyro.infer.hmc import hmc

from .errors import InputError

__all__ = [
    "Priors",
    "LearningCurveFit",
    "fit",
    "forecast",
    "simulate",
    "sample_prior",
    "MODELS",
]

MODELS = ("wright", "moore")
_TREND_NAME = {"wright": "learning_exponent", "moore": "progress_rate"}
_PARAMS = {m: (_TREND_NAME[m], "noise_scale", "noise_autocorrelation") for m in MODELS}
_REQUIRED = {
    "wright": ("year", "cumulative_production", "unit_cost"),
    "moore": ("year", "unit_cost"),
}


@dataclass(frozen=True)
class Priors:
    """Prior hyper-parameters (all on log-cost per year or dimensionless scales).

    trend ~ StudentT(trend_df, trend_loc, trend_scale): ``b`` (Wright, dimensionless) or
    ``μ`` (Moore, log-cost per year); defaults per model via :meth:`default`.
    noise_scale σ ~ LogNormal(log(noise_median), noise_log_sd)   [log-cost per year]
    noise_autocorrelation ρ = 2·B − 1, B ~ Beta(rho_a, rho_b); mean 2a/(a+b) − 1.
    """

    trend_loc: float = 0.3
    trend_scale: float = 0.3
    trend_df: float = 4.0
    noise_median: float = 0.1
    noise_log_sd: float = 0.75
    rho_a: float = 4.0
    rho_b: float = 2.7

    @classmethod
    def default(cls, model: str = "wright") -> "Priors":
        """Default priors for ``model`` ("wright" or "moore")."""
        if model == "moore":
            return cls(trend_loc=0.05, trend_scale=0.1)
        return cls()

    @property
    def rho_mean(self) -> float:
        """Prior mean of ρ (≈ 0.19, Farmer & Lafond's cross-technology estimate)."""
        return 2 * self.rho_a / (self.rho_a + self.rho_b) - 1


# ---------------------------------------------------------------------------------------
# Input handling
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Series:
    years: np.ndarray  # (n,) float, whole years, increasing
    log_cost: np.ndarray  # (n,)
    log_q: np.ndarray | None  # (n,) or None (moore without production)
    frame: pd.DataFrame


def _fail(field_name: str, message: str) -> InputError:
    return InputError(message, field=field_name)


def _validate(frame: Any, model: str = "wright", *, min_points: int = 3) -> _Series:
    """Check one series and return it sorted by year; raise InputError on bad input."""
    if model not in MODELS:
        raise _fail("model", f"expected one of {', '.join(MODELS)}; got {model!r}")
    if not isinstance(frame, pd.DataFrame):
        raise _fail("frame", f"expected a pandas DataFrame; got {type(frame).__name__}")
    cols = list(_REQUIRED[model])
    if model == "moore" and "cumulative_production" in frame.columns:
        cols.append("cumulative_production")
    for col in cols:
        if col not in frame.columns:
            raise _fail(col, f"missing column; expected columns {', '.join(_REQUIRED[model])}")
    if len(frame) < min_points:
        raise _fail("year", f"expected at least {min_points} observations; got {len(frame)}")
    values = {}
    for col in cols:
        try:
            v = pd.to_numeric(frame[col], errors="raise").to_numpy(dtype=float)
        except (TypeError, ValueError):
            raise _fail(col, "expected numeric values") from None
        if not np.all(np.isfinite(v)):
            raise _fail(col, f"expected finite numbers; found {int((~np.isfinite(v)).sum())} NaN/inf")
        values[col] = v
    years = values["year"]
    if np.any(years != np.round(years)):
        raise _fail("year", "expected whole years")
    if len(np.unique(years)) != len(years):
        dup = pd.Series(years).loc[pd.Series(years).duplicated()].iloc[0]
        raise _fail("year", f"expected one row per year; year {int(dup)} is duplicated")
    order = np.argsort(years, kind="stable")
    values = {k: v[order] for k, v in values.items()}
    for col in ("unit_cost", "cumulative_production"):
        if col in values and np.any(values[col] <= 0):
            i = int(np.argmax(values[col] <= 0))
            raise _fail(col, f"expected positive values; found {values[col][i]:g} in year {int(values['year'][i])}")
    log_q = None
    if "cumulative_production" in values:
        q = values["cumulative_production"]
        if np.any(np.diff(q) <= 0):
            i = int(np.argmax(np.diff(q) <= 0)) + 1
            raise _fail(
                "cumulative_production",
                f"expected strictly increasing values by year; year {int(values['year'][i])} does not increase",
            )
        log_q = np.log(q)
    sorted_frame = frame.iloc[order].reset_index(drop=True)
    return _Series(values["year"], np.log(values["unit_cost"]), log_q, sorted_frame)


# ---------------------------------------------------------------------------------------
# Likelihood: exact Gaussian of observed increments (tridiagonal covariance)
# ---------------------------------------------------------------------------------------


def _increment_cov(sigma, rho, gaps, mask, first):
    """Diagonal ``a`` and sub-diagonal ``e`` of the increments' covariance [log-cost²]."""
    s2 = sigma**2
    a = s2 * (gaps * (1 + rho**2) + 2 * (gaps - 1) * rho)
    e = s2 * rho
    a = jnp.where(mask, a, 1.0)
    e = jnp.where(mask & ~first, e, 0.0)
    return a, e


def _innovations(a, e, r):
    """LDLᵀ recursion of a symmetric tridiagonal matrix: prediction variances d, errors z."""

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


def _trend_prior(priors: Priors):
    return dist.StudentT(priors.trend_df, priors.trend_loc, priors.trend_scale)


def _noise_prior(priors: Priors):
    return dist.LogNormal(math.log(priors.noise_median), priors.noise_log_sd)


def _rho_prior(priors: Priors):
    return dist.TransformedDistribution(
        dist.Beta(priors.rho_a, priors.rho_b), dist.transforms.AffineTransform(-1.0, 2.0)
    )


def _log_prior(z, priors: Priors):
    """Log prior density of unconstrained z = (trend, log σ, w) with ρ = tanh(w/2)."""
    trend, log_sigma, w = z[0], z[1], z[2]
    lp = _trend_prior(priors).log_prob(trend)
    lp = lp + dist.Normal(math.log(priors.noise_median), priors.noise_log_sd).log_prob(log_sigma)
    # ρ = 2B − 1 with B = sigmoid(w) ~ Beta(a, b): density of w incl. the Jacobian B(1 − B).
    lp = lp + priors.rho_a * jax.nn.log_sigmoid(w) + priors.rho_b * jax.nn.log_sigmoid(-w)
    lp = lp - (jax.scipy.special.gammaln(priors.rho_a) + jax.scipy.special.gammaln(priors.rho_b)
               - jax.scipy.special.gammaln(priors.rho_a + priors.rho_b))
    return lp


def _log_likelihood(slope, sigma, rho, dx, gaps, dy, mask, first):
    """Exact Gaussian log-likelihood of the observed log-cost increments."""
    r = jnp.where(mask, dy + slope * dx, 0.0)
    a, e = _increment_cov(sigma, rho, gaps, mask, first)
    d, z = _innovations(a, e, r)
    return -0.5 * jnp.sum(jnp.where(mask, jnp.log(d) + z**2 / d + math.log(2 * math.pi), 0.0))


def _constrain(z):
    """Unconstrained (…, 3) → (trend, σ, ρ)."""
    return z[..., 0], jnp.exp(z[..., 1]), jnp.tanh(z[..., 2] / 2)


@functools.lru_cache(maxsize=64)
def _sampler(priors: Priors, num_warmup: int, num_samples: int, num_chains: int,
             target_accept: float, max_tree_depth: int, chain_method: str = "vectorized"):
    """Jitted NUTS run: (key, dx, gaps, dy, mask, first) → (z (chain, draw, 3), diverging)."""

    def potential_gen(dx, gaps, dy, mask, first):
        def potential(z):
            slope, sigma, rho = _constrain(z)
            return -(_log_prior(z, priors) + _log_likelihood(slope, sigma, rho, dx, gaps, dy, mask, first))

        return potential

    init_kernel, sample_kernel = hmc(potential_fn_gen=potential_gen, algo="NUTS")
    rho_w = 2 * math.atanh(max(min(priors.rho_mean, 0.9), -0.9))
    centre = jnp.array([priors.trend_loc, math.log(priors.noise_median), rho_w], jnp.float32)
    spread = jnp.array([priors.trend_scale, 0.5, 0.5], jnp.float32)

    def one_chain(key, args):
        k_init, k_run = jax.random.split(key)
        z0 = centre + spread * jax.random.uniform(k_init, (3,), jnp.float32, -1.0, 1.0)
        state = init_kernel(z0, num_warmup, target_accept_prob=target_accept,
                            max_tree_depth=max_tree_depth, model_args=args, rng_key=k_run)

        def step(st, _):
            st = sample_kernel(st, model_args=args)
            return st, (st.z, st.diverging)

        # One scan over warmup + sampling (adaptation stops by itself after num_warmup steps);
        # a single loop body halves compile time compared with two scans.
        _, (z, div) = jax.lax.scan(step, state, None, length=num_warmup + num_samples)
        return z[num_warmup:], div[num_warmup:]

    @jax.jit
    def run(key, dx, gaps, dy, mask, first):
        keys = jax.random.split(key, num_chains)
        args = (dx, gaps, dy, mask, first)
        if chain_method == "sequential":
            return jax.lax.map(lambda k: one_chain(k, args), keys)
        return jax.vmap(one_chain, in_axes=(0, None))(keys, args)

    return run


def _padded_arrays(series: _Series, kind: str):
    """Front-padded increment arrays (length a power of two ≥ 8) so compiled samplers are reused."""
    dy = np.diff(series.log_cost)
    gaps = np.diff(series.years)
    dx = gaps.copy() if kind == "moore" else np.diff(series.log_q)
    n = len(dy)
    size = max(8, 1 << (n - 1).bit_length())
    pad = size - n

    def p(x, fill):
        return np.concatenate([np.full(pad, fill, dtype=float), np.asarray(x, float)])

    mask = np.concatenate([np.zeros(pad, bool), np.ones(n, bool)])
    first = np.zeros(size, bool)
    first[pad] = True
    return (
        jnp.asarray(p(dx, 0.0), jnp.float32),
        jnp.asarray(p(gaps, 1.0), jnp.float32),
        jnp.asarray(p(dy, 0.0), jnp.float32),
        jnp.asarray(mask),
        jnp.asarray(first),
    )


@jax.jit
def _last_innovation(slope, sigma, rho, dx, gaps, dy, mask, first):
    """Mean and sd of the last annual innovation u_T given the data, per parameter draw."""

    def one(b, s, p):
        r = jnp.where(mask, dy + b * dx, 0.0)
        a, e = _increment_cov(s, p, gaps, mask, first)
        d, z = _innovations(a, e, r)
        mean = s**2 * z[-1] / d[-1]
        var = jnp.maximum(s**2 - s**4 / d[-1], 0.0)
        return mean, jnp.sqrt(var)

    return jax.vmap(one)(slope, sigma, rho)


# ---------------------------------------------------------------------------------------
# Diagnostics (rank-normalised split R-hat and bulk ESS, Vehtari et al. 2021)
# ---------------------------------------------------------------------------------------


def _rank_normal(x: np.ndarray) -> np.ndarray:
    flat = x.reshape(-1)
    ranks = scipy.stats.rankdata(flat, method="average")
    z = scipy.stats.norm.ppf((ranks - 0.375) / (flat.size + 0.25))
    return z.reshape(x.shape)


def _rhat_ess(x: np.ndarray) -> tuple[float, float]:
    """(rank-normalised R-hat, bulk ESS) for draws shaped (chain, draw)."""
    x = np.asarray(x, float)
    if np.ptp(x) == 0 or x.shape[1] < 4:
        return float("nan"), float("nan")
    z = _rank_normal(x)
    folded = _rank_normal(np.abs(x - np.median(x)))
    rhat = max(float(split_gelman_rubin(z)), float(split_gelman_rubin(folded)))
    ess = float(effective_sample_size(z))
    return rhat, ess


# ---------------------------------------------------------------------------------------
# Simulation on the annual clock
# ---------------------------------------------------------------------------------------


def _noise_paths(sigma, rho, steps, rng, u0_mean=None, u0_sd=None):
    """Cumulative MA(1) noise at annual step counts ``steps`` (J,) for draws (S,) [log-cost].

    u_0 is the innovation at the starting year: N(u0_mean, u0_sd²) if given (forecasting,
    conditioned on data), else N(0, σ²) (a fresh stationary start).
    """
    sigma = np.asarray(sigma, float)
    rho = np.asarray(rho, float)
    steps = np.asarray(steps, int)
    total = int(steps[-1]) if steps.size else 0
    u = rng.standard_normal((sigma.size, total + 1)) * sigma[:, None]
    if u0_mean is not None:
        u[:, 0] = np.asarray(u0_mean, float) + np.asarray(u0_sd, float) * rng.standard_normal(sigma.size)
    v = u[:, 1:] + rho[:, None] * u[:, :-1]
    return np.cumsum(v, axis=1)[:, steps - 1]


def simulate(
    learning_exponent: float,
    noise_scale: float,
    noise_autocorrelation: float,
    cumulative_production,
    years=None,
    initial_cost: float = 1.0,
    seed: int = 0,
    model: str = "wright",
) -> pd.DataFrame:
    """Simulate one series from the model (for tests, calibration and examples).

    ``learning_exponent`` is b (Wright) or μ [log-cost per year] (Moore); ``noise_scale`` σ
    [log-cost per year]; ``years`` default to consecutive years from 2000. Returns a frame
    with columns year, cumulative_production, unit_cost (same units as ``initial_cost``).
    """
    q = np.asarray(cumulative_production, float)
    years = np.arange(2000, 2000 + q.size) if years is None else np.asarray(years)
    rng = np.random.default_rng(seed)
    steps = (years[1:] - years[0]).astype(int)
    noise = _noise_paths(np.array([noise_scale]), np.array([noise_autocorrelation]), steps, rng)[0]
    trend = (np.log(q[1:]) - np.log(q[0])) if model == "wright" else (years[1:] - years[0]).astype(float)
    log_c = np.log(initial_cost) + np.concatenate([[0.0], -learning_exponent * trend + noise])
    return pd.DataFrame({"year": years, "cumulative_production": q, "unit_cost": np.exp(log_c)})


def sample_prior(priors: Priors | None = None, num_samples: int = 1000, seed: int = 0, model: str = "wright") -> dict:
    """Draws from the prior: dict of numpy arrays keyed by parameter name."""
    priors = Priors.default(model) if priors is None else priors
    keys = jax.random.split(jax.random.PRNGKey(seed), 3)
    shape = (num_samples,)
    return {
        _TREND_NAME[model]: np.asarray(_trend_prior(priors).sample(keys[0], shape), float),
        "noise_scale": np.asarray(_noise_prior(priors).sample(keys[1], shape), float),
        "noise_autocorrelation": np.asarray(_rho_prior(priors).sample(keys[2], shape), float),
    }


# ---------------------------------------------------------------------------------------
# Fit object
# ---------------------------------------------------------------------------------------


@dataclass
class LearningCurveFit:
    """Posterior of one learning curve.

    posterior: Dataset (chain, draw) with the trend (``learning_exponent`` b, or
    ``progress_rate`` μ [log-cost/yr] for Moore), ``noise_scale`` σ [log-cost/yr] and
    ``noise_autocorrelation`` ρ. ``last_innovation`` / ``last_innovation_sd`` (chain, draw):
    conditional mean and sd of the final year's noise innovation u_T given the data, which
    the MA(1) term carries into the first forecast year.
    """

    posterior: xr.Dataset
    model: str
    priors: Priors
    data: pd.DataFrame
    last_year: int
    last_cost: float
    last_cumulative_production: float | None
    last_innovation: xr.DataArray
    last_innovation_sd: xr.DataArray
    sample_stats: xr.Dataset
    options: dict = field(default_factory=dict)
    _arrays: tuple = field(default=(), repr=False)

    @property
    def parameters(self) -> tuple[str, ...]:
        return _PARAMS[self.model]

    @property
    def last_residual(self) -> xr.DataArray:
        """Alias of :attr:`last_innovation` [log-cost]."""
        return self.last_innovation

    def summary(self) -> pd.DataFrame:
        """Posterior table: mean, sd, 5%, 95%, r_hat, ess_bulk per parameter."""
        rows = {}
        for name in self.parameters:
            x = self.posterior[name].values
            rhat, ess = _rhat_ess(x)
            rows[name] = {
                "mean": float(x.mean()),
                "sd": float(x.std(ddof=1)),
                "5%": float(np.quantile(x, 0.05)),
                "95%": float(np.quantile(x, 0.95)),
                "r_hat": rhat,
                "ess_bulk": ess,
            }
        return pd.DataFrame.from_dict(rows, orient="index")

    @property
    def diagnostics(self) -> dict:
        """Convergence checks: r_hat_max, ess_bulk_min, divergences (count)."""
        table = self.summary()
        return {
            "r_hat_max": float(table["r_hat"].max()),
            "ess_bulk_min": float(table["ess_bulk"].min()),
            "divergences": int(self.sample_stats["diverging"].values.sum()),
        }

    def to_inference_data(self, seed: int = 0):
        """ArviZ InferenceData with posterior, sample_stats, observed_data, prior, posterior_predictive.

        Observed and predicted variable: ``log_cost_increment`` (Δlog c between observations).
        """
        import arviz as az  # lazy: optional dependency

        s = _validate(self.data, self.model)
        dy = np.diff(s.log_cost)
        steps = (s.years[1:] - s.years[0]).astype(int)
        trend = (s.log_q[1:] - s.log_q[0]) if self.model == "wright" else (s.years[1:] - s.years[0])
        rng = np.random.default_rng(seed)
        trend_name = _TREND_NAME[self.model]
        nc, nd = self.posterior.sizes["chain"], self.posterior.sizes["draw"]

        def replicate(params, shape):
            flat = {k: np.asarray(v, float).reshape(-1) for k, v in params.items()}
            level = -flat[trend_name][:, None] * trend[None, :] + _noise_paths(
                flat["noise_scale"], flat["noise_autocorrelation"], steps, rng
            )
            inc = np.diff(np.concatenate([np.zeros((level.shape[0], 1)), level], axis=1), axis=1)
            return inc.reshape(*shape, -1)

        post = {k: self.posterior[k].values for k in self.parameters}
        prior = sample_prior(self.priors, nc * nd, seed + 1, self.model)
        coords = {"increment": s.years[1:].astype(int)}
        dims = {"log_cost_increment": ["increment"]}
        return az.from_dict(
            posterior=post,
            sample_stats={k: self.sample_stats[k].values for k in self.sample_stats.data_vars},
            observed_data={"log_cost_increment": dy},
            prior={k: v.reshape(1, -1) for k, v in prior.items()},
            posterior_predictive={"log_cost_increment": replicate(post, (nc, nd))},
            coords=coords,
            dims=dims,
        )


def fit(
    frame: pd.DataFrame,
    seed: int = 0,
    *,
    model: str = "wright",
    priors: Priors | dict | None = None,
    num_warmup: int = 1000,
    num_samples: int = 1000,
    num_chains: int = 4,
    chain_method: str = "sequential",
    target_accept: float = 0.9,
    max_tree_depth: int = 8,
) -> LearningCurveFit:
    """Fit Wright's law (``model="wright"``) or Moore's law (``"moore"``) with MA(1) noise by NUTS.

    ``frame``: one series with columns year, cumulative_production, unit_cost (any units;
    cumulative_production is optional for Moore). Needs ≥ 3 rows, positive cost and
    production, production strictly increasing, whole unique years; else InputError.
    ``priors``: :class:`Priors` or a dict of its fields overriding the model's defaults.
    """
    if model not in MODELS:
        raise _fail("model", f"expected one of {', '.join(MODELS)}; got {model!r}")
    base = Priors.default(model)
    if priors is None:
        priors = base
    elif isinstance(priors, dict):
        unknown = set(priors) - set(asdict(base))
        if unknown:
            raise _fail("priors", f"unknown prior fields {sorted(unknown)}; expected {sorted(asdict(base))}")
        priors = Priors(**{**asdict(base), **priors})
    series = _validate(frame, model)
    arrays = _padded_arrays(series, model)
    if chain_method not in ("vectorized", "sequential"):
        raise _fail("chain_method", f"expected 'vectorized' or 'sequential'; got {chain_method!r}")
    run = _sampler(priors, int(num_warmup), int(num_samples), int(num_chains), float(target_accept),
                   int(max_tree_depth), chain_method)
    z, diverging = run(jax.random.PRNGKey(seed), *arrays)
    slope, sigma, rho = _constrain(z)
    mean, sd = _last_innovation(slope.reshape(-1), sigma.reshape(-1), rho.reshape(-1), *arrays)
    names = _PARAMS[model]
    nc, nd = z.shape[:2]
    coords = {"chain": np.arange(nc), "draw": np.arange(nd)}
    dims = ("chain", "draw")
    post = dict(zip(names, (slope, sigma, rho)))
    posterior = xr.Dataset({k: (dims, np.asarray(v, float)) for k, v in post.items()}, coords=coords)
    posterior.attrs.update(model=model, noise_scale_units="log-cost per year")
    last_mean = xr.DataArray(np.asarray(mean, float).reshape(nc, nd), coords=coords, dims=dims)
    last_sd = xr.DataArray(np.asarray(sd, float).reshape(nc, nd), coords=coords, dims=dims)
    stats = xr.Dataset({"diverging": (dims, np.asarray(diverging, bool))}, coords=coords)
    q_last = None if series.log_q is None else float(np.exp(series.log_q[-1]))
    return LearningCurveFit(
        posterior=posterior,
        model=model,
        priors=priors,
        data=series.frame,
        last_year=int(series.years[-1]),
        last_cost=float(np.exp(series.log_cost[-1])),
        last_cumulative_production=q_last,
        last_innovation=last_mean,
        last_innovation_sd=last_sd,
        sample_stats=stats,
        options=dict(seed=seed, num_warmup=num_warmup, num_samples=num_samples, num_chains=num_chains,
                     chain_method=chain_method, target_accept=target_accept, max_tree_depth=max_tree_depth),
        _arrays=arrays,
    )


# ---------------------------------------------------------------------------------------
# Forecast
# ---------------------------------------------------------------------------------------


def forecast(
    fit: LearningCurveFit,
    cumulative_production=None,
    draws: int = 1000,
    seed: int = 0,
    *,
    years=None,
) -> xr.DataArray:
    """Posterior-predictive unit-cost draws, dims (draw, point), in the units of the data.

    ``cumulative_production``: future values (increasing, above the last observed); required
    for Wright. ``years``: the years of those points (default: consecutive years after the
    last observation); required by Moore unless ``cumulative_production`` fixes the count.
    Draws continue from the last observation, carrying the last innovation u_T through the
    MA(1) term, and integrate over parameter uncertainty.
    """
    if cumulative_production is None and years is None:
        raise _fail("cumulative_production", "expected future cumulative production (or years for Moore)")
    q = None if cumulative_production is None else np.atleast_1d(np.asarray(cumulative_production, float))
    if fit.model == "wright" and q is None:
        raise _fail("cumulative_production", "expected future cumulative production values for Wright's law")
    n = q.size if q is not None else np.atleast_1d(years).size
    if n == 0:
        raise _fail("cumulative_production", "expected at least one future point")
    if q is not None:
        if not np.all(np.isfinite(q)):
            raise _fail("cumulative_production", "expected finite numbers")
        if np.any(np.diff(q) <= 0):
            raise _fail("cumulative_production", "expected strictly increasing values")
        if fit.last_cumulative_production is not None and q[0] <= fit.last_cumulative_production:
            raise _fail(
                "cumulative_production",
                f"expected values above the last observed {fit.last_cumulative_production:g}; got {q[0]:g}",
            )
    if years is None:
        yrs = fit.last_year + np.arange(1, n + 1)
    else:
        yrs = np.atleast_1d(np.asarray(years, float))
        if yrs.size != n:
            raise _fail("years", f"expected {n} years to match cumulative_production; got {yrs.size}")
        if np.any(yrs != np.round(yrs)) or np.any(np.diff(yrs) <= 0) or yrs[0] <= fit.last_year:
            raise _fail("years", f"expected increasing whole years after {fit.last_year}")
    if int(draws) < 1:
        raise _fail("draws", f"expected a positive number of draws; got {draws}")
    steps = (yrs - fit.last_year).astype(int)

    rng = np.random.default_rng(seed)
    names = fit.parameters
    flat = {k: fit.posterior[k].values.reshape(-1) for k in names}
    total = flat[names[0]].size
    idx = rng.choice(total, size=draws, replace=draws > total)
    slope = flat[names[0]][idx]
    sigma = flat["noise_scale"][idx]
    rho = flat["noise_autocorrelation"][idx]
    u0 = fit.last_innovation.values.reshape(-1)[idx]
    u0_sd = fit.last_innovation_sd.values.reshape(-1)[idx]
    noise = _noise_paths(sigma, rho, steps, rng, u0, u0_sd)
    if fit.model == "wright":
        trend = np.log(q) - np.log(fit.last_cumulative_production)
    else:
        trend = steps.astype(float)
    log_c = np.log(fit.last_cost) - slope[:, None] * trend[None, :] + noise
    coords = {"draw": np.arange(draws), "point": np.arange(n), "year": ("point", yrs.astype(int))}
    if q is not None:
        coords["cumulative_production"] = ("point", q)
    return xr.DataArray(np.exp(log_c), dims=("draw", "point"), coords=coords, name="unit_cost",
                        attrs={"units": "same as the fitted unit_cost", "model": fit.model})
