"""Checks on the historical data shipped in mcbattery/data and its loader.

Spot values below were transcribed from the original source files listed in
mcbattery/data/SOURCES.md; they guard against silent edits or mis-parsing.
"""

from __future__ import annotations

import ast
from importlib import resources

import numpy as np
import pandas as pd
import pytest

from mcbattery.inputs import datasets as ds

DATA_DIR = resources.files("mcbattery.inputs").joinpath("data")
NAMES = ds.list_datasets()

# Columns where NaN/NA is legitimate (withheld values, one-sided bounds, timeless parameters).
NULLABLE = {
    "usgs_lithium_us_salient": {"us_production_t_li", "consumption_t_li", "consumption_t_lce"},
    "usgs_lithium_mine_production": {"production_t_li", "production_t_lce"},
    "capacity_points": {"year", "low", "high"},
}


def _csv_files() -> set[str]:
    return {p.name for p in DATA_DIR.iterdir() if p.name.endswith(".csv")}


# ------------------------------------------------------------------------ registry & loader


def test_registry_matches_files():
    files = {ds._REGISTRY[n]["file"] for n in NAMES}
    assert files == _csv_files()
    assert NAMES == sorted(NAMES) and len(NAMES) == len(set(NAMES))


def test_sources_md_documents_every_file():
    text = DATA_DIR.joinpath("SOURCES.md").read_text(encoding="utf-8")
    for f in _csv_files():
        assert f"`{f}`" in text, f"{f} not documented in SOURCES.md"


@pytest.mark.parametrize("name", NAMES)
def test_every_dataset_loads_with_metadata(name):
    df = ds.load(name)
    assert isinstance(df, pd.DataFrame) and len(df) > 0
    units = df.attrs["units"]
    assert set(units) == set(df.columns)
    assert all(isinstance(u, str) and u.strip() for u in units.values())
    for key in ("source", "description"):
        assert isinstance(df.attrs[key], str) and len(df.attrs[key]) > 20
        assert "\n" not in df.attrs["source"]


@pytest.mark.parametrize("name", NAMES)
def test_no_nan_where_not_allowed(name):
    df = ds.load(name)
    allowed = NULLABLE.get(name, set())
    bad = [c for c in df.columns if c not in allowed and df[c].isna().any()]
    assert not bad, f"{name}: unexpected missing values in {bad}"


@pytest.mark.parametrize("name", NAMES)
def test_files_are_small(name):
    size = len(DATA_DIR.joinpath(ds._REGISTRY[name]["file"]).read_bytes())
    assert size < 50_000


def test_load_returns_fresh_copies():
    a = ds.load("li_ion_cell_price")
    a.loc[0, "cell_price_usd2024_per_kwh"] = -1.0
    assert ds.load("li_ion_cell_price").loc[0, "cell_price_usd2024_per_kwh"] > 0


def test_unknown_name_lists_valid_names():
    with pytest.raises(ValueError) as exc:
        ds.load("no_such_dataset")
    for n in NAMES:
        assert n in str(exc.value)


def test_module_imports_only_pandas_numpy_and_stdlib():
    src = resources.files("mcbattery.inputs").joinpath("datasets.py").read_text(encoding="utf-8")
    roots = set()
    for node in ast.walk(ast.parse(src)):
        if isinstance(node, ast.Import):
            roots |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            roots.add(node.module.split(".")[0])
    assert roots <= {"__future__", "importlib", "numpy", "pandas"}
    assert "/work" not in src and "shared/" not in src


# ------------------------------------------------------------------------ ordering


def _strictly_increasing(s) -> bool:
    v = np.asarray(s)
    return bool(np.all(v[1:] > v[:-1]))


def test_years_monotone():
    assert _strictly_increasing(ds.load("li_ion_cell_price")["year"])
    assert _strictly_increasing(ds.load("us_cpi_u_annual")["year"])
    assert _strictly_increasing(ds.load("fx_cny_per_usd_annual")["year"])
    for _, g in ds.load("li_ion_pack_price_bnef").groupby("survey_vintage"):
        assert _strictly_increasing(g["year"])
    for _, g in ds.load("usgs_lithium_us_salient").groupby("vintage"):
        assert _strictly_increasing(g["year"])
    for _, g in ds.load("iea_ev_battery_demand").groupby(["region", "segment"]):
        assert _strictly_increasing(g["year"])
    assert np.all(np.diff(ds.load("usgs_lithium_mine_production")["year"]) >= 0)
    shares = ds.load("bev_battery_chemistry_shares")
    assert np.all(np.diff(shares["year"]) >= 0)


