"""Analytic limits of the model blocks: each block alone, with exact expectations."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mcbattery.model import chemistry
from mcbattery.model import costs
from mcbattery.model import demand
from mcbattery.model import pipeline
from mcbattery.model import prices
from mcbattery.model import ramp
from mcbattery.model import recycling
from mcbattery.model import trade



def test_logistic_path_anchor_saturation_and_growth():
    d0, k, r = 100.0, 1000.0, 0.3
    assert float(demand.logistic_path(d0, k, r, -1.0)) == pytest.approx(d0, rel=1e-6)
    assert float(demand.logistic_path(d0, k, r, 200.0)) == pytest.approx(k, rel=1e-5)
    eps = 1e-3
    g = (np.log(float(demand.logistic_path(d0, k, r, -1.0 + eps))) - np.log(d0)) / eps
    assert g == pytest.approx(float(demand.initial_growth(d0, k, r)), rel=1e-2)


def test_wrights_law_exact_without_noise():
    # doubling cumulative production with b = log2(1/(1-0.2)) cuts cost by exactly 20%
    b = -np.log2(0.8)
    f = costs.learning_factor(jnp.array(2000.0), jnp.array(1000.0), jnp.array(b))
    assert float(f) == pytest.approx(0.8, rel=1e-6)
    p = {"cost_noise_sd": jnp.zeros(3), "cost_noise_autocorrelation": jnp.array(0.19)}
    nu, u = costs.noise_step(p, jnp.zeros(3), jnp.zeros(3), jnp.ones(3))
    assert np.all(np.asarray(nu) == 0) and np.all(np.asarray(u) == 0)


def test_cost_noise_is_integrated_ma1():
    p = {"cost_noise_sd": jnp.array([1.0]), "cost_noise_autocorrelation": jnp.array(0.5)}
    nu, u = jnp.zeros(1), jnp.zeros(1)
    eps = [1.0, 0.0, 0.0]
    path = []
    for e in eps:
        nu, u = costs.noise_step(p, nu, u, jnp.array([e]))
        path.append(float(nu[0]))
    assert path == pytest.approx([1.0, 1.5, 1.5])


def test_cell_cost_composition_and_yield():
    p = {
        "cumulative_production_start": jnp.array([1.0, 1.0, 1.0]),
        "other_materials_cost_start": jnp.array([10.0, 20.0, 30.0]),
        "conversion_cost_start": jnp.array([5.0, 5.0, 5.0]),
        "materials_learning_exponent": jnp.zeros(3),
        "conversion_learning_exponent": jnp.zeros(3),
        "materials_cost_multiplier": jnp.array([2.0, 2.0, 4.0, 2.0]),
        "conversion_cost_multiplier": jnp.ones((4, 3)).at[1].set(3.0),
    }
    cell = costs.cell_costs(p, jnp.ones(3), jnp.zeros(3), jnp.array(10000.0), jnp.array([500.0, 600.0, 0.0]), jnp.array([1.0, 0.5, 1.0, 1.0]))
    # China (reference): lithium 10,000 USD/t x 500 t/GWh = 5 USD/kWh
    assert np.asarray(cell[0]) == pytest.approx([5 + 10 + 5, 6 + 20 + 5, 0 + 30 + 5])
    # US: conversion x3, yield 0.5 doubles the cost
    assert np.asarray(cell[1]) == pytest.approx(2 * np.array([5 + 10 + 15, 6 + 20 + 15, 30 + 15]))
    # EU: materials multiplier 4 relative to China's 2
    assert float(cell[2, 0]) == pytest.approx(5 + 20 + 5)


def test_pipeline_fixed_lead_time_arrives_exactly():
    lead = 4.0
    years = pipeline.project_delays(lead, 0.0, 10.0, 0.0, 1.0, jnp.zeros((1, 3)), jnp.full((1, 3), 0.9), jnp.full((1, 3), 0.5))
    assert np.all(np.asarray(years) == lead)
    pipe = jnp.zeros((1, pipeline.LENGTH))
    pipe = pipeline.schedule(pipe, jnp.array([30.0]), years, jnp.ones((1, 3)))
    arrivals = []
    for _ in range(6):
        a, pipe = pipeline.advance(pipe)
        arrivals.append(float(a[0]))
    assert arrivals == pytest.approx([0, 0, 0, 30.0, 0, 0])


def test_pipeline_delay_cancel_and_cap():
    years = pipeline.project_delays(3.0, 0.0, 10.0, 1.0, 2.0, jnp.zeros((1, 2)), jnp.zeros((1, 2)), jnp.array([[np.exp(-1.0), np.exp(-0.25)]]))
    # delayed projects: ceil(-2 log u) = ceil(2) = 2 and ceil(0.5) = 1
    assert np.asarray(years).tolist() == [[5.0, 4.0]]
    capped = pipeline.project_delays(50.0, 0.0, 10.0, 0.0, 1.0, jnp.zeros((1, 1)), jnp.ones((1, 1)), jnp.ones((1, 1)))
    assert float(capped[0, 0]) == 10.0
    pipe = pipeline.schedule(jnp.zeros((1, pipeline.LENGTH)), jnp.array([10.0]), jnp.array([[2.0, 2.0]]), jnp.array([[1.0, 0.0]]))
    assert float(pipe.sum()) == pytest.approx(5.0)


def _price_params(**kw):
    p = {
        "lithium_cost_anchor": jnp.array(10000.0),
        "lithium_cost_anchor_trend": jnp.array(0.0),
        "price_reversion": jnp.array(0.4),
        "tightness_premium": jnp.array(0.0),
        "boom_entry_logit": jnp.array(-50.0),
        "boom_entry_tightness": jnp.array(0.0),
        "boom_exit_probability": jnp.array(1.0),
        "boom_drift": jnp.array(1.0),
        "price_volatility": jnp.array(0.0),
        "boom_ceiling": jnp.array(12.0),
    }
    p.update({k: jnp.array(v) for k, v in kw.items()})
    return p


Z12, HALF12 = jnp.zeros(12), jnp.full(12, 0.5)


def test_price_zero_volatility_reverts_geometrically_to_anchor():
    p = _price_params()
    lp, boom = jnp.log(40000.0), jnp.array(0.0)
    for t in range(5):
        lp, boom, mean, share = prices.step(p, float(t), lp, boom, jnp.array(0.0), jnp.full(12, 3.0), HALF12)
    # twelve monthly steps close the annual share k of the log gap: December of year 5
    gap = np.log(4.0) * 0.6**5
    assert float(lp) == pytest.approx(np.log(10000.0) + gap, rel=1e-5)
    assert float(boom) == 0.0 and float(share) == 0.0
    # the year's price is the mean of its months
    phi = 0.6 ** (1 / 12)
    months = 10000.0 * np.exp(np.log(4.0) * 0.6**4 * phi ** np.arange(1, 13))
    assert float(mean) == pytest.approx(months.mean(), rel=1e-5)


def test_price_boom_regime_adds_drift():
    p = _price_params(price_reversion=0.5, tightness_premium=0.5, boom_entry_logit=50.0, boom_exit_probability=0.0,
                      boom_drift=0.8, boom_ceiling=np.inf)
    lp, boom, _, share = prices.step(p, 0.0, jnp.log(10000.0), jnp.array(0.0), jnp.array(0.2), Z12, HALF12)
    assert float(boom) == 1.0 and float(share) == 1.0
    # a full year in the boom: half-way to the tight-market target anchor x e^(0.5 x 0.2), plus the annual drift
    assert float(lp) == pytest.approx(np.log(10000.0) + 0.5 * 0.1 + 0.8, rel=1e-6)


def test_price_monthly_parameters_are_exact_annual_conversions():
    k, vol, drift = 0.45, 0.3, 1.2
    k_m, s_m, d_m = (float(x) for x in prices.monthly_parameters(jnp.array(k), jnp.array(vol), jnp.array(drift)))
    phi = 1 - k_m
    assert phi**12 == pytest.approx(1 - k, rel=1e-5)
    assert s_m**2 * sum(phi ** (2 * i) for i in range(12)) == pytest.approx(vol**2, rel=1e-5)
    assert d_m * sum(phi**i for i in range(12)) == pytest.approx(drift, rel=1e-5)
    # the edges of the support stay finite: no reversion, full reversion
    for edge in (0.0, 1.0):
        assert np.all(np.isfinite(np.asarray(prices.monthly_parameters(jnp.array(edge), jnp.array(vol), jnp.array(drift)))))
    for q in (0.0, 0.05, 0.5, 0.99, 1.0):
        m = float(prices.monthly_hazard(jnp.array(q)))
        assert 0.0 <= m <= 1.0 and 1 - (1 - m) ** 12 == pytest.approx(q, abs=1e-6)
        assert float(prices.annual_probability(jnp.array(m))) == pytest.approx(q, abs=1e-6)
    # entry: the annual logit (with its tightness term) spread over twelve months
    pe = _price_params(boom_entry_logit=-1.0, boom_entry_tightness=2.0)
    m = float(prices.entry_hazard(pe, jnp.array(0.5)))
    assert 1 - (1 - m) ** 12 == pytest.approx(float(jax.nn.sigmoid(0.0)), rel=1e-5)
    assert float(prices.entry_hazard(pe, jnp.array(-0.5))) == pytest.approx(float(prices.entry_hazard(pe, jnp.array(0.0))))


def test_price_regime_switches_within_the_year():
    # annual exit probability 0.5: monthly 1 - 0.5^(1/12); a boom ends in the first month whose uniform
    # is at or above the monthly stay probability, and the year's share counts the boom months
    p = _price_params(boom_exit_probability=0.5, boom_drift=0.0)
    stay = 0.5 ** (1 / 12)
    u = jnp.array([0.1] * 4 + [stay + 1e-3] + [0.1] * 7)
    _, boom, _, share = prices.step(p, 0.0, jnp.log(10000.0), jnp.array(1.0), jnp.array(0.0), Z12, u)
    assert float(boom) == 0.0 and float(share) == pytest.approx(4 / 12)
    # batched: a trailing draw axis
    lp, boom, mean, share = prices.step({k: jnp.full(3, v) for k, v in p.items()}, 0.0, jnp.full(3, 9.0), jnp.ones(3),
                                        jnp.zeros(3), jnp.zeros((12, 3)), jnp.tile(u[:, None], (1, 3)))
    assert lp.shape == boom.shape == mean.shape == share.shape == (3,)


def test_ramp_single_plant_and_fleet_mix():
    traj = ramp.plant_trajectory(0.8, 0.05, 0.5, 1.0, 4)
    assert np.asarray(traj) == pytest.approx(0.05 + 0.75 * np.exp(-0.5 * np.arange(4)), rel=1e-6)
    p = {"scrap_floor": jnp.array([0.05]), "scrap_learning_rate": jnp.array([0.5]), "scrap_new_plant": jnp.array([0.8])}
    s = ramp.step(p, jnp.array([0.05]), jnp.array([100.0]), jnp.array([100.0]), jnp.array([1.0]))
    assert float(s[0]) == pytest.approx((0.05 + 0.8) / 2)


def test_retirement_pmf_mass_and_mean():
    p = {
        "battery_lifetime_shape": jnp.array(3.0),
        "battery_lifetime_mean": jnp.array(10.0),
        "second_life_years": jnp.array(0.0),
        "second_life_fraction": jnp.array(0.0),
    }
    pmf = np.asarray(recycling.retirement_pmf(p))
    assert pmf.sum() == pytest.approx(1.0, abs=1e-4)
    ages = np.arange(1, recycling.HISTORY + 1)
    assert (pmf * (ages - 0.5)).sum() == pytest.approx(10.0, rel=0.02)
    p2 = dict(p, second_life_years=jnp.array(5.0), second_life_fraction=jnp.array(1.0))
    pmf2 = np.asarray(recycling.retirement_pmf(p2))
    assert (pmf2 * ages).sum() == pytest.approx((pmf * ages).sum() + 5.0, rel=0.02)


def test_trade_allocation_conserves_cells():
    p = {"max_utilization": jnp.array([1.0, 1.0, 0.9, 1.0]), "home_bias": jnp.array([1.0, 0.3, 0.2, 0.3]), "cost_dispersion": jnp.array(0.1)}
    demand_r = jnp.array([500.0, 100.0, 150.0, 80.0])
    cap = jnp.array([1000.0, 60.0, 100.0, 100.0])
    yld = jnp.array([0.95, 0.7, 0.8, 0.9])
    prod, imp, gap = trade.allocate(p, demand_r, cap, yld, jnp.array([50.0, 70, 60, 55]), jnp.array([50.0, 80, 55, 53]))
    assert float(prod.sum()) == pytest.approx(float(demand_r.sum()) * (1 - float(gap)), rel=1e-5)
    assert float(gap) == 0.0
    assert np.all(np.asarray(prod) <= np.asarray(cap * 0.9 * yld) + 1e-3)
    # not enough capacity anywhere: the gap is the shortfall
    prod, imp, gap = trade.allocate(p, demand_r * 10, cap, yld, jnp.full(4, 50.0), jnp.full(4, 50.0))
    assert float(gap) == pytest.approx(1 - float((cap * 0.9 * yld).sum()) / float(demand_r.sum() * 10), rel=1e-4)


def test_production_credit_phase_out():
    p = {"production_credit": jnp.array([0.0, 35.0]), "production_credit_end_year": jnp.array([2040.0, 2033.0]), "production_credit_phase_out": jnp.array([0.0, 4.0])}
    got = [float(trade.credit(p, float(y))[1]) for y in (2029, 2030, 2031, 2032, 2033)]
    assert got == pytest.approx([35.0, 26.25, 17.5, 8.75, 0.0])


def test_tariff_raises_landed_cost():
    p = {"import_tariff": jnp.array([0.0, 0.5, 0.0, 0.1]), "transport_cost": jnp.array(3.0)}
    cell = jnp.full((4, 3), 60.0).at[0].set(40.0)
    landed = np.asarray(trade.import_cost(p, cell))
    assert landed[:, 0].tolist() == pytest.approx([40.0, 63.0, 43.0, 47.0])


def test_sodium_share_rises_with_lithium_price():
    p = {
        "chemistry_share_start": jnp.array([[0.5, 0.49, 0.01]] * 3),
        "chemistry_logit_trend": jnp.zeros((3, 3)),
        "sodium_price_response": jnp.array(1.0),
    }
    low = np.asarray(chemistry.shares(p, 0.0, jnp.array(0.0)))
    high = np.asarray(chemistry.shares(p, 0.0, jnp.array(1.0)))
    assert low[0] == pytest.approx([0.5, 0.49, 0.01], rel=1e-4)
    assert high[0, 2] > 2 * low[0, 2]
    assert high.sum(axis=1) == pytest.approx(1.0)


def test_boom_push_fades_at_the_ceiling():
    p = _price_params(price_reversion=0.0, boom_entry_logit=50.0, boom_exit_probability=0.0, boom_ceiling=10.0)
    at_ceiling = jnp.log(100000.0)
    lp, *_ = prices.step(p, 0.0, at_ceiling, jnp.array(1.0), jnp.array(0.0), Z12, HALF12)
    assert float(lp) == pytest.approx(float(at_ceiling), rel=1e-6)
    # half-way up: the monthly push (drift/12, no reversion) shrinks with the remaining room,
    # which decays by 1 - 1/(12 ln 10) a month
    half = jnp.log(10000.0 * np.sqrt(10.0))
    lp, *_ = prices.step(p, 0.0, half, jnp.array(1.0), jnp.array(0.0), Z12, HALF12)
    L = np.log(10.0)
    assert float(lp - half) == pytest.approx(0.5 * L * (1 - (1 - 1 / (12 * L)) ** 12), rel=1e-4)
