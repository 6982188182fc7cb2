"""Lithium carbonate price (real 2024 USD per t LCE): mean reversion in logs towards a target
(the cost anchor times a premium that rises with supply tightness: below the anchor in a
glut, above it when demand outruns supply capability) plus a two-state boom regime whose
entry probability rises with tightness; exit lets mean reversion produce the bust.

The process runs monthly, twelve sub-steps inside each annual :func:`step`, so that booms can
start and end mid-year as in the monthly China spot series the calibration fits. Its
parameters are annual and convert to monthly values exactly (:func:`monthly_parameters`,
:func:`monthly_hazard`); the year's price is the mean of its twelve monthly prices.
"""

from __future__ import annotations

from mcbattery.model import ops

MONTHS = 12
#: Reversion below this is treated as this (the annual -> monthly conversion divides by it).
MIN_REVERSION = 1e-6


def anchor(p, t):
    """Cost anchor (USD/t LCE) at time ``t`` in years from mid-2025 (year index ``t`` is the
    middle of year ``start_year + t``; fractions give months)."""
    return p.lithium_cost_anchor * ops.xp(p.lithium_cost_anchor).exp(p.lithium_cost_anchor_trend * (t + 1.0))


def log_anchor(p, t):
    """log of :func:`anchor`, without the exp / log round trip."""
    return ops.xp(p.lithium_cost_anchor).log(p.lithium_cost_anchor) + p.lithium_cost_anchor_trend * (t + 1.0)


def month_offset(j):
    """Time of month ``j`` (0 = January) relative to the middle of its year, in years."""
    return (j - 5.5) / MONTHS


def monthly_parameters(reversion, volatility, drift):
    """Annual (k, σ, δ) -> monthly (k_m, σ_m, δ_m), exact for the AR(1) in log price.

    With φ = 1 − k_m the monthly persistence, twelve months give φ¹² = 1 − k; the variance of
    a year-end log price given the last year-end is σ_m²(1 − φ²⁴)/(1 − φ²) = σ²; a full year in
    the boom regime adds δ_m(1 − φ¹²)/(1 − φ) = δ to the year-end log price (ceiling aside).
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


def entry_hazard(p, tightness):
    """Monthly boom entry probability: the annual probability logistic(boom_entry_logit +
    boom_entry_tightness · max(tightness, 0)) spread evenly over twelve months."""
    xp = ops.xp(p.boom_entry_logit, tightness)
    z = p.boom_entry_logit + p.boom_entry_tightness * xp.maximum(tightness, 0.0)
    return -xp.expm1(-ops.softplus(z) / MONTHS)  # 1 − (1 − logistic(z))^(1/12), stably


def step(p, t, log_price, boom, tightness, eps, u_regime):
    """Advance one year: twelve monthly steps.

    log_price: last month's log price (December of the previous year); boom: last month's
    regime (0 or 1); tightness: log(demand / supply capability) this year, clipped to
    [-1, 1], held for the whole year; eps: 12 standard normals, u_regime: 12 uniforms on
    (0, 1), one per month along the leading axis (extra trailing axes batch). Each month the
    regime switches first (monthly entry from :func:`entry_hazard`, exit from
    ``boom_exit_probability`` by :func:`monthly_hazard`), then the log price reverts by k_m
    towards log(anchor) + tightness_premium x tightness (anchor interpolated to the month),
    plus the monthly boom drift, faded linearly in log price to zero at ``boom_ceiling`` x
    anchor, plus σ_m x eps. Gluts do not push boom entry below its base rate (booms start from
    demand surprises).

    Returns (December log price, December regime, mean price of the twelve months [USD/t],
    share of the twelve months in the boom regime).
    """
    xp = ops.xp(log_price)
    k_m, s_m, d_m = monthly_parameters(p.price_reversion, p.price_volatility, p.boom_drift)
    enter = entry_hazard(p, tightness)
    stay = 1.0 - monthly_hazard(p.boom_exit_probability)
    log_ceiling = xp.log(p.boom_ceiling)
    log_a0 = log_anchor(p, t)
    premium = p.tightness_premium * tightness
    slope = p.lithium_cost_anchor_trend

    def month(state, xs):
        log_price, boom, price_sum, boom_sum = state
        offset, e, u = xs
        boom = xp.where(boom > 0.5, u < stay, u < enter).astype(log_price.dtype)
        log_a = log_a0 + slope * offset
        # the boom's push fades as the price nears boom_ceiling x anchor
        room = xp.clip(1.0 - (log_price - log_a) / log_ceiling, 0.0, 1.0)
        log_price = log_price + k_m * (log_a + premium - log_price) + d_m * boom * room + s_m * e
        return (log_price, boom, price_sum + xp.exp(log_price), boom_sum + boom), None

    # a loop, not twelve unrolled months: unrolled, XLA re-derives the chain of earlier months
    # inside every later month's fused loop. The year's sums ride in the carry (no stacked
    # monthly path to write and read back).
    offsets = month_offset(xp.arange(MONTHS, dtype=log_price.dtype))
    zero = xp.zeros_like(log_price)
    (log_price, boom, price_sum, boom_sum), _ = ops.scan(month, (log_price, boom, zero, zero), (offsets, eps, u_regime))
    return log_price, boom, price_sum / MONTHS, boom_sum / MONTHS
