"""Tests of the calibration models and their likelihoods (mcbattery.calibration.models)."""

from __future__ import annotations

import math
from types import SimpleNamespace

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.special
import scipy.stats
from numpyro.handlers import seed, substitute, trace

from mcbattery.calibration import models as M
from mcbattery.calibration.data import chemistry_data, demand_data, learning_data, observed, price_data
from mcbattery.calibration.priors import MODELS, PRICE_MATERIALS, PricePriors, prior_distributions, sample_priors
from mcbattery.model import chemistry, prices


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
    """A year of the monthly AR(1) is one engine year: φ¹² = 1 − k and the year-end variance is σ²;
    the conversion is the engine's own (mcbattery.model.prices.monthly_parameters)."""
    for k, vol in [(0.6, 0.3), (0.05, 0.5), (0.95, 0.1)]:
        k_m, s_m = (float(v) for v in M.monthly_price_parameters(k, vol))
        phi = 1 - k_m
        assert phi**12 == pytest.approx(1 - k, rel=1e-5)
        assert s_m**2 * sum(phi ** (2 * j) for j in range(12)) == pytest.approx(vol**2, rel=1e-4)
        eng = prices.monthly_parameters(np.float64(k), np.float64(vol), np.float64(0.0))
        assert (k_m, s_m) == pytest.approx((float(eng[0]), float(eng[1])), rel=1e-6)


def _price_truth(model="price_nickel"):
    return {f"{model}__anchor": 17000.0, f"{model}__anchor_trend": 0.015, f"{model}__reversion": 0.45,
            f"{model}__volatility": 0.3}


@pytest.mark.parametrize("material", PRICE_MATERIALS)
def test_price_pointwise_is_the_gaussian_ar1_around_the_trending_anchor(material):
    """One-month-ahead densities: ξ_m ~ N((1 − k_m) ξ_{m−1}, σ_m²) for the deviations
    ξ = log P − log A − trend·τ of the material's monthly prices (scipy, float64)."""
    model = f"price_{material}"
    d = price_data(material, 2022)
    p = _price_truth(model)
    xi = d["log_price"] - math.log(p[f"{model}__anchor"]) - p[f"{model}__anchor_trend"] * d["tau"]
    np.testing.assert_allclose(np.asarray(M.price_deviations(p, model, d["log_price"], d["tau"]), float), xi,
                               atol=1e-5)
    k_m, s_m = (float(v) for v in M.monthly_price_parameters(p[f"{model}__reversion"], p[f"{model}__volatility"]))
    got = np.asarray(M.price_pointwise(p, model, d["log_price"], d["tau"]), float)
    assert got.shape == (d["tau"].size - 1,)
    np.testing.assert_allclose(got, scipy.stats.norm((1 - k_m) * xi[:-1], s_m).logpdf(xi[1:]), rtol=1e-4, atol=1e-3)


def test_price_likelihood_is_the_joint_gaussian_of_the_path():
    """The one-step densities sum to the joint density of ξ_1..ξ_n given ξ_0 (dense covariance
    s_m² Σ_l φ^(i−l) φ^(j−l), mean φ^t ξ_0): the AR(1) likelihood has no other term."""
    model = "price_cobalt"
    p = _price_truth(model)
    rng = np.random.default_rng(3)
    n = 30
    tau = np.arange(n + 1) / 12.0 - 1.0
    log_price = math.log(p[f"{model}__anchor"]) + p[f"{model}__anchor_trend"] * tau + rng.normal(0, 0.2, n + 1)
    k_m, s_m = (float(v) for v in M.monthly_price_parameters(p[f"{model}__reversion"], p[f"{model}__volatility"]))
    phi = 1 - k_m
    xi = log_price - math.log(p[f"{model}__anchor"]) - p[f"{model}__anchor_trend"] * tau
    t = np.arange(1, n + 1)
    lo = np.minimum.outer(t, t)
    cov = s_m**2 * phi ** np.abs(np.subtract.outer(t, t)) * (1 - phi ** (2 * lo)) / (1 - phi**2)
    dense = scipy.stats.multivariate_normal(phi**t * xi[0], cov).logpdf(xi[1:])
    got = float(jnp.sum(M.price_pointwise(p, model, log_price, tau)))
    assert got == pytest.approx(dense, rel=1e-4)
    # on the anchor path every month has the density of a zero innovation
    on_anchor = math.log(p[f"{model}__anchor"]) + p[f"{model}__anchor_trend"] * tau
    flat = np.asarray(M.price_pointwise(p, model, on_anchor, tau), float)
    np.testing.assert_allclose(flat, scipy.stats.norm(0, s_m).logpdf(0.0), rtol=1e-5)


