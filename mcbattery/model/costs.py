"""Cell and pack costs (real 2024 USD/kWh) per region and chemistry.

cell = (critical materials + other materials + conversion) / yield. Critical materials are the
material prices the region pays times each chemistry's intensity; other materials and
conversion fall with cumulative production by Wright's law, and conversion carries
Farmer-Lafond noise (an integrated MA(1) in log cost). A share of conversion is the capital
charge: cash cost excludes it. Pack = cell + pack overhead, which learns with total cumulative
production. Regional multipliers are relative to the exporter region.
"""

from __future__ import annotations

from mcbattery.model import ops


def noise_step(p, nu, u_prev, eps):
    """Advance the log-cost noise per chemistry: d nu = u_t + rho u_{t-1}, u_t = sd * eps."""
    u = p.cost_noise_sd * eps
    return nu + u + p.cost_noise_autocorrelation * u_prev, u


def exponent_drift_step(p, b_dev, eps):
    """Random walk of the conversion learning exponent per chemistry: b_t = b + b_dev_t with
    b_dev_t = b_dev_{t-1} + conversion_learning_drift * eps (the drifting-exponent model of
    mcbattery.calibration.learning). The year's cumulative-production growth is learned at
    b + b_dev_t."""
    return b_dev + p.conversion_learning_drift * eps


def experience(p, q):
    """Cumulative production each chemistry learns from (GWh): its own plus a
    ``learning_spillover`` share of the other chemistries' (shared equipment and processes)."""
    return q + p.learning_spillover * (ops.total(q, 0) - q)


def learning_factor(q, q0, exponent):
    """Wright's law multiplier (q / q0) ** -exponent (q, q0 cumulative GWh)."""
    xp = ops.xp(q)
    return xp.exp(-exponent * xp.log(xp.maximum(q, 1e-9) / q0))


def critical_materials(price, intensity):
    """Critical-material cost (region x chemistry, USD/kWh) from the prices each region pays
    (region x material, USD/t) and intensities (material x chemistry, kg/kWh)."""
    return ops.matmul(price, intensity) / 1e3


def cell_costs(p, q, nu, materials_cost, yield_, capital_share, exporter: int):
    """Cell cost and its capital charge (both region x chemistry, USD/kWh).

    q: cumulative production per chemistry (GWh; learning uses :func:`experience`); nu:
    log-cost noise per chemistry;
    materials_cost: critical materials (region x chemistry, USD/kWh); yield_: 1 - scrap per
    region; capital_share: share of conversion that is capital charge; exporter: position of
    the region the multipliers are relative to.
    """
    xp = ops.xp(q)
    q0 = experience(p, p.cumulative_production_start)
    q = experience(p, q)
    mat_mult = p.materials_cost_multiplier / p.materials_cost_multiplier[exporter]
    conv_mult = p.conversion_cost_multiplier / p.conversion_cost_multiplier[exporter : exporter + 1]
    other = p.other_materials_cost_start * learning_factor(q, q0, p.materials_learning_exponent)
    conversion = p.conversion_cost_start * learning_factor(q, q0, p.conversion_learning_exponent) * xp.exp(nu)
    conversion = conversion[None] * conv_mult / yield_[:, None]
    cost = (materials_cost + other[None] * mat_mult[:, None]) / yield_[:, None] + conversion
    return cost, capital_share * conversion


def pack_overhead(p, q):
    """Pack overhead per region (USD/kWh), learning with total cumulative production."""
    factor = learning_factor(ops.total(q, 0), ops.total(p.cumulative_production_start, 0), p.pack_learning_exponent)
    return p.pack_overhead_start * factor
