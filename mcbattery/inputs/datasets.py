"""Historical data shipped with mcbattery, for calibrating priors against real history.

Every dataset is a small tidy CSV in ``mcbattery/inputs/data/`` (provenance, transformations and
caveats: ``mcbattery/inputs/data/SOURCES.md``). :func:`load` returns a :class:`pandas.DataFrame`
with three attributes:

* ``df.attrs["units"]``: dict column -> unit,
* ``df.attrs["source"]``: one-line citation,
* ``df.attrs["description"]``: what the table is and its main caveat.

Money conventions: ``*_usd2024_*`` columns are real 2024 US dollars (deflated or rebased with
the annual-average US CPI-U, :data:`BASE_YEAR`); ``*_usd_*`` columns are nominal (or, for the
BNEF vintages, real dollars of the survey year); ``*_cny_*`` columns are nominal yuan.
Lithium tonnages are metric tons of contained Li (``_t_li``) or of lithium carbonate
equivalent (``_t_lce`` = ``_t_li`` x :data:`LCE_PER_LI`). Nickel and cobalt tonnages and prices
are per metric ton of contained metal; the lithium carbonate prices are per metric ton of Li2CO3.

Helpers for the four-material market model: :func:`metal_price`, :func:`usgs_annual_price`,
:func:`mine_production` and :func:`mineral_intensity`.
"""

from __future__ import annotations

from importlib import resources

import numpy as np
import pandas as pd

__all__ = [
    "BASE_YEAR",
    "LCE_PER_LI",
    "list_datasets",
    "load",
    "cell_price",
    "pack_price",
    "lithium_carbonate_monthly",
    "battery_demand",
    "chemistry_shares",
    "lithium_mine_production",
    "capacity_points",
    "metal_price",
    "usgs_annual_price",
    "mine_production",
    "mineral_intensity",
    "real_2024_factor",
]

#: Price base year of every ``*_usd2024_*`` column.
BASE_YEAR = 2024
#: t Li2CO3 per t Li, stoichiometric: M(Li2CO3) / (2 M(Li)) = 73.89 / (2 x 6.94).
LCE_PER_LI = 5.323

_CPI_SOURCE = "U.S. Bureau of Labor Statistics, CPI-U, U.S. city average, all items (CUUR0000SA0), annual average"
_USGS = "U.S. Geological Survey, Mineral Commodity Summaries {} Data Release (public domain)"

