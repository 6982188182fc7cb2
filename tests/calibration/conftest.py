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


@pytest.fixture
def price_truth() -> dict:
    """Site values of the price model with booms of a few months: reversion 0.55/yr, volatility
    0.25, boom drift 1.6/yr, anchor 9,000 USD/t, monthly entry 0.04 and exit 0.1, ceiling 12."""
    return {"price__reversion": 0.55, "price__volatility": 0.25, "price__drift": 1.6, "price__anchor": 9000.0,
            "price__anchor_trend": 0.0, "price__entry_monthly": 0.04, "price__exit_monthly": 0.1,
            "price__ceiling": 12.0}
