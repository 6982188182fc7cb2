"""Tests of the calibration data (mcbattery.calibration.data): every series truncated at
``until``, inclusive."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from mcbattery.calibration import data
from mcbattery.common.errors import InputError
from mcbattery.inputs import datasets


def test_until_truncates_every_series():
    assert data.learning_data(2018)["year"].max() == 2018
    assert data.learning_data(2018)["year"].min() == data.LEARNING_FIRST_YEAR
    months = pd.DatetimeIndex(data.price_data("lithium", 2019)["month"])
    assert months.max() == pd.Timestamp("2019-12-01") and months.min() == pd.Timestamp("2017-05-01")
    for material in ("nickel", "cobalt"):  # the modern market only
        months = pd.DatetimeIndex(data.price_data(material, 2019)["month"])
        assert months.min() == pd.Timestamp(f"{data.PRICE_FIRST_YEAR}-01-01") and months.max().year == 2019
        assert np.all(np.diff(months.year * 12 + months.month) == 1)  # no gaps
    assert data.chemistry_data(2020)["year"].tolist() == list(range(data.CHEMISTRY_FIRST_YEAR, 2021))
    assert data.demand_data(2020)["year"].tolist() == list(range(data.DEMAND_FIRST_YEAR, 2021))
    assert data.demand_data(2016, first_year=2010)["year"].tolist() == list(range(2010, 2017))
    with pytest.raises(InputError, match="until"):
        data.price_data("lithium", 2016)  # fewer than 12 months
    with pytest.raises(InputError, match="until"):
        data.chemistry_data(2017)  # fewer than 4 years
    with pytest.raises(InputError, match="until"):
        data.learning_data(2012)  # fewer than 4 years


def test_learning_data_is_cumulative_ev_demand_and_log_prices():
    d = data.learning_data(2022)
    ev = datasets.battery_demand("World", by="total").set_index("year")["gwh"].sort_index()
    assert d["cum_ev"][0] == pytest.approx(ev.loc[:2010].sum())
    np.testing.assert_allclose(np.diff(d["cum_ev"]), ev.loc[d["year"][1:]].to_numpy())
    np.testing.assert_allclose(d["log_cost"], np.log(d["cell_price"]))
    assert np.all(np.diff(d["year"]) == 1)


@pytest.mark.parametrize("material", ["lithium", "nickel", "cobalt"])
def test_price_data_tau_is_years_from_mid_2024(material):
    d = data.price_data(material)
    month = pd.DatetimeIndex(d["month"])
    june = np.flatnonzero((month.year == 2024) & (month.month == 6))
    if june.size:  # mid-June 2024 is 0.5/12 before mid-2024's reference
        assert d["tau"][june[0]] == pytest.approx(-0.5 / 12)
    np.testing.assert_allclose(np.diff(d["tau"]), 1 / 12, atol=1e-12)
    np.testing.assert_allclose(d["log_price"], np.log(d["price"]))
    monthly = datasets.metal_price(material, freq="month").set_index("month")["price_usd2024_per_t"]
    np.testing.assert_allclose(d["price"], monthly.loc[month].to_numpy(float))  # real 2024 USD/t as shipped


def test_chemistry_data_is_the_bev_lfp_share_and_the_lagged_cost_gap():
    """share = LFP / (LFP + NMC + NCA) of BEV capacity; cost_gap = change since the year before
    the first of log(cell / (cell − nickel and cobalt content)) the year before."""
    d = data.chemistry_data(2022)
    assert d["year"][0] == data.CHEMISTRY_FIRST_YEAR and np.all(np.diff(d["year"]) == 1)
    assert np.all((d["share"] > 0) & (d["share"] < 1)) and d["cost_gap"][0] == 0.0
    sh = datasets.chemistry_shares()
    sh = sh[sh.year == 2021].groupby("chemistry")["gwh"].sum()
    i = list(d["year"]).index(2021)
    assert d["share"][i] == pytest.approx(sh["LFP"] / (sh["LFP"] + sh["NMC"] + sh["NCA"]))
    cell = datasets.cell_price().set_index("year")["cell_price_usd2024_per_kwh"]
    metal = {m: datasets.metal_price(m, freq="year").set_index("year")["price_usd2024_per_t"] for m in ("nickel", "cobalt")}

    def gap(y):  # kg/kWh x USD/t / 1000 = USD/kWh of nickel and cobalt in a nickel-based cell
        extra = sum(metal[m].loc[y] * k / 1e3 for m, k in data.NICKEL_CELL_INTENSITY.items())
        return math.log(cell.loc[y] / (cell.loc[y] - extra))

    assert d["cost_gap"][i] == pytest.approx(gap(2020) - gap(data.CHEMISTRY_FIRST_YEAR - 1), rel=1e-10)
    # the share and gap of a year do not depend on later data
    np.testing.assert_array_equal(data.chemistry_data(2020)["cost_gap"], d["cost_gap"][:6])


@pytest.mark.parametrize("bad", [2019.5, "soon", 1850])
def test_check_until_refuses_non_years(bad):
    with pytest.raises(InputError, match="until"):
        data.check_until(bad)
    assert data.check_until(None) is None and data.check_until(2020.0) == 2020


def test_data_vintage_and_observed_terms():
    datas = {"learning": data.learning_data(2022), "demand": data.demand_data(2021),
             "chemistry": data.chemistry_data(2022),
             **{f"price_{m}": data.price_data(m, 2022) for m in ("lithium", "nickel", "cobalt")}}
    assert data.data_vintage(datas) == {"cell_price": "2022", "iea_ev_battery_demand": "2022",
                                        "bev_battery_chemistry_shares": "2022", "lithium_price_monthly": "2022-12",
                                        "nickel_price_monthly": "2022-12", "cobalt_price_monthly": "2022-12"}
    assert data.data_vintage({"demand": datas["demand"]}) == {"iea_ev_battery_demand": "2021"}
    values, years = data.observed("learning", datas["learning"])
    np.testing.assert_allclose(values, np.diff(datas["learning"]["log_cost"]))
    assert years[0] == data.LEARNING_FIRST_YEAR + 1
    for m in ("price_lithium", "price_nickel", "price_cobalt"):  # log prices after the first month
        values, months = data.observed(m, datas[m])
        np.testing.assert_array_equal(values, datas[m]["log_price"][1:])
        assert months[0] == datas[m]["month"][1]
    values, years = data.observed("chemistry", datas["chemistry"])  # shares after the first year
    np.testing.assert_array_equal(values, datas["chemistry"]["share"][1:])
    assert years[0] == data.CHEMISTRY_FIRST_YEAR + 1
    values, years = data.observed("demand", datas["demand"])  # growth terms: the first year is conditioned on
    np.testing.assert_array_equal(years, datas["demand"]["year"][1:])
    np.testing.assert_array_equal(values, datas["demand"]["log_demand"][1:])