# name -> file, description, source, units (every column), parse options
_REGISTRY: dict[str, dict] = {
    "li_ion_cell_price": {
        "file": "li_ion_cell_price.csv",
        "description": "Global representative Li-ion cell price, 1991-2024, real 2024 USD/kWh "
        "(spliced: Ziegler & Trancik before ~2015, BNEF/Avicenne after). Cells, not packs.",
        "source": "Our World in Data (2025), 'Price of lithium-ion battery cells', from R. Way (2026) "
        "'Historical battery costs and production' (Ziegler & Trancik 2021; BNEF; Avicenne), CC BY 4.0",
        "units": {"year": "calendar year", "cell_price_usd2024_per_kwh": "USD2024/kWh (real)"},
    },
    "li_ion_pack_price_bnef": {
        "file": "li_ion_pack_price_bnef.csv",
        "description": "BNEF volume-weighted average Li-ion pack price, as published in real USD of the survey "
        "year, rebased to real 2024 USD with CPI-U: full histories from the 2019 (2010-2019) and 2021 (2010-2021) "
        "surveys (basis inferred), and the headline figure of each survey 2022-2025 (one row per survey).",
        "source": "BloombergNEF Lithium-Ion Battery Price Survey headline figures: 2019 and 2021 vintages from "
        "secondary transcriptions, 2022-2025 from BNEF press releases as quoted in print (see SOURCES.md); "
        "rebased with BLS CPI-U annual averages",
        "units": {
            "survey_vintage": "category",
            "year": "calendar year",
            "price_basis_year": "calendar year (inferred price basis of the published value)",
            "pack_price_usd_per_kwh": "USD/kWh, real USD of price_basis_year (inferred)",
            "cpi_factor_to_2024": "dimensionless, CPI-U(2024)/CPI-U(price_basis_year)",
            "pack_price_usd2024_per_kwh": "USD2024/kWh (real)",
        },
    },
    "lithium_carbonate_china_monthly": {
        "file": "lithium_carbonate_china_monthly.csv",
        "description": "China lithium carbonate 99% min spot (series A), monthly mean of daily closes, "
        "2017-05 to 2024-04; nominal CNY/t (VAT presumably included), converted to nominal USD/t with annual "
        "average FX and to real 2024 USD/t with annual CPI-U. Ex-VAT columns rest on an assumption "
        "(see SOURCES.md).",
        "source": "'Lithium Carbonate 99%Min China Spot' daily quotes (Investing.com-style export, inferred; "
        "redistribution terms restrictive); FX: Federal Reserve G.5A; CPI: BLS CPI-U",
        "units": {
            "month": "month (timestamp of the first day)",
            "price_cny_per_t": "CNY/t Li2CO3, nominal, VAT presumably included",
            "n_obs": "count of daily quotes in the month",
            "fx_cny_per_usd": "CNY per USD, annual average of the calendar year",
            "price_usd_per_t": "USD/t Li2CO3, nominal",
            "cpi_u": "index, 1982-84=100, annual average of the calendar year",
            "price_usd2024_per_t": "USD2024/t Li2CO3 (real)",
            "vat_rate_assumed": "fraction (assumed statutory China VAT rate included in the quote)",
            "price_ex_vat_cny_per_t": "CNY/t Li2CO3, nominal, ex-VAT under the assumption",
            "price_ex_vat_usd2024_per_t": "USD2024/t Li2CO3 (real), ex-VAT under the assumption",
        },
        "parse_month": True,
    },
    "usgs_lithium_us_salient": {
        "file": "usgs_lithium_us_salient.csv",
        "description": "USGS MCS U.S. lithium salient statistics, all vintages (MCS2022-2024) for 2017-2023; "
        "filter is_latest_vintage for one row per year. Price definition changed between vintages.",
        "source": _USGS.format("2022/2023/2024") + "; price from Fastmarkets IM as reported by USGS",
        "units": {
            "year": "calendar year",
            "vintage": "category (MCS edition)",
            "is_latest_vintage": "flag",
            "us_production_t_li": "t Li contained (withheld in every vintage -> NaN)",
            "us_production_withheld": "flag",
            "imports_t_li": "t Li contained",
            "exports_t_li": "t Li contained",
            "consumption_t_li": "t Li contained (NaN where withheld)",
            "consumption_withheld": "flag",
            "imports_t_lce": "t LCE",
            "exports_t_lce": "t LCE",
            "consumption_t_lce": "t LCE",
            "price_li2co3_usd_per_t": "USD/t Li2CO3, nominal (battery-grade, contract, delivered Europe and US)",
            "price_li2co3_usd2024_per_t": "USD2024/t Li2CO3 (real)",
            "employment": "persons (USGS 'Employment' count as published)",
            "net_import_reliance_pct": "% of apparent consumption, as published bound (e.g. '>25')",
        },
    },
    "usgs_lithium_mine_production": {
        "file": "usgs_lithium_mine_production.csv",
        "description": "USGS world lithium mine production by country, 2020-2025, latest available vintage per "
        "year (MCS2022/2023/2024/2026; no MCS2025). World total excludes U.S. production (withheld).",
        "source": _USGS.format("2022/2023/2024/2026"),
        "units": {
            "year": "calendar year",
            "country": "category",
            "vintage": "category (MCS edition)",
            "estimated": "flag (estimate column of that edition)",
            "withheld": "flag",
            "production_t_li": "t Li contained",
            "production_t_lce": "t LCE",
            "note": "text",
        },
        "text_cols": ["note"],
    },
    "iea_ev_battery_demand": {
        "file": "iea_ev_battery_demand.csv",
        "description": "IEA EV battery demand (deployed in new vehicles), 2010-2024, by region and vehicle "
        "segment. World rows (is_aggregate) are the total; the five regions partition it (equal to World "
        "within rounding to 2 significant figures). Missing region/segment/year rows were not reported.",
        "source": "IEA (2025), Global EV Outlook 2025, Global EV Data Explorer v1.2, CC BY 4.0 (to be "
        "confirmed on the IEA site)",
        "units": {
            "year": "calendar year",
            "region": "category",
            "segment": "category (IEA mode)",
            "powertrain": "category (EV = BEV + PHEV)",
            "gwh": "GWh/yr",
            "is_aggregate": "flag (True for World rows)",
        },
    },
    "bev_battery_chemistry_shares": {
        "file": "bev_battery_chemistry_shares.csv",
        "description": "Battery capacity in newly registered BEVs worldwide by cathode group (LFP, NMC incl. "
        "NMCA, NCA, LMO, other), 2015-2024; BEV only (no PHEV, buses, trucks).",
        "source": "Busch et al., 'The Omitted Role of Trade in Critical Mineral Sufficiency and Circularity "
        "Potential' (replication data, MIT), from EV Volumes Battery Installation Tracker (Jan 2025)",
        "units": {
            "year": "calendar year",
            "chemistry": "category",
            "gwh": "GWh/yr",
            "share": "fraction of the year's GWh",
            "vehicles": "vehicles (fractional after NMC allocation)",
        },
    },
    "bev_battery_chemistry_detail": {
        "file": "bev_battery_chemistry_detail.csv",
        "description": "As bev_battery_chemistry_shares but by detailed cathode chemistry (NMC 111/532/622/"
        "721/811, NMCA 89:4:4:3, LFP, NCA, LMO), in MWh.",
        "source": "Busch et al., replication data (MIT), from EV Volumes Battery Installation Tracker (Jan 2025)",
        "units": {
            "year": "calendar year",
            "chemistry": "category",
            "chemistry_group": "category",
            "mwh": "MWh/yr",
            "vehicles": "vehicles (fractional after NMC allocation)",
        },
    },
    "capacity_points": {
        "file": "capacity_points.csv",
        "description": "Single-point capacity, utilisation, price, cost, scrap, recycling and demand facts "
        "transcribed from the project's domain digest (sources 000-003). value is the central value "
        "(midpoint of a range, flagged DER); low/high are bounds where given. GARBLED = damaged OCR, "
        "DER = derived.",
        "source": "Domain digest of sources 000-003 (see SOURCES.md for the documents)",
        "units": {
            "year": "calendar year (nullable: NA for timeless parameters)",
            "region": "category",
            "stage": "category",
            "quantity": "text",
            "value": "see unit column",
            "low": "see unit column",
            "high": "see unit column",
            "unit": "text",
            "locator": "text (source prefix and section)",
            "note": "text",
        },
        "nullable_int": ["year"],
        "text_cols": ["note"],
    },
    "nickel_price_monthly": {
        "file": "nickel_price_monthly.csv",
        "description": "Nickel (LME) monthly average price, 1990-01 to 2025-11, nominal USD/t and real 2024 USD/t "
        "(annual-average CPI-U of the calendar year). LME cash price before 2005, settlement price from 2005.",
        "source": "World Bank, Commodity Price Data (The Pink Sheet), monthly, 'Nickel ($/mt)', updated "
        "2 December 2025; deflated with BLS CPI-U annual averages",
        "units": {
            "month": "month (timestamp of the first day)",
            "nickel_usd_per_t": "USD/t Ni, nominal",
            "cpi_u": "index, 1982-84=100, annual average of the calendar year",
            "nickel_usd2024_per_t": "USD2024/t Ni (real)",
        },
        "parse_month": True,
    },
    "cobalt_price_monthly": {
        "file": "cobalt_price_monthly.csv",
        "description": "Cobalt monthly price, 1990-01 to 2024-05 (no later month available), nominal USD/t and "
        "real 2024 USD/t (annual-average CPI-U). IMF PCPS cobalt series (identification inferred, LME-based).",
        "source": "International Monetary Fund, Primary Commodity Price System, cobalt (probably PCOBA; "
        "secondary copy); deflated with BLS CPI-U annual averages",
        "units": {
            "month": "month (timestamp of the first day)",
            "cobalt_usd_per_t": "USD/t Co, nominal",
            "cpi_u": "index, 1982-84=100, annual average of the calendar year",
            "cobalt_usd2024_per_t": "USD2024/t Co (real)",
        },
        "parse_month": True,
    },
    "usgs_metal_prices_annual": {
        "file": "usgs_metal_prices_annual.csv",
        "description": "USGS MCS annual average prices (cobalt, nickel, lithium, graphite import unit values, "
        "manganese ore), all editions MCS2022-2024 and MCS2026, 2017-2025, converted to USD per metric ton; "
        "filter is_latest_vintage for one row per statistic and year. The lithium statistic changed between "
        "editions (see SOURCES.md).",
        "source": _USGS.format("2022/2023/2024/2026") + "; prices from S&P Global Platts, LME, Fastmarkets, "
        "Benchmark Mineral Intelligence and CRU Group as reported by USGS",
        "units": {
            "year": "calendar year",
            "commodity": "category",
            "statistic": "category (see SOURCES.md)",
            "vintage": "category (MCS edition)",
            "is_latest_vintage": "flag",
            "estimated": "flag (estimated year of the edition)",
            "value": "USD per metric ton as given in the unit column",
            "unit": "text (unit of value; nominal unless stated)",
            "cpi_u": "index, 1982-84=100, annual average of year (NaN where no real value is formed)",
            "value_usd2024": "USD2024 per metric ton (real; NaN for the statistic with an unstated basis)",
            "value_published": "number as printed by USGS, in unit_published",
            "unit_published": "text",
            "conversion_factor": "dimensionless (value = value_published x conversion_factor)",
            "price_basis": "category (nominal or real_base_year_unstated)",
            "definition": "text",
            "usgs_label": "text (raw column name or verbatim USGS label)",
        },
    },
    "usgs_world_mine_production": {
        "file": "usgs_world_mine_production.csv",
        "description": "USGS MCS world mine production by country for lithium, cobalt, nickel, natural graphite "
        "(2020-2025) and manganese (2020-2023), all editions MCS2022-2024 and MCS2026; filter is_latest_vintage "
        "per commodity and year. Lithium world totals exclude U.S. production (withheld).",
        "source": _USGS.format("2022/2023/2024/2026"),
        "units": {
            "commodity": "category",
            "year": "calendar year",
            "country": "category ('World total' and 'Other countries' included)",
            "vintage": "category (MCS edition)",
            "is_latest_vintage": "flag (latest edition covering this commodity and year)",
            "estimated": "flag (estimate column of the edition, or a USGS note marking the value estimated)",
            "estimated_column": "flag (value sits in the estimate column of the edition)",
            "withheld": "flag",
            "value": "production in the unit column (NaN where withheld)",
            "unit": "text: t Li / t Co / t Ni contained, t natural graphite (product weight), kt Mn",
            "production_t_lce": "t LCE (lithium rows only)",
            "note": "text",
        },
        "text_cols": ["note"],
    },
    "usgs_lithium_world_production_ds140": {
        "file": "usgs_lithium_world_production_ds140.csv",
        "description": "USGS Data Series 140 world lithium production, 2000-2021 (long series before the MCS "
        "tables; MCS revises 2020). Whether the totals include the withheld U.S. output is not stated.",
        "source": "U.S. Geological Survey, Historical Statistics for Mineral and Material Commodities in the "
        "United States (Data Series 140), lithium, last modified 2 August 2023 (public domain)",
        "units": {
            "year": "calendar year",
            "world_production_t_li": "t Li contained",
            "world_production_t_lce": "t LCE (t Li x 5.323)",
            "world_production_t_lce_usgs": "t LCE as published by USGS",
            "world_production_gross_weight_t": "t gross weight of ores, concentrates and brine products",
        },
    },
    "mineral_intensity_batpac": {
        "file": "mineral_intensity_batpac.csv",
        "description": "Mineral content per kWh of battery pack by cathode chemistry (Li, Ni, Co, Mn, graphite), "
        "BatPaC-based design values without manufacturing scrap; datasets ETM_2025 (BatPaC 5.2) and "
        "LithiumSupply_2024 (earlier vintage). Absent rows are not zero.",
        "source": "P. Busch (UC Davis), replication data of Busch et al. (ETM) and of the Lithium-Supply model, "
        "from Argonne National Laboratory's BatPaC model, MIT licence",
        "units": {
            "chemistry": "category",
            "mineral": "category",
            "kg_per_kwh_pack": "kg element/kWh of pack (Li as metal; graphite as anode graphite)",
            "kg_lce_per_kwh_pack": "kg LCE/kWh of pack (lithium rows only)",
            "dataset": "category",
            "anode": "category",
            "electrolyte": "category",
            "model_source": "text",
        },
    },
    "us_cpi_u_annual": {
        "file": "us_cpi_u_annual.csv",
        "description": "US CPI-U annual averages 1990-2025 used to deflate/rebase to real 2024 USD "
        "(1990-2006 published to one decimal, 2007 on to three).",
        "source": _CPI_SOURCE,
        "units": {
            "year": "calendar year",
            "cpi_u": "index, 1982-84=100",
            "confirmed": "flag",
            "source": "category (which BLS table the value was read from, see SOURCES.md)",
        },
        "text_cols": ["source"],
    },
    "fx_cny_per_usd_annual": {
        "file": "fx_cny_per_usd_annual.csv",
        "description": "Annual average CNY per USD, 2017-2024 (2024 value not confirmed against the release).",
        "source": "Board of Governors of the Federal Reserve System, G.5A Foreign Exchange Rates (Annual), "
        "China P.R. yuan (noon buying rates in New York)",
        "units": {"year": "calendar year", "cny_per_usd": "CNY per USD", "release": "text", "confirmed": "flag"},
    },
}


