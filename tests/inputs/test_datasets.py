"""Checks on the historical data shipped in mcbattery/inputs/data and its loader.

Spot values below were transcribed from the original source files listed in
mcbattery/inputs/data/SOURCES.md; they guard against silent edits or mis-parsing.
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
    "usgs_metal_prices_annual": {"cpi_u", "value_usd2024"},  # the statistic with an unstated price basis
    "usgs_world_mine_production": {"value", "production_t_lce"},  # withheld; LCE for lithium only
    "mineral_intensity_batpac": {"kg_lce_per_kwh_pack"},  # lithium rows only
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
def test_sources_md_section_documents_every_column(name):
    text = DATA_DIR.joinpath("SOURCES.md").read_text(encoding="utf-8")
    start = text.index(f"## `{ds._REGISTRY[name]['file']}` (dataset `{name}`)")
    end = text.find("\n## ", start + 3)
    section = text[start:end if end > 0 else None]
    missing = [c for c in ds._REGISTRY[name]["units"] if f"`{c}`" not in section]
    assert not missing, f"{name}: columns not documented in its SOURCES.md section: {missing}"
    assert "/work" not in section and "build.py" not in section


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
    assert _strictly_increasing(ds.load("usgs_lithium_world_production_ds140")["year"])
    for _, g in ds.load("usgs_metal_prices_annual").groupby(["statistic", "vintage"]):
        assert _strictly_increasing(g["year"])


@pytest.mark.parametrize("name, first, last", [
    ("nickel_price_monthly", "1990-01", "2025-11"),
    ("cobalt_price_monthly", "1990-01", "2024-05"),
])
def test_monthly_metal_prices_are_consecutive_months(name, first, last):
    m = ds.load(name)["month"]
    assert list(m.dt.to_period("M")) == list(pd.period_range(first, last, freq="M"))


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
        "usgs_metal_prices_annual": ["statistic", "vintage", "year"],
        "usgs_world_mine_production": ["commodity", "vintage", "year", "country"],
        "mineral_intensity_batpac": ["dataset", "chemistry", "mineral"],
        "us_cpi_u_annual": ["year"],
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
    assert list(cpi.index) == list(range(1990, 2026))
    fx = ds.load("fx_cny_per_usd_annual").set_index("year")
    assert fx.loc[2023, "cny_per_usd"] == 7.0809 and fx.loc[2017, "cny_per_usd"] == 6.7569
    assert list(fx.index[~fx["confirmed"]]) == [2024]  # flagged, see SOURCES.md
    assert fx["cny_per_usd"].between(6.0, 7.5).all()


def test_real_2024_factor():
    f = ds.real_2024_factor([2019, 2021, 2024])
    assert f == pytest.approx([313.689 / 255.657, 313.689 / 270.970, 1.0])
    assert ds.real_2024_factor([1990, 2025]) == pytest.approx([313.689 / 130.7, 313.689 / 321.943])
    for year in (1989, 2026):
        with pytest.raises(ValueError):
            ds.real_2024_factor([year])


def test_pack_price_published_values_and_rebasing():
    p = ds.load("li_ion_pack_price_bnef")
    v19 = p[p.survey_vintage == "BNEF_2019_survey"].set_index("year")
    v21 = p[p.survey_vintage == "BNEF_2021_survey"].set_index("year")
    assert list(v19.index) == list(range(2010, 2020)) and list(v21.index) == list(range(2010, 2022))
    assert v19.loc[2019, "pack_price_usd_per_kwh"] == 156.0 and v19.loc[2010, "pack_price_usd_per_kwh"] == 1160.0
    assert v21.loc[2021, "pack_price_usd_per_kwh"] == 132.0 and v21.loc[2013, "pack_price_usd_per_kwh"] == 684.0
    assert (v19.price_basis_year == 2019).all() and (v21.price_basis_year == 2021).all()
    expected = p.pack_price_usd_per_kwh * ds.real_2024_factor(p.price_basis_year)
    assert p.pack_price_usd2024_per_kwh.to_numpy() == pytest.approx(expected.to_numpy(), abs=0.006)
    assert p.cpi_factor_to_2024.to_numpy() == pytest.approx(ds.real_2024_factor(p.price_basis_year), abs=6e-7)
    assert v21.loc[2021, "pack_price_usd2024_per_kwh"] == pytest.approx(132 * 313.689 / 270.970, abs=0.01)


def test_rebased_pack_vintages_agree_where_they_overlap():
    p = ds.pack_price("all")
    p = p[p.survey_vintage.isin(["BNEF_2019_survey", "BNEF_2021_survey"])]
    w = p.pivot(index="year", columns="survey_vintage", values="pack_price_usd2024_per_kwh").dropna()
    assert list(w.index) == list(range(2010, 2020))
    rel = (w["BNEF_2021_survey"] / w["BNEF_2019_survey"] - 1).abs()
    assert rel.max() < 0.06  # rebasing brings them within a few percent
    # the published (unrebased) numbers disagree more in level direction: 2021 vintage is higher
    raw = p.pivot(index="year", columns="survey_vintage", values="pack_price_usd_per_kwh").dropna()
    assert (raw["BNEF_2021_survey"] >= raw["BNEF_2019_survey"]).all()


def test_pack_price_helper():
    latest = ds.pack_price()
    assert _strictly_increasing(latest["year"]) and list(latest["year"]) == list(range(2010, 2026))
    vint = latest.set_index("year")["survey_vintage"]
    assert (vint[vint.index <= 2021] == "BNEF_2021_survey").all()
    assert all(vint[y] == f"BNEF_{y}_survey" for y in range(2022, 2026))
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


# ------------------------------------------------------------------------ CPI extension 1990-2025


def test_cpi_extension_values_and_sources():
    c = ds.load("us_cpi_u_annual").set_index("year")
    cpi = c["cpi_u"]
    # BLS "Annual Avg." column of the 2014-02-20 CPI-U table (cpiai.txt) and the BLS 2025 annual average
    assert cpi[1990] == 130.7 and cpi[1995] == 152.4 and cpi[2000] == 172.2 and cpi[2006] == 201.6
    assert cpi[2007] == 207.342 and cpi[2008] == 215.303 and cpi[2009] == 214.537
    assert cpi[2025] == 321.943
    assert c["confirmed"].all()
    src = c["source"]
    assert (src.loc[1990:2009] == "bls_cpiai_2014").all()
    assert (src.loc[2010:2024] == "bls_transcribed").all()
    assert src[2025] == "bls_regional_table_2026"
    # one decimal to 2006, three from 2007 (as BLS publishes them)
    assert (cpi.loc[1990:2006] == cpi.loc[1990:2006].round(1)).all()
    assert (cpi == cpi.round(3)).all()
    # 2024 -> 2025: BLS gives +2.6% (annual average to annual average)
    assert round(100 * (cpi[2025] / cpi[2024] - 1), 1) == 2.6
    assert (cpi.diff().dropna() > 0).sum() == len(cpi) - 2  # the only fall is 2009


def test_cpi_annual_averages_match_the_bls_monthly_indexes():
    # monthly indexes of the same BLS table (CUUR0000SA0), copied as printed
    months = {
        1990: [127.4, 128.0, 128.7, 128.9, 129.2, 129.9, 130.4, 131.6, 132.7, 133.5, 133.8, 133.8],
        2005: [190.7, 191.8, 193.3, 194.6, 194.4, 194.5, 195.4, 196.4, 198.8, 199.2, 197.6, 196.8],
        2008: [211.080, 211.693, 213.528, 214.823, 216.632, 218.815, 219.964, 219.086, 218.783, 216.573,
               212.425, 210.228],
        2009: [211.143, 212.193, 212.709, 213.240, 213.856, 215.693, 215.351, 215.834, 215.969, 216.177,
               216.330, 215.949],
    }
    cpi = ds.load("us_cpi_u_annual").set_index("year")["cpi_u"]
    for year, values in months.items():
        tol = 0.05 if year < 2007 else 0.0005
        assert cpi[year] == pytest.approx(np.mean(values), abs=tol), year
    # the table's "Avg-Avg" percent change column
    assert round(100 * (cpi[2009] / cpi[2008] - 1), 1) == -0.4
    assert round(100 * (cpi[1991] / cpi[1990] - 1), 1) == 4.2


# ------------------------------------------------------------------------ pack prices 2022-2025


def test_pack_price_survey_headlines_2022_2025():
    p = ds.load("li_ion_pack_price_bnef")
    new = p[p.survey_vintage.isin([f"BNEF_{y}_survey" for y in range(2022, 2026)])].set_index("year")
    assert list(new.index) == [2022, 2023, 2024, 2025]
    assert new["pack_price_usd_per_kwh"].to_dict() == {2022: 151.0, 2023: 139.0, 2024: 115.0, 2025: 108.0}
    assert (new["price_basis_year"] == new.index).all()
    assert new.loc[2022, "pack_price_usd2024_per_kwh"] == pytest.approx(151 * 313.689 / 292.655, abs=0.006)
    assert new.loc[2025, "pack_price_usd2024_per_kwh"] == pytest.approx(108 * 313.689 / 321.943, abs=0.006)
    assert new.loc[2024, "pack_price_usd2024_per_kwh"] == 115.0
    # the 2022 release's "7% rise in real terms" against the 2021 survey's 132 (rebased to 2022 USD)
    v21_in_2022_usd = 132 * 292.655 / 270.970
    assert 151 / v21_in_2022_usd - 1 == pytest.approx(0.07, abs=0.015)
    # the 2025 headline equals the "today" pack price of source 003 in capacity_points
    cp = ds.capacity_points()
    today = cp[(cp.quantity == "Li-ion pack price") & (cp.year == 2025)]
    assert today["value"].tolist() == [108]


# ------------------------------------------------------------------------ nickel & cobalt monthly


def _deflation_recomputes(df, nominal, real):
    years = df["month"].dt.year
    cpi = ds.load("us_cpi_u_annual").set_index("year")["cpi_u"]
    assert df["cpi_u"].to_numpy() == pytest.approx(cpi.loc[years].to_numpy())
    expected = df[nominal] * 313.689 / df["cpi_u"]
    assert df[real].to_numpy() == pytest.approx(expected.to_numpy(), abs=0.051)
    assert (df[real] == df[real].round(1)).all()


def test_nickel_monthly_values_and_deflation():
    n = ds.load("nickel_price_monthly")
    _deflation_recomputes(n, "nickel_usd_per_t", "nickel_usd2024_per_t")
    s = n.set_index("month")["nickel_usd_per_t"]
    # World Bank Pink Sheet "Nickel ($/mt)" as in the raw extract
    assert s["1990-01-01"] == 7055.9 and s["2007-05-01"] == 52179.048
    assert s["2022-03-01"] == 33924.18 and s["2025-11-01"] == 14670.77
    assert s.idxmax() == pd.Timestamp("2007-05-01")
    r = n.set_index("month")["nickel_usd2024_per_t"]
    assert r["2022-03-01"] == 36362.4 and r["2010-01-01"] == 26526.2


def test_cobalt_monthly_values_and_deflation():
    c = ds.load("cobalt_price_monthly")
    _deflation_recomputes(c, "cobalt_usd_per_t", "cobalt_usd2024_per_t")
    s = c.set_index("month")["cobalt_usd_per_t"]
    # IMF PCPS cobalt as in the raw extract
    assert s["1990-01-01"] == 7630.0001 and s["2018-03-01"] == 87614.9048
    assert s["2024-01-01"] == 28691.4239 and s["2024-05-01"] == 27440.2391
    assert c.set_index("month").loc["2018-03-01", "cobalt_usd2024_per_t"] == 109450.7


def test_monthly_means_agree_with_usgs_lme_annual_averages():
    lme = ds.load("usgs_metal_prices_annual")
    lme = lme[lme.is_latest_vintage & ~lme.estimated]
    for material, stat, tol in (("nickel", "nickel_lme_cash", 0.005), ("cobalt", "cobalt_lme_cash", 0.012)):
        annual = ds.metal_price(material, "year").set_index("year")["price_usd_per_t"]
        usgs = lme[lme.statistic == stat].set_index("year")["value"]
        years = [y for y in usgs.index if y in annual.index]
        assert len(years) >= 6, material
        rel = (annual[years] / usgs[years] - 1).abs()
        assert (rel < tol).all(), (material, rel.to_dict())


# ------------------------------------------------------------------------ USGS annual prices


def test_usgs_prices_conversions_recompute():
    px = ds.load("usgs_metal_prices_annual")
    assert px["value"].to_numpy() == pytest.approx((px.value_published * px.conversion_factor).round(1).to_numpy())
    lb = px.unit_published == "USD/lb"
    assert (px.loc[lb, "conversion_factor"] == 2204.62).all() and set(px.loc[lb, "commodity"]) == {"cobalt"}
    assert (px.loc[px.unit_published == "USD/mtu", "conversion_factor"] == 100).all()
    nominal = px.price_basis == "nominal"
    cpi = ds.load("us_cpi_u_annual").set_index("year")["cpi_u"]
    assert px.loc[nominal, "cpi_u"].to_numpy() == pytest.approx(cpi.loc[px.loc[nominal, "year"]].to_numpy())
    real = px.loc[nominal, "value"] * 313.689 / px.loc[nominal, "cpi_u"]
    assert px.loc[nominal, "value_usd2024"].to_numpy() == pytest.approx(real.to_numpy(), abs=0.051)
    assert px.loc[~nominal, "value_usd2024"].isna().all() and px.loc[~nominal, "cpi_u"].isna().all()
    assert set(px.loc[~nominal, "statistic"]) == {"li2co3_battery_grade_benchmark"}


def test_usgs_prices_latest_vintage_flag():
    px = ds.load("usgs_metal_prices_annual")
    latest = px.groupby(["statistic", "year"])["vintage"].transform("max")
    assert (px.is_latest_vintage == (px.vintage == latest)).all()
    assert not px[px.is_latest_vintage].duplicated(["statistic", "year"]).any()
    assert px[px.year == 2025].estimated.all()


def test_usgs_prices_spot_values_from_the_raw_extract():
    px = ds.load("usgs_metal_prices_annual").set_index(["statistic", "vintage", "year"])
    pub = px["value_published"]
    assert pub[("cobalt_lme_cash", "MCS2026", 2024)] == 11.84
    assert px.loc[("cobalt_lme_cash", "MCS2026", 2024), "value"] == 26102.7
    assert pub[("cobalt_lme_cash", "MCS2022", 2021)] == 22.0 and pub[("cobalt_lme_cash", "MCS2023", 2021)] == 23.17
    assert pub[("cobalt_us_spot_cathode", "MCS2022", 2018)] == 37.43
    assert pub[("nickel_lme_cash", "MCS2024", 2023)] == 22000 and pub[("nickel_lme_cash", "MCS2026", 2023)] == 21495
    assert pub[("nickel_lme_cash", "MCS2026", 2024)] == 16812
    assert pub[("graphite_flake_import_unit_value", "MCS2022", 2020)] == 1540
    assert pub[("graphite_flake_import_unit_value", "MCS2023", 2020)] == 1340
    assert pub[("graphite_flake_import_unit_value", "MCS2026", 2024)] == 1050
    assert pub[("manganese_ore_cif_china", "MCS2024", 2022)] == 5.97
    assert px.loc[("manganese_ore_cif_china", "MCS2024", 2022), "value"] == 597.0
    assert pub[("li2co3_battery_grade_benchmark", "MCS2026", 2022)] == 63700


def test_usgs_lithium_contract_prices_repeat_the_salient_file():
    px = ds.load("usgs_metal_prices_annual")
    li = px[px.statistic == "li2co3_battery_grade_contract"].set_index(["vintage", "year"])["value"]
    sal = ds.load("usgs_lithium_us_salient").set_index(["vintage", "year"])["price_li2co3_usd_per_t"]
    assert len(li) == len(sal) == 15
    assert li.sort_index().to_numpy() == pytest.approx(sal.sort_index().to_numpy())


# ------------------------------------------------------------------------ USGS mine production


def test_world_mine_production_structure():
    mp = ds.load("usgs_world_mine_production")
    world = mp[mp.country == "World total"]
    assert not world.duplicated(["commodity", "vintage", "year"]).any()
    assert len(world.groupby(["commodity", "vintage", "year"])) == len(mp.groupby(["commodity", "vintage", "year"]))
    parts = mp[mp.country != "World total"].groupby(["commodity", "vintage", "year"])["value"].sum()
    ratio = parts / world.set_index(["commodity", "vintage", "year"])["value"]
    assert ratio.between(0.95, 1.05).all()  # world totals are rounded
    latest = mp.groupby(["commodity", "year"])["vintage"].transform("max")
    assert (mp.is_latest_vintage == (mp.vintage == latest)).all()
    assert (mp.estimated | ~mp.estimated_column).all()  # estimated includes the column flag
    assert (mp.withheld == mp.value.isna()).all()
    assert set(mp.loc[mp.withheld, "country"]) == {"United States"}
    li = mp.commodity == "lithium"
    assert mp.loc[li, "production_t_lce"].to_numpy() == pytest.approx(
        (mp.loc[li, "value"] * ds.LCE_PER_LI).round(0).to_numpy(), nan_ok=True)
    assert mp.loc[~li, "production_t_lce"].isna().all()
    assert dict(mp.groupby("commodity")["unit"].first()) == {
        "cobalt": "t Co", "graphite": "t natural graphite (product weight)", "lithium": "t Li",
        "manganese": "kt Mn", "nickel": "t Ni"}


def test_world_mine_production_spot_values_from_the_raw_extract():
    mp = ds.load("usgs_world_mine_production").set_index(["commodity", "vintage", "year", "country"])["value"]
    assert mp[("cobalt", "MCS2026", 2024, "Congo (Kinshasa)")] == 226000
    assert mp[("cobalt", "MCS2026", 2024, "World total")] == 302000
    assert mp[("cobalt", "MCS2024", 2022, "Congo (Kinshasa)")] == 144000
    assert mp[("nickel", "MCS2026", 2024, "Indonesia")] == 2310000
    assert mp[("nickel", "MCS2026", 2024, "World total")] == 3710000
    assert mp[("nickel", "MCS2022", 2020, "New Caledonia")] == 200000
    assert mp[("graphite", "MCS2023", 2022, "China")] == 850000  # revised up a year later:
    assert mp[("graphite", "MCS2024", 2022, "China")] == 1210000
    assert mp[("graphite", "MCS2026", 2024, "China")] == 1270000
    assert mp[("graphite", "MCS2026", 2024, "World total")] == 1550000
    assert mp[("manganese", "MCS2024", 2023, "World total")] == 20000
    assert mp[("manganese", "MCS2024", 2023, "South Africa")] == 7200


def test_world_mine_production_lithium_repeats_the_shipped_lithium_file():
    mp = ds.load("usgs_world_mine_production")
    li = mp[(mp.commodity == "lithium") & mp.is_latest_vintage].copy()
    li["country"] = li["country"].replace({"World total": "World total (excl. United States)"})
    sh = ds.load("usgs_lithium_mine_production")
    j = li.merge(sh, on=["year", "country"], suffixes=("", "_sh"))
    assert len(j) == len(li) == len(sh)
    assert (j.vintage == j.vintage_sh).all()
    assert j.value.to_numpy() == pytest.approx(j.production_t_li.to_numpy(), nan_ok=True)
    assert j.production_t_lce.to_numpy() == pytest.approx(j.production_t_lce_sh.to_numpy(), nan_ok=True)
    assert (j.estimated_column == j.estimated_sh).all()


def test_ds140_lithium_world_production():
    d = ds.load("usgs_lithium_world_production_ds140").set_index("year")
    assert list(d.index) == list(range(2000, 2022))
    assert d.world_production_t_lce.to_numpy() == pytest.approx(
        (d.world_production_t_li * ds.LCE_PER_LI).round(0).to_numpy())
    assert ((d.world_production_t_lce / d.world_production_t_lce_usgs - 1).abs() < 0.005).all()
    # USGS DS140 as in the raw extract
    assert tuple(d.loc[2010, ["world_production_t_li", "world_production_t_lce_usgs",
                              "world_production_gross_weight_t"]]) == (24400, 130000, 475000)
    assert tuple(d.loc[2021, ["world_production_t_li", "world_production_t_lce_usgs",
                              "world_production_gross_weight_t"]]) == (107000, 569000, 2400000)
    assert d.loc[2000, "world_production_t_li"] == 14100
    # 2021 equals the MCS2023 world total; 2020 was revised from 82,700 to 82,500 in MCS2022
    w = ds.mine_production("lithium").set_index("year")["production_t"]
    assert d.loc[2021, "world_production_t_li"] == w[2021] and d.loc[2020, "world_production_t_li"] == 82700


# ------------------------------------------------------------------------ mineral intensity


def test_mineral_intensity_values_from_the_raw_extract():
    it = ds.load("mineral_intensity_batpac").set_index(["dataset", "chemistry", "mineral"])["kg_per_kwh_pack"]
    assert it[("ETM_2025", "NMC 811", "nickel")] == 0.6078222417358392
    assert it[("ETM_2025", "NMC 811", "cobalt")] == 0.07626248659830735
    assert it[("ETM_2025", "NMC 811", "lithium")] == 0.09224362690355858
    assert it[("ETM_2025", "NMC 811", "graphite")] == 0.8538927592672306
    assert it[("ETM_2025", "SIB", "manganese")] == 0.3220025185294944
    assert it[("LithiumSupply_2024", "NMC 811", "nickel")] == 0.6583745077921409
    assert round(it[("ETM_2025", "LFP", "graphite")], 6) == 0.955398
    assert round(it[("ETM_2025", "NCA", "cobalt")], 6) == 0.123392
    assert round(it[("LithiumSupply_2024", "NMC 811", "lithium")], 3) == 0.100
    # NMC 811 Ni/Co mass ratio vs the stoichiometric 0.8 M(Ni) / (0.1 M(Co))
    ratio = it[("ETM_2025", "NMC 811", "nickel")] / it[("ETM_2025", "NMC 811", "cobalt")]
    assert ratio == pytest.approx(0.8 * 58.69 / (0.1 * 58.93), abs=0.01)


def test_mineral_intensity_structure_and_lce():
    it = ds.load("mineral_intensity_batpac")
    assert it.groupby("dataset").size().to_dict() == {"ETM_2025": 95, "LithiumSupply_2024": 49}
    li = it.mineral == "lithium"
    assert it.loc[li, "kg_lce_per_kwh_pack"].to_numpy() == pytest.approx(
        (it.loc[li, "kg_per_kwh_pack"] * ds.LCE_PER_LI).round(6).to_numpy())
    assert it.loc[~li, "kg_lce_per_kwh_pack"].isna().all()
    assert (it.kg_per_kwh_pack >= 0).all()
    k = it.set_index(["dataset", "chemistry", "mineral"])["kg_per_kwh_pack"]
    assert ("LithiumSupply_2024", "SIB", "graphite") not in k.index  # absent, not zero
    # the 2025 vintage is 2-9% below the earlier one wherever both are non-zero (SIB Mn is identical)
    both = k.unstack("dataset").dropna()
    both = both[(both > 0).all(axis=1)].drop(index=("SIB", "manganese"))
    r = both["ETM_2025"] / both["LithiumSupply_2024"]
    assert r.between(0.91, 0.98).all()
    assert k[("ETM_2025", "SIB", "manganese")] == k[("LithiumSupply_2024", "SIB", "manganese")]


# ------------------------------------------------------------------------ market helpers


def test_metal_price_monthly():
    li = ds.metal_price("lithium")
    ref = ds.lithium_carbonate_monthly()
    assert list(li.columns) == ["month", "price_usd2024_per_t", "price_usd_per_t"]
    assert li.price_usd2024_per_t.to_numpy() == pytest.approx(ref.price_usd2024_per_t.to_numpy())
    assert "Li2CO3" in li.attrs["units"]["price_usd2024_per_t"] and "2024" in li.attrs["units"]["price_usd2024_per_t"]
    ni = ds.metal_price("nickel")
    assert len(ni) == 431 and ni.month.iloc[-1] == pd.Timestamp("2025-11-01")
    assert "t Ni" in ni.attrs["units"]["price_usd_per_t"]
    co = ds.metal_price("cobalt", real=False)
    assert list(co.columns) == ["month", "price_usd_per_t", "price_usd2024_per_t"]
    assert set(co.attrs["units"]) == set(co.columns) and "t Co" in co.attrs["units"]["price_usd_per_t"]
    for bad in (dict(material="graphite"), dict(material="nickel", freq="day")):
        with pytest.raises(ValueError):
            ds.metal_price(**bad)


def test_metal_price_annual_means_and_incomplete_years():
    ni = ds.metal_price("nickel", "year").set_index("year")
    assert list(ni.index) == list(range(1990, 2025)) and ni.complete_year.all() and (ni.n_months == 12).all()
    monthly = ds.load("nickel_price_monthly")
    m24 = monthly[monthly.month.dt.year == 2024]
    assert ni.loc[2024, "price_usd_per_t"] == pytest.approx(m24.nickel_usd_per_t.mean())
    assert ni.loc[2024, "price_usd2024_per_t"] == pytest.approx(m24.nickel_usd2024_per_t.mean())
    # real annual mean = nominal annual mean x CPI factor (annual-average deflation)
    assert ni.loc[2010, "price_usd2024_per_t"] == pytest.approx(
        ni.loc[2010, "price_usd_per_t"] * 313.689 / 218.056, rel=1e-5)
    part = ds.metal_price("nickel", "year", partial_years=True).set_index("year")
    assert part.loc[2025, "n_months"] == 11 and not part.loc[2025, "complete_year"]
    co = ds.metal_price("cobalt", "year", partial_years=True).set_index("year")
    assert co.loc[2024, "n_months"] == 5 and 2024 not in ds.metal_price("cobalt", "year")["year"].tolist()
    li = ds.metal_price("lithium", "year", partial_years=True).set_index("year")
    assert li.n_months.to_dict() == {2017: 8, 2018: 12, 2019: 12, 2020: 12, 2021: 12, 2022: 12, 2023: 12, 2024: 4}
    assert list(ds.metal_price("lithium", "year")["year"]) == list(range(2018, 2024))
    fresh = ds.metal_price("nickel", "year", partial_years=True)
    assert set(fresh.attrs["units"]) == set(fresh.columns)


def test_usgs_annual_price_helper():
    co = ds.usgs_annual_price("cobalt").set_index("year")
    assert list(co.index) == list(range(2017, 2026))
    assert co.loc[2024, "price_usd_per_t"] == 26102.7 and co.loc[2024, "vintage"] == "MCS2026"
    assert co.loc[2025, "estimated"] and co.loc[2025, "price_usd2024_per_t"] == pytest.approx(
        33069.3 * 313.689 / 321.943, abs=0.051)
    assert co.attrs["units"]["price_usd2024_per_t"] == "USD2024/t Co (real)"
    ni = ds.usgs_annual_price("nickel").set_index("year")
    assert ni.loc[2023, "price_usd_per_t"] == 21495 and ni.loc[2023, "vintage"] == "MCS2026"
    gr = ds.usgs_annual_price("graphite").set_index("year")
    assert gr.loc[2024, "price_usd_per_t"] == 1050 and gr.loc[2020, "price_usd_per_t"] == 1340
    li = ds.usgs_annual_price("lithium").set_index("year")
    assert li.loc[2022, "price_usd_per_t"] == 68100 and list(li.index) == list(range(2017, 2024))
    bench = ds.usgs_annual_price("lithium", "li2co3_battery_grade_benchmark")
    assert bench.price_usd2024_per_t.isna().all() and (bench.price_basis == "real_base_year_unstated").all()
    assert ds.usgs_annual_price("manganese").set_index("year").loc[2022, "price_usd_per_t"] == 597.0
    with pytest.raises(ValueError):
        ds.usgs_annual_price("cobalt", "nickel_lme_cash")
    with pytest.raises(ValueError):
        ds.usgs_annual_price("sodium")


def test_mine_production_helper():
    li = ds.mine_production("lithium")
    assert list(li.columns) == ["year", "production_t", "production_t_lce", "vintage", "estimated"]
    ref = ds.lithium_mine_production()
    assert li.production_t.to_numpy() == pytest.approx(ref.production_t_li.to_numpy())
    assert li.production_t_lce.to_numpy() == pytest.approx(ref.production_t_lce.to_numpy())
    gr = ds.mine_production("graphite").set_index("year")
    assert gr.loc[2024, "production_t"] == 1550000 and "product" in gr.attrs["units"]["production_t"]
    assert "production_t_lce" not in gr.columns
    mn = ds.mine_production("manganese").set_index("year")
    assert list(mn.index) == [2020, 2021, 2022, 2023] and mn.loc[2023, "production_t"] == 20000 * 1000
    co = ds.mine_production("cobalt", by="country")
    assert co.groupby("year")["vintage"].nunique().eq(1).all()  # editions never mixed within a year
    y24 = co[co.year == 2024]
    assert y24.country.iloc[-1] == "World total" and y24.country.iloc[-2] == "Other countries"
    assert y24.set_index("country").loc["Congo (Kinshasa)", "production_t"] == 226000
    assert set(co.attrs["units"]) == set(co.columns)
    with pytest.raises(ValueError):
        ds.mine_production("sodium")
    with pytest.raises(ValueError):
        ds.mine_production("nickel", by="region")


def test_mineral_intensity_helper():
    t = ds.mineral_intensity()
    assert list(t.columns) == ["chemistry", "lithium", "lithium_lce", "nickel", "cobalt", "manganese", "graphite"]
    assert len(t) == 19 and t.chemistry.is_unique
    row = t.set_index("chemistry").loc["NMC 811"]
    assert row.nickel == 0.6078222417358392 and row.lithium_lce == 0.491013
    lfp = t.set_index("chemistry").loc["LFP"]
    assert lfp.nickel == 0 and lfp.cobalt == 0 and lfp.graphite > 0.9
    assert t.notna().all().all()
    old = ds.mineral_intensity("LithiumSupply_2024").set_index("chemistry")
    assert len(old) == 10 and np.isnan(old.loc["SIB", "graphite"])
    assert old.loc["NMC 811", "lithium"] == pytest.approx(0.09980198840974397)
    assert "kg/kWh" in t.attrs["units"]["nickel"] and "LCE" in t.attrs["units"]["lithium_lce"]
    with pytest.raises(ValueError):
        ds.mineral_intensity("BatPaC_2030")
