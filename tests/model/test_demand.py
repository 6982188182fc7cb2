"""Analytic limits of :mod:`mcbattery.model.demand`: the block alone, with exact expectations."""

from __future__ import annotations

import numpy as np
import pytest

from mcbattery.model import demand


def test_logistic_path_anchor_saturation_and_growth():
    d0, k, r = 100.0, 1000.0, 0.3
    assert float(demand.logistic_path(d0, k, r, -1.0)) == pytest.approx(d0, rel=1e-6)
    assert float(demand.logistic_path(d0, k, r, 200.0)) == pytest.approx(k, rel=1e-5)
    eps = 1e-3
    g = (np.log(float(demand.logistic_path(d0, k, r, -1.0 + eps))) - np.log(d0)) / eps
    assert g == pytest.approx(float(demand.initial_growth(d0, k, r)), rel=1e-2)