def list_datasets() -> list[str]:
    """Names of the shipped datasets, sorted."""
    return sorted(_REGISTRY)


def _read_csv(filename: str) -> pd.DataFrame:
    path = resources.files(__package__ or "mcbattery").joinpath("data").joinpath(filename)
    with path.open("r", encoding="utf-8") as fh:
        return pd.read_csv(fh)


def _with_attrs(df: pd.DataFrame, meta: dict) -> pd.DataFrame:
    df.attrs = {
        "units": {c: meta["units"][c] for c in df.columns},
        "source": meta["source"],
        "description": meta["description"],
    }
    return df


def load(name: str) -> pd.DataFrame:
    """Load a shipped dataset as a tidy DataFrame (see :func:`list_datasets`).

    Units are in ``df.attrs["units"]``; ``df.attrs["source"]`` is a one-line citation.
    Raises ``ValueError`` (listing the valid names) for an unknown name.
    """
    if name not in _REGISTRY:
        raise ValueError(f"unknown dataset {name!r}; valid names: {', '.join(list_datasets())}")
    meta = _REGISTRY[name]
    df = _read_csv(meta["file"])
    missing = set(df.columns) ^ set(meta["units"])
    if missing:  # the registry and the file must describe the same columns
        raise RuntimeError(f"{meta['file']}: columns and unit table disagree on {sorted(missing)}")
    if meta.get("parse_month"):
        df["month"] = pd.to_datetime(df["month"], format="%Y-%m")
    for col in meta.get("nullable_int", []):
        df[col] = df[col].astype("Int64")
    for col in meta.get("text_cols", []):
        df[col] = df[col].fillna("").astype(str)
    return _with_attrs(df, meta)


