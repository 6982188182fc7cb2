"""A one-page Markdown "forecast card": what was run, from which inputs, and the key numbers
with their Monte Carlo error.

``forecast_card(forecast)`` takes a :class:`mcbattery.api.Forecast`, its summary Dataset or a
summary NetCDF file. Key numbers (for 2030, or the last simulated year if earlier): median
world price of each material (lithium as LCE), the probability that each material has had a
shortage year (more than 10 % of its demand unmet) by then, world cell utilisation, the
demand-weighted average cell and pack prices buyers paid, median cell cost by chemistry for
China and the EU, P(more than 10 % of a material's demand unmet) per year and material; and,
when a hindcast summary is given, the interval coverage of the learning-curve forecasts by
horizon.

Monte Carlo error of a quantile is the asymptotic standard error
``sqrt(q (1 - q) / n) / density``, with the density read from the slope of the summary's
quantile function between the neighbouring stored levels; the grid error of the streamed
quantiles (``quantile_relative_error_bound``) is reported beside it. Probabilities carry their
binomial standard error ``sqrt(p (1 - p) / n)``.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import xarray as xr

from mcbattery.common.errors import InputError

__all__ = ["forecast_card", "write_card", "load_summary", "quantile_mcse"]

KEY_YEAR = 2030


def load_summary(forecast) -> xr.Dataset:
    """The summary Dataset of a Forecast, a Dataset, or a summary NetCDF file."""
    if isinstance(forecast, xr.Dataset):
        return forecast
    if hasattr(forecast, "summary") and isinstance(forecast.summary, xr.Dataset):
        return forecast.summary
    if isinstance(forecast, (str, Path)):
        from mcbattery.common.files import check_self_contained

        path = check_self_contained(forecast)  # a regular file whose data is all inside it
        try:
            ds = xr.open_dataset(path).load()
        except Exception as exc:  # any reader failure is a bad input file
            raise InputError(f"cannot read as NetCDF ({exc.__class__.__name__})", file=str(path)) from None
        if "material_price_quantile" not in ds:
            raise InputError("not a forecast summary (no material_price_quantile); pass the summary .nc, not *_draws.nc",
                             file=str(path))
        return ds
    raise InputError(f"expected a Forecast, a summary Dataset or a .nc path, got {type(forecast).__name__}", field="forecast")


def quantile_mcse(qa: xr.DataArray, q: float, n: int) -> xr.DataArray:
    """Approximate Monte Carlo standard error of quantile ``q`` from stored quantiles ``qa``
    (dim ``quantile``): sqrt(q(1-q)/n) times the local slope dx/dq."""
    levels = np.asarray(qa["quantile"].values, float)
    below = levels[levels < q - 1e-12]
    above = levels[levels > q + 1e-12]
    if not below.size or not above.size or n < 2:
        return xr.full_like(qa.isel(quantile=0, drop=True), np.nan)
    lo, hi = below.max(), above.min()
    slope = (qa.sel(quantile=hi) - qa.sel(quantile=lo)) / (hi - lo)
    return math.sqrt(q * (1 - q) / n) * slope


def _fmt(x: float, unit: str = "", digits: int = 3) -> str:
    if x is None or not np.isfinite(x):
        return "n/a"
    ax = abs(x)
    if ax >= 1000:
        s = f"{x:,.0f}"
    elif ax >= 100:
        s = f"{x:.0f}"
    elif ax >= 10:
        s = f"{x:.1f}"
    else:
        s = f"{x:.{digits}g}"
    return s + (f" {unit}" if unit else "")


def _err(x: float) -> str:
    """A standard error to two significant figures."""
    if x is None or not np.isfinite(x):
        return "n/a"
    if x == 0:
        return "0"
    digits = max(0, 1 - int(math.floor(math.log10(abs(x)))))
    return f"{x:,.{digits}f}"


def _pct(p: float, digits: int = 1) -> str:
    return "n/a" if p is None or not np.isfinite(p) else f"{100 * p:.{digits}f}%"


def _pp(p: float) -> str:
    return "n/a" if p is None or not np.isfinite(p) else f"{100 * p:.1f} pp"


def _key_year(s: xr.Dataset) -> int:
    years = [int(y) for y in s["year"].values]
    return KEY_YEAR if KEY_YEAR in years else years[-1]


def _median_line(s: xr.Dataset, name: str, sel: dict, n: int, unit: str, scale: float = 1.0, err_unit: str = "") -> str:
    qa = s[f"{name}_quantile"].sel(sel)
    med = float(qa.sel(quantile=0.5, method="nearest")) * scale
    err = float(quantile_mcse(qa, 0.5, n)) * scale
    levels = list(np.asarray(qa["quantile"].values, float))
    lo_l, hi_l = (0.05, 0.95) if 0.05 in levels and 0.95 in levels else (min(levels), max(levels))
    lo, hi = float(qa.sel(quantile=lo_l)) * scale, float(qa.sel(quantile=hi_l)) * scale
    width = f"{(hi_l - lo_l) * 100:g}%"
    return f"{_fmt(med)}{unit} ± {_err(err)}{err_unit} ({width} interval {_fmt(lo)} to {_fmt(hi)}{unit})"


def forecast_card(forecast, hindcast_summary=None) -> str:
    """Markdown card of a forecast (Forecast, summary Dataset or summary .nc path).

    hindcast_summary: optional output of :func:`mcbattery.calibration.hindcast.summarise_hindcast` (or the
    raw frame of ``rolling_hindcast``), shown as a coverage table.
    """
    s = load_summary(forecast)
    a = s.attrs
    n = int(a.get("valid_draws", a.get("draws", 0)) or 0)
    year = _key_year(s)
    lines: list[str] = []
    lines.append(f"# mcbattery forecast card: {a.get('scenario', 'unknown scenario')}")
    lines.append("")
    if a.get("scenario_description"):
        lines.append(f"> {a['scenario_description']}")
        lines.append("")
    calibrated = bool(int(a.get("calibrated", 0) or 0)) and not str(a.get("posterior_file", "")).startswith("none")
    if calibrated:
        post = f"{a.get('posterior_file')} (hash {a.get('posterior_hash', '?')}, data vintage {a.get('data_vintage') or 'unknown'})"
    else:
        post = "priors only (uncalibrated)"
    rows = [
        ("scenario", f"{a.get('scenario', '?')} ({a.get('scenario_file', '?')})"),
        ("posterior", post),
        ("priors hash", str(a.get("priors_hash", "?"))),
        ("draws", f"{int(a.get('draws', n)):,} ({n:,} valid, {int(a.get('invalid_draws', 0)):,} with non-finite values left out)"),
        ("seed", str(a.get("seed", "?"))),
        ("years", f"{int(s['year'].values[0])}-{int(s['year'].values[-1])}"),
        ("created", str(a.get("created_at", "?"))),
        ("package", f"mcbattery {a.get('mcbattery_version', '?')}, jax {a.get('jax_version', '?')}"),
        ("device, precision", f"{a.get('device', '?')}, {a.get('dtype', '?')}"),
    ]
    lines += ["| | |", "|---|---|"] + [f"| {k} | {v} |" for k, v in rows] + [""]

    lines.append(f"## Key numbers, {year}")
    lines.append("")
    lines.append(
        "Medians are given as `median ± Monte Carlo standard error` (asymptotic, from the local slope of the "
        "quantile function) with the central interval of the forecast distribution; probabilities as "
        "`p ± binomial Monte Carlo standard error`. The MC error says how much the number would move with "
        "another seed, not how uncertain the future is: that is the interval."
    )
    lines.append("")
    ky = {"year": year}
    if "material_price_quantile" in s:
        for m in [str(x) for x in s["material"].values]:
            unit = " USD/t LCE" if m == "lithium" else " USD/t"
            lines.append(f"- **{m.capitalize()} price** (real, USD(2024)/t{' LCE' if m == 'lithium' else ''}), median: "
                         + _median_line(s, "material_price", {**ky, "material": m}, n, unit, err_unit=unit))
    if "shortage_ever_mean" in s:
        p_ever = s["shortage_ever_mean"].sel(ky)
        cells = []
        for m in [str(x) for x in s["material"].values]:
            p = float(p_ever.sel(material=m))
            cells.append(f"{m} {_pct(p)} ± {_pp(math.sqrt(max(p * (1 - p), 0.0) / max(n, 1)))}")
        lines.append(f"- **P(a shortage year by {year})** (more than 10% of a material's demand unmet in some year): "
                     + "; ".join(cells))
    if "utilization_world_quantile" in s:
        line = "- **World cell plant utilisation**, median: " + _median_line(s, "utilization_world", ky, n, "%", 100.0, " pp")
        ex = "utilization_world_exceedance"
        if ex in s and 0.64 in [round(float(t), 6) for t in s["utilization_world_threshold"].values]:
            p = 1.0 - float(s[ex].sel(ky).sel(utilization_world_threshold=0.64, method="nearest"))
            se = math.sqrt(max(p * (1 - p), 0.0) / max(n, 1))
            line += f"; P(utilisation < 64%) = {_pct(p)} ± {_pp(se)}"
        lines.append(line)
    if "cell_price_average_quantile" in s:
        lines.append("- **Average cell price paid** (demand-weighted, USD(2024)/kWh), median: "
                     + _median_line(s, "cell_price_average", ky, n, " USD/kWh", err_unit=" USD/kWh"))
    if "pack_price_average_quantile" in s:
        lines.append("- **Average pack price paid** (demand-weighted, the BNEF survey basis, USD(2024)/kWh), median: "
                     + _median_line(s, "pack_price_average", ky, n, " USD/kWh", err_unit=" USD/kWh"))
    lines.append("")

    if "cell_cost_quantile" in s:
        chems = [str(c) for c in s["chemistry"].values]
        regions = [r for r in ("CN", "EU") if r in [str(x) for x in s["region"].values]]
        lines.append(f"### Cell cost {year}, median ± MC s.e. (USD(2024)/kWh, incl. scrap losses)")
        lines.append("")
        lines.append("| region | " + " | ".join(chems) + " |")
        lines.append("|---|" + "---|" * len(chems))
        qa = s["cell_cost_quantile"].sel(year=year)
        err = quantile_mcse(qa, 0.5, n)
        for r in regions:
            cells = []
            for c in chems:
                med = float(qa.sel(region=r, chemistry=c).sel(quantile=0.5, method="nearest"))
                cells.append(f"{_fmt(med)} ± {_err(float(err.sel(region=r, chemistry=c)))}")
            lines.append(f"| {r} | " + " | ".join(cells) + " |")
        lines.append("")

    if "unmet_share_exceedance" in s:
        thr = [round(float(t), 6) for t in s["unmet_share_threshold"].values]
        materials = [str(x) for x in s["material"].values]
        lines.append("### P(more than 10% of a material's demand unmet) by year, ± MC s.e.")
        lines.append("")
        if 0.1 in thr:
            p = s["unmet_share_exceedance"].sel(unmet_share_threshold=0.1, method="nearest")
            se = (s["unmet_share_exceedance_mcse"].sel(unmet_share_threshold=0.1, method="nearest")
                  if "unmet_share_exceedance_mcse" in s else np.sqrt(p * (1 - p) / max(n, 1)))
            lines.append("| year | " + " | ".join(materials) + " |")
            lines.append("|---|" + "---|" * len(materials))
            for y in s["year"].values:
                cells = [f"{_pct(float(p.sel(year=y, material=m)))} ± {_pp(float(se.sel(year=y, material=m)))}" for m in materials]
                lines.append(f"| {int(y)} | " + " | ".join(cells) + " |")
        else:
            lines.append("Not computed: the forecast has no 10% unmet-share threshold.")
        lines.append("")

    if hindcast_summary is not None:
        lines += _hindcast_section(hindcast_summary)

    qattrs = s["material_price_quantile"].attrs if "material_price_quantile" in s else {}
    if "quantile_relative_error_bound" in qattrs:
        bound = f"{float(qattrs['quantile_relative_error_bound']):.2%} of the value"
    else:
        bound = qattrs.get("quantile_error_bound")  # files written before the bound was numeric
    lines.append("## Notes")
    lines.append("")
    lines.append("- Quantiles are read from fixed-grid histograms merged across chunks; their grid error is at most "
                 f"{bound or 'one bin (see each variable)'} for material prices (other outputs: each quantile "
                 "variable's `quantile_relative_error_bound` or `quantile_absolute_error_bound`).")
    lines.append("- Cost and price figures are real 2024 US dollars. A material's shortage is the share of its "
                 "demand (battery and other uses) left unmet after stocks and the price response; a shortage year "
                 "has more than 10% unmet. Utilisation is gross cell output over nameplate capacity.")
    lines.append(f"- Regenerate: `{regenerate_command(a, n, calibrated)} --out FILE.nc`.")
    lines.append("")
    return "\n".join(lines)


def regenerate_command(attrs, n: int, calibrated: bool) -> str:
    """The recorded ``command`` (shell-quoted), or one rebuilt from the attributes of files
    written before forecasts recorded it."""
    import shlex

    if attrs.get("command"):
        return str(attrs["command"])
    args = ["mcbattery", "forecast", "--scenario", str(attrs.get("scenario_file", attrs.get("scenario", "baseline"))).removesuffix(".toml"),
            "--draws", str(attrs.get("draws", n)), "--seed", str(attrs.get("seed", 0))]
    if not calibrated:
        args.append("--no-posterior")
    if attrs.get("end_year") is not None and int(attrs["end_year"]) != 2040:
        args += ["--end-year", str(int(attrs["end_year"]))]
    return shlex.join(args)


def _hindcast_section(h) -> list[str]:
    from mcbattery.calibration.hindcast import summarise_hindcast

    if "metric" in getattr(h, "columns", ()):
        h = summarise_hindcast(h)
    cols = [c for c in h.columns if c.startswith("coverage_")]
    out = ["## Hindcast: interval coverage of learning-curve forecasts", ""]
    out.append("Share of realised costs inside the central p% forecast interval, by method and horizon "
               "(nominal = p%); CRPS on log cost (lower is better); n = scored forecasts.")
    out.append("")
    out.append("| method | horizon (yr) | " + " | ".join(f"{c.split('_')[1]}%" for c in cols) + " | CRPS | n |")
    out.append("|---|---|" + "---|" * (len(cols) + 2))
    for _, r in h.iterrows():
        cov = " | ".join("n/a" if not np.isfinite(r[c]) else f"{r[c]:.2f}" for c in cols)
        crps = r.get("crps", np.nan)
        out.append(f"| {r['method']} | {int(r['horizon'])} | {cov} | "
                   f"{'n/a' if not np.isfinite(crps) else f'{crps:.3f}'} | {int(r.get('n', 0))} |")
    out.append("")
    return out


def write_card(forecast, path: str | Path, hindcast_summary=None) -> Path:
    """Write :func:`forecast_card` to ``path`` (Markdown) atomically; returns the path."""
    from mcbattery.common.files import atomic_file, check_output

    path = check_output(path, (".md", ".markdown", ".txt"))
    text = forecast_card(forecast, hindcast_summary)
    with atomic_file(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path
