"""Priors of the calibration models: one frozen dataclass of hyper-parameters per model, the
numpyro distributions of each model's latent sites (one place for the models, the sampler's
starting points and prior draws), and numpy draws from them. Sources: docs/calibration.md and
docs/learning.md."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import jax.numpy as jnp
import numpy as np
import numpyro.distributions as dist

from mcbattery.common.errors import InputError

__all__ = [
    "MODELS",
    "LearningCurvePriors",
    "LearningPriors",
    "PricePriors",
    "DemandPriors",
    "prior_distributions",
    "prior_centre",
    "sample_priors",
]

#: The calibration models, in fitting order (a model's index seeds its sampler).
MODELS = ("learning", "price", "demand")

# Prior medians of the learning-curve trend's yearly random-walk step (docs/learning.md).
DRIFT_MEDIAN = 0.05
MOORE_DRIFT_MEDIAN = 0.01


@dataclass(frozen=True)
class LearningCurvePriors:
    """Learning-curve prior hyper-parameters (log-cost per year or dimensionless scales).

    trend ~ StudentT(trend_df, trend_loc, trend_scale): ``b`` (Wright, dimensionless) or
    ``μ`` (Moore, log-cost per year); defaults per model via :meth:`default`.
    noise_scale σ ~ LogNormal(log(noise_median), noise_log_sd)   [log-cost per year]
    noise_autocorrelation ρ = 2·B − 1, B ~ Beta(rho_a, rho_b); mean 2a/(a+b) − 1.
    trend drift τ ~ LogNormal(log(drift_median), drift_log_sd): yearly step sd of the trend's
    random walk [b per year (Wright) or log-cost per year² (Moore)].
    """

    trend_loc: float = 0.3
    trend_scale: float = 0.3
    trend_df: float = 4.0
    noise_median: float = 0.1
    noise_log_sd: float = 0.75
    rho_a: float = 4.0
    rho_b: float = 2.7
    drift_median: float = DRIFT_MEDIAN
    drift_log_sd: float = 1.0

    @classmethod
    def default(cls, model: str = "wright") -> "LearningCurvePriors":
        """Default priors for ``model`` ("wright" or "moore")."""
        if model == "moore":
            return cls(trend_loc=0.05, trend_scale=0.1, drift_median=MOORE_DRIFT_MEDIAN)
        return cls()

    @property
    def rho_mean(self) -> float:
        """Prior mean of ρ (≈ 0.19, Farmer & Lafond's cross-technology estimate)."""
        return 2 * self.rho_a / (self.rho_a + self.rho_b) - 1

    def trend_prior(self) -> dist.Distribution:
        """Prior of the trend b or μ in the first year."""
        return dist.StudentT(self.trend_df, self.trend_loc, self.trend_scale)

    def noise_prior(self) -> dist.Distribution:
        """Prior of the innovation scale σ [log-cost per year]."""
        return dist.LogNormal(math.log(self.noise_median), self.noise_log_sd)

    def rho_prior(self) -> dist.Distribution:
        """Prior of the MA(1) coefficient ρ on (−1, 1)."""
        return dist.TransformedDistribution(dist.Beta(self.rho_a, self.rho_b),
                                            dist.transforms.AffineTransform(-1.0, 2.0))

    def drift_prior(self) -> dist.Distribution:
        """Prior of the trend's yearly random-walk step sd τ."""
        return dist.LogNormal(math.log(self.drift_median), self.drift_log_sd)


@dataclass(frozen=True)
class LearningPriors:
    """Wright's-law calibration priors.

    q0: cumulative Li-ion production before 2010 [GWh] ~ LogNormal(log q0_median, q0_log_sd);
    nonev_scale: all Li-ion / EV battery demand [1] ~ LogNormal(log median, log_sd);
    curve: exponent, noise scale and MA(1) priors of :class:`LearningCurvePriors`.
    """

    q0_median: float = 100.0
    q0_log_sd: float = 0.5
    nonev_scale_median: float = 1.4
    nonev_scale_log_sd: float = 0.2
    #: growth of annual Li-ion production before 2010 [1/yr]: from well under 1 GWh/yr in the
    #: mid-1990s to roughly 20-25 GWh/yr in 2009 (docs/calibration.md, the q0 prior), ln(44)/14.
    early_growth_median: float = 0.30
    curve: LearningCurvePriors = field(default_factory=lambda: LearningCurvePriors.default("wright"))


@dataclass(frozen=True)
class PricePriors:
    """Lithium price calibration priors, on the engine's annual scale where it has one.

    reversion k ~ Beta(a, b) [share of the log gap closed per year]; volatility [log-sd of
    annual (point-sampled) changes] and boom drift [log price per year in a boom] ~ LogNormal;
    anchor [USD2024/t] ~ LogNormal; anchor trend [1/yr] ~ Normal(0, sd); monthly boom entry
    and exit probabilities ~ Beta; boom ceiling [price/anchor] ~ LogNormal (fitted unless
    ``ceiling=False``; the engine's boom drift fades to zero at ``boom_ceiling`` × anchor).
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
    #: fit the boom ceiling (price / anchor where the boom drift has faded to zero)
    ceiling: bool = True

    @property
    def with_ceiling(self) -> bool:
        return bool(self.ceiling)


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


#: The default priors of each calibration model.
DEFAULT_PRIORS = {"learning": LearningPriors, "price": PricePriors, "demand": DemandPriors}


def prior_distributions(model: str, priors=None) -> dict[str, dist.Distribution]:
    """Latent site name → numpyro prior, in sampling order, for ``model``."""
    if model == "learning":
        p = priors or LearningPriors()
        return {
            "learning__q0": dist.LogNormal(math.log(p.q0_median), p.q0_log_sd),
            "learning__nonev_scale": dist.LogNormal(math.log(p.nonev_scale_median), p.nonev_scale_log_sd),
            # truncated at 0: the engine's exponents are nonnegative (cell costs do not rise with output)
            "learning__exponent": dist.TruncatedDistribution(p.curve.trend_prior(), low=0.0),
            "learning__noise_scale": p.curve.noise_prior(),
            "learning__noise_autocorrelation": p.curve.rho_prior(),
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


def prior_centre(d: dist.Distribution) -> float:
    """A central value of a prior: the median of a log-normal, else the (transformed) mean/location."""
    if isinstance(d, dist.LogNormal):
        return float(np.exp(d.loc))
    if isinstance(d, dist.StudentT):
        return float(d.loc)
    if isinstance(d, dist.LeftTruncatedDistribution):
        return float(_truncated_t_ppf(d, 0.5))
    if isinstance(d, dist.TransformedDistribution):
        x = jnp.asarray(prior_centre(d.base_dist))
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
