"""Tests of the calibration simulators (mcbattery.calibration.simulate)."""

from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np
import pytest
import scipy.special

from mcbattery.calibration import simulate as S
from mcbattery.calibration.data import ANCHOR_YEAR
from mcbattery.calibration.models import annual_price_parameters, demand_log_curve, price_step_terms
from mcbattery.model import prices
from mcbattery.model.params import block as params_block


def test_engine_price_block_is_the_fitted_monthly_process(price_truth):
    """Draw by draw, with the same random numbers: a year of the engine's price step (tightness
    0) from calibration sites mapped as ENGINE_MAP maps them equals twelve months of the fitted
    monthly model (price_step_terms, regime switching first)."""
    truth = price_truth
    n, years = 64, 3
    rng = np.random.default_rng(4)
    eps = rng.standard_normal((years, 12, n))
    u = rng.uniform(size=(years, 12, n))
    p_in, p_out = annual_price_parameters(truth["price__entry_monthly"], truth["price__exit_monthly"])
    eng = {"lithium_cost_anchor": truth["price__anchor"], "lithium_cost_anchor_trend": 0.02,
           "price_reversion": truth["price__reversion"], "price_volatility": truth["price__volatility"],
           "boom_drift": truth["price__drift"], "boom_entry_logit": float(scipy.special.logit(p_in)),
           "boom_exit_probability": float(p_out), "boom_ceiling": truth["price__ceiling"],
           "tightness_premium": 0.7, "boom_entry_tightness": 4.0}
    eng = params_block("prices", {k: jnp.full(n, v, jnp.float32) for k, v in eng.items()})
    sites = dict(truth, price__anchor_trend=0.02)
    first_year = 2021
    lp_e, bm_e = jnp.full(n, math.log(8000.0)), jnp.zeros(n)
    y, bm = np.full(n, math.log(8000.0)), np.zeros(n)
    for t in range(years):
        lp_e, bm_e, mean_e, share_e = prices.step(eng, float(first_year - 2025 + t), lp_e, bm_e, jnp.zeros(n),
                                                  jnp.asarray(eps[t], jnp.float32), jnp.asarray(u[t], jnp.float32))
        months = []
        for j in range(12):
            tau = first_year + t - ANCHOR_YEAR + (j - 5.5) / 12
            bm = np.where(bm > 0.5, u[t, j] < 1 - truth["price__exit_monthly"], u[t, j] < truth["price__entry_monthly"])
            mean0, d_m, s_m = (np.asarray(a, float) for a in price_step_terms(sites, jnp.asarray(y), tau))
            y = mean0 + d_m * bm + s_m * eps[t, j]
            months.append(np.exp(y))
        np.testing.assert_allclose(np.asarray(lp_e), y, rtol=1e-4, atol=1e-4)
        np.testing.assert_array_equal(np.asarray(bm_e), bm)
        np.testing.assert_allclose(np.asarray(mean_e), np.mean(months, axis=0), rtol=1e-4)
    # the boom check's engine simulator is this block: annual means, start in column 0
    lp = S.simulate_price_annual({k: np.asarray(v) for k, v in eng._asdict().items()}, 2, math.log(8000.0), 2021)
    assert lp.shape == (n, 3) and np.all(lp[:, 0] == math.log(8000.0)) and np.all(np.isfinite(lp))


def test_simulate_price_annual_repeats_paths_per_sample():
    eng = {k: np.full(4, v) for k, v in {"lithium_cost_anchor": 9000.0, "lithium_cost_anchor_trend": 0.0,
                                         "price_reversion": 0.5, "price_volatility": 0.2, "boom_drift": 1.0,
                                         "boom_entry_logit": -3.0, "boom_exit_probability": 0.7,
                                         "boom_ceiling": 10.0, "tightness_premium": 0.5,
                                         "boom_entry_tightness": 3.0}.items()}
    a = S.simulate_price_annual(eng, 3, math.log(9000.0), 2026, seed=1, paths_per_sample=5)
    b = S.simulate_price_annual(eng, 3, math.log(9000.0), 2026, seed=1, paths_per_sample=5)
    assert a.shape == (20, 4)
    np.testing.assert_array_equal(a, b)
    assert len(np.unique(a[:, 1])) > 1  # different noise per path


def test_simulate_price_monthly_without_noise_or_booms_reverts_to_the_anchor(price_truth):
    p = dict(price_truth, price__volatility=1e-12, price__entry_monthly=0.0, price__exit_monthly=1.0)
    y, boom = S.simulate_price_monthly(p, 240, math.log(30000.0), seed=3)
    assert y.shape == boom.shape == (1, 241) and boom.sum() == 0
    gap = y[0] - math.log(p["price__anchor"])
    assert np.all(np.diff(np.abs(gap[:60])) < 0)  # monotone approach (float32 steps)
    assert abs(gap[-1]) < 1e-4
    # a year of monthly reversion closes the annual share k of the log gap
    assert gap[12] / gap[0] == pytest.approx(1 - p["price__reversion"], rel=1e-4)


def test_simulate_price_monthly_boom_share_matches_the_chain(price_truth):
    """The regime is a two-state Markov chain: its long-run boom share is e / (e + x)."""
    p = price_truth
    _, boom = S.simulate_price_monthly(p, 600, math.log(9000.0), paths=400, seed=7)
    share = boom[:, 100:].mean()
    expected = p["price__entry_monthly"] / (p["price__entry_monthly"] + p["price__exit_monthly"])
    assert share == pytest.approx(expected, abs=0.02)


def test_simulate_demand_without_noise_is_the_curve():
    years = np.arange(2015, 2031)
    d = S.simulate_demand(years, 7000.0, 0.4, 2030.0, noise_sd=0.0, persistence=0.5)
    np.testing.assert_allclose(d, np.exp(np.asarray(demand_log_curve(years, 7000.0, 0.4, 2030.0), float)), rtol=1e-6)
    noisy = S.simulate_demand(years, 7000.0, 0.4, 2030.0, noise_sd=0.1, persistence=0.5, seed=2)
    assert noisy.shape == years.shape and np.all(noisy > 0) and not np.allclose(noisy, d)


def test_engine_price_parameters_are_the_price_block():
    assert "price_reversion" in S.ENGINE_PRICE_PARAMETERS and "boom_ceiling" in S.ENGINE_PRICE_PARAMETERS
    assert "lithium_price_start" not in S.ENGINE_PRICE_PARAMETERS
