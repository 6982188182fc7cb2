"""The model's state between years: a typed pytree, grouped by mechanism.

Shapes are for one draw; for many draws (the engine's blocks, the NumPy baseline) the draw
axis comes last. Dimensions in brackets, units after the colon.
"""

from __future__ import annotations

from typing import Any, NamedTuple

Array = Any


class DemandState(NamedTuple):
    base: Array  # [segment] demand before the pack-price response: GWh/yr
    growth_shock: Array  # [segment] AR(1) shock to log demand growth: 1/yr
    other_shock: Array  # [material] log AR(1) shock of non-battery material demand: 1
    pack_price: Array  # [] last year's world average pack price: USD(2024)/kWh


class ChemistryState(NamedTuple):
    share: Array  # [segment, region, chemistry] chemistry shares of new cells: 1
    cell_cost: Array  # [region, chemistry] last year's cell cost: USD(2024)/kWh


class MaterialState(NamedTuple):
    mining: Array  # [material] mining capacity: kt/yr
    refining: Array  # [material] refining capacity: kt/yr
    exporter_share: Array  # [material] exporter region's share of refining capacity: 1
    stocks: Array  # [material] stocks held: kt
    noise: Array  # [material] price noise ξ in the last month: log
    price: Array  # [material] last year's mean world price: USD(2024)/t
    premium: Array  # [material] last year's export-control premium outside the exporter: log
    growth: Array  # [material] remembered log growth of demand: 1/yr
    demand: Array  # [material] last year's demand: kt/yr


class CostState(NamedTuple):
    cumulative: Array  # [chemistry] cumulative production: GWh
    noise: Array  # [chemistry] integrated MA(1) log-cost noise: 1
    innovation: Array  # [chemistry] last year's noise innovation: 1
    exponent_drift: Array  # [chemistry] drift of the conversion learning exponent: 1
    log_drift_effect: Array  # [chemistry] that drift's effect on log conversion cost: 1


class CellState(NamedTuple):
    capacity: Array  # [region] nameplate cell capacity: GWh/yr
    utilization: Array  # [region] last year's gross output / nameplate: 1
    scrap: Array  # [region] cell scrap rate: 1
    losses: Array  # [region] remembered losses of domestic makers: 1 (shortfall below full cost, share of it)
    domestic_cost: Array  # [region] last year's mix-averaged domestic cost net of credits: USD(2024)/kWh
    landed_cost: Array  # [region] last year's mix-averaged landed price of imports: USD(2024)/kWh
    growth: Array  # [] remembered log growth of cell demand: 1/yr
    demand: Array  # [] last year's cell demand: GWh/yr


class RecyclingState(NamedTuple):
    capacity: Array  # [] recycling capacity: GWh/yr of batteries processed
    deployments: Array  # [HISTORY] batteries deployed 1, 2, ... years ago: GWh


class ShortageState(NamedTuple):
    years: Array  # [material] years so far with more than SHORTAGE_LEVEL of demand unmet: count
    first: Array  # [material] first such year (NO_SHORTAGE_YEAR while none): calendar year


class State(NamedTuple):
    """Everything one year hands to the next."""

    demand: DemandState
    chemistry: ChemistryState
    materials: MaterialState
    costs: CostState
    cells: CellState
    recycling: RecyclingState
    shortage: ShortageState
    pipeline: Array  # [row, slot] capacity due in 1..LENGTH years (rows: mining and refining per material, recycling, cells per region)


class YearInputs(NamedTuple):
    """What the scan feeds each year: the year index and that year's random numbers."""

    t: Array  # [] year index from the start year: 0, 1, ...
    normals: Array  # [n_normals] standard normals (model.noise slots)
    uniforms: Array  # [n_uniforms] uniforms on (0, 1)