def test_monthly_lithium_is_consecutive_months():
    m = ds.load("lithium_carbonate_china_monthly")["month"]
    assert m.iloc[0] == pd.Timestamp("2017-05-01") and m.iloc[-1] == pd.Timestamp("2024-04-01")
    periods = m.dt.to_period("M")
    assert list(periods) == list(pd.period_range("2017-05", "2024-04", freq="M"))


def test_keys_unique():
    keys = {
        "li_ion_pack_price_bnef": ["survey_vintage", "year"],
        "usgs_lithium_us_salient": ["vintage", "year"],
        "usgs_lithium_mine_production": ["year", "country"],
        "iea_ev_battery_demand": ["year", "region", "segment", "powertrain"],
        "bev_battery_chemistry_shares": ["year", "chemistry"],
        "bev_battery_chemistry_detail": ["year", "chemistry"],
    }
    for name, k in keys.items():
        assert not ds.load(name).duplicated(k).any(), name


# ------------------------------------------------------------------------ cell & pack prices


def test_cell_price_spot_values():
    c = ds.cell_price().set_index("year")["cell_price_usd2024_per_kwh"]
    assert list(c.index) == list(range(1991, 2025))
    assert c[2024] == 78.0
    assert c[1991] == pytest.approx(9210.23)
    assert c[2015] == pytest.approx(331.94275)
    assert c[2022] == 132.0  # the 2022 uptick is real, not a typo


def test_cpi_and_fx_values():
    cpi = ds.load("us_cpi_u_annual").set_index("year")["cpi_u"]
    assert cpi[2019] == 255.657 and cpi[2021] == 270.970 and cpi[2024] == 313.689
    assert cpi[2017] == 245.120 and cpi[2022] == 292.655 and cpi[2023] == 304.702
    assert list(cpi.index) == list(range(2010, 2025))
    fx = ds.load("fx_cny_per_usd_annual").set_index("year")
    assert fx.loc[2023, "cny_per_usd"] == 7.0809 and fx.loc[2017, "cny_per_usd"] == 6.7569
    assert list(fx.index[~fx["confirmed"]]) == [2024]  # flagged, see SOURCES.md
    assert fx["cny_per_usd"].between(6.0, 7.5).all()


def test_real_2024_factor():
    f = ds.real_2024_factor([2019, 2021, 2024])
    assert f == pytest.approx([313.689 / 255.657, 313.689 / 270.970, 1.0])
    with pytest.raises(ValueError):
        ds.real_2024_factor([2005])


def test_pack_price_published_values_and_rebasing():
    p = ds.load("li_ion_pack_price_bnef")
    v19 = p[p.survey_vintage == "BNEF_2019_survey"].set_index("year")
    v21 = p[p.survey_vintage == "BNEF_2021_survey"].set_index("year")
    assert list(v19.index) == list(range(2010, 2020)) and list(v21.index) == list(range(2010, 2022))
    assert v19.loc[2019, "pack_price_usd_per_kwh"] == 156.0 and v19.loc[2010, "pack_price_usd_per_kwh"] == 1160.0
    assert v21.loc[2021, "pack_price_usd_per_kwh"] == 132.0 and v21.loc[2013, "pack_price_usd_per_kwh"] == 684.0
    assert (v19.price_basis_year == 2019).all() and (v21.price_basis_year == 2021).all()
    for v in (v19, v21):
        expected = v.pack_price_usd_per_kwh * ds.real_2024_factor(v.price_basis_year)
        assert v.pack_price_usd2024_per_kwh.to_numpy() == pytest.approx(expected.to_numpy(), abs=0.006)
    assert v21.loc[2021, "pack_price_usd2024_per_kwh"] == pytest.approx(132 * 313.689 / 270.970, abs=0.01)


def test_rebased_pack_vintages_agree_where_they_overlap():
    p = ds.pack_price("all")
    w = p.pivot(index="year", columns="survey_vintage", values="pack_price_usd2024_per_kwh").dropna()
    assert list(w.index) == list(range(2010, 2020))
    rel = (w["BNEF_2021_survey"] / w["BNEF_2019_survey"] - 1).abs()
    assert rel.max() < 0.06  # rebasing brings them within a few percent
    # the published (unrebased) numbers disagree more in level direction: 2021 vintage is higher
    raw = p.pivot(index="year", columns="survey_vintage", values="pack_price_usd_per_kwh").dropna()
    assert (raw["BNEF_2021_survey"] >= raw["BNEF_2019_survey"]).all()


