"""Analytic limits of :mod:`mcbattery.model.chemistry`: the block alone, with exact expectations."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

from mcbattery.model import chemistry
from mcbattery.model.params import block


def test_sodium_share_rises_with_lithium_price():
    p = block("chemistry", {
        "chemistry_share_start": jnp.array([[0.5, 0.49, 0.01]] * 3),
        "chemistry_logit_trend": jnp.zeros((3, 3)),
        "sodium_price_response": jnp.array(1.0),
    })
    lithium_free = np.array([False, False, True])
    low = np.asarray(chemistry.shares(p, 0.0, jnp.array(0.0), lithium_free))
    high = np.asarray(chemistry.shares(p, 0.0, jnp.array(1.0), lithium_free))
    assert low[0] == pytest.approx([0.5, 0.49, 0.01], rel=1e-4)
    assert high[0, 2] > 2 * low[0, 2]
    assert high.sum(axis=1) == pytest.approx(1.0)
