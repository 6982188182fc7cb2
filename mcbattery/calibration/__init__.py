"""Calibration against history: numpyro models fitted with NUTS, learning curves, rolling
hindcasts, diagnostics and the posterior store the engine reads."""

from mcbattery.calibration.driver import *  # noqa: F401,F403  (the documented calibration API)
from mcbattery.calibration.driver import __all__  # noqa: F401
