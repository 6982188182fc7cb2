"""Analytic limits of :mod:`mcbattery.model.demand`: the block alone, with exact expectations."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from mcbattery.model import demand


def _p(sd=0.0, phi=0.5, elasticity=0.0):
    """Two segments in two regions (shares 0.6/0.4 and 0.5/0.5), saturation 1000 and 200 GWh/yr."""
    return SimpleNamespace(demand_saturation=np.array([1000.0, 200.0]), demand_growth_rate=np.array([0.3, 0.2]),
                           demand_noise_sd=np.full(2, sd), demand_growth_persistence=np.full(2, phi),
                           pack_price_elasticity=np.full(2, elasticity),
                           demand_region_share=np.array([[0.6, 0.4], [0.5, 0.5]]), demand_multiplier=np.ones((2, 2)))


def test_logistic_growth_is_the_s_curve_growth_at_the_current_level():
    assert demand.logistic_growth(100.0, 1000.0, 0.3) == pytest.approx(0.27)
    assert demand.logistic_growth(1000.0, 1000.0, 0.3) == 0.0  # saturated
    assert demand.logistic_growth(1200.0, 1000.0, 0.3) < 0.0  # above saturation demand falls back


def test_without_shocks_demand_follows_discrete_logistic_growth_to_saturation():
    p, base, shock = _p(), np.array([100.0, 20.0]), np.zeros(2)
    for t in range(200):
        dem, new, shock = demand.step(p, float(t), base, shock, np.zeros(2), np.zeros(2))
        np.testing.assert_allclose(np.log(new / base), [0.3 * (1 - base[0] / 1000), 0.2 * (1 - base[1] / 200)], rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(dem, new[:, None] * p.demand_region_share, rtol=1e-12)
        base = new
    np.testing.assert_allclose(base, [1000.0, 200.0], rtol=1e-6)


def test_growth_shocks_persist_and_start_stationary():
    p = _p(sd=0.1, phi=0.5)
    base0, eps = np.array([100.0, 20.0]), np.ones(2)
    _, base1, u0 = demand.step(p, 0.0, base0, np.zeros(2), eps, np.zeros(2))
    np.testing.assert_allclose(u0, 0.1 / np.sqrt(1 - 0.25))  # the first shock has the stationary sd
    _, base2, u1 = demand.step(p, 1.0, base1, u0, np.zeros(2), np.zeros(2))
    np.testing.assert_allclose(u1, 0.5 * u0)  # half of last year's surprise again, no new one
    np.testing.assert_allclose(np.log(base2 / base1), demand.logistic_growth(base1, p.demand_saturation,
                                                                             p.demand_growth_rate) + u1, rtol=1e-12)
    # a shock moves the level for good: without further shocks the path stays above the quiet one
    q, b, u = base0, base2, u1
    for t in range(2):  # the quiet path to the same year
        _, q, _ = demand.step(p, float(t), q, np.zeros(2), np.zeros(2), np.zeros(2))
    for t in range(2, 6):
        _, q, _ = demand.step(p, float(t), q, np.zeros(2), np.zeros(2), np.zeros(2))
        _, b, u = demand.step(p, float(t), b, u, np.zeros(2), np.zeros(2))
    assert np.all(b > q)


def test_persistence_of_one_keeps_the_first_shock_finite():
    _, _, u0 = demand.step(_p(sd=0.1, phi=1.0), 0.0, np.array([100.0, 20.0]), np.zeros(2), np.ones(2), np.zeros(2))
    np.testing.assert_allclose(u0, 0.1 * 10.0)  # capped at ten times the innovation sd


def test_a_pack_price_above_the_expected_path_lowers_demand_but_not_the_base():
    p = _p(elasticity=0.8)
    base0 = np.array([100.0, 20.0])
    dem0, b0, _ = demand.step(p, 0.0, base0, np.zeros(2), np.zeros(2), np.zeros(2))
    dem1, b1, _ = demand.step(p, 0.0, base0, np.zeros(2), np.zeros(2), np.full(2, 0.1))
    np.testing.assert_allclose(b1, b0)
    np.testing.assert_allclose(dem1, dem0 * np.exp(-0.08), rtol=1e-12)
    dem_far, _, _ = demand.step(p, 0.0, base0, np.zeros(2), np.zeros(2), np.full(2, 5.0))  # the gap is clipped
    np.testing.assert_allclose(dem_far, dem0 * np.exp(-0.8 * demand.MAX_LOG_PRICE_GAP), rtol=1e-12)


def test_expected_pack_price_declines_from_the_year_before_the_start():
    p = SimpleNamespace(pack_price_expected_decline=0.05)
    assert demand.expected_pack_price(p, 100.0, -1.0) == pytest.approx(100.0)
    assert demand.expected_pack_price(p, 100.0, 1.0) == pytest.approx(100.0 * np.exp(-0.1))
