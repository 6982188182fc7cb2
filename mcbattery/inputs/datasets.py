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
equivalent (``_t_lce`` = ``_t_li`` x :data:`LCE_PER_LI`).
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
        "description": "BNEF volume-weighted average Li-ion pack price, two survey vintages (2019: 2010-2019; "
        "2021: 2010-2021) as published (basis inferred: real USD of the survey year) and rebased to real 2024 USD "
        "with CPI-U.",
        "source": "BloombergNEF battery price survey headline figures (2019 and 2021 vintages), secondary "
        "transcriptions; rebased with BLS CPI-U annual averages",
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
    "us_cpi_u_annual": {
        "file": "us_cpi_u_annual.csv",
        "description": "US CPI-U annual averages 2010-2024 used to deflate/rebase to real 2024 USD.",
        "source": _CPI_SOURCE,
        "units": {"year": "calendar year", "cpi_u": "index, 1982-84=100", "confirmed": "flag"},
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

    Covers 2010-2024; other years raise ``ValueError``.
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
    """BNEF pack price in real 2024 USD/kWh with its survey vintage.

    ``vintage="latest"`` (default) gives one row per year from the most recent survey covering it
    (the 2021 survey for 2010-2021); ``"all"`` gives both vintages; or pass a vintage name
    (``"BNEF_2019_survey"``, ``"BNEF_2021_survey"``). Columns: ``year``,
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
