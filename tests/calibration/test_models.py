"""Tests of the calibration models and their likelihoods (mcbattery.calibration.models)."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats
from numpyro.handlers import seed, substitute, trace

from mcbattery.calibration import models as M
from mcbattery.calibration.data import demand_data, learning_data, price_data
from mcbattery.calibration.priors import MODELS, PricePriors, prior_distributions, sample_priors


def _dense_ma1(slope, sigma, rho, dx, dy, gaps):
    """Log density of MA(1) increments from their dense covariance (float64)."""
    n = dy.size
    cov = np.zeros((n, n))
    for i, g in enumerate(gaps):
        cov[i, i] = sigma**2 * (g * (1 + rho**2) + 2 * (g - 1) * rho)
        if i:
            cov[i, i - 1] = cov[i - 1, i] = sigma**2 * rho
    return scipy.stats.multivariate_normal(-slope * dx, cov).logpdf(dy)


@pytest.mark.parametrize("gaps", [np.ones(6), np.array([1.0, 2.0, 1.0, 3.0, 1.0, 1.0])])
def test_increments_log_likelihood_is_the_dense_gaussian(gaps):
    rng = np.random.default_rng(0)
    dx, dy = rng.uniform(0.1, 0.5, 6), rng.normal(-0.1, 0.1, 6)
    for b, sigma, rho in [(0.4, 0.1, 0.3), (0.2, 0.3, -0.5)]:
        mask, first = np.ones(6, bool), np.arange(6) == 0
        got = M.increments_log_likelihood(b, sigma, rho, jnp.asarray(dx), jnp.asarray(gaps), jnp.asarray(dy),
                                          mask, first)
        assert float(got) == pytest.approx(_dense_ma1(b, sigma, rho, dx, dy, gaps), abs=1e-4)


def test_padding_does_not_change_the_likelihood():
    rng = np.random.default_rng(1)
    dx, dy = rng.uniform(0.1, 0.5, 5), rng.normal(0, 0.1, 5)
    gaps, mask, first = M.consecutive_increments(5)
    plain = M.increments_log_likelihood(0.3, 0.1, 0.2, dx, gaps, dy, mask, first)
    pad = lambda x, v: np.r_[np.full(3, v), x]  # noqa: E731
    padded = M.increments_log_likelihood(0.3, 0.1, 0.2, pad(dx, 0.0), pad(np.ones(5), 1.0), pad(dy, 0.0),
                                         pad(np.ones(5, bool), False), np.arange(8) == 3)
    assert float(padded) == pytest.approx(float(plain), abs=1e-5)


def test_learning_pointwise_sums_to_the_likelihood():
    d = learning_data(2022)
    dx, dy = M.learning_increments(120.0, 1.3, d["cum_ev"], d["log_cost"])
    np.testing.assert_allclose(np.diff(np.log(120.0 + 1.3 * d["cum_ev"])), dx, rtol=1e-5)
    gaps, mask, first = M.consecutive_increments(dy.shape[0])
    total = M.increments_log_likelihood(0.3, 0.1, 0.2, dx, gaps, dy, mask, first)
    assert float(M.learning_pointwise(0.3, 0.1, 0.2, dx, dy).sum()) == pytest.approx(float(total), rel=1e-5)


def test_monthly_annual_price_conversion_is_exact():
    # A year of the monthly AR(1) equals one engine step: reversion, volatility and drift.
    k, vol, drift = 0.6, 0.3, 1.2
    k_m, s_m, d_m = (float(v) for v in M.monthly_price_parameters(k, vol, drift))
    phi = 1 - k_m
    assert phi**12 == pytest.approx(1 - k, rel=1e-5)
    assert s_m**2 * sum(phi ** (2 * j) for j in range(12)) == pytest.approx(vol**2, rel=1e-4)
    assert d_m * sum(phi**j for j in range(12)) == pytest.approx(drift, rel=1e-4)
    entry, exit_ = (float(v) for v in M.annual_price_parameters(0.05, 0.1))
    assert entry == pytest.approx(1 - 0.95**12, rel=1e-6) and exit_ == pytest.approx(1 - 0.9**12, rel=1e-6)


def test_price_likelihood_without_booms_is_the_gaussian_ar1(price_truth):
    """With boom entry ~0 and exit ~1 the forward algorithm is the one-regime AR(1) likelihood."""
    d = price_data(2022)
    p = dict(price_truth, price__entry_monthly=1e-9, price__exit_monthly=1 - 1e-9)
    ll, pred, filt = (np.asarray(a, float) for a in M.price_log_likelihood(d["log_price"], d["tau"], p))
    mean0, _, s_m = M.price_step_terms(p, jnp.asarray(d["log_price"][:-1]), jnp.asarray(d["tau"][1:]))
    expected = scipy.stats.norm(np.asarray(mean0, float), float(s_m)).logpdf(d["log_price"][1:])
    np.testing.assert_allclose(ll, expected, rtol=1e-4, atol=1e-3)
    assert pred.max() < 1e-6 and filt.max() < 1e-6


def test_price_ceiling_fades_the_boom_drift(price_truth):
    d = price_data()
    truth = {k: v for k, v in price_truth.items() if k != "price__ceiling"}
    base = np.asarray(M.price_log_likelihood(d["log_price"], d["tau"], truth)[0])
    high = np.asarray(M.price_log_likelihood(d["log_price"], d["tau"], dict(truth, price__ceiling=np.inf))[0])
    low = np.asarray(M.price_log_likelihood(d["log_price"], d["tau"], dict(truth, price__ceiling=3.0))[0])
    assert np.all(np.isfinite(base)) and np.allclose(base, high, atol=1e-3)
    assert not np.allclose(base, low, atol=1e-3)  # a low ceiling stops the 2021-2022 boom drift
    # at the anchor the drift is whole; at ceiling x anchor it is gone
    p = dict(truth, price__ceiling=4.0)
    log_a = math.log(p["price__anchor"])
    _, d_at_anchor, _ = M.price_step_terms(p, jnp.asarray(log_a), 0.0)
    _, d_at_ceiling, _ = M.price_step_terms(p, jnp.asarray(log_a + math.log(4.0)), 0.0)
    full = float(M.monthly_price_parameters(p["price__reversion"], p["price__volatility"], p["price__drift"])[2])
    assert float(d_at_anchor) == pytest.approx(full, rel=1e-5) and float(d_at_ceiling) == pytest.approx(0.0, abs=1e-7)


def test_demand_curve_and_ar1_density():
    years = np.arange(2015, 2025)
    curve = np.asarray(M.demand_log_curve(years, 7000.0, 0.4, 2030.0), float)
    np.testing.assert_allclose(curve, np.log(7000.0 / (1 + np.exp(-0.4 * (years - 2030.0)))), rtol=1e-5)
    eta = np.random.default_rng(2).normal(0, 0.1, years.size)
    sigma, phi = 0.1, 0.5
    got = np.asarray(M.demand_pointwise(jnp.asarray(eta), sigma, phi), float)
    expected = np.r_[scipy.stats.norm(0, sigma / math.sqrt(1 - phi**2)).logpdf(eta[0]),
                     scipy.stats.norm(phi * eta[:-1], sigma).logpdf(eta[1:])]
    np.testing.assert_allclose(got, expected, rtol=1e-5)


def _values(model):
    """One prior draw of every site (numpyro's truncated Student-t cannot sample without TFP)."""
    return {k: jnp.asarray(v[0], jnp.float32) for k, v in sample_priors(model, n=1, seed=0).items()}


@pytest.mark.parametrize("model", MODELS)
def test_models_sample_their_prior_sites_and_add_one_likelihood_term(model):
    """Each model samples exactly its prior sites, in order, and adds one likelihood factor
    whose value is the likelihood of the data at those sites; without data, no factor."""
    datas = {"learning": learning_data(2022), "price": price_data(2022), "demand": demand_data(2022)}
    args = M.model_inputs(model, datas[model])
    assert len(args) == len(M.MODEL_DATA[model]) and all(a.dtype == jnp.float32 for a in args)
    values = _values(model)
    fn = substitute(M.MODEL_FUNCTIONS[model], data=values)
    tr = trace(seed(fn, 0)).get_trace(*args)
    assert [k for k, v in tr.items() if v["type"] == "sample" and not k.endswith("__loglik")] == list(
        prior_distributions(model))
    assert [k for k in tr if k.endswith("__loglik")] == [f"{model}__loglik"]
    factor = float(tr[f"{model}__loglik"]["fn"].log_prob(tr[f"{model}__loglik"]["value"]))
    if model == "price":
        expected = float(M.price_log_likelihood(*args, values)[0].sum())
        prior_only = trace(seed(fn, 0)).get_trace(*args, observed=False)
    elif model == "demand":
        eta = args[1] - M.demand_log_curve(args[0], *(values[f"demand__{k}"] for k in ("saturation", "growth_rate",
                                                                                      "midpoint_year")))
        expected = float(M.demand_pointwise(eta, values["demand__noise_sd"], values["demand__noise_persistence"]).sum())
        prior_only = trace(seed(fn, 0)).get_trace(args[0], None)
    else:
        dx, dy = M.learning_increments(values["learning__q0"], values["learning__nonev_scale"], *args)
        expected = float(M.learning_pointwise(values["learning__exponent"], values["learning__noise_scale"],
                                              values["learning__noise_autocorrelation"], dx, dy).sum())
        prior_only = trace(seed(fn, 0)).get_trace(args[0], None)
    assert factor == pytest.approx(expected, rel=1e-4)
    assert not any(k.endswith("__loglik") for k in prior_only)


def test_price_model_leaves_the_ceiling_out_on_request():
    d = price_data(2022)
    tr = trace(seed(M.price_model, 0)).get_trace(*M.model_inputs("price", d), priors=PricePriors(ceiling=False))
    assert "price__ceiling" not in tr and "price__anchor" in tr


@pytest.mark.parametrize("model", MODELS)
def test_predictive_fn_shapes_and_pointwise_likelihood(model):
    """Per draw: pointwise log-likelihood terms and a replicate of the observations, finite;
    the learning terms sum to the model's likelihood."""
    datas = {"learning": learning_data(2022), "price": price_data(2022), "demand": demand_data(2022)}
    names = tuple(prior_distributions(model))
    draws = sample_priors(model, n=3, seed=0)
    flat = [jnp.asarray(draws[k], jnp.float32) for k in names]
    keys = jax.random.split(jax.random.PRNGKey(0), 3)
    ll, rep = M.predictive_fn(model, names)(*flat, keys, *M.model_inputs(model, datas[model]))
    n_obs = {"learning": datas["learning"]["year"].size - 1, "price": datas["price"]["month"].size - 1,
             "demand": datas["demand"]["year"].size}[model]
    assert ll.shape == rep.shape == (3, n_obs)
    assert np.all(np.isfinite(np.asarray(ll))) and np.all(np.isfinite(np.asarray(rep)))
    if model == "learning":
        d = datas["learning"]
        dx, dy = M.learning_increments(flat[0][0], flat[1][0], d["cum_ev"], d["log_cost"])
        gaps, mask, first = M.consecutive_increments(dy.shape[0])
        total = M.increments_log_likelihood(flat[2][0], flat[3][0], flat[4][0], dx, gaps, dy, mask, first)
        assert float(ll[0].sum()) == pytest.approx(float(total), rel=1e-4)
