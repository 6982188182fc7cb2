"""Simulators of the calibration models, for tests and posterior predictive checks: the
monthly price noise of one material around its anchor, and the demand S-curve with AR(1)
errors."""

from __future__ import annotations

import math

import numpy as np

from mcbattery.calibration.models import demand_log_curve, monthly_price_parameters

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


def simulate_demand(years, saturation, rate, midpoint, noise_sd, persistence, seed: int = 0) -> np.ndarray:
    """Simulate the demand model at ``years`` for one parameter set; returns demand [GWh/yr]."""
    rng = np.random.default_rng(seed)
    years = np.asarray(years, float)
    eta = np.empty(years.size)
    eta[0] = noise_sd / math.sqrt(1 - persistence**2) * rng.standard_normal()
    for t in range(1, years.size):
        eta[t] = persistence * eta[t - 1] + noise_sd * rng.standard_normal()
    curve = np.asarray(demand_log_curve(years, saturation, rate, midpoint), float)
    return np.exp(curve + eta)