def _subset(df: pd.DataFrame, cols: list[str]) -> pd.DataFrame:
    out = df.loc[:, cols].reset_index(drop=True)
    out.attrs = dict(df.attrs, units={c: df.attrs["units"][c] for c in cols})
    return out


# ---------------------------------------------------------------------------- conveniences


def real_2024_factor(years) -> np.ndarray:
    """CPI-U(2024) / CPI-U(year): multiply nominal USD of ``years`` to get real 2024 USD.

    Covers 1990-2025 (the years in ``us_cpi_u_annual.csv``); other years raise ``ValueError``.
    """
    cpi = load("us_cpi_u_annual").set_index("year")["cpi_u"]
    yrs = np.atleast_1d(np.asarray(years, dtype=int))
    bad = sorted(set(yrs.tolist()) - set(cpi.index.tolist()))
    if bad:
        raise ValueError(f"no CPI-U annual average shipped for {bad}; available {cpi.index.min()}-{cpi.index.max()}")
    return cpi.loc[BASE_YEAR] / cpi.loc[yrs].to_numpy()


def cell_price() -> pd.DataFrame:
    """Li-ion cell price by year, 1991-2024: ``year``, ``cell_price_usd2024_per_kwh`` (real 2024 USD/kWh)."""
    return load("li_ion_cell_price")