def _chemistry_loop(sensitivity, rate, trend, share, cost_gap):
    """The chemistry path written out: s_t = s_{t−1} + ψ (logistic(logit s_0 + trend·t + λ g_t) − s_{t−1})."""
    base = math.log(share[0] / (1 - share[0]))
    s, path = share[0], []
    for t in range(1, len(cost_gap)):
        target = 1 / (1 + math.exp(-(base + trend * t + sensitivity * cost_gap[t])))
        s = s + rate * (target - s)
        path.append(s)
    return np.array(path)


def test_chemistry_path_is_the_inertia_recursion():
    d = chemistry_data(2022)
    for lam, psi, trend in [(4.0, 0.35, 0.0), (9.0, 0.8, 0.05), (0.5, 0.1, -0.03)]:
        got = np.asarray(M.chemistry_path(lam, psi, trend, jnp.asarray(d["share"][0], jnp.float32),
                                          jnp.asarray(d["cost_gap"], jnp.float32)), float)
        np.testing.assert_allclose(got, _chemistry_loop(lam, psi, trend, d["share"], d["cost_gap"]), rtol=1e-5)
    gap = jnp.asarray(np.linspace(0.0, 0.3, 6), jnp.float32)
    # no inertia: the path is the target; full inertia: it stays at the start
    s0 = jnp.float32(0.2)
    np.testing.assert_allclose(np.asarray(M.chemistry_path(4.0, 1.0, 0.0, s0, gap)),
                               scipy.special.expit(scipy.special.logit(0.2) + 4.0 * np.asarray(gap[1:])), rtol=1e-5)
    np.testing.assert_allclose(np.asarray(M.chemistry_path(4.0, 0.0, 0.0, s0, gap)), 0.2, rtol=1e-6)
    # nickel-based cells getting dearer (rising gap) move the share up toward the target, monotonically
    path = np.asarray(M.chemistry_path(4.0, 0.4, 0.0, s0, gap))
    assert np.all(np.diff(np.r_[0.2, path]) > 0)


def test_chemistry_path_is_the_engine_chemistry_step():
    """Two chemistries, one segment and region: the engine's multinomial-logit target with
    inertia (mcbattery.model.chemistry.step, year index t − 1) is the calibration's path when
    the NMC cell cost rises by g_t relative to LFP."""
    d = chemistry_data(2022)
    lam, psi, trend = 5.0, 0.4, 0.03
    p = SimpleNamespace(chemistry_share_start=np.array([[[d["share"][0], 1 - d["share"][0]]]]),
                        chemistry_logit_trend=np.array([[trend, 0.0]]), chemistry_cost_sensitivity=np.array([lam]),
                        chemistry_adjustment_rate=psi)
    share, engine = p.chemistry_share_start, []
    for t in range(1, d["cost_gap"].size):
        share = chemistry.step(p, share, t - 1.0, np.array([[0.0, d["cost_gap"][t]]]))
        engine.append(share[0, 0, 0])
    got = np.asarray(M.chemistry_path(lam, psi, trend, jnp.asarray(d["share"][0], jnp.float32),
                                      jnp.asarray(d["cost_gap"], jnp.float32)), float)
    np.testing.assert_allclose(got, engine, rtol=1e-5)


