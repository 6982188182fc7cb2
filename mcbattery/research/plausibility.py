"""Plausibility against the documents: the probability a forecast gives each range the source
documents state (003's 2025 Chinese cell prices, the EU cost premium, 2030 Chinese capacity,
the 2030 demand bound, the pack price fall to 2030).

These ranges are never used to set a prior; they are read off the forecast afterwards, so a
range given negligible probability points at a mechanism to question, not at a number to tune.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from mcbattery.common.errors import InputError

__all__ = ["RANGES", "Range", "plausibility"]


@dataclass(frozen=True)
class Range:
    """A stated range: the quantity (a function of the kept draws), its bounds, unit, source."""

    name: str
    low: float
    high: float
    unit: str
    source: str


#: the documents' ranges, each with its locator in DOMAIN.md
RANGES = (
    Range("2025 CN LFP cell price", 46.0, 53.0, "USD/kWh", "003 Fig. 5 note (DOMAIN §2.3)"),
    Range("2025 CN NMC cell price", 56.0, 68.0, "USD/kWh", "003 Fig. 5 note (DOMAIN §2.3)"),
    Range("2025 EU LFP cost premium over CN cells", 0.24, 0.50, "1", "003 Fig. 5 text (DOMAIN §2.3)"),
    Range("2025 EU NMC cost premium over CN cells", 0.10, 0.27, "1", "003 Fig. 5 text (DOMAIN §2.3)"),
    Range("2030 CN cell capacity", 5862.0, 6720.0, "GWh", "003 Tech & Market Trends (DOMAIN §2.2)"),
    Range("2030 world battery demand", 0.0, 5100.0, "GWh/yr", "003 Tech & Market Trends, upper bound (DOMAIN §2.2)"),
    Range("pack price change 2025-2030", -0.60, -0.40, "1", "003 Fig. 15 text: about -50% by 2030 (DOMAIN §2.3)"),
)


def _quantities(draws: xr.Dataset) -> dict[str, xr.DataArray]:
    """Each range's quantity per draw, from a forecast's kept draws."""
    price, cost = draws["cell_price"], draws["cell_cost"]
    world = price.sel(region="CN")
    return {
        "2025 CN LFP cell price": price.sel(year=2025, region="CN", chemistry="LFP"),
        "2025 CN NMC cell price": price.sel(year=2025, region="CN", chemistry="NMC"),
        "2025 EU LFP cost premium over CN cells": (cost.sel(region="EU") / world - 1.0).sel(year=2025, chemistry="LFP"),
        "2025 EU NMC cost premium over CN cells": (cost.sel(region="EU") / world - 1.0).sel(year=2025, chemistry="NMC"),
        "2030 CN cell capacity": draws["cell_capacity"].sel(year=2030, region="CN"),
        "2030 world battery demand": draws["demand_world"].sel(year=2030).sum("segment"),
        "pack price change 2025-2030": (draws["pack_price_average"].sel(year=2030)
                                        / draws["pack_price_average"].sel(year=2025) - 1.0),
    }


def plausibility(draws: xr.Dataset) -> pd.DataFrame:
    """One row per :data:`RANGES` entry: the stated range, the forecast's median and 90 %
    interval of the quantity, and the probability it falls inside the range. ``draws``: a
    forecast's kept draws covering 2025-2030 (e.g. ``forecast(keep_draws=...).draws``)."""
    if not isinstance(draws, xr.Dataset) or "draw" not in draws.dims:
        raise InputError("expected a forecast's kept draws (an xarray Dataset with a draw dimension)", field="draws")
    years = set(draws["year"].values.tolist())
    if not {2025, 2030} <= years:
        raise InputError(f"expected kept draws covering 2025 and 2030; got years {min(years)}-{max(years)}", field="draws")
    rows = []
    for r in RANGES:
        x = np.asarray(_quantities(draws)[r.name].values, float)
        x = x[np.isfinite(x)]
        lo, med, hi = np.quantile(x, [0.05, 0.5, 0.95])
        rows.append({"quantity": r.name, "unit": r.unit, "range_low": r.low, "range_high": r.high,
                     "median": med, "q05": lo, "q95": hi, "p_in_range": float(np.mean((x >= r.low) & (x <= r.high))),
                     "source": r.source})
    return pd.DataFrame(rows)