def pack_price(vintage: str = "latest") -> pd.DataFrame:
    """BNEF pack price in real 2024 USD/kWh with its survey vintage, 2010-2025.

    ``vintage="latest"`` (default) gives one row per year from the most recent survey covering it
    (the 2021 survey for 2010-2021, then each year's own survey for 2022-2025, which contribute
    their headline figure only); ``"all"`` gives every vintage; or pass a vintage name
    (``"BNEF_2019_survey"``, ``"BNEF_2021_survey"``, ``"BNEF_2022_survey"`` ... ``"BNEF_2025_survey"``).
    Each survey restates history in its own dollars, so consecutive years from different surveys
    are rebased but not revised to one vintage. Columns: ``year``,
    ``pack_price_usd2024_per_kwh``, ``survey_vintage``, ``pack_price_usd_per_kwh`` (as published),
    ``price_basis_year``.
    """
    df = load("li_ion_pack_price_bnef")
    vintages = sorted(df["survey_vintage"].unique())
    if vintage == "latest":
        df = df.sort_values(["year", "price_basis_year"]).groupby("year", as_index=False).tail(1)
    elif vintage != "all":
        if vintage not in vintages:
            raise ValueError(f"unknown vintage {vintage!r}; valid: 'latest', 'all', {', '.join(vintages)}")
        df = df[df["survey_vintage"] == vintage]
    df = df.sort_values(["survey_vintage", "year"]) if vintage == "all" else df.sort_values("year")
    cols = ["year", "pack_price_usd2024_per_kwh", "survey_vintage", "pack_price_usd_per_kwh", "price_basis_year"]
    return _subset(df, cols)


def lithium_carbonate_monthly(ex_vat: bool = False) -> pd.DataFrame:
    """China Li2CO3 99% spot (series A), monthly mean, 2017-05 to 2024-04.

    Columns: ``month``, ``price_cny_per_t`` (nominal CNY/t, VAT presumably included),
    ``price_usd_per_t`` (nominal), ``price_usd2024_per_t`` (real 2024 USD/t). With ``ex_vat=True``
    also ``vat_rate_assumed`` and ``price_ex_vat_usd2024_per_t`` (assumes the quote includes the
    statutory VAT of the month: 17% to 2018-04, 16% to 2019-03, 13% after).
    """
    df = load("lithium_carbonate_china_monthly")
    cols = ["month", "price_cny_per_t", "price_usd_per_t", "price_usd2024_per_t"]
    if ex_vat:
        cols += ["vat_rate_assumed", "price_ex_vat_usd2024_per_t"]
    return _subset(df, cols)


def battery_demand(region: str = "World", by: str = "segment") -> pd.DataFrame:
    """IEA EV battery demand, GWh/yr, 2010-2024.

    ``by="segment"``: ``year``, ``segment``, ``gwh`` for ``region``;
    ``by="total"``: ``year``, ``gwh`` summed over segments for ``region``;
    ``by="region"``: ``year``, ``region``, ``gwh`` for the five non-overlapping regions
    (``region`` must be ``"World"``). Rows the IEA does not report are absent, not zero.
    """
    df = load("iea_ev_battery_demand")
    regions = list(dict.fromkeys(df["region"]))
    if by not in ("segment", "total", "region"):
        raise ValueError(f"by must be 'segment', 'total' or 'region', not {by!r}")
    if region not in regions:
        raise ValueError(f"unknown region {region!r}; valid: {', '.join(regions)}")
    units = df.attrs["units"]
    if by == "region":
        if region != "World":
            raise ValueError("by='region' splits the World total; pass region='World'")
        sub = df[~df["is_aggregate"]]
        out = sub.groupby(["year", "region"], as_index=False, sort=False)["gwh"].sum()
        out = out.sort_values(["region", "year"]).reset_index(drop=True)
    else:
        sub = df[df["region"] == region]
        if by == "total":
            out = sub.groupby("year", as_index=False)["gwh"].sum()
        else:
            out = sub[["year", "segment", "gwh"]].sort_values(["segment", "year"]).reset_index(drop=True)
    out.attrs = dict(df.attrs, units={c: units[c] for c in out.columns})
    out.attrs["description"] = f"IEA EV battery demand, {region}, by {by}. " + df.attrs["description"]
    return out


