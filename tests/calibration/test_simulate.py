"""Tests of the calibration simulators (mcbattery.calibration.simulate)."""

from __future__ import annotations

import math
from types import SimpleNamespace

import jax.numpy as jnp
import numpy as np
import pytest

from mcbattery.calibration import simulate as S
from mcbattery.calibration.models import demand_growth_shocks, monthly_price_parameters, price_deviations
from mcbattery.model import materials


def test_simulated_prices_follow_the_monthly_ar1_around_the_trending_anchor():
    """The simulator's recursion, with its own random numbers: log P = log A + trend·τ + ξ,
    ξ_m − (1 − k_m) ξ_{m−1} = σ_m ε_m, ε the generator's normals month by month."""
    anchor, trend, k, vol, paths, months = 15000.0, 0.02, 0.4, 0.3, 5, 36
    y = S.simulate_price_monthly(anchor, trend, k, vol, months, math.log(20000.0), tau0=-2.0, seed=9, paths=paths)
    assert y.shape == (paths, months + 1) and np.all(y[:, 0] == math.log(20000.0))
    tau = -2.0 + np.arange(months + 1) / 12
    sites = {"m__anchor": anchor, "m__anchor_trend": trend}
    xi = np.stack([np.asarray(price_deviations(sites, "m", np.float64(row), tau), float) for row in y])
    np.testing.assert_allclose(xi, y - math.log(anchor) - trend * tau, atol=1e-5)  # float32 deviations
    xi = y - math.log(anchor) - trend * tau
    k_m, s_m = (float(v) for v in monthly_price_parameters(np.float64(k), np.float64(vol)))
    rng = np.random.default_rng(9)
    eps = np.stack([rng.standard_normal(paths) for _ in range(months)], axis=1)
    np.testing.assert_allclose(xi[:, 1:] - (1 - k_m) * xi[:, :-1], s_m * eps, atol=1e-12)


def test_simulate_price_monthly_without_noise_reverts_to_the_trending_anchor():
    anchor, trend, k = 9000.0, 0.03, 0.55
    y = S.simulate_price_monthly(anchor, trend, k, 1e-12, 240, math.log(30000.0), tau0=0.0, seed=3)
    assert y.shape == (1, 241)
    gap = y[0] - math.log(anchor) - trend * np.arange(241) / 12
    assert np.all(np.diff(np.abs(gap)) < 0) and abs(gap[-1]) < 1e-4  # monotone approach
    # a year of monthly reversion closes the annual share k of the log gap
    assert gap[12] / gap[0] == pytest.approx(1 - k, rel=1e-9)
    # started on the anchor it stays on the trending anchor
    on = S.simulate_price_monthly(anchor, trend, k, 0.0, 24, math.log(anchor) - trend, tau0=-1.0)
    np.testing.assert_allclose(on[0], math.log(anchor) + trend * (-1.0 + np.arange(25) / 12), atol=1e-12)


def test_simulated_year_has_the_engine_annual_moments():
    """Twelve months later the log deviation has mean (1 − k) ξ_0 and sd σ (the engine's annual
    reversion and volatility); the long run has the stationary sd σ / sqrt(1 − (1 − k)²)."""
    k, vol, paths = 0.35, 0.3, 20_000
    y = S.simulate_price_monthly(1000.0, 0.0, k, vol, 120, math.log(1000.0) + 0.5, seed=5, paths=paths)
    xi = y - math.log(1000.0)
    assert xi[:, 12].mean() == pytest.approx((1 - k) * 0.5, abs=4 * vol / math.sqrt(paths))
    assert xi[:, 12].std() == pytest.approx(vol, rel=0.03)
    assert xi[:, 120].std() == pytest.approx(vol / math.sqrt(1 - (1 - k) ** 2), rel=0.03)


def test_simulate_price_monthly_is_seeded_with_noise_per_path():
    a = S.simulate_price_monthly(9000.0, 0.0, 0.5, 0.2, 24, math.log(9000.0), seed=1, paths=4)
    b = S.simulate_price_monthly(9000.0, 0.0, 0.5, 0.2, 24, math.log(9000.0), seed=1, paths=4)
    c = S.simulate_price_monthly(9000.0, 0.0, 0.5, 0.2, 24, math.log(9000.0), seed=2, paths=4)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c) and len(np.unique(a[:, 5])) == 4  # different noise per path


def test_engine_price_noise_is_the_simulated_monthly_process():
    """Path by path, with the same random numbers and the clearing level at the anchor: a year
    of the engine's monthly price noise (mcbattery.model.materials.monthly_prices) ends at the
    simulator's December deviation, and its annual mean price is the mean of the simulated
    monthly prices."""
    anchor, k, vol, paths = 12000.0, 0.45, 0.35, 6
    start = math.log(anchor) + np.linspace(-0.5, 0.5, paths)
    sims = [S.simulate_price_monthly(anchor, 0.0, k, vol, 24, s0, seed=11 + i) for i, s0 in enumerate(start)]
    y = np.concatenate(sims)
    eps = np.stack([np.random.default_rng(11 + i).standard_normal(24) for i in range(paths)], axis=1)  # (24, paths)
    p = SimpleNamespace(price_reversion=np.full(paths, k), price_volatility=np.full(paths, vol))
    noise = start - math.log(anchor)
    for year in range(2):
        noise, mean_price = materials.monthly_prices(p, np.zeros(paths), noise, eps[12 * year:12 * (year + 1)],
                                                     np.full(paths, anchor))
        months = y[:, 1 + 12 * year:13 + 12 * year]
        np.testing.assert_allclose(noise, months[:, -1] - math.log(anchor), rtol=1e-10)
        np.testing.assert_allclose(mean_price, np.exp(months).mean(axis=1), rtol=1e-10)


def test_simulate_demand_without_noise_is_discrete_logistic_growth():
    years = np.arange(2015, 2031)
    d = S.simulate_demand(years, 30.0, 7000.0, 0.4, noise_sd=0.0, persistence=0.5)
    assert d[0] == 30.0
    np.testing.assert_allclose(np.diff(np.log(d)), 0.4 * (1.0 - d[:-1] / 7000.0), rtol=1e-12)
    noisy = S.simulate_demand(years, 30.0, 7000.0, 0.4, noise_sd=0.1, persistence=0.5, seed=2)
    assert noisy.shape == years.shape and np.all(noisy > 0) and not np.allclose(noisy, d)
    # the simulated growth shocks are the model's own (demand_growth_shocks)
    u = np.asarray(demand_growth_shocks(jnp.asarray(np.log(noisy)), 7000.0, 0.4), float)
    assert u.shape == (years.size - 1,) and np.abs(u).max() > 0
