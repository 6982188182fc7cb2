"""Policy levers in force in a calendar year: tariffs, import quotas, production credits and
export controls, each with a window ``[start year, end year)`` (credits also phase down
linearly before their end year). Pure functions of the policy parameters and the year.
"""

from __future__ import annotations

from mcbattery.model import ops


def active(year, start, end):
    """1.0 while ``start <= year < end``, else 0.0 (elementwise)."""
    return ((year >= start) & (year < end)).astype(ops.xp(start).result_type(start, 1.0))


def tariff(p, year):
    """Ad valorem tariff on the exporter's cells per region (1)."""
    return p.import_tariff * active(year, p.tariff_start_year, p.tariff_end_year)


def quota(p, year):
    """Largest import share of a region's cell demand (1; 1 = no quota)."""
    on = active(year, p.quota_start_year, p.quota_end_year)
    return on * p.import_quota + (1.0 - on)


def credit(p, year):
    """Production credit per region (USD/kWh) in calendar ``year``: in force from its start
    year, phased out linearly over ``production_credit_phase_out`` years ending at
    ``production_credit_end_year``."""
    xp = ops.xp(p.production_credit)
    end, span = p.production_credit_end_year, p.production_credit_phase_out
    frac = xp.clip((end - year) / xp.maximum(span, 1.0), 0.0, 1.0)
    frac = xp.where(span <= 0, (year < end).astype(frac.dtype), frac)
    return p.production_credit * frac * (year >= p.production_credit_start_year)


def export_control(p, year):
    """Share of the exporter's refined exports withheld, per material (1)."""
    return p.export_control_share * active(year, p.export_control_start_year, p.export_control_end_year)