def chemistry_shares() -> pd.DataFrame:
    """BEV battery GWh and share by cathode group per year, 2015-2024.

    Columns: ``year``, ``chemistry`` (LFP, NMC [all NMC variants and NMCA], NCA, LMO, other),
    ``gwh``, ``share`` (fraction of the year's GWh), ``vehicles``.
    """
    return load("bev_battery_chemistry_shares")


def lithium_mine_production(by: str = "world") -> pd.DataFrame:
    """USGS lithium mine production, latest vintage per year, 2020-2025.

    ``by="world"``: the world total (excluding the withheld U.S.): ``year``, ``production_t_li``,
    ``production_t_lce``, ``vintage``, ``estimated``. ``by="country"``: every country row.
    """
    df = load("usgs_lithium_mine_production")
    if by == "country":
        return df
    if by != "world":
        raise ValueError(f"by must be 'world' or 'country', not {by!r}")
    df = df[df["country"].str.startswith("World total")]
    return _subset(df, ["year", "production_t_li", "production_t_lce", "vintage", "estimated"])


def capacity_points(stage: str | None = None, region: str | None = None) -> pd.DataFrame:
    """Capacity / utilisation / price / cost / scrap / recycling points from sources 000-003.

    Optional filters on ``stage`` (e.g. ``"cells"``, ``"mining"``) and ``region`` (e.g. ``"CN"``).
    ``value`` is the central value, ``low``/``high`` bounds where given, all in ``unit``.
    """
    df = load("capacity_points")
    for col, val in (("stage", stage), ("region", region)):
        if val is not None:
            valid = sorted(df[col].unique())
            if val not in valid:
                raise ValueError(f"unknown {col} {val!r}; valid: {', '.join(valid)}")
            df = df[df[col] == val]
    return _subset(df, list(df.columns))


# ---------------------------------------------------------------------------- markets: Li, Ni, Co, graphite

#: material -> (dataset, nominal column, real column, mass basis, which series)
_MONTHLY_PRICE = {
    "lithium": ("lithium_carbonate_china_monthly", "price_usd_per_t", "price_usd2024_per_t", "t Li2CO3",
                "China lithium carbonate 99% min spot (series A), VAT presumably included"),
    "nickel": ("nickel_price_monthly", "nickel_usd_per_t", "nickel_usd2024_per_t", "t Ni",
               "World Bank Pink Sheet nickel (LME)"),
    "cobalt": ("cobalt_price_monthly", "cobalt_usd_per_t", "cobalt_usd2024_per_t", "t Co",
               "IMF PCPS cobalt"),
}

#: material -> default USGS price statistic of :func:`usgs_annual_price`
_USGS_DEFAULT_STATISTIC = {
    "cobalt": "cobalt_lme_cash",
    "nickel": "nickel_lme_cash",
    "graphite": "graphite_flake_import_unit_value",
    "lithium": "li2co3_battery_grade_contract",
    "manganese": "manganese_ore_cif_china",
}

#: mine production: material -> (factor from the file's unit to t, unit of ``production_t``)
_MINE_UNITS = {
    "lithium": (1.0, "t Li contained"),
    "cobalt": (1.0, "t Co contained"),
    "nickel": (1.0, "t Ni contained"),
    "graphite": (1.0, "t natural graphite (product weight)"),
    "manganese": (1000.0, "t Mn contained (published in kt, x 1000)"),
}


def _check_choice(name: str, value, valid) -> None:
    if value not in valid:
        raise ValueError(f"unknown {name} {value!r}; valid: {', '.join(map(str, valid))}")


