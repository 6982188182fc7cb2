"""Bayesian experience curves (Wright's law) and time trends (Moore's law) with MA(1) noise.

Model (Farmer & Lafond 2016; Lafond et al. 2018; Way et al. 2022), on a clock of steps of
``dt`` years (1 for annual data)::

    Δlog c_t = −b Δlog Q_t + u_t + ρ u_{t−1},    u_t ~ N(0, σ²)       (model="wright")
    Δlog c_t = −μ            + u_t + ρ u_{t−1}                        (model="moore")

``c`` is unit cost (any currency unit), ``Q`` cumulative production (any unit), ``b`` the
dimensionless learning exponent (learning rate per doubling = 1 − 2^−b), ``μ`` the progress
rate in log-cost per year, ``σ`` the innovation scale in log-cost per year and ``ρ`` the
MA(1) coefficient.

Time stamps: years may be fractional (quarterly, monthly, weekly or daily series) and the gaps
between observations irregular. The clock's step ``dt`` is the longest of 1, 1/2, 1/3, 1/4,
1/6, 1/12, 1/24, 1/52 and 1/365 years that every time stamp falls on; innovations have variance
``σ² dt`` per step and the trend's random walk ``τ² dt``, so ``σ`` and ``τ`` stay per-year
scales whatever the sampling. Unobserved steps are summed over: an observed increment spanning
``g`` steps is ``−b·(total Δlog Q) + Σ_g (u_k + ρ u_{k−1})``, whose variance is
``σ² dt [g(1+ρ²) + 2(g−1)ρ]``; consecutive increments share one innovation. The likelihood is
this exact Gaussian, evaluated in O(n) by a Kalman filter over the steps.

Priors (defaults in :class:`~mcbattery.calibration.priors.LearningCurvePriors`; see docs/learning.md for sources) are weakly
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
import xarray as xr

from mcbattery.calibration.diagnostics import rhat_ess
from mcbattery.calibration.nuts import sampler
from mcbattery.calibration.priors import LearningCurvePriors
from mcbattery.common.errors import InputError

__all__ = [
    "LearningCurvePriors",
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
MAX_SPAN_YEARS = 250  # longer spans are almost surely unit errors
CLOCKS = (1, 2, 3, 4, 6, 12, 24, 52, 365)  # steps per year the time stamps may fall on
MAX_STEPS = 2**14  # clock steps from first to last observation (the filter's length)
_REQUIRED = {
    "wright": ("year", "cumulative_production", "unit_cost"),
    "moore": ("year", "unit_cost"),
}


#: Former name of :class:`LearningCurvePriors`, kept for code written against earlier docs.
Priors = LearningCurvePriors


# ---------------------------------------------------------------------------------------
# Input handling
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CostSeries:
    """One validated cost series, sorted by year (logs of unit cost and cumulative production)."""

    years: np.ndarray  # (n,) float, increasing (fractional for sub-annual series)
    log_cost: np.ndarray  # (n,)
    log_q: np.ndarray | None  # (n,) or None (moore without production)
    frame: pd.DataFrame


def _fail(field_name: str, message: str) -> InputError:
    return InputError(message, field=field_name)


def validate_series(frame: Any, model: str = "wright", *, min_points: int = 3) -> CostSeries:
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
    if len(np.unique(years)) != len(years):
        dup = pd.Series(years).loc[pd.Series(years).duplicated()].iloc[0]
        raise _fail("year", f"expected one row per time stamp; year {dup:g} is duplicated")
    order = np.argsort(years, kind="stable")
    values = {k: v[order] for k, v in values.items()}
    for col in ("unit_cost", "cumulative_production"):
        if col in values and np.any(values[col] <= 0):
            i = int(np.argmax(values[col] <= 0))
            raise _fail(col, f"expected positive values; found {values[col][i]:g} in year {values['year'][i]:g}")
    log_q = None
    if "cumulative_production" in values:
        q = values["cumulative_production"]
        if np.any(np.diff(q) <= 0):
            i = int(np.argmax(np.diff(q) <= 0)) + 1
            raise _fail(
                "cumulative_production",
                f"expected strictly increasing values by year; year {values['year'][i]:g} does not increase",
            )
        log_q = np.log(q)
    sorted_frame = frame.iloc[order].reset_index(drop=True)
    return CostSeries(values["year"], np.log(values["unit_cost"]), log_q, sorted_frame)


def clock_step(years, field_name: str = "year") -> float:
    """The clock's step in years: the longest of 1/k (k in CLOCKS) that every time stamp
    (relative to the first) is a whole multiple of; InputError when none is."""
    t = np.asarray(years, float)
    rel = t - t[0]
    for k in CLOCKS:
        n = rel * k
        if np.all(np.abs(n - np.round(n)) <= 1e-6 * max(1.0, float(np.max(np.abs(n))) if n.size else 1.0) * 10):
            return 1.0 / k
    raise _fail(field_name, "expected time stamps on a regular clock (whole years, or halves, thirds, quarters, "
                            "sixths, months, half-months, weeks or days of a year after the first)")


def steps_of(times, origin: float, dt: float) -> np.ndarray:
    """Whole clock steps from ``origin`` to each time."""
    return np.round((np.asarray(times, float) - origin) / dt).astype(int)


# ---------------------------------------------------------------------------------------
# Prior density on the sampler's unconstrained coordinates
# ---------------------------------------------------------------------------------------


def _log_prior(z, priors: LearningCurvePriors):
    """Log prior density of unconstrained z = (trend, log σ, w[, log τ]) with ρ = tanh(w/2)."""
    trend, log_sigma, w = z[0], z[1], z[2]
    lp = priors.trend_prior().log_prob(trend)
    lp = lp + dist.Normal(math.log(priors.noise_median), priors.noise_log_sd).log_prob(log_sigma)
    # ρ = 2B − 1 with B = sigmoid(w) ~ Beta(a, b): density of w incl. the Jacobian B(1 − B).
    lp = lp + priors.rho_a * jax.nn.log_sigmoid(w) + priors.rho_b * jax.nn.log_sigmoid(-w)
    lp = lp - (jax.scipy.special.gammaln(priors.rho_a) + jax.scipy.special.gammaln(priors.rho_b)
               - jax.scipy.special.gammaln(priors.rho_a + priors.rho_b))
    if z.shape[0] > 3:
        lp = lp + dist.Normal(math.log(priors.drift_median), priors.drift_log_sd).log_prob(z[3])
    return lp


def _constrain(z):
    """Unconstrained (…, 3 or 4) → (trend, σ, ρ, τ); τ = 0 without the drift coordinate."""
    tau = jnp.exp(z[..., 3]) if z.shape[-1] > 3 else jnp.zeros_like(z[..., 0])
    return z[..., 0], jnp.exp(z[..., 1]), jnp.tanh(z[..., 2] / 2), tau


# ---------------------------------------------------------------------------------------
# Time-varying trend: exact Kalman filter on the annual clock
# ---------------------------------------------------------------------------------------
#
# State s_t = (δ_t, u_t, A_t): δ_t the trend's departure from its initial value (b_t = b + δ_t,
# a random walk δ_t = δ_{t−1} + τ η_t), u_t the year's noise innovation and A_t the log-cost
# change accumulated since the last observation. With x_t the year's Δlog Q (a gap's total
# spread evenly over its years; 1 per year for Moore):
#
#     A_t = (1 − r_t) A_{t−1} − (b + δ_t) x_t + u_t + ρ u_{t−1},     r_t = 1 after an observation,
#
# and an observed increment is A_t without error. The filter starts from δ = 0, A = 0 and a
# stationary pre-sample innovation u ~ N(0, σ²); with τ = 0 its likelihood equals
# :func:`mcbattery.calibration.models.increments_log_likelihood` (the tridiagonal form of the
# static model).


def _kalman(trend, sigma, rho, tau, dx, y, obs, reset, active, dt):
    """Log-likelihood and final filtered (mean (3,), covariance (3, 3)) of one series on a
    clock of ``dt`` years per step (per-step variances σ² dt and τ² dt).

    Scalar form of the filter: the six distinct covariance entries are propagated
    explicitly (the state has three components and the observation is exact).
    """
    dtype = dx.dtype
    s2 = (sigma**2 * dt).astype(dtype)
    t2 = (tau**2 * dt).astype(dtype)
    zero = jnp.zeros((), dtype)
    # carry: means (d, u, A), covariances (dd, du, dA, uu, uA, AA), log-likelihood
    init = (zero, zero, zero, zero, zero, zero, s2, zero, zero, zero)

    def step(c, x):
        md, mu, ma, pdd, pdu, pda, puu, pua, paa, ll = c
        x_t, y_t, o, r, a = x
        k = 1.0 - r.astype(dtype)
        # predict
        md1 = md
        ma1 = k * ma - trend * x_t - x_t * md + rho * mu
        pdd1 = pdd + t2
        pda1 = k * pda - x_t * pdd + rho * pdu - x_t * t2
        paa1 = (k * k * paa + x_t * x_t * pdd + rho * rho * puu - 2 * k * x_t * pda + 2 * k * rho * pua
                - 2 * x_t * rho * pdu + x_t * x_t * t2 + s2)
        # update on an exact observation of A
        v = y_t - ma1
        inv = 1.0 / paa1
        upd = (md1 + pda1 * inv * v, s2 * inv * v, y_t,
               pdd1 - pda1 * pda1 * inv, -pda1 * s2 * inv, zero, s2 - s2 * s2 * inv, zero, zero)
        pred = (md1, zero, ma1, pdd1, zero, pda1, s2, s2, paa1)
        ll_t = jnp.where(o & a, -0.5 * (jnp.log(2 * math.pi * paa1) + v * v * inv), 0.0)
        new = tuple(jnp.where(o, u_, p_) for u_, p_ in zip(upd, pred))
        new = tuple(jnp.where(a, n_, c_) for n_, c_ in zip(new, c[:9]))
        return new + (ll + ll_t,), None

    (md, mu, ma, pdd, pdu, pda, puu, pua, paa, ll), _ = jax.lax.scan(step, init, (dx, y, obs, reset, active))
    m = jnp.stack([md, mu, ma])
    p = jnp.stack([jnp.stack([pdd, pdu, pda]), jnp.stack([pdu, puu, pua]), jnp.stack([pda, pua, paa])])
    return ll, m, p


def _annual_arrays(series: CostSeries, kind: str):
    """Front-padded arrays on the series' clock (dx, y, obs, reset, active, dt), length a power
    of two ≥ 8.

    dx: Δlog Q per step (a gap's total split evenly over its steps; dt for Moore); y: the
    observed log-cost increment in the step that ends it (0 elsewhere); obs: an observation
    ends this step; reset: first step after an observation; active: not padding; dt: years
    per step.
    """
    dt = clock_step(series.years)
    steps = steps_of(series.years, series.years[0], dt)
    span = int(steps[-1])
    if span > MAX_STEPS:
        raise _fail("year", f"expected at most {MAX_STEPS} clock steps of {dt:g} years from first to last observation; got {span}")
    size = max(8, 1 << (span - 1).bit_length())
    pad = size - span
    gaps = np.diff(steps)
    dq = gaps * dt if kind == "moore" else np.diff(series.log_q)
    dy = np.diff(series.log_cost)
    dx = np.zeros(size)
    y = np.zeros(size)
    obs = np.zeros(size, bool)
    reset = np.zeros(size, bool)
    active = np.zeros(size, bool)
    active[pad:] = True
    at = pad
    for g, q, d in zip(gaps, dq, dy):
        dx[at:at + g] = q / g
        reset[at] = True
        obs[at + g - 1] = True
        y[at + g - 1] = d
        at += g
    return (jnp.asarray(dx, jnp.float32), jnp.asarray(y, jnp.float32), jnp.asarray(obs),
            jnp.asarray(reset), jnp.asarray(active), jnp.float32(dt))


@jax.jit
def _final_state(trend, sigma, rho, tau, dx, y, obs, reset, active, dt):
    """Filtered mean (S, 2) and covariance (S, 2, 2) of (δ_T, u_T) per parameter draw."""

    def one(b, s, p, t):
        _, m, cov = _kalman(b, s, p, t, dx, y, obs, reset, active, dt)
        return m[:2], cov[:2, :2]

    return jax.vmap(one)(trend, sigma, rho, tau)


@functools.lru_cache(maxsize=16)
def _potential_gen(priors: LearningCurvePriors):
    """Potential energy of the unconstrained z = (trend, log σ, w[, log τ]) given the annual
    arrays (dx, y, obs, reset, active, dt): −(log prior + Kalman log-likelihood)."""

    def potential_gen(dx, y, obs, reset, active, dt):
        def potential(z):
            trend, sigma, rho, tau = _constrain(z)
            ll, _, _ = _kalman(trend, sigma, rho, tau, dx, y, obs, reset, active, dt)
            return -(_log_prior(z, priors) + ll)

        return potential

    return potential_gen


@functools.lru_cache(maxsize=16)
def _initial_point(priors: LearningCurvePriors, drift: bool):
    """``key -> z0``: a chain's start, the prior centre ± U(−1, 1) × spread per coordinate."""
    rho_w = 2 * math.atanh(max(min(priors.rho_mean, 0.9), -0.9))
    centre = [priors.trend_loc, math.log(priors.noise_median), rho_w]
    spread = [priors.trend_scale, 0.5, 0.5]
    if drift:
        centre.append(math.log(priors.drift_median))
        spread.append(0.5)
    centre = jnp.array(centre, jnp.float32)
    spread = jnp.array(spread, jnp.float32)

    def init(key):
        return centre + spread * jax.random.uniform(key, (len(centre),), jnp.float32, -1.0, 1.0)

    return init


# ---------------------------------------------------------------------------------------
# Simulation on the annual clock
# ---------------------------------------------------------------------------------------


def _annual_dx(steps, total_dx) -> np.ndarray:
    """Per-step Δlog Q (K,) from cumulative step counts (J,) and each gap's total Δlog Q (J,)."""
    steps = np.asarray(steps, int)
    gaps = np.diff(np.concatenate([[0], steps]))
    return np.repeat(np.asarray(total_dx, float) / gaps, gaps)


def _paths(trend, sigma, rho, tau, dx, rng, drift0=None, u0=None, dt: float = 1.0):
    """Cumulative log-cost change after each step (S, K) of the time-varying model.

    Per draw (S,): initial trend ``trend``, noise σ, MA(1) ρ, trend step sd τ (both per
    year); ``dx`` (K,) Δlog Q per step (dt for Moore); ``dt`` years per step. ``drift0``/``u0``
    (S,): trend departure and innovation at the start (default 0 and a stationary draw).
    """
    trend, sigma, rho, tau = (np.asarray(v, float) for v in (trend, sigma, rho, tau))
    n = sigma.size
    dx = np.asarray(dx, float)
    k = dx.size
    root = math.sqrt(dt)
    eta = rng.standard_normal((n, k))
    eps = rng.standard_normal((n, k + 1)) * (sigma[:, None] * root)
    if u0 is not None:
        eps[:, 0] = u0
    delta = (np.zeros(n) if drift0 is None else np.asarray(drift0, float))[:, None] + (tau[:, None] * root) * np.cumsum(eta, 1)
    v = -(trend[:, None] + delta) * dx[None, :] + eps[:, 1:] + rho[:, None] * eps[:, :-1]
    return np.cumsum(v, axis=1), delta


def simulate(
    learning_exponent: float,
    noise_scale: float,
    noise_autocorrelation: float,
    cumulative_production,
    years=None,
    initial_cost: float = 1.0,
    seed: int = 0,
    model: str = "wright",
    exponent_drift: float = 0.0,
) -> pd.DataFrame:
    """Simulate one series from the model (for tests, calibration and examples).

    ``learning_exponent`` is b (Wright) or μ [log-cost per year] (Moore) in the first year;
    ``noise_scale`` σ [log-cost per year]; ``exponent_drift`` τ, the step sd of the trend's
    random walk per year (0: a constant trend); ``years`` default to consecutive years from
    2000, and may be fractional and irregular (see :func:`clock_step`; Δlog Q is spread evenly
    over a gap's steps). Returns a frame with columns year, cumulative_production, unit_cost
    (same units as ``initial_cost``).
    """
    q = np.asarray(cumulative_production, float)
    years = np.arange(2000, 2000 + q.size) if years is None else np.asarray(years, float)
    rng = np.random.default_rng(seed)
    dt = clock_step(years, "years")
    steps = steps_of(years[1:], years[0], dt)
    total = np.diff(np.log(q)) if model == "wright" else np.diff(steps_of(years, years[0], dt)) * dt
    dx = _annual_dx(steps, total)
    level, _ = _paths([learning_exponent], [noise_scale], [noise_autocorrelation], [exponent_drift], dx, rng, dt=dt)
    log_c = np.log(initial_cost) + np.concatenate([[0.0], level[0, steps - 1]])
    return pd.DataFrame({"year": years, "cumulative_production": q, "unit_cost": np.exp(log_c)})


def sample_prior(priors: LearningCurvePriors | None = None, num_samples: int = 1000, seed: int = 0, model: str = "wright") -> dict:
    """Draws from the prior: dict of numpy arrays keyed by parameter name.

    The trend (``learning_exponent`` / ``progress_rate``) is its value in the first year;
    ``<trend>_drift`` is τ, the yearly step sd of its random walk.
    """
    priors = LearningCurvePriors.default(model) if priors is None else priors
    keys = jax.random.split(jax.random.PRNGKey(seed), 4)
    shape = (num_samples,)
    return {
        _TREND_NAME[model]: np.asarray(priors.trend_prior().sample(keys[0], shape), float),
        "noise_scale": np.asarray(priors.noise_prior().sample(keys[1], shape), float),
        "noise_autocorrelation": np.asarray(priors.rho_prior().sample(keys[2], shape), float),
        _TREND_NAME[model] + "_drift": np.asarray(priors.drift_prior().sample(keys[3], shape), float),
    }


# ---------------------------------------------------------------------------------------
# Fit object
# ---------------------------------------------------------------------------------------


@dataclass
class LearningCurveFit:
    """Posterior of one learning curve.

    posterior: Dataset (chain, draw) with the trend at the last observation
    (``learning_exponent`` b_T, or ``progress_rate`` μ_T [log-cost/yr] for Moore; one draw
    from its filtered distribution per parameter draw), ``initial_<trend>`` (its value in
    the first year), ``<trend>_drift`` τ (yearly step sd of its random walk; absent with
    ``drift=False``), ``noise_scale`` σ [log-cost/yr] and ``noise_autocorrelation`` ρ.
    ``last_innovation`` / ``last_innovation_sd`` (chain, draw): conditional mean and sd of
    the final year's noise innovation u_T given the data, which the MA(1) term carries into
    the first forecast year. ``last_state``: filtered mean and covariance of (δ_T, u_T), the
    trend's departure from its initial value and u_T, per draw.
    """

    posterior: xr.Dataset
    model: str
    priors: LearningCurvePriors
    data: pd.DataFrame
    last_year: float
    last_cost: float
    last_cumulative_production: float | None
    last_innovation: xr.DataArray
    last_innovation_sd: xr.DataArray
    sample_stats: xr.Dataset
    options: dict = field(default_factory=dict)
    _arrays: tuple = field(default=(), repr=False)
    last_state: xr.Dataset | None = None

    @property
    def drift(self) -> bool:
        """Whether the trend follows a random walk (τ sampled) or is constant."""
        return _TREND_NAME[self.model] + "_drift" in self.posterior

    @property
    def parameters(self) -> tuple[str, ...]:
        trend = _TREND_NAME[self.model]
        if self.drift:
            return (trend, "initial_" + trend, trend + "_drift", "noise_scale", "noise_autocorrelation")
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
            rhat, ess = rhat_ess(x)
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

    def _draws(self, idx=None) -> dict:
        """Flat parameter draws: initial trend, σ, ρ, τ (zeros without drift)."""
        trend = _TREND_NAME[self.model]
        start = "initial_" + trend if self.drift else trend
        out = {
            "trend": self.posterior[start].values.reshape(-1),
            "sigma": self.posterior["noise_scale"].values.reshape(-1),
            "rho": self.posterior["noise_autocorrelation"].values.reshape(-1),
        }
        out["tau"] = (self.posterior[trend + "_drift"].values.reshape(-1) if self.drift
                      else np.zeros_like(out["trend"]))
        return out if idx is None else {k: v[idx] for k, v in out.items()}

    def to_inference_data(self, seed: int = 0):
        """ArviZ InferenceData with posterior, sample_stats, observed_data, prior, posterior_predictive.

        Observed and predicted variable: ``log_cost_increment`` (Δlog c between observations).
        """
        import arviz as az  # lazy: optional dependency

        s = validate_series(self.data, self.model)
        dy = np.diff(s.log_cost)
        dt = clock_step(s.years)
        steps = steps_of(s.years[1:], s.years[0], dt)
        total = np.diff(s.log_q) if self.model == "wright" else np.diff(steps_of(s.years, s.years[0], dt)) * dt
        dx = _annual_dx(steps, total)
        rng = np.random.default_rng(seed)
        trend_name = _TREND_NAME[self.model]
        nc, nd = self.posterior.sizes["chain"], self.posterior.sizes["draw"]

        def replicate(d, shape):
            level, _ = _paths(d["trend"], d["sigma"], d["rho"], d["tau"], dx, rng, dt=dt)
            level = level[:, steps - 1]
            inc = np.diff(np.concatenate([np.zeros((level.shape[0], 1)), level], axis=1), axis=1)
            return inc.reshape(*shape, -1)

        post = {k: self.posterior[k].values for k in self.parameters}
        prior = sample_prior(self.priors, nc * nd, seed + 1, self.model)
        prior_draws = {"trend": prior[trend_name], "sigma": prior["noise_scale"],
                       "rho": prior["noise_autocorrelation"],
                       "tau": prior[trend_name + "_drift"] if self.drift else np.zeros(nc * nd)}
        if not self.drift:
            prior.pop(trend_name + "_drift")
        coords = {"increment": _year_labels(s.years[1:])}
        dims = {"log_cost_increment": ["increment"]}
        return az.from_dict(
            posterior=post,
            sample_stats={k: self.sample_stats[k].values for k in self.sample_stats.data_vars},
            observed_data={"log_cost_increment": dy},
            prior={**{k: v.reshape(1, -1) for k, v in prior.items()},
                   "log_cost_increment": replicate(prior_draws, (1, nc * nd))},
            posterior_predictive={"log_cost_increment": replicate(self._draws(), (nc, nd))},
            coords=coords,
            dims=dims,
        )


def _resolve_priors(model: str, priors) -> LearningCurvePriors:
    base = LearningCurvePriors.default(model)
    if priors is None:
        return base
    if isinstance(priors, LearningCurvePriors):
        return priors
    if isinstance(priors, dict):
        unknown = set(priors) - set(asdict(base))
        if unknown:
            raise _fail("priors", f"unknown prior fields {sorted(unknown)}; expected {sorted(asdict(base))}")
        return LearningCurvePriors(**{**asdict(base), **priors})
    raise _fail("priors", f"expected a LearningCurvePriors instance or a dict; got {type(priors).__name__}")


def _sample_state(mean, cov, rng):
    """One draw per row of (δ_T, u_T) ~ N(mean (S, 2), cov (S, 2, 2)), robust to zero variance."""
    c00 = np.maximum(cov[:, 0, 0], 0.0)
    z = rng.standard_normal((mean.shape[0], 2))
    delta = mean[:, 0] + np.sqrt(c00) * z[:, 0]
    beta = np.where(c00 > 1e-12, cov[:, 0, 1] / np.where(c00 > 1e-12, c00, 1.0), 0.0)
    cond = np.maximum(cov[:, 1, 1] - beta * cov[:, 0, 1], 0.0)
    u = mean[:, 1] + beta * (delta - mean[:, 0]) + np.sqrt(cond) * z[:, 1]
    return delta, u


def fit(
    frame: pd.DataFrame,
    seed: int = 0,
    *,
    model: str = "wright",
    priors: LearningCurvePriors | dict | None = None,
    drift: bool = True,
    num_warmup: int = 1000,
    num_samples: int = 1000,
    num_chains: int = 4,
    chain_method: str = "sequential",
    target_accept: float = 0.9,
    max_tree_depth: int = 8,
) -> LearningCurveFit:
    """Fit Wright's law (``model="wright"``) or Moore's law (``"moore"``) with MA(1) noise by NUTS.

    The trend (learning exponent b, or progress rate μ) follows a random walk with yearly
    step sd τ (``drift=True``, default) or is constant (``drift=False``, the model of Farmer
    & Lafond 2016 and Way et al. 2022). ``frame``: one series with columns year,
    cumulative_production, unit_cost (any units; cumulative_production is optional for
    Moore). Needs ≥ 3 rows, positive cost and production, production strictly increasing,
    unique time stamps on a regular clock (whole years, quarters, months...; gaps may be
    irregular: see :func:`clock_step`); else InputError. ``priors``: :class:`LearningCurvePriors` or a dict of its
    fields overriding the model's defaults.
    """
    if model not in MODELS:
        raise _fail("model", f"expected one of {', '.join(MODELS)}; got {model!r}")
    priors = _resolve_priors(model, priors)
    series = validate_series(frame, model)
    span = float(series.years[-1] - series.years[0])
    if span > MAX_SPAN_YEARS:
        raise _fail("year", f"expected at most {MAX_SPAN_YEARS} years from first to last observation; got {span:g}")
    if chain_method not in ("vectorized", "sequential"):
        raise _fail("chain_method", f"expected 'vectorized' or 'sequential'; got {chain_method!r}")
    for name, value, low in (("num_warmup", num_warmup, 0), ("num_samples", num_samples, 2),
                             ("num_chains", num_chains, 1)):
        if int(value) != value or value < low:
            raise _fail(name, f"expected a whole number ≥ {low}; got {value!r}")
    arrays = _annual_arrays(series, model)
    run = sampler(_potential_gen(priors), int(num_warmup), int(num_samples), int(num_chains), float(target_accept),
                  int(max_tree_depth), chain_method, init=_initial_point(priors, bool(drift)), stats=("diverging",))
    z, stats = run(jax.random.PRNGKey(seed), None, *arrays)
    diverging = stats["diverging"]
    trend0, sigma, rho, tau = _constrain(z)
    nc, nd = z.shape[:2]
    flat = [jnp.reshape(v, -1) for v in (trend0, sigma, rho, tau)]
    mean, cov = _final_state(*flat, *arrays)
    mean = np.asarray(mean, float)
    cov = np.asarray(cov, float)
    if not np.all(np.isfinite(mean)) or not np.all(np.isfinite(np.asarray(z))):
        raise _fail("unit_cost", "the sampler returned non-finite values; the series cannot be fitted")
    delta_t, _ = _sample_state(mean, cov, np.random.default_rng(seed))
    trend_name = _TREND_NAME[model]
    coords = {"chain": np.arange(nc), "draw": np.arange(nd)}
    dims = ("chain", "draw")

    def da(x):
        return (dims, np.asarray(x, float).reshape(nc, nd))

    post = {
        trend_name: da(np.asarray(flat[0], float) + delta_t),
        "noise_scale": da(sigma),
        "noise_autocorrelation": da(rho),
    }
    if drift:
        post["initial_" + trend_name] = da(trend0)
        post[trend_name + "_drift"] = da(tau)
    posterior = xr.Dataset(post, coords=coords)
    posterior.attrs.update(model=model, noise_scale_units="log-cost per year",
                           drift_units="trend units per year")
    sd_u = np.sqrt(np.maximum(cov[:, 1, 1], 0.0))
    last_mean = xr.DataArray(mean[:, 1].reshape(nc, nd), coords=coords, dims=dims)
    last_sd = xr.DataArray(sd_u.reshape(nc, nd), coords=coords, dims=dims)
    state = xr.Dataset(
        {"mean": (dims + ("state",), mean.reshape(nc, nd, 2)),
         "cov": (dims + ("state", "state_"), cov.reshape(nc, nd, 2, 2))},
        coords={**coords, "state": ["trend_departure", "innovation"],
                "state_": ["trend_departure", "innovation"]},
    )
    stats = xr.Dataset({"diverging": (dims, np.asarray(diverging, bool))}, coords=coords)
    q_last = None if series.log_q is None else float(np.exp(series.log_q[-1]))
    return LearningCurveFit(
        posterior=posterior,
        model=model,
        priors=priors,
        data=series.frame,
        last_year=_year_value(series.years[-1]),
        last_cost=float(np.exp(series.log_cost[-1])),
        last_cumulative_production=q_last,
        last_innovation=last_mean,
        last_innovation_sd=last_sd,
        sample_stats=stats,
        options=dict(seed=seed, drift=drift, num_warmup=num_warmup, num_samples=num_samples,
                     num_chains=num_chains, chain_method=chain_method, target_accept=target_accept,
                     max_tree_depth=max_tree_depth),
        _arrays=arrays,
        last_state=state,
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
    last observation; fractional years on the fit's clock, or whole years, are accepted);
    required by Moore unless ``cumulative_production`` fixes the count.
    Draws continue from the last observation: the trend starts from its filtered value at
    the last observed year and keeps walking with step sd τ, the last innovation u_T is
    carried through the MA(1) term, and parameter uncertainty is integrated over. Between
    given points, Δlog Q is spread evenly over the years.
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
    dt = clock_step(validate_series(fit.data, fit.model).years)
    if years is None:
        yrs = fit.last_year + np.arange(1, n + 1)
    else:
        try:
            yrs = np.atleast_1d(np.asarray(years, float))
        except (TypeError, ValueError):
            raise _fail("years", "expected numbers") from None
        if yrs.size != n:
            raise _fail("years", f"expected {n} years to match cumulative_production; got {yrs.size}")
        if not np.all(np.isfinite(yrs)) or np.any(np.diff(yrs) <= 0) or yrs[0] <= fit.last_year:
            raise _fail("years", f"expected increasing years after {fit.last_year:g}")
        rel = (yrs - fit.last_year) / dt
        if np.any(np.abs(rel - np.round(rel)) > 1e-5):
            raise _fail("years", f"expected years on the fit's clock (steps of {dt:g} years after {fit.last_year:g})")
    if int(draws) < 1:
        raise _fail("draws", f"expected a positive number of draws; got {draws}")
    draws = int(draws)
    steps = steps_of(yrs, fit.last_year, dt)
    if fit.model == "wright":
        total = np.diff(np.concatenate([[np.log(fit.last_cumulative_production)], np.log(q)]))
    else:
        total = np.diff(np.concatenate([[0], steps])) * dt
    dx = _annual_dx(steps, total)

    rng = np.random.default_rng(seed)
    d = fit._draws()
    idx = rng.choice(d["trend"].size, size=draws, replace=draws > d["trend"].size)
    d = {k: v[idx] for k, v in d.items()}
    if fit.last_state is not None:
        mean = fit.last_state["mean"].values.reshape(-1, 2)[idx]
        cov = fit.last_state["cov"].values.reshape(-1, 2, 2)[idx]
    else:  # a fit object built by hand: constant trend, u_T from its marginal
        mean = np.stack([np.zeros(draws), fit.last_innovation.values.reshape(-1)[idx]], axis=1)
        cov = np.zeros((draws, 2, 2))
        cov[:, 1, 1] = fit.last_innovation_sd.values.reshape(-1)[idx] ** 2
    delta_t, u_t = _sample_state(mean, cov, rng)
    level, _ = _paths(d["trend"], d["sigma"], d["rho"], d["tau"], dx, rng, drift0=delta_t, u0=u_t, dt=dt)
    log_c = np.log(fit.last_cost) + level[:, steps - 1]
    coords = {"draw": np.arange(draws), "point": np.arange(n), "year": ("point", _year_labels(yrs))}
    if q is not None:
        coords["cumulative_production"] = ("point", q)
    return xr.DataArray(np.exp(log_c), dims=("draw", "point"), coords=coords, name="unit_cost",
                        attrs={"units": "same as the fitted unit_cost", "model": fit.model})


def _year_value(year: float) -> float | int:
    """A time stamp as an int when it is a whole year."""
    return int(year) if float(year).is_integer() else float(year)


def _year_labels(years) -> np.ndarray:
    """Time stamps as ints when all are whole years, else floats."""
    years = np.asarray(years, float)
    return years.astype(int) if np.all(years == np.round(years)) else years