def test_chemistry_pointwise_is_gaussian_in_the_logit_share():
    d = chemistry_data(2022)
    p = {"chemistry__cost_sensitivity": 3.0, "chemistry__adjustment_rate": 0.3, "chemistry__trend": 0.02,
         "chemistry__noise_sd": 0.4}
    got = np.asarray(M.chemistry_pointwise(p, jnp.asarray(d["share"], jnp.float32),
                                           jnp.asarray(d["cost_gap"], jnp.float32)), float)
    path = _chemistry_loop(3.0, 0.3, 0.02, d["share"], d["cost_gap"])
    expected = scipy.stats.norm(scipy.special.logit(path), 0.4).logpdf(scipy.special.logit(d["share"][1:]))
    assert got.shape == (d["year"].size - 1,)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)


def test_demand_growth_shocks_and_ar1_density():
    log_d = np.log([30.0, 50.0, 70.0, 110.0, 130.0])
    u = np.asarray(M.demand_growth_shocks(jnp.asarray(log_d), 7000.0, 0.4), float)
    np.testing.assert_allclose(u, np.diff(log_d) - 0.4 * (1 - np.exp(log_d[:-1]) / 7000.0), rtol=1e-5, atol=1e-6)
    years = np.arange(2015, 2025)
    eta = np.random.default_rng(2).normal(0, 0.1, years.size)
    sigma, phi = 0.1, 0.5
    got = np.asarray(M.demand_pointwise(jnp.asarray(eta), sigma, phi), float)
    expected = np.r_[scipy.stats.norm(0, sigma / math.sqrt(1 - phi**2)).logpdf(eta[0]),
                     scipy.stats.norm(phi * eta[:-1], sigma).logpdf(eta[1:])]
    np.testing.assert_allclose(got, expected, rtol=1e-5)


def _values(model):
    """One prior draw of every site (numpyro's truncated Student-t cannot sample without TFP)."""
    return {k: jnp.asarray(v[0], jnp.float32) for k, v in sample_priors(model, n=1, seed=0).items()}


def _data(model):
    """The model's data up to 2022 (calibration.data)."""
    if model.startswith("price_"):
        return price_data(model.removeprefix("price_"), 2022)
    return {"learning": learning_data, "demand": demand_data, "chemistry": chemistry_data}[model](2022)


@pytest.mark.parametrize("model", MODELS)
def test_models_sample_their_prior_sites_and_add_one_likelihood_term(model):
    """Each model samples exactly its prior sites, in order, and adds one likelihood factor
    whose value is the likelihood of the data at those sites; without data, no factor."""
    args = M.model_inputs(model, _data(model))
    assert len(args) == len(M.MODEL_DATA[model]) and all(a.dtype == jnp.float32 for a in args)
    values = _values(model)
    fn = substitute(M.MODEL_FUNCTIONS[model], data=values)
    tr = trace(seed(fn, 0)).get_trace(*args)
    assert [k for k, v in tr.items() if v["type"] == "sample" and not k.endswith("__loglik")] == list(
        prior_distributions(model))
    assert [k for k in tr if k.endswith("__loglik")] == [f"{model}__loglik"]
    factor = float(tr[f"{model}__loglik"]["fn"].log_prob(tr[f"{model}__loglik"]["value"]))
    if model.startswith("price_"):
        expected = float(M.price_pointwise(values, model, *args).sum())
        prior_only = trace(seed(fn, 0)).get_trace(None, args[1])
    elif model == "chemistry":
        expected = float(M.chemistry_pointwise(values, *args).sum())
        prior_only = trace(seed(fn, 0)).get_trace(None, args[1])
    elif model == "demand":
        u = M.demand_growth_shocks(args[1], values["demand__saturation"], values["demand__growth_rate"])
        expected = float(M.demand_pointwise(u, values["demand__noise_sd"], values["demand__growth_persistence"]).sum())
        prior_only = trace(seed(fn, 0)).get_trace(args[0], None)
    else:
        dx, dy = M.learning_increments(values["learning__q0"], values["learning__nonev_scale"], *args)
        expected = float(M.learning_pointwise(values["learning__exponent"], values["learning__noise_scale"],
                                              values["learning__noise_autocorrelation"], dx, dy).sum())
        prior_only = trace(seed(fn, 0)).get_trace(args[0], None)
    assert factor == pytest.approx(expected, rel=1e-4)
    assert not any(k.endswith("__loglik") for k in prior_only)


