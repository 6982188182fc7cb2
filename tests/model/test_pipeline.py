"""Analytic limits of :mod:`mcbattery.model.pipeline`: the block alone, with exact expectations."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

from mcbattery.model import pipeline


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
