"""Analytic limits of :mod:`mcbattery.model.prices`: the block alone, with exact expectations."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mcbattery.model import prices
from mcbattery.model.params import BLOCK_TYPES


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
    p.setdefault("lithium_price_start", jnp.array(10000.0))
    return BLOCK_TYPES["prices"](**p)


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
    lp, boom, mean, share = prices.step(type(p)(*(jnp.full(3, v) for v in p)), 0.0, jnp.full(3, 9.0), jnp.ones(3),
                                        jnp.zeros(3), jnp.zeros((12, 3)), jnp.tile(u[:, None], (1, 3)))
    assert lp.shape == boom.shape == mean.shape == share.shape == (3,)


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
