"""Tests of :func:`mcbattery.calibration.calibrate` (mcbattery.calibration.fit)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mcbattery.calibration import fit
from mcbattery.calibration.data import learning_data
from mcbattery.calibration.engine_map import ENGINE_MAP
from mcbattery.calibration.models import consecutive_increments, increments_log_likelihood, learning_increments
from mcbattery.calibration.priors import MODELS, PricePriors
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


def test_until_and_provenance_attributes(small_idata, until):
    obs = small_idata.observed_data
    assert int(obs["learning__year"].max()) == until and int(obs["demand__year"].max()) == until
    assert pd.Timestamp(obs["price__month"].values.max()).year == until
    attrs = small_idata.posterior.attrs
    assert attrs["until"] == str(until) and attrs["seed"] == 3 and attrs["models"] == ",".join(MODELS)
    assert f"lithium_carbonate_monthly {until}-12" in attrs["data_vintage"]
    assert attrs["posterior_sha256"] == posterior_hash(small_idata)
    assert all(f"seconds_{m}" in attrs for m in MODELS)


def test_derived_variables(small_idata):
    post = small_idata.posterior
    np.testing.assert_allclose(post["learning__learning_rate"], 1 - 2.0 ** -post["learning__exponent"], rtol=1e-5)
    e, x = post["price__entry_monthly"], post["price__exit_monthly"]
    np.testing.assert_allclose(post["price__boom_share"], e / (e + x), rtol=1e-5)  # float32 storage
    np.testing.assert_allclose(post["price__boom_exit_probability"], 1 - (1 - x.astype(float)) ** 12, rtol=1e-4)
    np.testing.assert_allclose(post["boom_entry_logit"], post["price__boom_entry_logit"], rtol=1e-6)
    # the prior group carries the same derived variables
    assert "learning__learning_rate" in small_idata.prior and "price__boom_share" in small_idata.prior


def test_same_seed_same_numbers_and_models_fit_independently(small_idata, fast, until):
    """Fitting the demand model alone with the same seed reproduces its draws exactly; the
    other models' engine variables are then absent."""
    alone = fit.calibrate(until=until, seed=3, models=("demand",), **fast)
    for name in ("demand__saturation", "demand__growth_rate", "demand__noise_sd"):
        np.testing.assert_array_equal(alone.posterior[name].values, small_idata.posterior[name].values)
    np.testing.assert_array_equal(alone.posterior["demand_saturation"].values,
                                  small_idata.posterior["demand_saturation"].values)
    assert "price_reversion" not in alone.posterior and "learning__q0" not in alone.posterior
    assert {k for k in ENGINE_MAP if ENGINE_MAP[k][0] == "demand"} <= set(alone.posterior.data_vars)


@pytest.mark.parametrize("kwargs, field", [
    (dict(until=2019.5), "until"),
    (dict(num_samples=2), "num_samples"),
    (dict(num_chains=0), "num_chains"),
    (dict(models=("nickel",)), "models"),
    (dict(models=()), "models"),
    (dict(chain_method="parallel"), "chain_method"),
    (dict(priors={"nickel": PricePriors()}), "priors"),
])
def test_bad_arguments_raise_input_errors(kwargs, field):
    with pytest.raises(InputError, match=field):
        fit.calibrate(**kwargs)
