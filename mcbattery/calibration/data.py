"""The historical series each calibration model is fitted on, truncated at ``until``
(inclusive): Li-ion cell prices against cumulative EV battery demand, monthly lithium
carbonate prices, and EV battery demand. All from the shipped datasets
(:mod:`mcbattery.inputs.datasets`)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mcbattery.common.errors import InputError
from mcbattery.inputs import datasets

__all__ = ["learning_data", "price_data", "demand_data", "check_until", "data_vintage", "observed"]

LEARNING_FIRST_YEAR = 2010
DEMAND_FIRST_YEAR = 2015
#: Reference of the anchor trend: the anchor equals ``lithium_cost_anchor`` in mid-2024, as in
#: the engine (``anchor(t) = A * exp(trend * (t + 1))`` with t = 0 in 2025).
ANCHOR_YEAR = 2024


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


def price_data(until: int | None = None) -> dict[str, np.ndarray]:
    """Monthly China Li2CO3 spot, real 2024 USD/t: ``month`` (datetime64), ``price``,
    ``log_price`` and ``tau`` (years from mid-``ANCHOR_YEAR``, for the anchor trend)."""
    until = check_until(until)
    df = datasets.lithium_carbonate_monthly()
    if until is not None:
        df = df[df["month"].dt.year <= until]
    if len(df) < 12:
        raise InputError(f"expected at least 12 months of lithium prices up to {until}; got {len(df)}", field="until")
    month = df["month"].to_numpy()
    price = df["price_usd2024_per_t"].to_numpy(float)
    tau = (df["month"].dt.year - ANCHOR_YEAR + (df["month"].dt.month - 6.5) / 12).to_numpy(float)
    return {"month": month, "price": price, "log_price": np.log(price), "tau": tau}


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
    """Last period of each series in ``{"learning": ..., "price": ..., "demand": ...}``."""
    month = pd.Timestamp(datas["price"]["month"][-1])
    return {
        "cell_price": str(int(datas["learning"]["year"][-1])),
        "iea_ev_battery_demand": str(int(max(datas["learning"]["year"][-1], datas["demand"]["year"][-1]))),
        "lithium_carbonate_monthly": f"{month.year}-{month.month:02d}",
    }


def observed(model: str, data: dict) -> tuple[np.ndarray, np.ndarray]:
    """(observed values, coordinate) of the model's likelihood terms: the learning model's
    log-cost increments by year, the price model's log prices after the first month, the
    demand model's log demand by year."""
    if model == "learning":
        return np.diff(data["log_cost"]), data["year"][1:]
    if model == "price":
        return data["log_price"][1:], data["month"][1:]
    return data["log_demand"], data["year"]
