"""Analytic limits of :mod:`mcbattery.model.recycling`: the block alone, with exact expectations."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

from mcbattery.model import recycling
from mcbattery.model.params import block


def test_retirement_pmf_mass_and_mean():
    p = {
        "battery_lifetime_shape": jnp.array(3.0),
        "battery_lifetime_mean": jnp.array(10.0),
        "second_life_years": jnp.array(0.0),
        "second_life_fraction": jnp.array(0.0),
    }
    pmf = np.asarray(recycling.retirement_pmf(block("recycling", p)))
    assert pmf.sum() == pytest.approx(1.0, abs=1e-4)
    ages = np.arange(1, recycling.HISTORY + 1)
    assert (pmf * (ages - 0.5)).sum() == pytest.approx(10.0, rel=0.02)
    p2 = dict(p, second_life_years=jnp.array(5.0), second_life_fraction=jnp.array(1.0))
    pmf2 = np.asarray(recycling.retirement_pmf(block("recycling", p2)))
    assert (pmf2 * ages).sum() == pytest.approx((pmf * ages).sum() + 5.0, rel=0.02)
