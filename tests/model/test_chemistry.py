"""Analytic limits of :mod:`mcbattery.model.chemistry`: the cost-driven choice with inertia."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

from mcbattery.model import chemistry
from mcbattery.model.params import block

START = np.array([0.5, 0.45, 0.05])  # LFP, NMC, Na-ion


def _p(sensitivity=4.0, rate=0.5, trend=0.0):
    return block("chemistry", {
        "chemistry_share_start": jnp.asarray(np.broadcast_to(START, (3, 4, 3)).copy()),  # segment x region x chemistry
        "chemistry_logit_trend": jnp.full((3, 3), trend),
        "chemistry_cost_sensitivity": jnp.full(3, sensitivity),
        "chemistry_adjustment_rate": jnp.array(rate),
    })


def test_no_cost_change_no_trend_keeps_the_start_mix():
    p = _p()
    target = np.asarray(chemistry.target(p, 3.0, jnp.zeros((4, 3))))
    np.testing.assert_allclose(target, np.broadcast_to(START, target.shape), rtol=1e-5)


def test_a_chemistry_that_got_cheaper_gains_share():
    # a lithium spike raises LFP and NMC costs by 20% in region 0; Na-ion has no lithium
    change = jnp.zeros((4, 3)).at[0, :2].set(np.log(1.2))
    target = np.asarray(chemistry.target(_p(sensitivity=4.0), 0.0, change))
    odds = target[0, 0, 2] / target[0, 0, 0]
    assert odds == pytest.approx(START[2] / START[0] * np.exp(4.0 * np.log(1.2)), rel=1e-5)
    np.testing.assert_allclose(target[0, 1], START, rtol=1e-5)  # other regions unchanged
    assert np.asarray(chemistry.target(_p(sensitivity=0.0), 0.0, change))[0, 0] == pytest.approx(START, rel=1e-5)


def test_shares_close_the_adjustment_rate_of_the_gap():
    p = _p(rate=0.3, trend=0.0)
    share = jnp.asarray(np.broadcast_to([0.8, 0.19, 0.01], (3, 4, 3)).copy())
    new = np.asarray(chemistry.step(p, share, 0.0, jnp.zeros((4, 3))))
    np.testing.assert_allclose(new, np.asarray(share) + 0.3 * (START - np.asarray(share)), rtol=1e-5)
    assert new.sum(axis=2) == pytest.approx(1.0)


def test_regional_mix_weights_segments_by_demand():
    share = np.zeros((3, 4, 3))
    share[0, :, 0] = 1.0  # EV: all LFP
    share[1, :, 1] = 1.0  # storage: all NMC
    share[2, :, 2] = 1.0
    demand = np.zeros((3, 4))
    demand[0] = 30.0
    demand[1] = 10.0
    mix = chemistry.regional_mix(demand, share)  # NumPy path: no draws axis here
    np.testing.assert_allclose(mix, np.broadcast_to([0.75, 0.25, 0.0], (4, 3)))
