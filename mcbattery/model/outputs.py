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

OUTPUTS: dict[str, OutputSpec] = {
    "demand": OutputSpec(("segment", "region"), "GWh/yr", "battery demand", ("log", 1e-2, 1e5)),
    "chemistry_share": OutputSpec(("chemistry",), "1", "share of new cells by chemistry", ("lin", 0.0, 1.0)),
    "capacity": OutputSpec(("stage",), "see stage_units", "installed capacity by stage", ("log", 1.0, 1e6)),
    "production": OutputSpec(("stage",), "see stage_units", "output by stage", ("log", 1.0, 1e6)),
    "utilization": OutputSpec(("stage",), "1", "capacity utilisation by stage", ("lin", 0.0, 1.0), (0.5, 0.64, 0.8)),
    "cell_capacity": OutputSpec(("region",), "GWh/yr", "nameplate cell manufacturing capacity", ("log", 1.0, 1e5)),
    "cell_production": OutputSpec(("region",), "GWh/yr", "good cells produced", ("log", 1e-2, 1e5)),
    "cell_utilization": OutputSpec(("region",), "1", "cell plant utilisation (gross output / nameplate)", ("lin", 0.0, 1.0)),
    "import_share": OutputSpec(("region",), "1", "share of a region's cell demand not made domestically", ("lin", 0.0, 1.0)),
    "shortage": OutputSpec((), "1", "unmet fraction of lithium demand", ("lin", 0.0, 1.0), (0.0, 0.05, 0.1, 0.2)),
    "cell_supply_gap": OutputSpec((), "1", "unmet fraction of cell demand (capacity-limited)", ("lin", 0.0, 1.0), (0.0, 0.05)),
    "lithium_demand": OutputSpec((), "kt LCE/yr", "lithium demand incl. non-battery uses", ("log", 1.0, 1e5)),
    "lithium_supply": OutputSpec((), "kt LCE/yr", "refined primary plus recycled lithium supply", ("log", 1.0, 1e5)),
    "lithium_price": OutputSpec(
        (), "USD(2024)/t LCE", "lithium carbonate price, real, annual mean", ("log", 5e2, 1e6), (20000.0, 30000.0, 50000.0)
    ),
    "price_boom": OutputSpec((), "1", "share of months in the lithium price boom regime (mean = probability)", ("lin", 0.0, 1.0)),
    "cell_cost": OutputSpec(("region", "chemistry"), "USD(2024)/kWh", "cell cost incl. scrap losses", ("log", 1.0, 1e4)),
    "pack_cost": OutputSpec(("region", "chemistry"), "USD(2024)/kWh", "pack cost", ("log", 1.0, 1e4)),
    "cost_gap": OutputSpec(
        ("region", "chemistry"),
        "USD(2024)/kWh",
        "domestic cell cost minus production credit minus landed Chinese import cost (> 0: imports cheaper)",
        ("lin", -200.0, 400.0),
        (0.0,),
    ),
    "cell_cost_average": OutputSpec((), "USD(2024)/kWh", "production-weighted average cell cost", ("log", 1.0, 1e4)),
    "pack_cost_average": OutputSpec((), "USD(2024)/kWh", "production-weighted average pack cost", ("log", 1.0, 1e4), (100.0,)),
    "scrap_rate": OutputSpec(("region",), "1", "cell manufacturing scrap rate", ("lin", 0.0, 1.0)),
    "recycled_share": OutputSpec((), "1", "recycled share of lithium supply", ("lin", 0.0, 1.0)),
    "retired_batteries": OutputSpec((), "GWh/yr", "batteries reaching end of (first and second) life", ("log", 1e-2, 1e5)),
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
