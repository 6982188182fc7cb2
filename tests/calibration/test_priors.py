"""Tests of the calibration models' priors (mcbattery.calibration.priors)."""

from __future__ import annotations

import math

import numpy as np
import numpyro.distributions as dist
import pytest
import scipy.stats

from mcbattery.calibration import priors as P
from mcbattery.common.errors import InputError
from mcbattery.inputs.priors import load_priors


@pytest.mark.parametrize("model", P.MODELS)
def test_sample_priors_follow_the_numpyro_distributions(model):
    """numpy draws follow each site's numpyro prior: one-sample KS test against its CDF
    (float64 draws, float32 CDF) at 1e-3 on 4,000 draws."""
    dists = P.prior_distributions(model)
    draws = P.sample_priors(model, n=4000, seed=1)
    assert list(draws) == list(dists)
    for name, d in dists.items():
        x = draws[name]
        assert x.shape == (4000,) and np.all(np.isfinite(x)), name
        assert np.all(np.asarray(d.support(x))), name
        p = scipy.stats.kstest(x, lambda v: np.asarray(d.cdf(np.asarray(v, np.float32)), float)).pvalue
        assert p > 1e-3, (name, p)


def test_sample_priors_is_reproducible_and_seeded():
    a, b = P.sample_priors("price_lithium", n=50, seed=4), P.sample_priors("price_lithium", n=50, seed=4)
    c = P.sample_priors("price_lithium", n=50, seed=5)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])
        assert not np.array_equal(a[k], c[k])


def test_prior_centres():
    """Log-normal: its median; Student-t: its location; truncated at 0: the truncated median;
    the affine Beta of ρ: 2·mean(B) − 1; else the mean."""
    assert P.prior_centre(dist.LogNormal(math.log(7.0), 0.4)) == pytest.approx(7.0)
    assert P.prior_centre(dist.StudentT(4.0, 0.3, 0.3)) == pytest.approx(0.3)
    t = dist.TruncatedDistribution(dist.StudentT(4.0, 0.3, 0.3), low=0.0)
    base = scipy.stats.t(4.0, 0.3, 0.3)
    assert P.prior_centre(t) == pytest.approx(base.ppf(base.cdf(0.0) + 0.5 * (1 - base.cdf(0.0))), rel=1e-6)
    rho = P.LearningCurvePriors().rho_prior()
    assert P.prior_centre(rho) == pytest.approx(2 * 4.0 / 6.7 - 1, rel=1e-5)
    assert P.prior_centre(dist.Beta(2.0, 6.0)) == pytest.approx(0.25)


def test_learning_curve_priors_defaults_per_model():
    wright, moore = P.LearningCurvePriors.default("wright"), P.LearningCurvePriors.default("moore")
    assert wright == P.LearningCurvePriors()
    assert (moore.trend_loc, moore.trend_scale, moore.drift_median) == (0.05, 0.1, P.MOORE_DRIFT_MEDIAN)
    assert wright.drift_median == P.DRIFT_MEDIAN
    assert wright.rho_mean == pytest.approx(0.194, abs=1e-3)  # Farmer & Lafond's 0.19
    assert P.prior_centre(wright.rho_prior()) == pytest.approx(wright.rho_mean, rel=1e-5)
    assert P.prior_centre(wright.noise_prior()) == pytest.approx(wright.noise_median)
    assert P.prior_centre(wright.drift_prior()) == pytest.approx(wright.drift_median)
    assert P.prior_centre(moore.trend_prior()) == pytest.approx(0.05)


def test_learning_priors_build_on_the_curve_priors():
    """The calibration's exponent is the learning-curve prior truncated at 0; σ and ρ are the
    learning-curve priors themselves."""
    p = P.LearningPriors(curve=P.LearningCurvePriors(trend_loc=0.5, noise_median=0.2))
    d = P.prior_distributions("learning", p)
    assert list(d) == ["learning__q0", "learning__nonev_scale", "learning__exponent", "learning__noise_scale",
                       "learning__noise_autocorrelation"]
    assert float(d["learning__exponent"].low) == 0.0 and float(d["learning__exponent"].base_dist.loc) == 0.5
    assert float(np.exp(d["learning__noise_scale"].loc)) == pytest.approx(0.2)
    assert float(np.exp(d["learning__q0"].loc)) == pytest.approx(p.q0_median)


def _toml(name, key, **at):
    """A field of a shipped prior (priors/*.toml) at the given labels."""
    pri = load_priors()
    idx = tuple(pri.coords.at(dim, lab) for dim, lab in at.items())
    return float(np.asarray(pri[name].fields[key])[idx] if np.ndim(pri[name].fields[key]) else pri[name].fields[key])