@pytest.mark.parametrize("material", PRICE_MATERIALS)
def test_price_models_use_their_material_priors(material):
    """price_<material> samples its own sites from that material's shipped priors unless
    given others."""
    model = f"price_{material}"
    args = M.model_inputs(model, _data(model))
    tr = trace(seed(M.MODEL_FUNCTIONS[model], 0)).get_trace(*args)
    sites = [k for k, v in tr.items() if v["type"] == "sample" and not k.endswith("__loglik")]
    assert sites == [f"{model}__{k}" for k in ("anchor", "anchor_trend", "reversion", "volatility")]
    shipped = PricePriors.for_material(material)
    assert float(np.exp(tr[f"{model}__anchor"]["fn"].loc)) == pytest.approx(shipped.anchor_median, rel=1e-5)
    other = PricePriors(material=material, anchor_median=123.0)
    tr = trace(seed(M.MODEL_FUNCTIONS[model], 0)).get_trace(*args, priors=other)
    assert float(np.exp(tr[f"{model}__anchor"]["fn"].loc)) == pytest.approx(123.0, rel=1e-5)


@pytest.mark.parametrize("model", MODELS)
def test_predictive_fn_shapes_and_pointwise_likelihood(model):
    """Per draw: pointwise log-likelihood terms and a replicate of the observations, finite;
    the terms are the model's pointwise likelihood at that draw, one per observed value."""
    data = _data(model)
    args = M.model_inputs(model, data)
    names = tuple(prior_distributions(model))
    draws = sample_priors(model, n=3, seed=0)
    flat = [jnp.asarray(draws[k], jnp.float32) for k in names]
    keys = jax.random.split(jax.random.PRNGKey(0), 3)
    ll, rep = M.predictive_fn(model, names)(*flat, keys, *args)
    assert ll.shape == rep.shape == (3, observed(model, data)[0].size)  # one term per observation
    assert np.all(np.isfinite(np.asarray(ll))) and np.all(np.isfinite(np.asarray(rep)))
    first = {k: v[0] for k, v in zip(names, flat)}
    if model == "learning":
        dx, dy = M.learning_increments(flat[0][0], flat[1][0], data["cum_ev"], data["log_cost"])
        gaps, mask, first_ = M.consecutive_increments(dy.shape[0])
        total = M.increments_log_likelihood(flat[2][0], flat[3][0], flat[4][0], dx, gaps, dy, mask, first_)
        assert float(ll[0].sum()) == pytest.approx(float(total), rel=1e-4)
    elif model.startswith("price_"):
        np.testing.assert_allclose(ll[0], M.price_pointwise(first, model, *args), rtol=1e-5, atol=1e-5)
    elif model == "chemistry":
        np.testing.assert_allclose(ll[0], M.chemistry_pointwise(first, *args), rtol=1e-5, atol=1e-5)
        assert np.all((np.asarray(rep) > 0) & (np.asarray(rep) < 1))  # replicated shares


def test_price_replicates_are_one_month_ahead_draws():
    """The price replicate of month m is the anchor path plus φ ξ_{m−1} plus σ_m noise: its
    standardised residuals around that mean are standard normal."""
    model = "price_nickel"
    data = _data(model)
    args = M.model_inputs(model, data)
    names = tuple(prior_distributions(model))
    p = _price_truth(model)
    n = 400
    flat = [jnp.full(n, p[k], jnp.float32) for k in names]
    _, rep = M.predictive_fn(model, names)(*flat, jax.random.split(jax.random.PRNGKey(1), n), *args)
    k_m, s_m = (float(v) for v in M.monthly_price_parameters(p[f"{model}__reversion"], p[f"{model}__volatility"]))
    xi = np.asarray(M.price_deviations(p, model, *args), float)
    mean = np.asarray(args[0], float)[1:] - xi[1:] + (1 - k_m) * xi[:-1]
    z = (np.asarray(rep, float) - mean) / s_m
    assert abs(z.mean()) < 0.01 and z.std() == pytest.approx(1.0, abs=0.01)
