"""The historical series each calibration model is fitted on, truncated at ``until``
(inclusive): Li-ion cell prices against cumulative EV battery demand, monthly lithium,
nickel and cobalt prices, EV battery demand, and the LFP share of EV batteries against the
lagged LFP-NMC cost gap. All from the shipped datasets
(:mod:`mcbattery.inputs.datasets`)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mcbattery.common.errors import InputError
from mcbattery.inputs import datasets

__all__ = ["learning_data", "price_data", "demand_data", "chemistry_data", "check_until", "data_vintage", "observed",
           "PRICE_FIRST_YEAR", "CHEMISTRY_FIRST_YEAR"]

LEARNING_FIRST_YEAR = 2010
DEMAND_FIRST_YEAR = 2015
#: Reference of the anchor trend: the anchor equals ``price_anchor`` in mid-2024, as in the
#: engine (:func:`mcbattery.model.materials.anchor`).
ANCHOR_YEAR = 2024
#: First year of the monthly nickel and cobalt prices fitted (the modern market, after the
#: 2000s super-cycle); lithium's China spot series starts in 2017-05.
PRICE_FIRST_YEAR = 2010
CHEMISTRY_FIRST_YEAR = 2015
#: kg/kWh of the nickel-based cells of 2015-2024 used to date the cost gap between LFP and
#: nickel-based cells: an NMC622/NCA mix (mineral_intensity_batpac.csv: NMC622 Ni 0.512,
#: Co 0.171; NCA Ni 0.656, Co 0.123). Lithium and graphite intensities are nearly equal in
#: both chemistries and cancel in the gap.
NICKEL_CELL_INTENSITY = {"nickel": 0.55, "cobalt": 0.15}


def check_until(until) -> int | None:
    """``until`` as a whole year (None: all data); InputError otherwise."""
    if until is None:
        return None
    try:
        u = int(until)
    except (TypeError, ValueError):
        raise InputError(f"expected a year; got {until!r}", field="until") from None
    if u != until or not 1900 <= u <= 2200:
        raise InputError(f"expected a whole year; got {until!r}", field="until")
    return u


def learning_data(until: int | None = None, first_year: int = LEARNING_FIRST_YEAR) -> dict[str, np.ndarray]:
    """Cell price (real 2024 USD/kWh) and cumulative IEA World EV battery demand (GWh) by year.

    Returns ``year``, ``cell_price``, ``log_cost``, ``cum_ev`` (GWh, cumulative since 2010,
    including the year itself) for years ``first_year``..``until`` present in both series.
    """
    until = check_until(until)
    price = datasets.cell_price().set_index("year")["cell_price_usd2024_per_kwh"]
    ev = datasets.battery_demand("World", by="total").set_index("year")["gwh"].sort_index()
    cum = ev.cumsum()
    years = [int(y) for y in price.index if y >= first_year and y in cum.index and (until is None or y <= until)]
    if len(years) < 4:
        raise InputError(f"expected at least 4 years of cell prices and EV demand up to {until}; got {len(years)}",
                         field="until")
    years = np.array(years)
    cost = price.loc[years].to_numpy(float)
    return {"year": years, "cell_price": cost, "log_cost": np.log(cost), "cum_ev": cum.loc[years].to_numpy(float)}


def price_data(material: str = "lithium", until: int | None = None) -> dict[str, np.ndarray]:
    """Monthly real 2024 USD/t prices of ``material`` (:func:`mcbattery.inputs.datasets.metal_price`;
    lithium per t Li2CO3, China spot from 2017-05; nickel and cobalt from ``PRICE_FIRST_YEAR``):
    ``month`` (datetime64), ``price``, ``log_price`` and ``tau`` (years from mid-``ANCHOR_YEAR``)."""
    until = check_until(until)
    df = datasets.metal_price(material, freq="month")
    df = df[df["month"].dt.year >= (PRICE_FIRST_YEAR if material != "lithium" else 2000)]
    if until is not None:
        df = df[df["month"].dt.year <= until]
    if len(df) < 12:
        raise InputError(f"expected at least 12 months of {material} prices up to {until}; got {len(df)}", field="until")
    month = df["month"].to_numpy()
    price = df["price_usd2024_per_t"].to_numpy(float)
    tau = (df["month"].dt.year - ANCHOR_YEAR + (df["month"].dt.month - 6.5) / 12).to_numpy(float)
    return {"month": month, "price": price, "log_price": np.log(price), "tau": tau}


def chemistry_data(until: int | None = None, first_year: int = CHEMISTRY_FIRST_YEAR) -> dict[str, np.ndarray]:
    """World BEV LFP share and the cost gap that moved it, by year ``first_year``..``until``.

    ``share``: LFP / (LFP + NMC + NCA) of new BEV battery capacity (Busch et al.,
    :func:`mcbattery.inputs.datasets.chemistry_shares`); ``cost_gap``: the change since the
    year before ``first_year`` of log(nickel-based cell cost / LFP cell cost) in the year before
    each year, the two costs being the world average cell price (OWID, taken as nickel-based)
    and the same less the nickel and cobalt it contains at that year's real prices
    (:data:`NICKEL_CELL_INTENSITY`)."""
    until = check_until(until)
    shares = datasets.chemistry_shares().pivot_table(index="year", columns="chemistry", values="gwh", aggfunc="sum")
    share = shares["LFP"] / shares[["LFP", "NMC", "NCA"]].sum(axis=1)
    cell = datasets.cell_price().set_index("year")["cell_price_usd2024_per_kwh"]
    metals = {m: datasets.metal_price(m, freq="year").set_index("year")["price_usd2024_per_t"] for m in NICKEL_CELL_INTENSITY}
    years = [y for y in share.index if y >= first_year and (until is None or y <= until)]
    need = range(years[0] - 1, years[-1]) if years else range(0)
    if len(years) < 4 or any(y not in cell.index or any(y not in s.index for s in metals.values()) for y in need):
        raise InputError(f"expected at least 4 years of chemistry shares with prices the year before up to {until}",
                         field="until")
    extra = {y: sum(metals[m].loc[y] * k / 1e3 for m, k in NICKEL_CELL_INTENSITY.items()) for y in need}
    gap = {y: np.log(cell.loc[y] / (cell.loc[y] - extra[y])) for y in need}
    cost_gap = np.array([gap[y - 1] - gap[years[0] - 1] for y in years])
    return {"year": np.array(years), "share": share.loc[years].to_numpy(float), "cost_gap": cost_gap}


def demand_data(until: int | None = None, first_year: int = DEMAND_FIRST_YEAR) -> dict[str, np.ndarray]:
    """IEA World EV battery demand (GWh/yr): ``year``, ``demand``, ``log_demand``."""
    until = check_until(until)
    ev = datasets.battery_demand("World", by="total").sort_values("year")
    ev = ev[(ev["year"] >= first_year) & ((ev["year"] <= until) if until is not None else True)]
    if len(ev) < 5:
        raise InputError(f"expected at least 5 years of EV battery demand up to {until}; got {len(ev)}", field="until")
    d = ev["gwh"].to_numpy(float)
    return {"year": ev["year"].to_numpy(int), "demand": d, "log_demand": np.log(d)}


def data_vintage(datas: dict) -> dict[str, str]:
    """Last period of each series fitted, keyed by dataset (``datas``: model -> data dict)."""
    out = {}
    if "learning" in datas:
        out["cell_price"] = str(int(datas["learning"]["year"][-1]))
    if "learning" in datas or "demand" in datas:
        out["iea_ev_battery_demand"] = str(int(max(d["year"][-1] for m, d in datas.items() if m in ("learning", "demand"))))
    if "chemistry" in datas:
        out["bev_battery_chemistry_shares"] = str(int(datas["chemistry"]["year"][-1]))
    for m, d in datas.items():
        if m.startswith("price_"):
            month = pd.Timestamp(d["month"][-1])
            out[f"{m.removeprefix('price_')}_price_monthly"] = f"{month.year}-{month.month:02d}"
    return out


def observed(model: str, data: dict) -> tuple[np.ndarray, np.ndarray]:
    """(observed values, coordinate) of the model's likelihood terms: the learning model's
    log-cost increments by year, a price model's log prices after the first month, the
    chemistry model's LFP shares after the first year, the demand model's log demand after the first year."""
    if model == "learning":
        return np.diff(data["log_cost"]), data["year"][1:]
    if model.startswith("price_"):
        return data["log_price"][1:], data["month"][1:]
    if model == "chemistry":
        return data["share"][1:], data["year"][1:]
    return data["log_demand"][1:], data["year"][1:]