def metal_price(material: str, freq: str = "month", real: bool = True, partial_years: bool = False) -> pd.DataFrame:
    """Monthly or calendar-year price of a battery material, USD per metric ton.

    The series behind each material:

    * ``"lithium"``: China lithium carbonate 99% min spot (series A of
      ``lithium_carbonate_china_monthly``), VAT presumably included, 2017-05 to 2024-04, **per t of
      Li2CO3** (not of contained Li); converted to USD with the annual-average CNY/USD rate.
    * ``"nickel"``: World Bank Pink Sheet nickel (LME cash price to 2004, settlement price from 2005),
      1990-01 to 2025-11, per t of Ni (``nickel_price_monthly``).
    * ``"cobalt"``: IMF PCPS cobalt (probably PCOBA, inferred), 1990-01 to 2024-05, per t of Co
      (``cobalt_price_monthly``). For 2024-2025 use :func:`usgs_annual_price`.

    ``freq="month"``: columns ``month``, ``price_usd2024_per_t`` (real 2024 USD/t, deflated with
    the annual-average CPI-U of the calendar year) and ``price_usd_per_t`` (nominal USD/t).
    ``freq="year"``: ``year``, the same two price columns as calendar-year means of the monthly
    values, ``n_months`` (months in the series that year) and ``complete_year`` (True for 12
    months). Incomplete years are left out unless ``partial_years=True``, which keeps them with
    ``complete_year`` False.

    ``real=True`` puts the real column first and keeps only rows with a real value (years with a
    shipped CPI-U, 1990-2025); ``real=False`` puts the nominal column first and keeps every row
    (real NaN where no CPI-U is shipped).
    """
    _check_choice("material", material, sorted(_MONTHLY_PRICE))
    _check_choice("freq", freq, ["month", "year"])
    name, nominal, real_col, basis, series = _MONTHLY_PRICE[material]
    df = load(name)
    out = pd.DataFrame({
        "month": df["month"],
        "price_usd2024_per_t": df[real_col],
        "price_usd_per_t": df[nominal],
    })
    units = {
        "month": "month (timestamp of the first day)",
        "price_usd2024_per_t": f"USD2024/{basis} (real)",
        "price_usd_per_t": f"USD/{basis}, nominal",
    }
    if freq == "year":
        g = out.groupby(out["month"].dt.year)
        out = pd.DataFrame({
            "price_usd2024_per_t": g["price_usd2024_per_t"].mean(),
            "price_usd_per_t": g["price_usd_per_t"].mean(),
            "n_months": g.size(),
        }).rename_axis("year").reset_index()
        out["complete_year"] = out["n_months"] == 12
        if not partial_years:
            out = out[out["complete_year"]]
        units = {
            "year": "calendar year",
            "price_usd2024_per_t": f"USD2024/{basis} (real), mean of the monthly values",
            "price_usd_per_t": f"USD/{basis}, nominal, mean of the monthly values",
            "n_months": "count of months in the series that year",
            "complete_year": "flag (12 months)",
        }
    key = out.columns[0]
    first, second = ("price_usd2024_per_t", "price_usd_per_t") if real else ("price_usd_per_t", "price_usd2024_per_t")
    if real:
        out = out[out["price_usd2024_per_t"].notna()]
    cols = [key, first, second] + [c for c in out.columns if c not in (key, first, second)]
    out = out.loc[:, cols].reset_index(drop=True)
    out.attrs = {
        "units": {c: units[c] for c in cols},
        "source": df.attrs["source"],
        "description": f"{material} price by {freq}: {series}, USD per {basis}. " + df.attrs["description"],
    }
    return out


def usgs_annual_price(material: str, statistic: str | None = None) -> pd.DataFrame:
    """USGS Mineral Commodity Summaries annual average price, latest edition per year, 2017-2025.

    ``statistic`` defaults to the main price of ``material``: ``"cobalt_lme_cash"`` (LME cash,
    converted from USD/lb to USD/t Co), ``"nickel_lme_cash"`` (LME cash, USD/t Ni),
    ``"graphite_flake_import_unit_value"`` (U.S. import unit value of flake graphite at foreign
    ports, USD/t; a trade average, not a battery-grade graphite price),
    ``"li2co3_battery_grade_contract"`` (battery-grade Li2CO3 contract price, USD/t Li2CO3,
    MCS2022-2024 only) and ``"manganese_ore_cif_china"`` (44% Mn ore, CIF China, USD/t Mn contained).
    Other statistics: ``cobalt_us_spot_cathode``, ``graphite_lump_chip_import_unit_value``,
    ``graphite_amorphous_import_unit_value`` and ``li2co3_battery_grade_benchmark`` (MCS2026,
    "real" with an unstated base year, so its real 2024 column is NaN).

    Columns: ``year``, ``price_usd2024_per_t`` (real 2024 USD/t via CPI-U), ``price_usd_per_t``
    (the USGS value in USD/t, nominal unless ``price_basis`` says otherwise), ``vintage`` (MCS
    edition), ``estimated`` (the edition's estimated year), ``price_basis``. The last year of each
    edition is an estimate and later editions revise it.
    """
    _check_choice("material", material, sorted(_USGS_DEFAULT_STATISTIC))
    df = load("usgs_metal_prices_annual")
    sub = df[df["commodity"] == material]
    statistic = statistic or _USGS_DEFAULT_STATISTIC[material]
    _check_choice(f"statistic for {material}", statistic, sorted(sub["statistic"].unique()))
    sub = sub[(sub["statistic"] == statistic) & sub["is_latest_vintage"]].sort_values("year")
    unit = sub["unit"].iloc[0]
    out = pd.DataFrame({
        "year": sub["year"],
        "price_usd2024_per_t": sub["value_usd2024"],
        "price_usd_per_t": sub["value"],
        "vintage": sub["vintage"],
        "estimated": sub["estimated"],
        "price_basis": sub["price_basis"],
    }).reset_index(drop=True)
    out.attrs = {
        "units": {
            "year": "calendar year",
            "price_usd2024_per_t": "USD2024/" + unit.split(" (")[0].split("/", 1)[1] + " (real)",
            "price_usd_per_t": unit,
            "vintage": "category (MCS edition)",
            "estimated": "flag",
            "price_basis": "category",
        },
        "source": df.attrs["source"],
        "description": f"USGS {statistic}: {sub['definition'].iloc[0]}; latest MCS edition per year.",
    }
    return out


