"""Time-scale conversions of the material price noise.

Realised material prices follow the clearing level of :mod:`mcbattery.model.materials` plus an
AR(1) in log price run monthly inside each year, so that prices can move within the year as
in the monthly series the calibration fits. The noise parameters are annual and convert to
monthly values exactly (:func:`monthly_parameters`); the year's price is the mean of its
twelve monthly prices.
"""

from __future__ import annotations

from mcbattery.model import ops

MONTHS = 12
#: Reversion below this is treated as this (the annual -> monthly conversion divides by it).
MIN_REVERSION = 1e-6
#: The year of the anchors' stated level (``price_anchor`` is the 2024 incentive price).
ANCHOR_YEAR = 2024


def month_offset(j):
    """Time of month ``j`` (0 = January) relative to the middle of its year, in years."""
    return (j - 5.5) / MONTHS


def monthly_parameters(reversion, volatility, drift):
    """Annual (k, σ, δ) -> monthly (k_m, σ_m, δ_m), exact for the AR(1) in log price.

    With φ = 1 − k_m the monthly persistence, twelve months give φ¹² = 1 − k; the variance of
    a year-end log price given the last year-end is σ_m²(1 − φ²⁴)/(1 − φ²) = σ²; a drift
    active for a whole year adds δ_m(1 − φ¹²)/(1 − φ) = δ to the year-end log price.
    Valid for every k in [0, 1] (k is floored at :data:`MIN_REVERSION`).
    """
    xp = ops.xp(reversion, volatility, drift)
    k = xp.maximum(reversion, MIN_REVERSION)
    log_phi12 = xp.log1p(-k)
    log_phi = log_phi12 / MONTHS
    k_m = -xp.expm1(log_phi)
    ratio = xp.expm1(2.0 * log_phi12) / xp.expm1(2.0 * log_phi)  # (1 − φ²⁴)/(1 − φ²)
    return k_m, volatility / xp.sqrt(ratio), drift * k_m / k


def monthly_hazard(annual):
    """Probability of a switch within a year at constant conditions -> monthly probability,
    1 − (1 − p)^(1/12). Valid for every p in [0, 1]."""
    xp = ops.xp(annual)
    return -xp.expm1(xp.log1p(-annual) / MONTHS)


def annual_probability(monthly):
    """Inverse of :func:`monthly_hazard`: 1 − (1 − p_m)^12."""
    xp = ops.xp(monthly)
    return -xp.expm1(MONTHS * xp.log1p(-monthly))
