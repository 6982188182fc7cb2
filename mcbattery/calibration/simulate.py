"""Simulators of the calibration models, for tests and posterior predictive checks: the
monthly price noise of one material around its anchor, and logistic demand growth with
AR(1) growth shocks."""

from __future__ import annotations

import math

import numpy as np

from mcbattery.calibration.models import monthly_price_parameters
from mcbattery.model.demand import logistic_growth

__all__ = ["simulate_price_monthly", "simulate_demand"]


def simulate_price_monthly(anchor, trend, reversion, volatility, months: int, log_price0, tau0: float = 0.0,
                           seed: int = 0, paths: int = 1) -> np.ndarray:
    """Log prices (paths, months + 1) of the price model: log P = log A + trend·τ + ξ, ξ an
    AR(1) with the annual ``reversion`` and ``volatility`` converted to monthly values. Starts
    at ``log_price0`` at time ``tau0`` (years from mid-2024); month m is at tau0 + m/12."""
    rng = np.random.default_rng(seed)
    k_m, s_m = (float(x) for x in monthly_price_parameters(np.float64(reversion), np.float64(volatility)))
    tau = tau0 + np.arange(months + 1) / 12.0
    level = math.log(anchor) + trend * tau
    xi = np.empty((paths, months + 1))
    xi[:, 0] = log_price0 - level[0]
    for m in range(1, months + 1):
        xi[:, m] = (1.0 - k_m) * xi[:, m - 1] + s_m * rng.standard_normal(paths)
    return level + xi


def simulate_demand(years, demand0, saturation, rate, noise_sd, persistence, seed: int = 0) -> np.ndarray:
    """Simulate the demand model at consecutive ``years`` from ``demand0`` [GWh/yr] in the first
    year, for one parameter set (growth shocks start stationary); returns demand [GWh/yr]."""
    rng = np.random.default_rng(seed)
    n = np.asarray(years).size
    d = np.empty(n)
    d[0] = demand0
    u = noise_sd / math.sqrt(1 - persistence**2) * rng.standard_normal()
    for t in range(1, n):
        if t > 1:
            u = persistence * u + noise_sd * rng.standard_normal()
        d[t] = d[t - 1] * math.exp(logistic_growth(d[t - 1], saturation, rate) + u)
    return d
