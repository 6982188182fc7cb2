"""Cell and pack costs (real 2024 USD/kWh) per region and chemistry.

cell = (lithium price x intensity + other materials + conversion) / yield, where other
materials and conversion fall with cumulative production by Wright's law and conversion
carries Farmer-Lafond noise (an integrated MA(1) in log cost). Pack = cell + pack overhead,
which learns with total cumulative production. Regional multipliers are relative to the
exporter region.
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


def learning_factor(q, q0, exponent):
    """Wright's law multiplier (q / q0) ** -exponent (q, q0 cumulative GWh)."""
    xp = ops.xp(q)
    return xp.exp(-exponent * xp.log(xp.maximum(q, 1e-9) / q0))


def cell_costs(p, q, nu, price, intensity, yield_, exporter: int):
    """Cell cost (region x chemistry, USD/kWh).

    q: cumulative production per chemistry (GWh); nu: log-cost noise per chemistry;
    price: lithium carbonate USD/t LCE; intensity: t LCE per GWh; yield_: 1 - scrap per
    region; exporter: position of the region the multipliers are relative to.
    """
    xp = ops.xp(q)
    q0 = p.cumulative_production_start
    mat_mult = p.materials_cost_multiplier / p.materials_cost_multiplier[exporter]
    conv_mult = p.conversion_cost_multiplier / p.conversion_cost_multiplier[exporter : exporter + 1]
    lithium = price * intensity / 1e6  # USD/t x t/GWh / (1e6 kWh/GWh)
    materials = p.other_materials_cost_start * learning_factor(q, q0, p.materials_learning_exponent)
    conversion = p.conversion_cost_start * learning_factor(q, q0, p.conversion_learning_exponent) * xp.exp(nu)
    before_yield = lithium[None] + materials[None] * mat_mult[:, None] + conversion[None] * conv_mult
    return before_yield / yield_[:, None]


def pack_costs(p, cell, q):
    """Pack cost (region x chemistry, USD/kWh) = cell + learning pack overhead."""
    factor = learning_factor(q.sum(axis=0), p.cumulative_production_start.sum(axis=0), p.pack_learning_exponent)
    return cell + (p.pack_overhead_start * factor)[:, None]
