"""Analytic limits of :mod:`mcbattery.model.materials`: clearing prices, stocks, export controls."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

from mcbattery.model import materials
from mcbattery.model.params import block


def _p(xp=jnp, **kw):
    base = {"stock_cover_target": 0.1, "stock_price_sensitivity": 1.0, "demand_elasticity": 0.2, "supply_elasticity": 0.3,
            "price_reversion": 0.5, "price_volatility": 0.0, "price_anchor": 10000.0, "price_anchor_trend": 0.0,
            "recovery_rate": 0.9}
    base.update(kw)
    if xp is np:  # one material, two draws (draws last)
        return block("materials", {k: np.full((1, 2), v) for k, v in base.items()})
    return block("materials", {k: jnp.asarray([v], jnp.float32) for k, v in base.items()})


def test_a_balanced_market_clears_at_the_anchor():
    p = _p()
    d = jnp.array([100.0])
    x, supply, demand, stocks, unmet = materials.clear(p, d, jnp.array([95.0]), jnp.array([200.0]), jnp.array([5.0]),
                                                       stocks=jnp.array([10.0]))
    assert float(x[0]) == pytest.approx(0.0, abs=1e-5)
    assert float(stocks[0]) == pytest.approx(10.0, rel=1e-4) and float(unmet[0]) == 0.0


def test_without_stocks_the_price_moves_by_the_gap_over_the_elasticities():
    p = _p(stock_cover_target=1e-9, stock_price_sensitivity=0.0)
    x, supply, demand, _, _ = materials.clear(p, jnp.array([120.0]), jnp.array([100.0]), jnp.array([1e6]),
                                              jnp.array([0.0]), jnp.array([0.0]))
    assert float(x[0]) == pytest.approx(np.log(1.2) / 0.5, abs=1e-4)
    assert float(supply[0]) == pytest.approx(float(demand[0]), rel=1e-4)


def test_a_deficit_raises_the_price_and_draws_stocks_before_demand_goes_unmet():
    p = _p()
    x0, *_ = materials.clear(p, jnp.array([100.0]), jnp.array([95.0]), jnp.array([120.0]), jnp.array([5.0]), jnp.array([10.0]))
    x1, s1, d1, stocks1, unmet1 = materials.clear(p, jnp.array([130.0]), jnp.array([95.0]), jnp.array([100.0]),
                                                  jnp.array([5.0]), jnp.array([10.0]))
    assert float(x1[0]) > float(x0[0]) + 0.3
    assert float(stocks1[0]) < 10.0 and float(unmet1[0]) == 0.0
    # at capacity with no stock and a demand far above it, the price sits at the ceiling and demand goes unmet
    x2, s2, d2, stocks2, unmet2 = materials.clear(p, jnp.array([1000.0]), jnp.array([95.0]), jnp.array([100.0]),
                                                  jnp.array([0.0]), jnp.array([0.0]))
    assert float(x2[0]) == pytest.approx(materials.X_HI, abs=1e-5)
    assert float(unmet2[0]) == pytest.approx(float(d2[0]) - 100.0, rel=1e-5) and float(stocks2[0]) == 0.0


def test_the_numpy_path_matches_jax_with_draws_last():
    p = _p()
    args = (np.array([[100.0, 130.0]]), np.array([[95.0, 95.0]]), np.array([[120.0, 100.0]]), np.array([[5.0, 5.0]]),
            np.array([[10.0, 10.0]]))
    xn = materials.clear(_p(np), *args)[0]
    for j in range(2):
        xj = materials.clear(p, *(jnp.asarray(a[:, j], jnp.float32) for a in args))[0]
        assert float(xn[0, j]) == pytest.approx(float(xj[0]), abs=1e-4)


def test_export_controls_put_a_premium_on_the_others_only_when_in_force():
    p = _p()
    args = (jnp.array([0.0]), jnp.array([100.0]), jnp.array([150.0]), jnp.array([100.0]))
    none = materials.export_premium(p, *args, jnp.array([0.0]), jnp.array([0.9]), jnp.array([0.5]))
    half = materials.export_premium(p, *args, jnp.array([0.5]), jnp.array([0.9]), jnp.array([0.5]))
    assert float(none[0]) == 0.0
    # withheld 0.5 x (90 - 50) = 20 of the others' 50: 0.4 over demand + supply + stock responses
    assert float(half[0]) == pytest.approx(0.4 / (0.2 + 0.3 + 0.1 + 1e-3), rel=1e-4)


def test_without_noise_the_year_averages_the_clearing_price():
    p = _p(price_volatility=0.0)
    noise, price = materials.monthly_prices(p, jnp.array([0.5]), jnp.array([0.0]), jnp.zeros((12, 1)), jnp.array([10000.0]))
    assert float(price[0]) == pytest.approx(10000.0 * np.exp(0.5), rel=1e-5) and float(noise[0]) == 0.0
    assert float(materials.anchor(block("materials", {"price_anchor": 100.0, "price_anchor_trend": 0.1}), 2034.0)) == pytest.approx(100 * np.e)


def test_clearing_matches_a_float64_root_on_random_markets():
    """Bisections plus bracketed Newton steps find the float64 root to float32 precision, and a
    market that cannot clear inside the interval ends exactly at its end."""
    import types

    rng = np.random.default_rng(3)
    n = 20000
    p = types.SimpleNamespace(stock_cover_target=rng.uniform(0.05, 0.4, n), stock_price_sensitivity=rng.uniform(0.1, 2.0, n),
                              demand_elasticity=rng.uniform(0.05, 0.8, n), supply_elasticity=rng.uniform(0.05, 1.0, n))
    d = rng.lognormal(0.0, 1.0, n)
    s_ref = d * rng.lognormal(0.0, 0.3, n)
    s_max = s_ref * rng.uniform(0.8, 2.0, n)
    rec, stocks = d * rng.uniform(0.0, 0.2, n), d * rng.uniform(0.0, 0.6, n)

    def excess(x):
        s = np.minimum(s_max, s_ref * np.exp(p.supply_elasticity * x))
        return stocks + s + rec - d * (np.exp(-p.demand_elasticity * x) + p.stock_cover_target * np.exp(-p.stock_price_sensitivity * x))

    lo, hi = np.full(n, materials.X_LO), np.full(n, materials.X_HI)
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        up = excess(mid) >= 0
        hi, lo = np.where(up, mid, hi), np.where(up, lo, mid)
    root = 0.5 * (lo + hi)
    p32 = types.SimpleNamespace(**{k: v.astype(np.float32) for k, v in vars(p).items()})
    x = materials.clear(p32, *(a.astype(np.float32) for a in (d, s_ref, s_max, rec, stocks)))[0]
    assert np.max(np.abs(x - root)) < 1e-5
    beyond = excess(np.full(n, materials.X_HI)) < 0
    assert beyond.any() and np.all(x[beyond] == np.float32(materials.X_HI))
