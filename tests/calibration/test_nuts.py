"""Tests of the NUTS driver (mcbattery.calibration.nuts): the generic sampler on a known
target, and parameter recovery of each calibration model on data simulated from it."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.special
import scipy.stats

from mcbattery.calibration import learning, nuts
from mcbattery.calibration.data import chemistry_data, demand_data, learning_data, price_data
from mcbattery.calibration.models import chemistry_path, price_pointwise
from mcbattery.calibration.priors import prior_distributions, sample_priors
from mcbattery.calibration.simulate import simulate_demand, simulate_price_monthly
from mcbattery.common.errors import InputError


def _inside(x, truth, level=0.99):
    lo, hi = np.quantile(np.asarray(x).reshape(-1), [(1 - level) / 2, (1 + level) / 2])
    return lo <= truth <= hi


def _gaussian_gen(mean):  # data-driven potential: the mean is a traced argument
    return lambda z: 0.5 * jnp.sum(((z - mean) / jnp.array([1.0, 0.1])) ** 2)


@pytest.mark.parametrize("chain_method", ["sequential", "vectorized"])
def test_sampler_draws_a_known_gaussian(chain_method):
    """2-D Gaussian, mean (1, −2), sd (1, 0.1): means within 5 Monte Carlo errors (ESS ≥ 200),
    sds within 15 %; the data argument is traced (a new mean reuses the compiled run)."""
    run = nuts.sampler(_gaussian_gen, 300, 1000, 2, 0.8, 6, chain_method)
    mean = jnp.array([1.0, -2.0])
    z, stats = run(jax.random.PRNGKey(0), jnp.zeros((2, 2)), mean)
    assert z.shape == (2, 1000, 2) and stats["diverging"].shape == (2, 1000)
    assert set(stats) == set(nuts.STATS) and not np.asarray(stats["diverging"]).any()
    x = np.asarray(z).reshape(-1, 2)
    sd = np.array([1.0, 0.1])
    assert np.all(np.abs(x.mean(0) - np.asarray(mean)) < 5 * sd / math.sqrt(200))
    np.testing.assert_allclose(x.std(0), sd, rtol=0.15)
    z2, _ = run(jax.random.PRNGKey(0), jnp.zeros((2, 2)), mean + 5.0)
    assert abs(float(np.asarray(z2)[..., 0].mean()) - 6.0) < 0.4
    assert nuts.sampler(_gaussian_gen, 300, 1000, 2, 0.8, 6, chain_method) is run  # cached


def test_sampler_with_an_init_function_is_reproducible():
    """``init(key)`` draws each chain's start from its own key; same key, same draws."""
    init = lambda key: jax.random.uniform(key, (2,), minval=-1.0, maxval=1.0)  # noqa: E731
    run = nuts.sampler(_gaussian_gen, 100, 100, 3, 0.8, 6, init=init, stats=("diverging",))
    a, sa = run(jax.random.PRNGKey(4), None, jnp.zeros(2))
    b, _ = run(jax.random.PRNGKey(4), None, jnp.zeros(2))
    c, _ = run(jax.random.PRNGKey(5), None, jnp.zeros(2))
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert not np.array_equal(np.asarray(a), np.asarray(c))
    assert a.shape == (3, 100, 2) and set(sa) == {"diverging"}


def test_initial_points_and_constrain_round_trip():
    z0 = nuts.initial_points("demand", None, jax.random.PRNGKey(0), 4, batch_shape=(3,), radius=0.0)
    site = prior_distributions("demand")
    assert set(z0) == set(site) and all(v.shape == (4, 3) for v in z0.values())
    back = nuts.constrain("demand", None, z0)
    assert back["demand__saturation"][0, 0] == pytest.approx(7000.0, rel=1e-5)  # the prior median
    assert back["demand__growth_persistence"][0, 0] == pytest.approx(0.5, rel=1e-5)
    jittered = nuts.initial_points("demand", None, jax.random.PRNGKey(0), 4, radius=0.5)
    spread = np.ptp(np.asarray(jittered["demand__growth_rate"]))
    assert 0 < spread <= 1.0


def test_fit_model_refuses_unknown_models():
    with pytest.raises(InputError, match="model"):
        nuts.fit_model("nickel", {})


# --------------------------------------------------------------------------- parameter recovery


def test_learning_model_recovers_parameters(fast, until):
    d = learning_data(until)
    truth = dict(b=0.35, sigma=0.05, rho=0.2, q0=120.0, scale=1.3)
    q = truth["q0"] + truth["scale"] * d["cum_ev"]
    sim = learning.simulate(truth["b"], truth["sigma"], truth["rho"], q, years=d["year"], initial_cost=500.0, seed=4)
    data = dict(d, log_cost=np.log(sim["unit_cost"].to_numpy()))
    s, st, seconds = nuts.fit_model("learning", data, seed=1, **fast)
    assert st["diverging"].sum() == 0 and seconds > 0
    assert s["learning__exponent"].shape == (fast["num_chains"], fast["num_samples"])
    assert _inside(s["learning__exponent"], truth["b"])
    assert _inside(s["learning__noise_scale"], truth["sigma"])
    assert abs(np.median(s["learning__exponent"]) - truth["b"]) < 0.15


