"""Regional cell supply: who makes the cells each region buys.

Domestic plants serve a share of their region's demand that rises with their cost advantage
over imports from the exporter region (landed import price versus domestic cost net of the
production credit) plus a home bias, and at least what an import quota leaves; the exporter
serves its own demand and the imports; demand left over goes to spare capacity elsewhere;
what remains (capacity short, or imports blocked by a quota) is a cell supply gap.
"""

from __future__ import annotations

from mcbattery.model import ops


def allocate(p, demand, capacity, yield_, domestic_cost, landed_cost, max_utilization, quota, exporter: int):
    """Good-cell production per region (GWh/yr), import share per region and supply gap.

    p: the policy parameters; demand: GWh of good cells demanded per region; capacity:
    nameplate GWh/yr; yield_: 1 - scrap; domestic_cost, landed_cost: chemistry-averaged
    USD/kWh per region; max_utilization: of cell plants; quota: largest import share per
    region (1 = none); exporter: position of the exporter region.
    """
    xp = ops.xp(demand)
    good_cap = capacity * max_utilization * yield_
    advantage = (landed_cost - domestic_cost) / (p.cost_dispersion * landed_cost)
    bias = p.home_bias
    phi = bias + (1.0 - bias) * ops.sigmoid(advantage)
    phi = ops.set_row(xp.maximum(phi, 1.0 - quota), exporter, 1.0)
    domestic = xp.minimum(phi * demand, good_cap)
    wanted = demand - domestic
    allowed = ops.set_row(xp.minimum(wanted, quota * demand), exporter, 0.0)
    blocked = ops.total(ops.set_row(wanted - allowed, exporter, 0.0), 0)
    imports = ops.total(allowed, 0)
    home_spare = good_cap[exporter] - domestic[exporter]
    exports = xp.minimum(imports, home_spare)
    unmet = imports - exports + (demand[exporter] - domestic[exporter])
    spare = ops.set_row(good_cap - domestic, exporter, 0.0)
    extra = spare / xp.maximum(ops.total(spare, 0), 1e-9) * xp.minimum(unmet, ops.total(spare, 0))
    production = ops.add_row(domestic + extra, exporter, exports)
    import_share = ops.set_row(allowed, exporter, wanted[exporter]) / xp.maximum(demand, 1e-9)
    gap = (unmet - ops.total(extra, 0) + blocked) / xp.maximum(ops.total(demand, 0), 1e-9)
    return production, import_share, gap
