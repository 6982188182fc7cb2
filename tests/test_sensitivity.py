"""Tests of the former Sobol' estimator path (mcbattery.sensitivity): the names documented
there are the ones of mcbattery.research.sobol."""

from __future__ import annotations

import numpy as np

import mcbattery.research.sobol as home
import mcbattery.sensitivity as old


def test_every_public_name_is_the_same_object():
    for name in home.__all__:
        assert getattr(old, name) is getattr(home, name), name
    assert set(old.__all__) == {"saltelli_design", "sobol_from_samples", "sobol_indices"}


def test_sobol_indices_through_the_former_path():
    """y = x1 on three inputs: S1 = ST = 1 for x1, 0 for the others."""
    ds = old.sobol_indices(lambda x: x[:, 0], [(0.0, 1.0)] * 3, n=1024, seed=0, bootstrap=0)
    np.testing.assert_allclose(ds["S1"].values.reshape(-1), [1, 0, 0], atol=1e-6)
    np.testing.assert_allclose(ds["ST"].values.reshape(-1), [1, 0, 0], atol=1e-6)
