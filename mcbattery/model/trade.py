"""Regional cell supply: who makes the cells each region buys.

Domestic plants serve a share of their region's demand that rises with the landed-cost
advantage over imports from the exporter region (its cost x (1 + tariff) + transport versus
domestic cost minus the production credit) plus a home bias; the exporter serves its own
demand and the imports; any demand left over goes to spare capacity elsewhere; what remains is
a cell supply gap. ``exporter`` masks are boolean over regions (coords.toml ``exporter``).
"""

from __future__ import annotations

from mcbattery.model import ops


def credit(p, year):
    """Production credit per region (USD/kWh) in calendar ``year``, phased out linearly
    over ``production_credit_phase_out`` years ending at ``production_credit_end_year``."""
    xp = ops.xp(p.production_credit)
    end, span = p.production_credit_end_year, p.production_credit_phase_out
    frac = xp.clip((end - year) / xp.maximum(span, 1.0), 0.0, 1.0)
    frac = xp.where(span <= 0, (year < end).astype(frac.dtype), frac)
    return p.production_credit * frac


def import_cost(p, cell_cost, exporter: int):
    """Landed cost of the exporter's cells in each region (region x chemistry, USD/kWh)."""
    landed = cell_cost[exporter][None] * (1.0 + p.import_tariff[:, None]) + p.transport_cost
    return ops.set_row(landed, exporter, cell_cost[exporter])


def allocate(p, demand, capacity, yield_, domestic_cost, landed_cost, max_utilization, exporter: int):
    """Good-cell production per region (GWh/yr), import share per region and supply gap.

    p: the policy parameters; demand: GWh of good cells demanded per region; capacity:
    nameplate GWh/yr; yield_: 1 - scrap; domestic_cost, landed_cost: chemistry-averaged USD/kWh
    per region; max_utilization: of cell plants; exporter: position of the exporter region.
    """
    xp = ops.xp(demand)
    good_cap = capacity * max_utilization * yield_
    advantage = (landed_cost - domestic_cost) / (p.cost_dispersion * landed_cost)
    bias = p.home_bias
    phi = bias + (1.0 - bias) * ops.sigmoid(advantage)
    phi = ops.set_row(phi, exporter, 1.0)
    domestic = xp.minimum(phi * demand, good_cap)
    imports = ops.set_row(demand - domestic, exporter, 0.0).sum(axis=0)
    home_spare = good_cap[exporter] - domestic[exporter]
    exports = xp.minimum(imports, home_spare)
    unmet = imports - exports + (demand[exporter] - domestic[exporter])
    spare = ops.set_row(good_cap - domestic, exporter, 0.0)
    extra = spare / xp.maximum(spare.sum(axis=0), 1e-9) * xp.minimum(unmet, spare.sum(axis=0))
    production = domestic + extra
    production = ops.add_row(production, exporter, exports)
    import_share = (demand - domestic) / xp.maximum(demand, 1e-9)
    gap = (unmet - extra.sum(axis=0)) / xp.maximum(demand.sum(axis=0), 1e-9)
    return production, import_share, gap
