"""Regional cell supply: who makes the cells each region buys.

Domestic plants serve a share of their region's demand that rises with the landed-cost
advantage over Chinese imports (import cost x (1 + tariff) + transport versus domestic cost
minus the production credit) plus a home bias; China serves its own demand and the imports;
any demand left over goes to spare capacity elsewhere; what remains is a cell supply gap.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

CN = 0


def credit(p, year):
    """Production credit per region (USD/kWh) in calendar ``year``, phased out linearly
    over ``production_credit_phase_out`` years ending at ``production_credit_end_year``."""
    end, span = p["production_credit_end_year"], p["production_credit_phase_out"]
    frac = jnp.clip((end - year) / jnp.maximum(span, 1.0), 0.0, 1.0)
    frac = jnp.where(span <= 0, (year < end).astype(frac.dtype), frac)
    return p["production_credit"] * frac


def import_cost(p, cell_cost):
    """Landed cost of Chinese cells in each region (region x chemistry, USD/kWh)."""
    landed = cell_cost[CN][None, :] * (1.0 + p["import_tariff"][:, None]) + p["transport_cost"]
    return landed.at[CN].set(cell_cost[CN])


def allocate(p, demand, capacity, yield_, domestic_cost, landed_cost):
    """Good-cell production per region (GWh/yr), import share per region and supply gap.

    demand: GWh of good cells demanded per region; capacity: nameplate GWh/yr; yield_:
    1 - scrap; domestic_cost, landed_cost: chemistry-averaged USD/kWh per region.
    """
    good_cap = capacity * p["max_utilization"][2] * yield_
    advantage = (landed_cost - domestic_cost) / (p["cost_dispersion"] * landed_cost)
    bias = p["home_bias"]
    phi = bias + (1.0 - bias) * jax.nn.sigmoid(advantage)
    phi = phi.at[CN].set(1.0)
    domestic = jnp.minimum(phi * demand, good_cap)
    imports = (demand - domestic).at[CN].set(0.0).sum()
    cn_spare = good_cap[CN] - domestic[CN]
    exports = jnp.minimum(imports, cn_spare)
    unmet = imports - exports + (demand[CN] - domestic[CN])
    spare = (good_cap - domestic).at[CN].set(0.0)
    extra = spare / jnp.maximum(spare.sum(), 1e-9) * jnp.minimum(unmet, spare.sum())
    production = domestic + extra
    production = production.at[CN].add(exports)
    import_share = (demand - domestic) / jnp.maximum(demand, 1e-9)
    gap = (unmet - extra.sum()) / jnp.maximum(demand.sum(), 1e-9)
    return production, import_share, gap
