"""The model's state between years: a typed pytree, grouped by mechanism.

Shapes are for one draw (the engine vmaps draws); for many draws in NumPy the draw axis comes
last. Dimensions in brackets, units after the colon.
"""

from __future__ import annotations

from typing import Any, NamedTuple

Array = Any


class DemandState(NamedTuple):
    shock: Array  # [segment] log AR(1) demand shock: 1


class PriceState(NamedTuple):
    log_price: Array  # [] log lithium carbonate price in the last month: log USD/t LCE
    boom: Array  # [] boom regime in the last month: 0 or 1
    log_price_year: Array  # [] log of last year's mean price: log USD/t LCE


class CostState(NamedTuple):
    cumulative: Array  # [chemistry] cumulative production: GWh
    noise: Array  # [chemistry] integrated MA(1) log-cost noise: 1
    innovation: Array  # [chemistry] last year's noise innovation: 1
    exponent_drift: Array  # [chemistry] drift of the conversion learning exponent: 1
    log_drift_effect: Array  # [chemistry] that drift's effect on log conversion cost: 1


class SupplyState(NamedTuple):
    lithium_capacity: Array  # [lithium_stage] mining, refining, recycling: kt LCE/yr
    cell_capacity: Array  # [region] nameplate cell capacity: GWh/yr
    pipeline: Array  # [row, slot] capacity due in 1..LENGTH years (rows: mining, refining, recycling, cells per region)
    cell_utilization: Array  # [region] last year's gross output / nameplate: 1
    scrap: Array  # [region] cell scrap rate: 1


class ExpectationState(NamedTuple):
    cell_growth: Array  # [] remembered log growth of cell demand: 1/yr
    lithium_growth: Array  # [] remembered log growth of lithium demand: 1/yr
    cell_demand: Array  # [] last year's cell demand: GWh/yr
    lithium_demand: Array  # [] last year's lithium demand: kt LCE/yr


class State(NamedTuple):
    """Everything one year hands to the next."""

    demand: DemandState
    price: PriceState
    costs: CostState
    supply: SupplyState
    expectations: ExpectationState
    deployments: Array  # [HISTORY] batteries deployed 1, 2, ... years ago: GWh


class YearInputs(NamedTuple):
    """What the scan feeds each year: the year index and that year's random numbers."""

    t: Array  # [] year index from the start year: 0, 1, ...
    normals: Array  # [n_normals] standard normals (model.noise slots)
    uniforms: Array  # [n_uniforms] uniforms on (0, 1)