@pytest.mark.parametrize("material", P.PRICE_MATERIALS)
def test_price_priors_are_moment_matched_to_the_toml_priors(material):
    """price_<material>: the anchor is the shipped log-normal, the trend the shipped normal; the
    Beta of the reversion has the shipped mean and sd; the volatility's log-normal has the
    shipped mean as median and the shipped coefficient of variation as log-sd."""
    p = P.PricePriors.for_material(material)
    assert p.material == material
    assert p.anchor_median == _toml("price_anchor", "median", material=material)
    assert p.anchor_log_sd == _toml("price_anchor", "sigma", material=material)
    assert p.anchor_trend_sd == _toml("price_anchor_trend", "sd", material=material)
    d = P.prior_distributions(f"price_{material}")
    assert list(d) == [f"price_{material}__{k}" for k in ("anchor", "anchor_trend", "reversion", "volatility")]
    rev = scipy.stats.beta(p.reversion_a, p.reversion_b)
    assert rev.mean() == pytest.approx(_toml("price_reversion", "mean", material=material), rel=1e-9)
    assert rev.std() == pytest.approx(_toml("price_reversion", "sd", material=material), rel=1e-9)
    vol_mean, vol_sd = _toml("price_volatility", "mean", material=material), _toml("price_volatility", "sd",
                                                                                  material=material)
    assert p.volatility_median == vol_mean and p.volatility_log_sd == pytest.approx(vol_sd / vol_mean)
    # the model's distributions are these priors
    assert float(np.exp(d[f"price_{material}__anchor"].loc)) == pytest.approx(p.anchor_median, rel=1e-6)
    assert float(d[f"price_{material}__anchor"].scale) == pytest.approx(p.anchor_log_sd, rel=1e-6)
    assert float(d[f"price_{material}__anchor_trend"].scale) == pytest.approx(p.anchor_trend_sd, rel=1e-6)
    assert float(d[f"price_{material}__reversion"].mean) == pytest.approx(rev.mean(), rel=1e-5)
    assert float(d[f"price_{material}__reversion"].variance) == pytest.approx(rev.var(), rel=1e-5)
    assert P.prior_centre(d[f"price_{material}__volatility"]) == pytest.approx(vol_mean, rel=1e-6)


def test_price_priors_differ_by_material():
    """Each material has its own priors (cobalt's anchor is not lithium's)."""
    li, co = P.PricePriors.for_material("lithium"), P.PricePriors.for_material("cobalt")
    assert co.anchor_median > li.anchor_median and li != co
    ni = P.prior_distributions("price_nickel")
    assert float(np.exp(ni["price_nickel__anchor"].loc)) == pytest.approx(_toml("price_anchor", "median",
                                                                                  material="nickel"), rel=1e-6)


def test_chemistry_priors_are_moment_matched_to_the_toml_priors():
    """The EV cost sensitivity is the shipped truncated normal at 0; the adjustment rate is the
    shipped Beta (mean, concentration); the logit trend's sd is the EV LFP one."""
    p = P.ChemistryPriors.shipped()
    assert p.sensitivity_mean == _toml("chemistry_cost_sensitivity", "mean", segment="EV")
    assert p.sensitivity_sd == _toml("chemistry_cost_sensitivity", "sd", segment="EV")
    mean, conc = _toml("chemistry_adjustment_rate", "mean"), _toml("chemistry_adjustment_rate", "concentration")
    assert p.adjustment_a / (p.adjustment_a + p.adjustment_b) == pytest.approx(mean)
    assert p.adjustment_a + p.adjustment_b == pytest.approx(conc)
    assert p.trend_sd == _toml("chemistry_logit_trend", "sd", segment="EV", chemistry="LFP")
    d = P.prior_distributions("chemistry")
    assert list(d) == ["chemistry__cost_sensitivity", "chemistry__adjustment_rate", "chemistry__trend",
                       "chemistry__noise_sd"]
    lam = d["chemistry__cost_sensitivity"]
    assert float(lam.low) == 0.0 and float(lam.base_dist.loc) == p.sensitivity_mean
    assert float(d["chemistry__adjustment_rate"].mean) == pytest.approx(mean, rel=1e-6)
    assert float(d["chemistry__trend"].scale) == pytest.approx(p.trend_sd)
    # a given ChemistryPriors replaces the shipped one
    other = P.prior_distributions("chemistry", P.ChemistryPriors(sensitivity_mean=1.0))
    assert float(other["chemistry__cost_sensitivity"].base_dist.loc) == 1.0


def test_default_priors_and_unknown_model():
    defaults = {m: P.DEFAULT_PRIORS[m]() for m in P.MODELS}
    assert {m: type(v) for m, v in defaults.items()} == {
        "learning": P.LearningPriors, "demand": P.DemandPriors, "chemistry": P.ChemistryPriors,
        **{f"price_{m}": P.PricePriors for m in P.PRICE_MATERIALS}}
    assert all(defaults[f"price_{m}"] == P.PricePriors.for_material(m) for m in P.PRICE_MATERIALS)
    for bad in ("nickel", "price", "price_graphite"):  # graphite has no monthly price series
        with pytest.raises(InputError, match="model"):
            P.prior_distributions(bad)