def _price_truth(model):
    return {f"{model}__anchor": 16000.0, f"{model}__anchor_trend": 0.01, f"{model}__reversion": 0.45,
            f"{model}__volatility": 0.3}


def test_price_model_recovers_parameters(fast, until):
    """price_nickel on a series simulated at the nickel data's months (2010 on)."""
    model = "price_nickel"
    d = price_data("nickel", until)
    truth = _price_truth(model)
    args = (truth[f"{model}__{k}"] for k in ("anchor", "anchor_trend", "reversion", "volatility"))
    y = simulate_price_monthly(*args, d["tau"].size - 1, math.log(20000.0), tau0=d["tau"][0], seed=11)
    s, st, _ = nuts.fit_model(model, dict(d, log_price=y[0]), seed=2, **fast)
    assert st["diverging"].sum() == 0
    for k in truth:
        assert _inside(s[k], truth[k]), (k, np.quantile(s[k], [0.005, 0.5, 0.995]))
    assert abs(np.median(s[f"{model}__volatility"]) / truth[f"{model}__volatility"] - 1) < 0.25


def test_price_model_simulation_based_calibration():
    """SBC (Talts et al. 2018) of the price model: 24 series of 48 months simulated from
    parameters drawn from the lithium prior, fitted jointly (independent replicates under a
    plate, the same priors and likelihood as price_model, one NUTS chain); the rank of each
    true value among the thinned posterior draws must be uniform."""
    model, reps, months, thin = "price_lithium", 24, 48, 3
    truths = sample_priors(model, n=reps, seed=5)
    tau = (np.arange(months) - months / 2) / 12.0
    series = []
    for i in range(reps):
        t = [truths[f"{model}__{k}"][i] for k in ("anchor", "anchor_trend", "reversion", "volatility")]
        start = math.log(t[0]) + t[1] * tau[0] + 0.3 * np.random.default_rng(i).standard_normal()
        series.append(simulate_price_monthly(*t, months - 1, start, tau0=tau[0], seed=100 + i)[0])
    y_all = jnp.asarray(np.array(series), jnp.float32)
    z0 = nuts.initial_points(model, None, jax.random.PRNGKey(1), 1, batch_shape=(reps,))

    z, _ = nuts.run_nuts(_batched_price, (y_all, jnp.asarray(tau, jnp.float32)), z0, seed=0, num_warmup=250,
                         num_samples=250)
    post = nuts.constrain(model, None, z)
    for k in truths:
        draws = post[k][0, ::thin]
        ranks = (draws < truths[k][None, :]).sum(axis=0)
        counts = np.histogram(ranks, bins=np.linspace(0, draws.shape[0] + 1, 4))[0]
        p = scipy.stats.chisquare(counts).pvalue
        assert p > 1e-3, (k, counts, p)


def _batched_price(y_all, tau, model="price_lithium"):
    """Independent replicates of price_model's priors and likelihood under one plate."""
    import numpyro

    with numpyro.plate("rep", y_all.shape[0]):
        v = {k: numpyro.sample(k, d) for k, d in prior_distributions(model).items()}

    loglik = jax.vmap(lambda params, y: price_pointwise(params, model, y, tau).sum())
    numpyro.factor("loglik", loglik(v, y_all).sum())


def test_chemistry_model_recovers_parameters(fast, until):
    """The chemistry model on logit shares simulated around its path at the observed cost gaps
    (2015 on): the truth inside the 99 % interval (eight years inform little beyond it)."""
    d = chemistry_data(until)
    truth = {"chemistry__cost_sensitivity": 6.0, "chemistry__adjustment_rate": 0.4, "chemistry__trend": 0.02,
             "chemistry__noise_sd": 0.1}
    path = np.asarray(chemistry_path(*(truth[f"chemistry__{k}"] for k in ("cost_sensitivity", "adjustment_rate",
                                                                            "trend")),
                                     jnp.float32(d["share"][0]), jnp.asarray(d["cost_gap"], jnp.float32)), float)
    logit = scipy.special.logit(path) + truth["chemistry__noise_sd"] * np.random.default_rng(6).standard_normal(path.size)
    share = np.r_[d["share"][0], scipy.special.expit(logit)]
    s, st, _ = nuts.fit_model("chemistry", dict(d, share=share), seed=5, **fast)
    assert st["diverging"].sum() <= 2
    for k in truth:
        assert _inside(s[k], truth[k]), (k, np.quantile(s[k], [0.005, 0.5, 0.995]))


def test_demand_model_recovers_parameters(fast, until):
    d = demand_data(until)
    truth = dict(saturation=6000.0, rate=0.45, noise_sd=0.08, persistence=0.5)
    demand = simulate_demand(d["year"], d["demand"][0], **truth, seed=1)
    s, st, _ = nuts.fit_model("demand", dict(d, log_demand=np.log(demand)), seed=4, **fast)
    assert st["diverging"].sum() <= 2
    assert _inside(s["demand__growth_rate"], truth["rate"])
    assert _inside(s["demand__noise_sd"], truth["noise_sd"])
    assert _inside(s["demand__growth_persistence"], truth["persistence"])
