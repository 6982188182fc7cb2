"""Tests of :func:`mcbattery.calibration.calibrate` (mcbattery.calibration.fit)."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest

from mcbattery.calibration import fit
from mcbattery.calibration.data import PRICE_FIRST_YEAR, chemistry_data, learning_data, price_data
from mcbattery.calibration.engine_map import ENGINE_MAP
from mcbattery.calibration.models import (chemistry_pointwise, consecutive_increments, increments_log_likelihood,
                                          learning_increments, price_pointwise)
from mcbattery.calibration.priors import MODELS, PricePriors, prior_distributions
from mcbattery.calibration.store import posterior_hash
from mcbattery.common.errors import InputError
from mcbattery.model.params import REGISTRY

pytest.importorskip("arviz")


def test_inference_data_groups_and_shared_draws(small_idata, fast, until):
    groups = set(small_idata.groups())
    assert {"posterior", "sample_stats", "observed_data", "prior", "posterior_predictive", "log_likelihood",
            "constant_data"} <= groups
    post = small_idata.posterior
    assert post.sizes["chain"] == fast["num_chains"] and post.sizes["draw"] == fast["num_samples"]
    for m in MODELS:
        assert f"{m}__diverging" in small_idata.sample_stats
    assert small_idata.prior.sizes["draw"] == fast["num_samples"]
    # engine-named and latent variables; latents carry a model prefix
    for name in post.data_vars:
        assert name in REGISTRY or name.split("__")[0] in MODELS, name
    # pointwise log-likelihood of the learning model sums to the MA(1) likelihood
    d = learning_data(until)
    q0, s = float(post["learning__q0"][0, 0]), float(post["learning__nonev_scale"][0, 0])
    b, sig, rho = (float(post[f"learning__{k}"][0, 0]) for k in ("exponent", "noise_scale", "noise_autocorrelation"))
    dx, dy = learning_increments(q0, s, d["cum_ev"], d["log_cost"])
    gaps, mask, first = consecutive_increments(dy.shape[0])
    total = float(increments_log_likelihood(b, sig, rho, dx, gaps, dy, mask, first))
    pointwise = small_idata.log_likelihood["learning__log_cost_increment"].values[0, 0]
    assert pointwise.sum() == pytest.approx(total, rel=1e-4, abs=1e-3)
    # the price and chemistry terms are their models' pointwise likelihoods at the same draw
    for m in ("price_lithium", "price_nickel", "price_cobalt", "chemistry"):
        site = {k: float(post[k][1, 7]) for k in prior_distributions(m)}
        if m == "chemistry":
            d = chemistry_data(until)
            expected = chemistry_pointwise(site, jnp.asarray(d["share"], jnp.float32),
                                           jnp.asarray(d["cost_gap"], jnp.float32))
        else:
            d = price_data(m.removeprefix("price_"), until)
            expected = price_pointwise(site, m, d["log_price"], d["tau"])
        var = fit.OBSERVED[m][0]
        np.testing.assert_allclose(small_idata.log_likelihood[var].values[1, 7], expected, rtol=1e-4, atol=1e-4)
        assert small_idata.posterior_predictive[var].shape == small_idata.log_likelihood[var].shape
        assert small_idata.observed_data[var].size == small_idata.log_likelihood[var].shape[-1]
    np.testing.assert_array_equal(small_idata.constant_data["chemistry__cost_gap"], chemistry_data(until)["cost_gap"])
    np.testing.assert_array_equal(small_idata.constant_data["price_nickel__tau"], price_data("nickel", until)["tau"])


def test_until_and_provenance_attributes(small_idata, until):
    obs = small_idata.observed_data
    assert int(obs["learning__year"].max()) == until and int(obs["demand__year"].max()) == until
    assert int(obs["chemistry__year"].max()) == until
    attrs = small_idata.posterior.attrs
    for m in ("lithium", "nickel", "cobalt"):
        assert pd.Timestamp(obs[f"price_{m}__month"].values.max()) == pd.Timestamp(f"{until}-12-01")
        assert f"{m}_price_monthly {until}-12" in attrs["data_vintage"]
        assert attrs[f"data_vintage_{m}_price_monthly"] == f"{until}-12"
    assert pd.Timestamp(obs["price_nickel__month"].values.min()).year == PRICE_FIRST_YEAR
    assert attrs["until"] == str(until) and attrs["seed"] == 3 and attrs["models"] == ",".join(MODELS)
    assert f"bev_battery_chemistry_shares {until}" in attrs["data_vintage"]
    assert attrs["posterior_sha256"] == posterior_hash(small_idata)
    assert all(f"seconds_{m}" in attrs for m in MODELS)


def test_derived_variables(small_idata):
    post = small_idata.posterior
    np.testing.assert_allclose(post["learning__learning_rate"], 1 - 2.0 ** -post["learning__exponent"], rtol=1e-5)
    for m in ("price_lithium", "price_nickel", "price_cobalt"):
        k, vol = (post[f"{m}__{v}"].values.astype(float) for v in ("reversion", "volatility"))
        k_m, s_m = post[f"{m}__reversion_monthly"].values.astype(float), post[f"{m}__volatility_monthly"].values
        np.testing.assert_allclose((1 - k_m) ** 12, 1 - k, rtol=1e-4)  # a year of monthly reversion
        # the year-end variance of twelve monthly innovations is the annual volatility
        var = s_m.astype(float) ** 2 * sum((1 - k_m) ** (2 * j) for j in range(12))
        np.testing.assert_allclose(np.sqrt(var), vol, rtol=1e-4)
    psi = post["chemistry__adjustment_rate"].values.astype(float)
    np.testing.assert_allclose((1 - psi) ** post["chemistry__half_life_years"].values, 0.5, rtol=1e-4)
    # the prior group carries the same derived variables
    for name in ("learning__learning_rate", "price_cobalt__reversion_monthly", "chemistry__half_life_years",
                 "demand__growth_shock_last"):
        assert name in post and name in small_idata.prior


def test_same_seed_same_numbers_and_models_fit_independently(small_idata, fast, until):
    """Fitting the demand model alone with the same seed reproduces its draws exactly; the
    other models' engine variables are then absent."""
    alone = fit.calibrate(until=until, seed=3, models=("demand",), **fast)
    for name in ("demand__saturation", "demand__growth_rate", "demand__noise_sd"):
        np.testing.assert_array_equal(alone.posterior[name].values, small_idata.posterior[name].values)
    np.testing.assert_array_equal(alone.posterior["demand_saturation"].values,
                                  small_idata.posterior["demand_saturation"].values)
    assert "price_reversion" not in alone.posterior and "learning__q0" not in alone.posterior
    assert {k for k, src in ENGINE_MAP.items() if src[0][0] == "demand"} <= set(alone.posterior.data_vars)
    assert alone.posterior.attrs["models"] == "demand" and "chemistry__year" not in alone.observed_data


@pytest.mark.parametrize("kwargs, field", [
    (dict(until=2019.5), "until"),
    (dict(num_samples=2), "num_samples"),
    (dict(num_chains=0), "num_chains"),
    (dict(models=("nickel",)), "models"),
    (dict(models=("price",)), "models"),  # the single lithium price model is gone
    (dict(models=()), "models"),
    (dict(chain_method="parallel"), "chain_method"),
    (dict(priors={"nickel": PricePriors()}), "priors"),
])
def test_bad_arguments_raise_input_errors(kwargs, field):
    with pytest.raises(InputError, match=field):
        fit.calibrate(**kwargs)
