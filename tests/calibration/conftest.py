"""Shared calibration fixtures: every fit uses the same small NUTS settings and data lengths as
the shared ``until=2022`` calibration, so each model's sampler compiles once per process."""

from __future__ import annotations

import pytest

UNTIL = 2022
FAST = dict(num_warmup=300, num_samples=300, num_chains=2)


@pytest.fixture(scope="session")
def small_idata():
    """A calibration of all three models on data up to 2022 (2 chains x 300 draws, seed 3)."""
    pytest.importorskip("arviz")
    from mcbattery import calibration as cal

    return cal.calibrate(until=UNTIL, seed=3, **FAST)


@pytest.fixture
def fast() -> dict:
    """The small NUTS settings of :func:`small_idata`."""
    return dict(FAST)


@pytest.fixture
def until() -> int:
    """The last data year of :func:`small_idata`."""
    return UNTIL
