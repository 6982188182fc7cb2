"""Priors of the calibration models: one frozen dataclass of hyper-parameters per model, the
numpyro distributions of each model's latent sites (one place for the models, the sampler's
starting points and prior draws), and numpy draws from them. Sources: docs/calibration.md and
docs/learning.md."""

from __future__ import annotations

import functools
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
    "ChemistryPriors",
    "PRICE_MATERIALS",
    "DemandPriors",
    "prior_distributions",
    "prior_centre",
    "sample_priors",
]

#: The calibration models, in fitting order (a model's index seeds its sampler).
MODELS = ("learning", "demand", "chemistry", "price_lithium", "price_nickel", "price_cobalt")

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


#: Materials whose price noise is fitted on a monthly price series (graphite has none).
PRICE_MATERIALS = ("lithium", "nickel", "cobalt")


def _beta_from_moments(mean: float, sd: float) -> tuple[float, float]:
    """Beta(a, b) with the given mean and standard deviation."""
    k = mean * (1.0 - mean) / sd**2 - 1.0
    return mean * k, (1.0 - mean) * k


@dataclass(frozen=True)
class PricePriors:
    """Price-noise calibration priors of one material, on the engine's annual scale.

    Moment-matched versions of the shipped priors (priors/materials.toml: ``price_anchor``,
    ``price_anchor_trend``, ``price_reversion``, ``price_volatility`` for ``material``):
    anchor [USD2024/t, 2024 level] ~ LogNormal; anchor trend [1/yr] ~ Normal(0, sd);
    reversion k [share of a log deviation gone within a year] ~ Beta; volatility [annual
    log-sd] ~ LogNormal with median the shipped mean and log-sd the shipped coefficient of
    variation.
    """

    material: str = "lithium"
    anchor_median: float = 18000.0
    anchor_log_sd: float = 0.3
    anchor_trend_sd: float = 0.02
    reversion_a: float = 2.5
    reversion_b: float = 2.5
    volatility_median: float = 0.35
    volatility_log_sd: float = 0.3

    @classmethod
    def for_material(cls, material: str) -> "PricePriors":
        """The priors of ``material`` read from the shipped priors."""
        from mcbattery.inputs.priors import load_priors

        pri = load_priors()
        at = pri.coords.at("material", material)

        def field(name, key):
            return float(np.asarray(pri[name].fields[key])[at])

        a, b = _beta_from_moments(field("price_reversion", "mean"), field("price_reversion", "sd"))
        vol = field("price_volatility", "mean")
        return cls(material=material, anchor_median=field("price_anchor", "median"),
                   anchor_log_sd=field("price_anchor", "sigma"), anchor_trend_sd=field("price_anchor_trend", "sd"),
                   reversion_a=a, reversion_b=b, volatility_median=vol,
                   volatility_log_sd=field("price_volatility", "sd") / vol)


@dataclass(frozen=True)
class ChemistryPriors:
    """Chemistry-choice calibration priors (EV segment; moment-matched to priors/chemistry.toml).

    cost sensitivity λ [logit per unit log cost] ~ TruncatedNormal at 0; adjustment rate ψ
    [share of the gap closed per year] ~ Beta; LFP logit trend [1/yr] ~ Normal; observation
    noise of the logit share ~ LogNormal.
    """

    sensitivity_mean: float = 4.0
    sensitivity_sd: float = 2.0
    adjustment_a: float = 3.5
    adjustment_b: float = 6.5
    trend_sd: float = 0.04
    noise_median: float = 0.2
    noise_log_sd: float = 0.5

    @classmethod
    def shipped(cls) -> "ChemistryPriors":
        from mcbattery.inputs.priors import load_priors

        pri = load_priors()
        ev = pri.coords.at("segment", "EV")
        lfp = pri.coords.at("chemistry", "LFP")
        sens = pri["chemistry_cost_sensitivity"].fields
        rate = pri["chemistry_adjustment_rate"].fields
        m, c = float(rate["mean"]), float(rate["concentration"])
        return cls(sensitivity_mean=float(np.asarray(sens["mean"])[ev]), sensitivity_sd=float(np.asarray(sens["sd"])[ev]),
                   adjustment_a=m * c, adjustment_b=(1 - m) * c,
                   trend_sd=float(np.asarray(pri["chemistry_logit_trend"].fields["sd"])[ev, lfp]))


@dataclass(frozen=True)
class DemandPriors:
    """EV demand priors: saturation K [GWh/yr], growth rate r [1/yr], AR(1) growth-shock
    innovation sd [log/yr] and persistence of the growth shocks."""

    saturation_median: float = 7000.0
    saturation_log_sd: float = 0.35
    growth_median: float = 0.4
    growth_log_sd: float = 0.5
    noise_median: float = 0.1
    noise_log_sd: float = 0.75
    persistence_a: float = 5.0
    persistence_b: float = 5.0


#: The default priors of each calibration model.
DEFAULT_PRIORS = {
    "learning": LearningPriors,
    "demand": DemandPriors,
    "chemistry": ChemistryPriors.shipped,
    **{f"price_{m}": functools.partial(PricePriors.for_material, m) for m in PRICE_MATERIALS},
}


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
    if model.startswith("price_") and model in MODELS:
        p = priors or PricePriors.for_material(model.removeprefix("price_"))
        return {
            f"{model}__anchor": dist.LogNormal(math.log(p.anchor_median), p.anchor_log_sd),
            f"{model}__anchor_trend": dist.Normal(0.0, p.anchor_trend_sd),
            f"{model}__reversion": dist.Beta(p.reversion_a, p.reversion_b),
            f"{model}__volatility": dist.LogNormal(math.log(p.volatility_median), p.volatility_log_sd),
        }
    if model == "chemistry":
        p = priors or ChemistryPriors.shipped()
        return {
            "chemistry__cost_sensitivity": dist.TruncatedNormal(p.sensitivity_mean, p.sensitivity_sd, low=0.0),
            "chemistry__adjustment_rate": dist.Beta(p.adjustment_a, p.adjustment_b),
            "chemistry__trend": dist.Normal(0.0, p.trend_sd),
            "chemistry__noise_sd": dist.LogNormal(math.log(p.noise_median), p.noise_log_sd),
        }
    if model == "demand":
        p = priors or DemandPriors()
        return {
            "demand__saturation": dist.LogNormal(math.log(p.saturation_median), p.saturation_log_sd),
            "demand__growth_rate": dist.LogNormal(math.log(p.growth_median), p.growth_log_sd),
            "demand__noise_sd": dist.LogNormal(math.log(p.noise_median), p.noise_log_sd),
            "demand__growth_persistence": dist.Beta(p.persistence_a, p.persistence_b),
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
    """Quantile function of a left-truncated Student-t or normal prior at probabilities ``u``."""
    import scipy.stats

    b = d.base_dist
    if isinstance(b, dist.StudentT):
        base = scipy.stats.t(float(b.df), float(b.loc), float(b.scale))
    elif isinstance(b, dist.Normal):
        base = scipy.stats.norm(float(b.loc), float(b.scale))
    else:  # pragma: no cover - only Student-t and normal priors are truncated here
        raise TypeError(f"no quantile function for truncated {type(b).__name__}")
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
