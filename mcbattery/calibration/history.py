"""History out of sample: calibrate on data up to an origin, forecast from the state at the end
of that year, and score the forecast on what happened after it.

:func:`realised` collects the outcomes the forecast is scored on from the shipped data:
lithium, nickel and cobalt prices (real 2024 USD/t), the world average Li-ion cell price and
the BNEF average pack price (real 2024 USD/kWh) and world EV battery demand (GWh).
:func:`score` puts each beside the forecast's median and 90 % interval and reads where it
falls in the forecast distribution; :func:`run_history` does the whole thing in one call
(``mcbattery history`` on the command line) and :func:`plot_history` draws it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mcbattery.common.errors import InputError
from mcbattery.inputs import datasets

__all__ = ["OUTCOMES", "realised", "score", "run_history", "plot_history"]

#: outcome -> (summary variable, selection, unit, description)
OUTCOMES = {
    "lithium_price": ("material_price", {"material": "lithium"}, "USD(2024)/t Li2CO3",
                      "China lithium carbonate spot, annual mean"),
    "nickel_price": ("material_price", {"material": "nickel"}, "USD(2024)/t", "nickel (LME), annual mean"),
    "cobalt_price": ("material_price", {"material": "cobalt"}, "USD(2024)/t", "cobalt, annual mean"),
    "cell_price": ("cell_price_average", {}, "USD(2024)/kWh", "world average Li-ion cell price"),
    "pack_price": ("pack_price_average", {}, "USD(2024)/kWh", "BNEF volume-weighted average pack price"),
    "ev_battery_demand": ("demand_world", {"segment": "EV"}, "GWh/yr", "world EV battery demand"),
}


def realised(first: int = 2021, last: int = 2025) -> pd.DataFrame:
    """What happened, ``first``..``last``: one row per (outcome, year) with ``value``,
    ``unit``, ``source`` and ``note`` (e.g. a year with fewer than twelve months of prices).

    Sources: China lithium carbonate spot (monthly means; 2024 has January-April only);
    World Bank nickel (2025 to November); IMF cobalt to 2023, USGS LME cash for 2024-2025
    (2025 estimated); OWID/Way world cell price; BNEF surveys (latest per year); IEA EV battery
    demand (World)."""
    rows = []

    def add(outcome, year, value, source, note=""):
        if first <= year <= last and np.isfinite(value):
            rows.append({"outcome": outcome, "year": int(year), "value": float(value), "unit": OUTCOMES[outcome][2],
                         "source": source, "note": note})

    for material in ("lithium", "nickel", "cobalt"):
        prices = datasets.metal_price(material, freq="year", partial_years=True)
        for _, r in prices.iterrows():
            note = "" if r["complete_year"] else f"{int(r['n_months'])} months"
            if material == "cobalt" and not r["complete_year"]:
                continue  # the USGS annual average covers the year instead
            add(f"{material}_price", int(r["year"]), r["price_usd2024_per_t"], f"datasets.metal_price('{material}')", note)
    cobalt_years = {row["year"] for row in rows if row["outcome"] == "cobalt_price"}
    for _, r in datasets.usgs_annual_price("cobalt").iterrows():
        if int(r["year"]) not in cobalt_years:
            add("cobalt_price", int(r["year"]), r["price_usd2024_per_t"], "datasets.usgs_annual_price('cobalt')",
                "USGS estimate" if r["estimated"] else "")
    for _, r in datasets.cell_price().iterrows():
        add("cell_price", int(r["year"]), r["cell_price_usd2024_per_kwh"], "datasets.cell_price()")
    for _, r in datasets.pack_price().iterrows():
        add("pack_price", int(r["year"]), r["pack_price_usd2024_per_kwh"], f"datasets.pack_price() ({r['survey_vintage']})")
    for _, r in datasets.battery_demand("World", by="total").iterrows():
        add("ev_battery_demand", int(r["year"]), r["gwh"], "datasets.battery_demand('World')")
    return pd.DataFrame(rows).sort_values(["outcome", "year"]).reset_index(drop=True)


def _percentile(levels: np.ndarray, values: np.ndarray, x: float) -> float:
    """Where ``x`` falls in a distribution known by its quantiles (linear between them; 0 or 1
    beyond the outermost)."""
    if x <= values[0]:
        return float(levels[0]) if x == values[0] else 0.0
    if x >= values[-1]:
        return float(levels[-1]) if x == values[-1] else 1.0
    return float(np.interp(x, values, levels))


def score(summary, actual: pd.DataFrame, level: float = 0.9) -> pd.DataFrame:
    """Each realised outcome beside the forecast: ``median``, ``low``/``high`` (the central
    ``level`` interval), ``inside`` and ``percentile`` (where the outcome falls in the forecast
    distribution, from its quantiles)."""
    lo_q, hi_q = round((1 - level) / 2, 6), round((1 + level) / 2, 6)
    qs = np.asarray(summary["quantile"].values, float)
    if not (np.isclose(qs, lo_q).any() and np.isclose(qs, hi_q).any()):
        raise InputError(f"the forecast has no {lo_q} and {hi_q} quantiles", field="level")
    out = []
    for _, r in actual.iterrows():
        var, sel, _, _ = OUTCOMES[r["outcome"]]
        if r["year"] not in summary["year"].values:
            continue
        q = summary[f"{var}_quantile"].sel(year=r["year"], **sel).values.astype(float)
        low, high = float(np.interp(lo_q, qs, q)), float(np.interp(hi_q, qs, q))
        out.append({**r.to_dict(), "median": float(np.interp(0.5, qs, q)), "low": low, "high": high,
                    "inside": bool(low <= r["value"] <= high), "percentile": _percentile(qs, q, r["value"])})
    return pd.DataFrame(out)


def run_history(until: int = 2019, scenario: str = "hindcast_2020", draws: int = 20_000, seed: int = 0, *,
                num_samples: int = 1000, num_warmup: int | None = None, num_chains: int = 4, last: int = 2025,
                progress: bool = False):
    """Calibrate every model on data up to ``until``, forecast ``scenario`` (its start state is
    the end of ``until``) with that posterior only, and score it on ``until + 2``..``last``:
    the start year ``until + 1`` holds the start state, built from data of ``until`` (the
    scenario's start levels), so its values are not a forecast. Returns (scores, forecast, idata)."""
    import tempfile
    from pathlib import Path

    import mcbattery
    from mcbattery.calibration.fit import calibrate
    from mcbattery.calibration.store import engine_samples_path, save_posterior

    start = int(mcbattery.load_scenario(scenario).start_year)
    if start != until + 1:
        raise InputError(f"scenario starts in {start}; a history from data up to {until} needs a {until + 1} start",
                         field="scenario")
    idata = calibrate(until=until, seed=seed, num_warmup=num_warmup or num_samples, num_samples=num_samples,
                      num_chains=num_chains)
    with tempfile.TemporaryDirectory() as tmp:
        post, _ = save_posterior(idata, Path(tmp) / "posterior.nc")
        f = mcbattery.forecast(scenario, draws=draws, seed=seed, end_year=last, posterior=engine_samples_path(post),
                               progress=progress)
    return score(f.summary, realised(until + 2, last)), f, idata


def plot_history(scores: pd.DataFrame, *, title: str | None = None):
    """Small multiples, one per outcome: the forecast's 90 % interval and median by year and
    what happened (filled: inside the interval; open: outside)."""
    import matplotlib.pyplot as plt

    outcomes = list(dict.fromkeys(scores["outcome"]))
    ncol = 3
    nrow = -(-len(outcomes) // ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.2 * ncol, 3.2 * nrow), squeeze=False, constrained_layout=True)
    for ax, name in zip(axes.ravel(), outcomes):
        d = scores[scores["outcome"] == name]
        ax.fill_between(d["year"], d["low"], d["high"], color="tab:blue", alpha=0.25, label="90% interval")
        ax.plot(d["year"], d["median"], color="tab:blue", label="median")
        inside = d["inside"].to_numpy()
        ax.scatter(d["year"][inside], d["value"][inside], color="black", zorder=3, label="realised, inside")
        ax.scatter(d["year"][~inside], d["value"][~inside], facecolors="white", edgecolors="tab:red", zorder=3,
                   label="realised, outside")
        ax.set_title(OUTCOMES[name][3], fontsize=10)
        ax.set_ylabel(OUTCOMES[name][2])
        ax.set_xticks(d["year"])
        if "price" in name:
            ax.set_yscale("log")
    for ax in axes.ravel()[len(outcomes):]:
        ax.set_visible(False)
    axes.ravel()[0].legend(fontsize=8, loc="best")
    n, k = len(scores), int(scores["inside"].sum())
    fig.suptitle(title or f"Out of sample: {k} of {n} realised outcomes inside the 90% interval ({k / max(n, 1):.0%})")
    return fig
