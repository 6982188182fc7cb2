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


SEG, REG, CHEM, STG = ("segment",), ("region",), ("chemistry",), ("stage",)

REGISTRY: dict[str, ParamSpec] = {
    # horizon
    "start_year": _p("horizon", (), "year"),
    # demand
    "demand_start": _p("demand", SEG, "positive"),
    "demand_saturation": _p("demand", SEG, "positive"),
    "demand_growth_rate": _p("demand", SEG, "positive"),
    "demand_noise_sd": _p("demand", SEG, "nonnegative"),
    "demand_noise_persistence": _p("demand", (), "unit"),
    "demand_region_share": _p("demand", ("segment", "region"), "simplex"),
    "demand_multiplier": _p("demand", ("segment", "region"), "positive"),
    "demand_lithium_price_elasticity": _p("demand", (), "nonnegative"),
    # chemistry mix and lithium intensity
    "chemistry_share_start": _p("chemistry", ("segment", "chemistry"), "simplex"),
    "chemistry_logit_trend": _p("chemistry", ("segment", "chemistry"), "real"),
    "sodium_price_response": _p("chemistry", (), "nonnegative"),
    "lithium_intensity": _p("chemistry", CHEM, "nonnegative"),
    "lithium_intensity_decline": _p("chemistry", (), "nonnegative"),
    "non_battery_lithium_demand": _p("chemistry", (), "positive"),
    "non_battery_lithium_growth": _p("chemistry", (), "real"),
    # supply stages, project pipelines and investment
    "lead_time_median": _p("supply", STG, "positive"),
    "lead_time_sigma": _p("supply", STG, "nonnegative"),
    "lead_time_max": _p("supply", STG, "positive"),
    "delay_probability": _p("supply", STG, "unit"),
    "delay_mean": _p("supply", STG, "nonnegative"),
    "cancel_probability": _p("supply", STG, "unit"),
    "investment_response": _p("supply", STG, "nonnegative"),
    "investment_price_sensitivity": _p("supply", STG, "real"),
    "expected_growth_bias": _p("supply", STG, "positive"),
    "growth_memory": _p("supply", (), "unit"),
    "target_utilization": _p("supply", STG, "unit"),
    "max_utilization": _p("supply", STG, "unit"),
    "min_mine_utilization": _p("supply", (), "unit"),
    "capacity_retirement": _p("supply", STG, "unit"),
    "committed_growth": _p("supply", STG, "nonnegative"),
    "cell_closure_rate": _p("supply", (), "nonnegative"),
    "mining_capacity_start": _p("supply", (), "positive"),
    "refining_capacity_start": _p("supply", (), "positive"),
    "recycling_capacity_start": _p("supply", (), "positive"),
    "cell_capacity_start": _p("supply", REG, "positive"),
    "cell_capacity_announced_2030": _p("supply", REG, "positive"),
    "announced_completion": _p("supply", REG, "unit"),
    "announced_delay_mean": _p("supply", REG, "nonnegative"),
    "supply_shock_fraction": _p("supply", (), "unit"),
    "supply_shock_year": _p("supply", (), "year"),
    "supply_shock_duration": _p("supply", (), "nonnegative"),
    # lithium carbonate price
    "lithium_price_start": _p("prices", (), "positive"),
    "lithium_cost_anchor": _p("prices", (), "positive"),
    "lithium_cost_anchor_trend": _p("prices", (), "real"),
    "price_reversion": _p("prices", (), "unit"),
    "price_volatility": _p("prices", (), "nonnegative"),
    "tightness_premium": _p("prices", (), "nonnegative"),
    "boom_entry_logit": _p("prices", (), "real"),
    "boom_entry_tightness": _p("prices", (), "nonnegative"),
    "boom_exit_probability": _p("prices", (), "unit"),
    "boom_drift": _p("prices", (), "nonnegative"),
    "boom_ceiling": _p("prices", (), "positive"),
    # cell and pack costs, learning
    "cumulative_production_start": _p("costs", CHEM, "positive"),
    "other_materials_cost_start": _p("costs", CHEM, "positive"),
    "conversion_cost_start": _p("costs", CHEM, "positive"),
    "materials_learning_exponent": _p("costs", CHEM, "nonnegative"),
    "conversion_learning_exponent": _p("costs", CHEM, "nonnegative"),
    "conversion_learning_drift": _p("costs", CHEM, "nonnegative"),
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
    "recovery_rate": _p("recycling", (), "unit"),
    "scrap_collection_rate": _p("recycling", (), "unit"),
    "retired_lithium_intensity": _p("recycling", (), "positive"),
    "deployment_history_scale": _p("recycling", (), "positive"),
    # trade and policy
    "import_tariff": _p("policy", REG, "nonnegative"),
    "production_credit": _p("policy", REG, "nonnegative"),
    "production_credit_end_year": _p("policy", REG, "year"),
    "production_credit_phase_out": _p("policy", REG, "nonnegative"),
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
BLOCKS: tuple[str, ...] = ("demand", "chemistry", "supply", "prices", "costs", "ramp", "recycling", "policy")


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
    supply: Any
    prices: Any
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
