"""Tests of the calibration models' priors (mcbattery.calibration.priors)."""

from __future__ import annotations

import math

import numpy as np
import numpyro.distributions as dist
import pytest
import scipy.stats

from mcbattery.calibration import priors as P
from mcbattery.common.errors import InputError


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
    a, b = P.sample_priors("price", n=50, seed=4), P.sample_priors("price", n=50, seed=4)
    c = P.sample_priors("price", n=50, seed=5)
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


def test_price_ceiling_is_fitted_unless_left_out():
    with_c = P.prior_distributions("price", P.PricePriors())
    without = P.prior_distributions("price", P.PricePriors(ceiling=False))
    assert set(with_c) - set(without) == {"price__ceiling"}
    assert P.PricePriors().with_ceiling and not P.PricePriors(ceiling=False).with_ceiling


def test_default_priors_and_unknown_model():
    assert {m: type(P.DEFAULT_PRIORS[m]()) for m in P.MODELS} == {
        "learning": P.LearningPriors, "price": P.PricePriors, "demand": P.DemandPriors}
    with pytest.raises(InputError, match="model"):
        P.prior_distributions("nickel")