def test_pack_price_helper():
    latest = ds.pack_price()
    assert _strictly_increasing(latest["year"]) and (latest.survey_vintage == "BNEF_2021_survey").all()
    assert list(latest.columns[:3]) == ["year", "pack_price_usd2024_per_kwh", "survey_vintage"]
    assert set(latest.attrs["units"]) == set(latest.columns)
    assert len(ds.pack_price("BNEF_2019_survey")) == 10
    with pytest.raises(ValueError):
        ds.pack_price("BNEF_2020_survey")


def test_cell_price_below_pack_price_recently():
    cell = ds.cell_price().set_index("year")["cell_price_usd2024_per_kwh"]
    pack = ds.pack_price().set_index("year")["pack_price_usd2024_per_kwh"]
    for y in range(2016, 2022):
        assert cell[y] < pack[y]


# ------------------------------------------------------------------------ lithium carbonate


def test_lithium_monthly_spot_values():
    m = ds.load("lithium_carbonate_china_monthly").set_index("month")
    assert m.loc["2017-05-01", "price_cny_per_t"] == 123533.3 and m.loc["2017-05-01", "n_obs"] == 15
    assert m.loc["2022-11-01", "price_cny_per_t"] == 571454.5  # peak month of series A
    assert m.loc["2024-04-01", "price_cny_per_t"] == 108653.8 and m.loc["2024-04-01", "n_obs"] == 13
    assert m["price_cny_per_t"].idxmax() == pd.Timestamp("2022-11-01")
    assert (m["n_obs"] >= 10).all()


def test_lithium_monthly_conversions_recompute():
    m = ds.load("lithium_carbonate_china_monthly")
    years = m["month"].dt.year
    fx = ds.load("fx_cny_per_usd_annual").set_index("year")["cny_per_usd"]
    cpi = ds.load("us_cpi_u_annual").set_index("year")["cpi_u"]
    assert m["fx_cny_per_usd"].to_numpy() == pytest.approx(fx.loc[years].to_numpy())
    assert m["cpi_u"].to_numpy() == pytest.approx(cpi.loc[years].to_numpy())
    usd = m.price_cny_per_t / m.fx_cny_per_usd
    assert m.price_usd_per_t.to_numpy() == pytest.approx(usd.to_numpy(), abs=0.06)
    real = usd * ds.real_2024_factor(years)
    assert m.price_usd2024_per_t.to_numpy() == pytest.approx(real.to_numpy(), abs=0.06)
    # 2022-11: 571,454.5 CNY/t / 6.7290 * 313.689 / 292.655 ~ 91,000 USD2024/t
    nov22 = m.set_index("month").loc["2022-11-01", "price_usd2024_per_t"]
    assert nov22 == pytest.approx(571454.5 / 6.7290 * 313.689 / 292.655, rel=1e-5)


def test_lithium_vat_assumption_columns():
    m = ds.load("lithium_carbonate_china_monthly").set_index("month")
    assert m.loc["2018-04-01", "vat_rate_assumed"] == 0.17
    assert m.loc["2018-05-01", "vat_rate_assumed"] == 0.16
    assert m.loc["2019-03-01", "vat_rate_assumed"] == 0.16
    assert m.loc["2019-04-01", "vat_rate_assumed"] == 0.13
    ratio = m.price_ex_vat_cny_per_t * (1 + m.vat_rate_assumed) / m.price_cny_per_t
    assert ratio.to_numpy() == pytest.approx(1.0, abs=1e-5)
    ratio = m.price_ex_vat_usd2024_per_t * (1 + m.vat_rate_assumed) / m.price_usd2024_per_t
    assert ratio.to_numpy() == pytest.approx(1.0, abs=1e-5)


def test_lithium_helper_columns():
    df = ds.lithium_carbonate_monthly()
    assert list(df.columns) == ["month", "price_cny_per_t", "price_usd_per_t", "price_usd2024_per_t"]
    assert "CNY" in df.attrs["units"]["price_cny_per_t"] and "2024" in df.attrs["units"]["price_usd2024_per_t"]
    assert "price_ex_vat_usd2024_per_t" in ds.lithium_carbonate_monthly(ex_vat=True).columns


def test_spot_and_usgs_prices_same_order_of_magnitude():
    # China spot (incl. VAT) vs USGS contract price, both Li2CO3, both nominal USD/t, annual means
    m = ds.lithium_carbonate_monthly()
    spot = m.groupby(m["month"].dt.year)["price_usd_per_t"].mean()
    sal = ds.load("usgs_lithium_us_salient")
    usgs = sal[sal.is_latest_vintage].set_index("year")["price_li2co3_usd_per_t"]
    for y in (2018, 2019, 2020, 2021, 2022, 2023):
        assert 0.3 < spot[y] / usgs[y] < 3.0, y


