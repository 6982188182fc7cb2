"""Analytic limits of :mod:`mcbattery.model.prices`: exact annual <-> monthly conversions."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

from mcbattery.model import prices


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
    # the NumPy path gives the same conversion
    np.testing.assert_allclose(prices.monthly_parameters(np.float64(k), np.float64(vol), np.float64(drift)),
                               (k_m, s_m, d_m), rtol=1e-5)


def test_monthly_hazard_and_annual_probability_are_inverses():
    p = np.array([0.0, 0.1, 0.5, 0.99])
    assert prices.annual_probability(prices.monthly_hazard(p)) == pytest.approx(p, abs=1e-12)
