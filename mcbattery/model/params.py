"""The parameter registry: every model parameter's name, dimensions and support.

Values live in ``priors/*.toml`` (with units and sources); this table only says what the
model needs, so that a misspelt, missing or out-of-support parameter is caught eagerly.
"""

from __future__ import annotations

from collections import namedtuple
from typing import Any, NamedTuple


class ParamSpec(NamedTuple):
    """What the model expects of one parameter."""

    dims: tuple[str, ...]
    support: str  # real | positive | nonnegative | unit | correlation | year | simplex
    block: str


def _p(block: str, dims: tuple[str, ...] = (), support: str = "real") -> ParamSpec:
    return ParamSpec(dims, support, block)


SEG, REG, CHEM, STG, MAT = ("segment",), ("region",), ("chemistry",), ("stage",), ("material",)

REGISTRY: dict[str, ParamSpec] = {
    # horizon
    "start_year": _p("horizon", (), "year"),
    # demand: diffusion, shocks, response to the pack price
    "demand_start": _p("demand", SEG, "positive"),
    "demand_saturation": _p("demand", SEG, "positive"),
    "demand_growth_rate": _p("demand", SEG, "positive"),
    "demand_noise_sd": _p("demand", SEG, "nonnegative"),
    "demand_growth_persistence": _p("demand", SEG, "unit"),
    "demand_noise_persistence": _p("demand", (), "unit"),
    "demand_region_share": _p("demand", ("segment", "region"), "simplex"),
    "demand_multiplier": _p("demand", ("segment", "region"), "positive"),
    "pack_price_elasticity": _p("demand", SEG, "nonnegative"),
    "pack_price_expected_decline": _p("demand", (), "real"),
    # chemistry of new cells, chosen by cost with inertia
    "chemistry_share_start": _p("chemistry", ("segment", "region", "chemistry"), "simplex"),
    "chemistry_logit_trend": _p("chemistry", ("segment", "chemistry"), "real"),
    "chemistry_cost_sensitivity": _p("chemistry", SEG, "nonnegative"),
    "chemistry_adjustment_rate": _p("chemistry", (), "unit"),
    # material markets: intensities, other demand, clearing, stocks, capacity, prices
    "material_intensity": _p("materials", ("material", "chemistry"), "nonnegative"),
    "material_intensity_decline": _p("materials", MAT, "real"),
    "other_demand_start": _p("materials", MAT, "positive"),
    "other_demand_growth": _p("materials", MAT, "real"),
    "other_demand_noise_sd": _p("materials", MAT, "nonnegative"),
    "demand_elasticity": _p("materials", MAT, "nonnegative"),
    "supply_elasticity": _p("materials", MAT, "nonnegative"),
    "reference_utilization": _p("materials", MAT, "unit"),
    "supply_disruption_sd": _p("materials", MAT, "nonnegative"),
    "stock_cover_target": _p("materials", MAT, "positive"),
    "stock_price_sensitivity": _p("materials", MAT, "nonnegative"),
    "stock_cover_start": _p("materials", MAT, "nonnegative"),
    "refining_headroom": _p("materials", MAT, "positive"),
    "mining_committed_growth": _p("materials", MAT, "nonnegative"),
    "refining_committed_growth": _p("materials", MAT, "nonnegative"),
    "mining_lead_time_scale": _p("materials", MAT, "positive"),
    "brownfield_share": _p("materials", MAT, "unit"),
    "exporter_refining_share_start": _p("materials", MAT, "unit"),
    "exporter_refining_share_new": _p("materials", MAT, "unit"),
    "exporter_other_demand_share": _p("materials", MAT, "unit"),
    "recovery_rate": _p("materials", MAT, "unit"),
    "price_start": _p("materials", MAT, "positive"),
    "price_anchor": _p("materials", MAT, "positive"),
    "price_anchor_trend": _p("materials", MAT, "real"),
    "price_reversion": _p("materials", MAT, "unit"),
    "price_volatility": _p("materials", MAT, "nonnegative"),
    # supply stages: project pipelines and investment (mining, refining, cells, recycling)
    "lead_time_median": _p("supply", STG, "positive"),
    "lead_time_sigma": _p("supply", STG, "nonnegative"),
    "lead_time_max": _p("supply", STG, "positive"),
    "delay_probability": _p("supply", STG, "unit"),
    "delay_mean": _p("supply", STG, "nonnegative"),
    "cancel_probability": _p("supply", STG, "unit"),
    "investment_response": _p("supply", STG, "nonnegative"),
    "investment_price_sensitivity": _p("supply", STG, "real"),
    "expected_growth_bias": _p("supply", STG, "positive"),
    "cell_planning_horizon": _p("supply", (), "positive"),
    "growth_memory": _p("supply", (), "unit"),
    "target_utilization": _p("supply", STG, "unit"),
    "max_utilization": _p("supply", STG, "unit"),
    "capacity_retirement": _p("supply", STG, "unit"),
    "recycling_capacity_start": _p("supply", (), "positive"),
    "cell_capacity_start": _p("supply", REG, "positive"),
    "cell_capacity_announced_2030": _p("supply", REG, "positive"),
    "announced_completion": _p("supply", REG, "unit"),
    "announced_delay_mean": _p("supply", REG, "nonnegative"),
    "supply_shock_fraction": _p("supply", MAT, "unit"),
    "supply_shock_year": _p("supply", (), "year"),
    "supply_shock_duration": _p("supply", (), "nonnegative"),
    # the cell market: margins over cost that follow utilisation, closures under losses
    "cell_margin_reference": _p("cells", (), "real"),
    "cell_margin_slope": _p("cells", (), "nonnegative"),
    "cell_margin_max": _p("cells", (), "nonnegative"),
    "reference_cell_utilization": _p("cells", (), "unit"),
    "capital_share": _p("cells", (), "unit"),
    "cell_closure_rate": _p("cells", (), "nonnegative"),
    "loss_memory": _p("cells", (), "unit"),
    # cell and pack costs, learning
    "cumulative_production_start": _p("costs", CHEM, "positive"),
    "other_materials_cost_start": _p("costs", CHEM, "positive"),
    "conversion_cost_start": _p("costs", CHEM, "positive"),
    "materials_learning_exponent": _p("costs", CHEM, "nonnegative"),
    "conversion_learning_exponent": _p("costs", CHEM, "nonnegative"),
    "conversion_learning_drift": _p("costs", CHEM, "nonnegative"),
    "learning_spillover": _p("costs", CHEM, "unit"),
    "cost_noise_sd": _p("costs", CHEM, "nonnegative"),
    "cost_noise_autocorrelation": _p("costs", (), "correlation"),
    "materials_cost_multiplier": _p("costs", REG, "positive"),
    "conversion_cost_multiplier": _p("costs", ("region", "chemistry"), "positive"),
    "pack_overhead_start": _p("costs", REG, "positive"),
    "pack_learning_exponent": _p("costs", (), "nonnegative"),
    # factory ramp-up and scrap
    "scrap_start": _p("ramp", REG, "unit"),
    "scrap_new_plant": _p("ramp", REG, "unit"),
    "scrap_floor": _p("ramp", REG, "unit"),
    "scrap_learning_rate": _p("ramp", REG, "nonnegative"),
    # recycling
    "battery_lifetime_mean": _p("recycling", (), "positive"),
    "battery_lifetime_shape": _p("recycling", (), "positive"),
    "second_life_fraction": _p("recycling", (), "unit"),
    "second_life_years": _p("recycling", (), "nonnegative"),
    "collection_rate_start": _p("recycling", (), "unit"),
    "collection_rate_long_run": _p("recycling", (), "unit"),
    "collection_rate_timescale": _p("recycling", (), "positive"),
    "scrap_collection_rate": _p("recycling", (), "unit"),
    "deployment_history_scale": _p("recycling", (), "positive"),
    # trade and policy: every lever has a window [start year, end year)
    "import_tariff": _p("policy", REG, "nonnegative"),
    "tariff_start_year": _p("policy", REG, "year"),
    "tariff_end_year": _p("policy", REG, "year"),
    "import_quota": _p("policy", REG, "unit"),
    "quota_start_year": _p("policy", REG, "year"),
    "quota_end_year": _p("policy", REG, "year"),
    "production_credit": _p("policy", REG, "nonnegative"),
    "production_credit_start_year": _p("policy", REG, "year"),
    "production_credit_end_year": _p("policy", REG, "year"),
    "production_credit_phase_out": _p("policy", REG, "nonnegative"),
    "export_control_share": _p("policy", MAT, "unit"),
    "export_control_start_year": _p("policy", MAT, "year"),
    "export_control_end_year": _p("policy", MAT, "year"),
    "transport_cost": _p("policy", (), "nonnegative"),
    "home_bias": _p("policy", REG, "unit"),
    "cost_dispersion": _p("policy", (), "positive"),
}

