"""Tests of the calibration data (mcbattery.calibration.data): every series truncated at
``until``, inclusive."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mcbattery.calibration import data
from mcbattery.common.errors import InputError
from mcbattery.inputs import datasets


def test_until_truncates_every_series():
    assert data.learning_data(2018)["year"].max() == 2018
    assert data.learning_data(2018)["year"].min() == data.LEARNING_FIRST_YEAR
    months = pd.DatetimeIndex(data.price_data(2019)["month"])
    assert months.max() == pd.Timestamp("2019-12-01") and months.min() == pd.Timestamp("2017-05-01")
    assert data.demand_data(2020)["year"].tolist() == list(range(data.DEMAND_FIRST_YEAR, 2021))
    assert data.demand_data(2016, first_year=2010)["year"].tolist() == list(range(2010, 2017))
    with pytest.raises(InputError, match="until"):
        data.price_data(2016)  # fewer than 12 months
    with pytest.raises(InputError, match="until"):
        data.learning_data(2012)  # fewer than 4 years


def test_learning_data_is_cumulative_ev_demand_and_log_prices():
    d = data.learning_data(2022)
    ev = datasets.battery_demand("World", by="total").set_index("year")["gwh"].sort_index()
    assert d["cum_ev"][0] == pytest.approx(ev.loc[:2010].sum())
    np.testing.assert_allclose(np.diff(d["cum_ev"]), ev.loc[d["year"][1:]].to_numpy())
    np.testing.assert_allclose(d["log_cost"], np.log(d["cell_price"]))
    assert np.all(np.diff(d["year"]) == 1)


def test_price_data_tau_is_years_from_mid_2024():
    d = data.price_data()
    month = pd.DatetimeIndex(d["month"])
    june = np.flatnonzero((month.year == 2024) & (month.month == 6))
    if june.size:  # mid-June 2024 is 0.5/12 before mid-2024's reference
        assert d["tau"][june[0]] == pytest.approx(-0.5 / 12)
    np.testing.assert_allclose(np.diff(d["tau"]), 1 / 12, atol=1e-12)
    np.testing.assert_allclose(d["log_price"], np.log(d["price"]))


@pytest.mark.parametrize("bad", [2019.5, "soon", 1850])
def test_check_until_refuses_non_years(bad):
    with pytest.raises(InputError, match="until"):
        data.check_until(bad)
    assert data.check_until(None) is None and data.check_until(2020.0) == 2020


def test_data_vintage_and_observed_terms():
    datas = {"learning": data.learning_data(2022), "price": data.price_data(2022), "demand": data.demand_data(2022)}
    assert data.data_vintage(datas) == {"cell_price": "2022", "iea_ev_battery_demand": "2022",
                                        "lithium_carbonate_monthly": "2022-12"}
    values, years = data.observed("learning", datas["learning"])
    np.testing.assert_allclose(values, np.diff(datas["learning"]["log_cost"]))
    assert years[0] == data.LEARNING_FIRST_YEAR + 1
    values, months = data.observed("price", datas["price"])
    assert values.size == datas["price"]["price"].size - 1 and months[0] == datas["price"]["month"][1]
    values, years = data.observed("demand", datas["demand"])
    np.testing.assert_array_equal(years, datas["demand"]["year"])
