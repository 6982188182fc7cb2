"""Every model output: its dims (after ``year``), units, description, the fixed grid its
streaming quantiles are read from, and default exceedance thresholds.

Quantiles come from histograms on these grids, so a quantile is exact to within one bin:
for a ``log`` grid the relative error is at most (hi/lo)**(1/BINS) - 1, for a ``lin`` grid
the absolute error is at most (hi - lo)/BINS. Values outside the grid are counted in
under/overflow bins and their quantiles fall back on the exact running min/max.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class OutputSpec(NamedTuple):
    dims: tuple[str, ...]
    units: str
    long_name: str
    grid: tuple[str, float, float]  # (lin | log, low, high)
    thresholds: tuple[float, ...] = ()


BINS = 2048

USD_KWH = "USD(2024)/kWh"

OUTPUTS: dict[str, OutputSpec] = {
    # demand and the cells that meet it
    "demand": OutputSpec(("segment", "region"), "GWh/yr", "battery demand", ("log", 1e-2, 1e5)),
    "demand_world": OutputSpec(("segment",), "GWh/yr", "world battery demand by segment", ("log", 1e-1, 1e5)),
    "chemistry_share": OutputSpec(("region", "chemistry"), "1", "share of the region's new cells by chemistry", ("lin", 0.0, 1.0)),
    "chemistry_share_world": OutputSpec(("chemistry",), "1", "share of the world's new cells by chemistry", ("lin", 0.0, 1.0)),
    "cell_capacity": OutputSpec(("region",), "GWh/yr", "nameplate cell manufacturing capacity", ("log", 1.0, 1e5)),
    "cell_production": OutputSpec(("region",), "GWh/yr", "good cells produced", ("log", 1e-2, 1e5)),
    "cell_utilization": OutputSpec(("region",), "1", "cell plant utilisation (gross output / nameplate)", ("lin", 0.0, 1.0)),
    "utilization_world": OutputSpec((), "1", "world cell plant utilisation (gross output / nameplate)", ("lin", 0.0, 1.0), (0.5, 0.64, 0.8)),
    "import_share": OutputSpec(("region",), "1", "share of a region's cell demand imported from the exporter region", ("lin", 0.0, 1.0)),
    "cell_supply_gap": OutputSpec((), "1", "unmet share of cell demand (capacity short or imports blocked)", ("lin", 0.0, 1.0), (0.0, 0.05)),
    # cell and pack costs and prices
    "cell_cost": OutputSpec(("region", "chemistry"), USD_KWH, "cell cost incl. scrap losses", ("log", 1.0, 1e4)),
    "cell_price": OutputSpec(("region", "chemistry"), USD_KWH, "cell price paid in the region (imports and domestic cells)", ("log", 1.0, 1e4)),
    "cell_margin": OutputSpec(("region",), "1", "domestic cell makers' margin over full cost (price incl. credits / full cost - 1)", ("lin", -1.0, 2.0), (0.0,)),
    "cost_gap": OutputSpec(
        ("region", "chemistry"), USD_KWH,
        "domestic cell cost minus production credit minus landed import price (> 0: imports cheaper)",
        ("lin", -200.0, 400.0), (0.0,),
    ),
    "pack_cost": OutputSpec(("region", "chemistry"), USD_KWH, "pack cost", ("log", 1.0, 1e4)),
    "cell_cost_average": OutputSpec((), USD_KWH, "production-weighted world average cell cost", ("log", 1.0, 1e4)),
    "cell_price_average": OutputSpec((), USD_KWH, "demand-weighted world average cell price paid (the BNEF survey basis)", ("log", 1.0, 1e4)),
    "pack_cost_average": OutputSpec((), USD_KWH, "production-weighted world average pack cost", ("log", 1.0, 1e4)),
    "pack_price_average": OutputSpec((), USD_KWH, "demand-weighted world average pack price paid (the BNEF survey basis)", ("log", 1.0, 1e4), (100.0,)),
    "scrap_rate": OutputSpec(("region",), "1", "cell manufacturing scrap rate", ("lin", 0.0, 1.0)),
    # material markets
    "material_price": OutputSpec(("material",), "USD(2024)/t", "world price, annual mean (lithium per t LCE)", ("log", 1e2, 1e7)),
    "price_ratio": OutputSpec(("material",), "1", "world price over its long-run incentive price (anchor)", ("log", 1e-2, 1e2), (1.5, 2.0, 3.0)),
    "material_demand": OutputSpec(("material",), "kt/yr", "demand after the price response (lithium as LCE)", ("log", 1e-1, 1e6)),
    "material_supply": OutputSpec(("material",), "kt/yr", "primary plus recycled supply (lithium as LCE)", ("log", 1e-1, 1e6)),
    "mining_capacity": OutputSpec(("material",), "kt/yr", "mine capacity (lithium as LCE)", ("log", 1e-1, 1e6)),
    "refining_capacity": OutputSpec(("material",), "kt/yr", "refining capacity (lithium as LCE)", ("log", 1e-1, 1e6)),
    "exporter_refining_share": OutputSpec(("material",), "1", "exporter region's share of refining capacity", ("lin", 0.0, 1.0)),
    "stock_cover": OutputSpec(("material",), "months", "stocks at year end in months of demand", ("lin", 0.0, 24.0)),
    "unmet_share": OutputSpec(("material",), "1", "share of demand unmet after stocks and the price response", ("lin", 0.0, 1.0), (0.0, 0.05, 0.1)),
    "shortage_years": OutputSpec(("material",), "yr", "years so far with more than 10 % of demand unmet", ("lin", 0.0, 64.0)),
    "shortage_ever": OutputSpec(("material",), "1", "1 if any year so far had more than 10 % of demand unmet (mean = probability)", ("lin", 0.0, 1.0)),
    "shortage_first_year": OutputSpec(("material",), "year", "first year with more than 10 % of demand unmet (2100 = none so far)", ("lin", 2000.0, 2101.0)),
    "recycled_share": OutputSpec(("material",), "1", "recycled share of supply", ("lin", 0.0, 1.0)),
    "retired_batteries": OutputSpec((), "GWh/yr", "batteries reaching end of (first and second) life", ("log", 1e-2, 1e5)),
    "recycling_capacity": OutputSpec((), "GWh/yr", "battery recycling capacity", ("log", 1e-2, 1e5)),
}


def edges(spec: OutputSpec) -> np.ndarray:
    """Bin edges (BINS + 1) of an output's quantile grid, in the output's units."""
    kind, lo, hi = spec.grid
    if kind == "log":
        return np.geomspace(lo, hi, BINS + 1)
    return np.linspace(lo, hi, BINS + 1)


def quantile_error_bound(spec: OutputSpec) -> str:
    """Human-readable worst-case quantile error of the grid (inside its range)."""
    kind, lo, hi = spec.grid
    if kind == "log":
        return f"relative {((hi / lo) ** (1.0 / BINS) - 1.0):.2%}"
    return f"absolute {(hi - lo) / BINS:.3g}"