SUPPORTS = {
    "real": (float("-inf"), float("inf")),
    "positive": (0.0, float("inf")),
    "nonnegative": (0.0, float("inf")),
    "unit": (0.0, 1.0),
    "correlation": (-1.0, 1.0),
    "year": (1900.0, 2200.0),
    "simplex": (0.0, 1.0),
}


#: The model's mechanisms, in the order of :class:`Params`' fields (``horizon`` is static).
BLOCKS: tuple[str, ...] = ("demand", "chemistry", "materials", "supply", "cells", "costs", "ramp", "recycling", "policy")


def _block_type(block: str):
    names = tuple(n for n, s in REGISTRY.items() if s.block == block)
    return namedtuple(f"{block.capitalize()}Params", names)


#: One NamedTuple type per mechanism, its fields the registry's parameters of that block.
BLOCK_TYPES = {b: _block_type(b) for b in BLOCKS}


class Params(NamedTuple):
    """Every parameter of one draw (or of many, draws last), grouped by mechanism. Each field is
    a NamedTuple of arrays named and shaped as in :data:`REGISTRY` (dims, then draws)."""

    demand: Any
    chemistry: Any
    materials: Any
    supply: Any
    cells: Any
    costs: Any
    ramp: Any
    recycling: Any
    policy: Any


def group(flat: dict) -> Params:
    """Flat ``{name: array}`` (the sampler's output) -> :class:`Params` by mechanism."""
    return Params(**{b: t(**{n: flat[n] for n in t._fields}) for b, t in BLOCK_TYPES.items()})


def block(name: str, values: dict, fill=0.0):
    """One mechanism's parameters from a (possibly partial) ``{name: array}``; parameters not
    given are ``fill`` (for driving a single block, e.g. the price process, on its own)."""
    t = BLOCK_TYPES[name]
    return t(**{f: values.get(f, fill) for f in t._fields})