# ------------------------------------------------------------------------ USGS lithium


def test_usgs_salient_vintages():
    s = ds.load("usgs_lithium_us_salient")
    assert len(s) == 15 and s.us_production_withheld.all() and s.us_production_t_li.isna().all()
    latest = s[s.is_latest_vintage].set_index("year")
    assert list(latest.index) == list(range(2017, 2024))
    assert latest.vintage.to_dict() == {
        2017: "MCS2022", 2018: "MCS2023", 2019: "MCS2024", 2020: "MCS2024",
        2021: "MCS2024", 2022: "MCS2024", 2023: "MCS2024",
    }
    assert latest.loc[2022, "price_li2co3_usd_per_t"] == 68100
    assert latest.loc[2023, "price_li2co3_usd_per_t"] == 46000
    old = s[(s.vintage == "MCS2023") & (s.year == 2022)].iloc[0]
    assert old.price_li2co3_usd_per_t == 37000  # definition change between vintages
    assert latest.loc[2023, "imports_t_li"] == 3400
    assert latest.imports_t_lce.to_numpy() == pytest.approx(latest.imports_t_li.to_numpy() * 5.323, abs=0.5)
    ok = s.consumption_withheld == s.consumption_t_li.isna()
    assert ok.all()


def test_world_mine_production_matches_usgs_totals():
    w = ds.lithium_mine_production().set_index("year")
    expected = {2020: 82_500, 2021: 107_000, 2022: 146_000, 2023: 180_000, 2024: 222_000, 2025: 290_000}
    assert w["production_t_li"].to_dict() == {k: float(v) for k, v in expected.items()}
    assert w.vintage.to_dict() == {2020: "MCS2022", 2021: "MCS2023", 2022: "MCS2024", 2023: "MCS2024",
                                   2024: "MCS2026", 2025: "MCS2026"}
    assert w.loc[2023, "estimated"] and w.loc[2025, "estimated"] and not w.loc[2024, "estimated"]
    assert w.production_t_lce.to_numpy() == pytest.approx(w.production_t_li.to_numpy() * ds.LCE_PER_LI, abs=0.5)
    assert ds.LCE_PER_LI == pytest.approx(73.89 / (2 * 6.94), abs=5e-4)


def test_country_rows_sum_to_world_total():
    c = ds.lithium_mine_production(by="country")
    world = c[c.country.str.startswith("World total")].set_index("year")["production_t_li"]
    parts = c[~c.country.str.startswith("World total")].groupby("year")["production_t_li"].sum()
    assert ((parts / world - 1).abs() < 0.05).all()  # totals are rounded
    us = c[c.country == "United States"]
    assert us.withheld.all() and us.production_t_li.isna().all()
    spot = c.set_index(["year", "country"])["production_t_li"]
    assert spot[(2024, "Australia")] == 82_700 and spot[(2024, "Zimbabwe")] == 20_000
    assert spot[(2022, "China")] == 22_600 and spot[(2023, "Chile")] == 44_000


# ------------------------------------------------------------------------ IEA demand


def test_iea_demand_spot_values():
    d = ds.load("iea_ev_battery_demand").set_index(["region", "segment", "year"])["gwh"]
    assert d[("World", "Cars", 2024)] == 840
    assert d[("World", "Cars", 2021)] == 290
    assert d[("World", "Trucks", 2024)] == 24
    assert d[("World", "2 and 3 wheelers", 2024)] == 32
    assert d[("World", "Vans", 2024)] == 42 and d[("World", "Buses", 2024)] == 15
    assert set(ds.load("iea_ev_battery_demand")["powertrain"]) == {"EV"}


def test_iea_regions_partition_world():
    total = ds.battery_demand(by="total").set_index("year")["gwh"]
    assert total[2024] == pytest.approx(953.0) and total[2010] == pytest.approx(0.6116)
    regions = ds.battery_demand(by="region")
    assert set(regions.region) == {"China", "Europe", "USA", "India", "Rest of the world"}
    summed = regions.groupby("year")["gwh"].sum()
    assert ((summed / total - 1).abs() < 0.03).all()  # 2-significant-figure rounding only
    assert list(total.index) == list(range(2010, 2025))


def test_battery_demand_helper():
    seg = ds.battery_demand("World", by="segment")
    assert list(seg.columns) == ["year", "segment", "gwh"] and seg.attrs["units"]["gwh"] == "GWh/yr"
    tot = seg.groupby("year")["gwh"].sum()
    assert tot.to_numpy() == pytest.approx(ds.battery_demand(by="total")["gwh"].to_numpy())
    china = ds.battery_demand("China", by="total").set_index("year")["gwh"]
    assert china[2024] == pytest.approx(568.6)
    with pytest.raises(ValueError):
        ds.battery_demand("Mars")
    with pytest.raises(ValueError):
        ds.battery_demand("China", by="region")
    with pytest.raises(ValueError):
        ds.battery_demand(by="chemistry")