def mine_production(material: str, by: str = "world") -> pd.DataFrame:
    """USGS world mine production, latest MCS edition per year, 2020-2025 (manganese 2020-2023).

    ``production_t`` is metric tons of contained metal for lithium (t Li), cobalt (t Co) and
    nickel (t Ni), t of product for natural graphite (synthetic graphite is not covered), and t of
    contained Mn for manganese (published in kt). Lithium also has ``production_t_lce``
    (t Li x :data:`LCE_PER_LI`). **Lithium world totals exclude U.S. production** (withheld).

    ``by="world"``: ``year``, ``production_t`` (the rounded USGS world total), [``production_t_lce``],
    ``vintage``, ``estimated``. ``by="country"``: ``year``, ``country`` (including ``Other
    countries`` and ``World total``), ``production_t``, [``production_t_lce``], ``vintage``,
    ``estimated``, ``withheld``, ``note``. Editions are never mixed within a year. For lithium
    before 2020 see the ``usgs_lithium_world_production_ds140`` dataset.
    """
    _check_choice("material", material, list(_MINE_UNITS))
    _check_choice("by", by, ["world", "country"])
    df = load("usgs_world_mine_production")
    sub = df[(df["commodity"] == material) & df["is_latest_vintage"]]
    if by == "world":
        sub = sub[sub["country"] == "World total"]
    factor, unit = _MINE_UNITS[material]
    out = pd.DataFrame({"year": sub["year"], "country": sub["country"], "production_t": sub["value"] * factor})
    units = {"year": "calendar year", "country": "category", "production_t": unit}
    if material == "lithium":
        out["production_t_lce"] = sub["production_t_lce"]
        units["production_t_lce"] = "t LCE"
    for col in ("vintage", "estimated", "withheld", "note"):
        out[col] = sub[col]
        units[col] = df.attrs["units"][col]
    cols = list(out.columns)
    if by == "world":
        cols = [c for c in cols if c not in ("country", "withheld", "note")]
        out = out.sort_values("year")
    else:
        rank = out["country"].map({"Other countries": 1, "World total": 2}).fillna(0)
        out = out.assign(_rank=rank).sort_values(["year", "_rank", "country"]).drop(columns="_rank")
    out = out.loc[:, cols].reset_index(drop=True)
    out.attrs = {
        "units": {c: units[c] for c in cols},
        "source": df.attrs["source"],
        "description": f"USGS world mine production of {material}, by {by}, latest MCS edition per year. "
        + df.attrs["description"],
    }
    return out


def mineral_intensity(dataset: str = "ETM_2025") -> pd.DataFrame:
    """Material content per kWh of battery pack, one row per cathode chemistry (BatPaC design values).

    Columns: ``chemistry``, then kg per kWh of pack for ``lithium`` (as Li metal), ``lithium_lce``
    (kg LCE), ``nickel``, ``cobalt``, ``manganese`` and ``graphite`` (anode graphite). ``dataset``:
    ``"ETM_2025"`` (BatPaC 5.2, with ``-Si`` anode variants) or ``"LithiumSupply_2024"`` (earlier
    vintage, 3-8% higher). Values are for one default pack design without manufacturing scrap.
    NaN where the dataset has no row (not zero): the earlier vintage has no SIB graphite.
    """
    df = load("mineral_intensity_batpac")
    _check_choice("dataset", dataset, sorted(df["dataset"].unique()))
    sub = df[df["dataset"] == dataset]
    chems = list(dict.fromkeys(sub["chemistry"]))
    wide = sub.pivot(index="chemistry", columns="mineral", values="kg_per_kwh_pack").reindex(chems)
    lce = sub[sub["mineral"] == "lithium"].set_index("chemistry")["kg_lce_per_kwh_pack"].reindex(chems)
    out = pd.DataFrame({"chemistry": chems})
    for col in ("lithium", "lithium_lce", "nickel", "cobalt", "manganese", "graphite"):
        out[col] = (lce if col == "lithium_lce" else wide[col]).to_numpy()
    kg = "kg/kWh of pack"
    out.attrs = {
        "units": {"chemistry": "category", "lithium": f"{kg} (Li metal)", "lithium_lce": f"{kg} (LCE)",
                  "nickel": kg, "cobalt": kg, "manganese": kg, "graphite": f"{kg} (anode graphite)"},
        "source": df.attrs["source"],
        "description": f"Mineral intensity, dataset {dataset}. " + df.attrs["description"],
    }
    return out