# ------------------------------------------------------------------------ chemistry


def test_chemistry_shares():
    s = ds.chemistry_shares()
    assert set(s.chemistry) == {"LFP", "NMC", "NCA", "LMO", "other"}
    assert list(s.year.unique()) == list(range(2015, 2025))
    assert s.groupby("year")["share"].sum().to_numpy() == pytest.approx(1.0, abs=1e-5)
    assert (s.loc[s.chemistry == "other", "gwh"] == 0).all()
    tot = s.groupby("year")["gwh"].sum()
    assert tot[2024] == pytest.approx(715.589, abs=0.01)  # Busch et al. World 2024 (BEV only)
    assert tot[2015] == pytest.approx(11.0719, abs=0.001)
    lfp = s[s.chemistry == "LFP"].set_index("year")["share"]
    assert lfp[2024] > lfp[2019] and 0.3 < lfp[2024] < 0.7


def test_chemistry_groups_agree_with_detail():
    det = ds.load("bev_battery_chemistry_detail")
    assert set(det.loc[det.chemistry_group == "NMC", "chemistry"]) == {
        "NMC 111", "NMC 532", "NMC 622", "NMC 721", "NMC 811", "NMCA 89:4:4:3"}
    g = det.groupby(["year", "chemistry_group"])["mwh"].sum() / 1000
    s = ds.chemistry_shares().set_index(["year", "chemistry"])["gwh"]
    for key, v in g.items():
        assert s[key] == pytest.approx(v, abs=1e-3)
    d15 = det.set_index(["year", "chemistry"])["mwh"]
    assert d15[(2015, "LFP")] == pytest.approx(880.2223, abs=1e-3)


# ------------------------------------------------------------------------ capacity points


def test_capacity_points_structure():
    cp = ds.capacity_points()
    assert len(cp) > 150
    assert set(cp.stage) <= {"mining", "refining", "materials", "midstream", "cells", "packs",
                             "recycling", "demand", "vehicles", "trade", "policy"}
    assert cp.locator.str.match(r"^(00[0-3] |DER from 00[0-3] )").all()
    lo_ok = cp.low.isna() | (cp.low <= cp.value)
    hi_ok = cp.high.isna() | (cp.value <= cp.high)
    assert lo_ok.all() and hi_ok.all()
    assert cp.unit.str.len().gt(0).all() and cp.quantity.str.len().gt(0).all()
    assert cp.note.str.contains("GARBLED").sum() >= 10
    assert cp.note.str.contains("DER").sum() >= 10
    assert not cp.duplicated(["year", "region", "stage", "quantity", "locator"]).any()


def test_capacity_points_spot_values():
    cp = ds.capacity_points()

    def one(**kw):
        sel = cp
        for k, v in kw.items():
            sel = sel[sel[k] == v]
        assert len(sel) == 1, kw
        return sel.iloc[0]

    util = one(year=2017, region="CN", quantity="capacity utilisation")
    assert util.value == 40 and util.unit == "%"
    cn30 = one(year=2030, region="CN", quantity="cell manufacturing capacity")
    assert (cn30.value, cn30.low, cn30.high) == (5862, 5862, 6720)
    scrap = one(quantity="scrap rate during ramp-up, newcomer plants")
    assert (scrap.low, scrap.high) == (40, 90)
    assert one(year=2013, quantity="Li-ion pack price").value == 827
    assert one(year=2025, quantity="Li-ion pack price").value == 108
    assert one(year=2020, quantity="global cell manufacturing capacity").value == 734
    assert one(year=2019, region="CN", quantity="average pack price").value == 147
    lfp = one(year=2025, region="CN", quantity="domestic cell price, LFP")
    assert (lfp.low, lfp.high) == (46, 53)
    mine = one(quantity="lead time, new lithium mine")
    assert (mine.low, mine.high) == (5, 8) and pd.isna(mine.year)
    assert "GARBLED" in one(year=2020, region="CN", quantity="lithium mine production").note


def test_capacity_points_filters():
    cells = ds.capacity_points(stage="cells", region="CN")
    assert len(cells) > 20 and set(cells.stage) == {"cells"} and set(cells.region) == {"CN"}
    assert set(cells.attrs["units"]) == set(cells.columns)
    with pytest.raises(ValueError):
        ds.capacity_points(stage="smelting")
