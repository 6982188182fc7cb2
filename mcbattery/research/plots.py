"""Figures of forecasts, comparisons and sensitivity results (matplotlib, imported on use).

Every function returns a ``matplotlib.figure.Figure`` that reads without the code: a title,
axis labels with units, a legend, and a small note under the axes with the scenario, draws,
seed, posterior and package version taken from the dataset's attributes. Pass ``ax=`` to
draw into an existing axes (the note is then left out unless ``note=True``).

Inputs are the package's own datasets: a forecast ``summary`` (``X_quantile`` etc., see
:mod:`mcbattery.results.summary`), kept ``draws`` (dims ``draw, year, ...``), a comparison from
:func:`mcbattery.research.compare.compare` (``X_diff_quantile``: pass ``var="X_diff"``), Sobol' results
from :func:`mcbattery.research.sensitivity.model_sobol` or :func:`mcbattery.research.sobol.sobol_indices`, swings
from :func:`mcbattery.research.sensitivity.one_at_a_time`, and hindcast summaries from
:func:`mcbattery.calibration.hindcast.summarise_hindcast`.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import xarray as xr

from mcbattery.common.errors import InputError

__all__ = [
    "fan_chart",
    "small_multiples",
    "peeling_tradeoff",
    "exceedance_curve",
    "scenario_comparison",
    "tornado",
    "sobol_bars",
    "hindcast_plot",
    "plant_ramp",
    "plant_scrap_paths",
    "provenance_note",
    "add_note",
]

DEFAULT_BANDS = ((0.05, 0.95), (0.25, 0.75))


# ----------------------------------------------------------------------------- helpers


def _plt():
    import matplotlib.pyplot as plt  # lazy: matplotlib is an optional dependency

    return plt


def provenance_note(attrs: Mapping) -> str:
    """One line: scenario, draws, seed, posterior (or 'priors only'), version, creation time."""
    parts = []
    if attrs.get("scenario_a") and attrs.get("scenario_b"):
        parts.append(f"difference {attrs['scenario_b']} - {attrs['scenario_a']} (paired draws)")
    elif attrs.get("scenario"):
        parts.append(f"scenario {attrs['scenario']}")
    n = attrs.get("valid_draws", attrs.get("draws"))
    if n is not None:
        parts.append(f"{int(n):,} draws")
    elif attrs.get("n") is not None:
        parts.append(f"n = {int(attrs['n']):,} base samples")
    seed = attrs.get("seed", attrs.get("engine_seed"))
    if seed is not None:
        parts.append(f"seed {seed}")
    post = attrs.get("posterior_file")
    if post is not None:
        calibrated = post and not str(post).startswith("none")
        parts.append(f"posterior {post}" + (f" ({attrs['data_vintage']})" if calibrated and attrs.get("data_vintage") else "")
                     if calibrated else "priors only (uncalibrated)")
    if attrs.get("mcbattery_version"):
        parts.append(f"mcbattery {attrs['mcbattery_version']}")
    if attrs.get("created_at"):
        parts.append(str(attrs["created_at"])[:10])
    return "Source: mcbattery Monte Carlo; " + " · ".join(parts) if parts else "Source: mcbattery"


def add_note(fig, note) -> None:
    """Put a source note (a string, or a dataset's attrs turned into one) at the bottom of
    ``fig``, wrapped to its width; constrained layout makes room for it."""
    import textwrap

    text = note if isinstance(note, str) else provenance_note(note)
    width = max(60, int(fig.get_figwidth() * 19))  # characters per line at 7 pt
    fig.supxlabel("\n".join(textwrap.wrap(text, width)), x=0.01, ha="left", fontsize=7, color="0.35")


def _finish(fig, ax_given: bool, attrs: Mapping, note) -> None:
    if note is None:
        note = not ax_given
    if note:
        add_note(fig, note if isinstance(note, str) else attrs)


def _new_axes(ax, figsize=(8, 4.8)):
    plt = _plt()
    if ax is not None:
        return ax.figure, ax, True
    fig, ax = plt.subplots(figsize=figsize, constrained_layout=True)
    return fig, ax, False


def _select(da: xr.DataArray, sel: Mapping | None, what: str) -> xr.DataArray:
    sel = dict(sel or {})
    unknown = set(sel) - set(da.dims)
    if unknown:
        raise InputError(f"{what} has no dim(s) {sorted(unknown)}; dims are {list(da.dims)}", field="sel")
    for d, v in sel.items():
        labels = list(da[d].values.tolist())
        want = v if isinstance(v, (list, tuple, np.ndarray)) else [v]
        missing = [w for w in want if w not in labels]
        if missing:
            raise InputError(f"{what}: {d}={missing} not available; expected some of {labels}", field="sel")
    return da.sel(sel)


#: Dimensionless outputs that are ratios, not shares: shown as multiples, never in per cent.
RATIO_UNITS = {"price_ratio": "x long-run price"}


def _display_units(name: str, units: str) -> str:
    """The units an axis or label shows for output ``name`` (a ratio's "1" as a multiple)."""
    for output, shown in RATIO_UNITS.items():
        if str(name or "").startswith(output) and units == "1":
            return shown
    return units


def _raw_units(da: xr.DataArray) -> str:
    units = da.attrs.get("units", "")
    if units == "see stage_units" and "stage_units" in da.coords and da["stage_units"].size == 1:
        units = str(da["stage_units"].values)
    return _display_units(da.name, units)


def _units(da: xr.DataArray) -> str:
    """The units as an axis shows them: shares and probabilities (units "1") in per cent."""
    units = _raw_units(da)
    return "%" if _is_share(units) else units


def _is_share(units: str) -> bool:
    return units == "1" or units.startswith("1 (")


#: Readable names of coordinate labels; labels not listed are shown as they are.
LABELS = {"CN": "China", "US": "United States", "EU": "Europe", "ROW": "rest of world", "Na-ion": "sodium-ion",
          "EV": "electric vehicles", "storage": "stationary storage", "other": "other uses"}


def label_name(label) -> str:
    """``"CN"`` -> ``"China"``; labels without a readable name are returned as they are."""
    return LABELS.get(str(label), str(label))


def _wrap(text: str, width: int = 48) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(text, width, break_long_words=False)) or text


def _number(x: float, pos=None) -> str:
    """Tick labels people read: 60,000 not 6x10^4; 0.5 not 5x10^-1."""
    if x == 0 or not np.isfinite(x):
        return "0"
    ax = abs(x)
    if ax >= 1000:
        return f"{x:,.0f}"
    if ax >= 1:
        return f"{x:,.10g}" if float(x).is_integer() else f"{x:.3g}"
    return f"{x:.2g}"


def format_axis(ax, units: str, axis: str = "y", log: bool = False) -> None:
    """Per-cent ticks for shares (units "1"), plain numbers with thousands separators
    otherwise (also on log axes, with 1-2-5 ticks)."""
    from matplotlib import ticker

    target = ax.yaxis if axis == "y" else ax.xaxis
    if _is_share(units) and not log:
        target.set_major_formatter(ticker.PercentFormatter(1.0, decimals=0))
        return
    if log:
        target.set_major_locator(ticker.LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        target.set_minor_formatter(ticker.NullFormatter())
    target.set_major_formatter(ticker.FuncFormatter(_number))


def output_label(label: str) -> str:
    """``"cell_utilization[year=2030,region=EU]"`` ->
    ``"cell plant utilisation (gross output / nameplate), Europe, 2030"``:
    an output element's label (Sobol' and one-at-a-time results) in words."""
    from mcbattery.model.outputs import OUTPUTS

    name, _, rest = str(label).partition("[")
    if name not in OUTPUTS:
        return str(label)
    parts = [p.split("=", 1) for p in rest.rstrip("]").split(",") if "=" in p]
    year = [v for k, v in parts if k == "year"]
    where = [label_name(v) for k, v in parts if k != "year"]
    return ", ".join([OUTPUTS[name].long_name, *where, *year])


def outcome_label(text: str) -> str:
    """``"unmet_share[year=2030,material=lithium] > 0.1"`` ->
    ``"share of demand unmet after stocks and the price response, lithium, 2030 > 10.0%"``."""
    import re

    from mcbattery.model.outputs import OUTPUTS

    m = re.match(r"^\s*([A-Za-z_][A-Za-z0-9_]*)(\[[^\]]*\])?\s*(>=|<=|>|<)\s*(\S+)\s*$", str(text))
    if not m or m.group(1) not in OUTPUTS:
        return str(text)
    name, sel, op, value = m.groups()
    try:
        shown = value_text(float(value), _display_units(name, OUTPUTS[name].units))
    except ValueError:
        shown = value
    return f"{output_label(name + (sel or '').replace(' ', ''))} {op} {shown}"


def value_text(x: float, units: str) -> str:
    """A number with its units as a reader wants it: 14,220 USD/t, 62%."""
    if _is_share(units):
        return f"{100 * x:.1f}%"
    return f"{_number(x)} {units}".strip()


def _base_long_name(da: xr.DataArray, var: str, attrs: Mapping | None = None) -> str:
    ln = da.attrs.get("long_name", var)
    for prefix in ("quantiles of the ", "quantiles of ", "mean "):
        if ln.startswith(prefix):
            ln = ln[len(prefix):]
            break
    return ln


def _diff_names(attrs: Mapping) -> tuple[str, str] | None:
    if attrs.get("scenario_a") and attrs.get("scenario_b"):
        return str(attrs["scenario_a"]), str(attrs["scenario_b"])
    return None


def _sel_text(sel: Mapping | None) -> str:
    """``region Europe, stage cells``: single labels only (a list of labels stays a dim)."""
    return ", ".join(f"{k} {label_name(v)}" for k, v in (sel or {}).items() if not isinstance(v, (list, tuple, np.ndarray)))


def _band_label(lo: float, hi: float) -> str:
    return f"{(hi - lo) * 100:g}% interval ({lo * 100:g}-{hi * 100:g}th pct.)"


def _quantiles_of(data, var: str, sel, levels) -> tuple[xr.DataArray, xr.DataArray, Mapping]:
    """(quantiles with dim ``quantile``, the variable for labels, attrs) from a summary,
    draws dataset or draws DataArray."""
    if isinstance(data, xr.DataArray):
        if "draw" not in data.dims:
            raise InputError("expected a DataArray of draws (dim 'draw')", field="data")
        da = _select(data, sel, data.name or var)
        q = da.quantile(list(levels), dim="draw")
        return q, da, dict(data.attrs)
    if not isinstance(data, xr.Dataset):
        raise InputError(f"expected an xarray Dataset or DataArray, got {type(data).__name__}", field="data")
    if f"{var}_quantile" in data:
        qa = _select(data[f"{var}_quantile"], sel, f"{var}_quantile")
        have = np.asarray(qa["quantile"].values, float)
        idx = []
        for lv in levels:
            hit = np.flatnonzero(np.isclose(have, lv, atol=1e-9))
            if not hit.size:
                raise InputError(
                    f"quantile {lv:g} is not in the summary; available {have.tolist()}", field="bands"
                )
            idx.append(int(hit[0]))
        return qa.isel(quantile=idx), qa, dict(data.attrs)
    if var in data and "draw" in data[var].dims:
        da = _select(data[var], sel, var)
        return da.quantile(list(levels), dim="draw"), da, dict(data.attrs)
    choices = sorted({k[: -len("_quantile")] for k in data.data_vars if k.endswith("_quantile")} | {
        k for k in data.data_vars if "draw" in data[k].dims})
    raise InputError(f"no {var!r} quantiles or draws in the dataset; expected one of {choices}", field="var")


# ----------------------------------------------------------------------------- fan chart


def _fan_quantiles(summary, var: str, sel, bands, what: str):
    """(bands, quantiles by year, the variable for labels, attrs, the dims besides year) for a
    fan over the years."""
    bands = tuple(tuple(float(x) for x in b) for b in bands)
    levels = sorted({0.5, *(x for b in bands for x in b)})
    q, da, attrs = _quantiles_of(summary, var, sel, levels)
    if "year" not in q.dims:
        raise InputError(f"{what} need a 'year' dimension; do not select a single year", field="sel")
    return bands, q, da, attrs, [d for d in q.dims if d not in ("quantile", "year")]


def fan_chart(
    summary,
    var: str,
    sel: Mapping | None = None,
    bands=DEFAULT_BANDS,
    *,
    ax=None,
    title: str | None = None,
    label: str | None = None,
    color=None,
    logy: bool = False,
    note=None,
    legend: bool = True,
):
    """Median and central intervals of ``var`` over the years.

    summary: a forecast summary (uses ``{var}_quantile``), a comparison (``var="X_diff"``),
    a draws Dataset or a DataArray of draws (quantiles computed). sel: labels for the other
    dims (``{"region": "EU", "chemistry": "LFP"}``); one dim may stay unselected, and then
    every label gets its own fan (e.g. cell cost by chemistry). bands: (low, high) quantile
    pairs, widest first; they must be in the summary's quantiles. Shares are drawn in per cent,
    large numbers with thousands separators (also on a log axis, ``logy=True``). For one panel
    per label of a dim (regions, chemistries, stages) see :func:`small_multiples`.
    """
    plt = _plt()
    bands, q, da, attrs, other = _fan_quantiles(summary, var, sel, bands, "fan charts")
    if len(other) > 1:
        raise InputError(f"select labels for all but one of the dims {other}", field="sel")
    fig, ax, given = _new_axes(ax)
    series = [(None, q)] if not other else [(lab, q.sel({other[0]: lab})) for lab in q[other[0]].values.tolist()]
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    years = q["year"].values
    alphas = np.linspace(0.18, 0.4, len(bands)) if bands else []
    for i, (lab, s) in enumerate(series):
        c = color if (color is not None and len(series) == 1) else colors[i % len(colors)]
        name = label if (label and lab is None) else (f"{label} {lab}" if label else (str(lab) if lab is not None else None))
        for (lo, hi), a in zip(bands, alphas):
            ax.fill_between(
                years, s.sel(quantile=lo, method="nearest").values, s.sel(quantile=hi, method="nearest").values,
                color=c, alpha=a, lw=0,
                label=None if len(series) > 1 else (f"{name}: " if name else "") + _band_label(lo, hi),
            )
        ax.plot(years, s.sel(quantile=0.5, method="nearest").values, color=c, lw=2,
                label=(f"{name} median" if name else "median"))
    if attrs.get("scenario_a") and var.endswith("_diff"):
        ax.axhline(0.0, color="black", lw=0.8)
    if len(series) > 1:  # band legend in grey once
        for (lo, hi), a in zip(bands, alphas):
            ax.fill_between([], [], [], color="0.3", alpha=a, lw=0, label=_band_label(lo, hi))
    ln = _base_long_name(da, var, attrs)
    units = _units(da)
    where = _sel_text(sel)
    pair = _diff_names(attrs) if ln.startswith("difference b - a of ") else None
    if pair:
        ln = ln[len("difference b - a of "):]
        ylabel = f"difference, {pair[1]} minus {pair[0]}" + (f" [{units}]" if units else "")
        default_title = (f"{ln[0].upper() + ln[1:]}" + (f" ({where})" if where else "")
                         + f": {pair[1]} minus {pair[0]}, paired draws")
    else:
        ylabel = f"{ln} [{units}]" if units else ln
        default_title = ln[0].upper() + ln[1:] + (f" ({where})" if where else "") + ": median and intervals"
    ax.set_xlabel("year")
    ax.set_ylabel(_wrap(ylabel, 44))
    ax.set_title(_wrap(title or default_title, 70), fontsize=11)
    if logy:
        ax.set_yscale("log")
    format_axis(ax, _raw_units(da), "y", log=logy)
    ax.xaxis.set_major_locator(__import__("matplotlib.ticker", fromlist=["MaxNLocator"]).MaxNLocator(integer=True))
    ax.grid(alpha=0.3)
    if legend:
        handles, labels = ax.get_legend_handles_labels()
        if series and len(series) > 1:
            named = [(h, label_name(lab.removesuffix(" median"))) if lab.endswith(" median") else (h, lab)
                     for h, lab in zip(handles, labels)]
            handles, labels = [h for h, _ in named], [lab for _, lab in named]
        ax.legend(handles, labels, fontsize=8, loc="best")
    _finish(fig, given, attrs, note)
    return fig


# ----------------------------------------------------------------------------- exceedance


def exceedance_curve(
    draws_or_summary,
    var: str,
    year: int,
    sel: Mapping | None = None,
    *,
    ax=None,
    below: bool = False,
    logx: bool | None = None,
    title: str | None = None,
    note=None,
):
    """P(X > x) for ``var`` in ``year`` (or P(X < x) with ``below=True``).

    draws_or_summary: kept draws (exact empirical curve), a summary (points at its quantile
    levels plus its exceedance thresholds with Monte Carlo error bars), or a dict
    ``{label: dataset}`` to overlay scenarios. sel: labels for the output's other dims.
    """
    plt = _plt()
    multi = isinstance(draws_or_summary, Mapping) and not isinstance(draws_or_summary, xr.Dataset)
    items = draws_or_summary.items() if multi else [(None, draws_or_summary)]
    fig, ax, given = _new_axes(ax)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    sel = dict(sel or {})
    sel_year = {**sel, "year": year}
    ref_da, attrs, xs_all = None, {}, []
    for i, (lab, ds) in enumerate(items):
        if not isinstance(ds, xr.Dataset):
            raise InputError(f"expected an xarray Dataset, got {type(ds).__name__}", field="draws_or_summary")
        c = colors[i % len(colors)]
        attrs = attrs or dict(ds.attrs)
        if var in ds and "draw" in ds[var].dims:
            da = _select(ds[var], sel_year, var)
            if set(da.dims) != {"draw"}:
                raise InputError(f"select labels for the dims {[d for d in da.dims if d != 'draw']}", field="sel")
            x = np.sort(da.values[np.isfinite(da.values)])
            n = x.size
            p = (np.arange(1, n + 1)) / n if below else 1.0 - np.arange(n) / n
            ax.step(x, p, where="post" if below else "pre", color=c, lw=1.8,
                    label=f"{lab + ': ' if lab else ''}kept draws (n = {n:,})")
            ref_da, xs_all = da, xs_all + [x]
        elif f"{var}_quantile" in ds:
            qa = _select(ds[f"{var}_quantile"], sel_year, f"{var}_quantile")
            if set(qa.dims) != {"quantile"}:
                raise InputError(f"select labels for the dims {[d for d in qa.dims if d != 'quantile']}", field="sel")
            levels = qa["quantile"].values
            x = qa.values
            p = levels if below else 1.0 - levels
            ax.plot(x, p, "o-", color=c, ms=4, lw=1.5, label=f"{lab + ': ' if lab else ''}summary quantiles")
            ex = f"{var}_exceedance"
            if ex in ds:
                ea = _select(ds[ex], sel_year, ex)
                tdim = [d for d in ea.dims if d.endswith("_threshold")][0]
                pe = ea.values if not below else 1.0 - ea.values
                err = _select(ds[f"{ex}_mcse"], sel_year, ex).values * 1.96 if f"{ex}_mcse" in ds else None
                ax.errorbar(ea[tdim].values, pe, yerr=err, fmt="s", color=c, ms=6, mfc="white", capsize=3,
                            label=f"{lab + ': ' if lab else ''}P at thresholds (±1.96 MC s.e.)")
            ref_da, xs_all = ds[f"{var}_quantile"], xs_all + [x]
        else:
            raise InputError(f"no {var!r} draws or quantiles in the dataset", field="var")
    allx = np.concatenate(xs_all) if xs_all else np.array([1.0])
    if logx is None:
        pos = allx[allx > 0]
        logx = bool(allx.size and np.all(allx > 0) and pos.max() / max(pos.min(), 1e-300) > 20)
    if logx:
        ax.set_xscale("log")
    ln = _base_long_name(ref_da, var, attrs)
    units = _units(ref_da)
    where = _sel_text(sel)
    ax.set_xlabel(_wrap(f"{ln} in {year}" + (f", {where}" if where else "") + (f" [{units}]" if units else ""), 70))
    ax.set_ylabel("probability below x" if below else "probability of exceeding x")
    ax.set_ylim(-0.02, 1.02)
    format_axis(ax, "1", "y")
    format_axis(ax, _raw_units(ref_da), "x", log=logx)
    ax.set_title(_wrap(title or f"{'Probability below' if below else 'Exceedance probability'}: {ln} in {year}", 70),
                 fontsize=11)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    if multi and note is None and not given:
        note = provenance_note({k: v for k, v in attrs.items() if k != "scenario"}) + " · scenarios: " + ", ".join(
            str(k) for k in draws_or_summary)
    _finish(fig, given, attrs, note)
    return fig


# ----------------------------------------------------------------------------- scenarios


def scenario_comparison(
    summaries: Mapping[str, xr.Dataset],
    var: str,
    sel: Mapping | None = None,
    *,
    bands=((0.05, 0.95),),
    ax=None,
    title: str | None = None,
    note=None,
):
    """Several scenarios' forecasts of ``var`` side by side.

    summaries: ``{scenario name: summary}``. With ``year`` in ``sel``: one row per scenario,
    median dot and interval whiskers; otherwise median lines and the widest band over years.
    Each scenario's own draws are independent of the others': for the *difference* between two
    scenarios with its own interval use :func:`mcbattery.research.compare.compare`.
    """
    plt = _plt()
    if not isinstance(summaries, Mapping) or isinstance(summaries, xr.Dataset) or not summaries:
        raise InputError("expected a dict {name: summary Dataset}", field="summaries")
    sel = dict(sel or {})
    bands = tuple(tuple(float(x) for x in b) for b in bands)
    levels = sorted({0.5, *(x for b in bands for x in b)})
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    fig, ax, given = _new_axes(ax)
    names = list(summaries)
    da = None
    notes = []
    for i, name in enumerate(names):
        q, da, attrs = _quantiles_of(summaries[name], var, sel, levels)
        notes.append(f"{name}: {int(attrs.get('valid_draws', attrs.get('draws', 0))):,} draws")
        c = colors[i % len(colors)]
        if "year" in sel:
            if q.ndim != 1:
                raise InputError(f"select labels for the dims {[d for d in q.dims if d != 'quantile']}", field="sel")
            y = len(names) - 1 - i
            for j, (lo, hi) in enumerate(bands):
                ax.plot([float(q.sel(quantile=lo)), float(q.sel(quantile=hi))], [y, y], color=c,
                        lw=2 + 3 * j, alpha=0.6, solid_capstyle="butt",
                        label=_band_label(lo, hi) if i == 0 else None)
            ax.plot(float(q.sel(quantile=0.5)), y, "o", color="black", ms=6, label="median" if i == 0 else None)
        else:
            other = [d for d in q.dims if d not in ("quantile", "year")]
            if other:
                raise InputError(f"select labels for the dims {other}", field="sel")
            years = q["year"].values
            lo, hi = bands[0]
            ax.fill_between(years, q.sel(quantile=lo).values, q.sel(quantile=hi).values, color=c, alpha=0.15, lw=0)
            ax.plot(years, q.sel(quantile=0.5).values, color=c, lw=2, label=f"{name} median ({_band_label(lo, hi)} shaded)")
    ln = _base_long_name(da, var)
    units = _units(da)
    label = _wrap(f"{ln} [{units}]" if units else ln, 60)
    where = _sel_text(sel)
    if "year" in sel:
        ax.set_yticks(range(len(names)))
        ax.set_yticklabels(names[::-1])
        ax.set_xlabel(label)
        ax.set_ylabel("scenario")
        format_axis(ax, _raw_units(da), "x")
    else:
        ax.set_xlabel("year")
        ax.set_ylabel(_wrap(label, 44))
        format_axis(ax, _raw_units(da), "y")
    ax.set_title(_wrap(title or f"{ln[0].upper() + ln[1:]} by scenario" + (f" ({where})" if where else ""), 70), fontsize=11)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    first = summaries[names[0]].attrs
    text = (
        provenance_note({k: v for k, v in first.items() if k not in ("scenario", "draws", "valid_draws")})
        + " · " + "; ".join(notes) + " · scenarios sampled independently"
    )
    if note is None:
        note = False if given else text
    elif note is True:
        note = text
    _finish(fig, given, first, note)
    return fig


# ----------------------------------------------------------------------------- sensitivity


def _pick_output(ds: xr.Dataset, output):
    if "output" not in ds.dims:
        return ds, None
    labels = [str(x) for x in ds["output"].values.tolist()]
    if output is None:
        if len(labels) > 1:
            raise InputError(f"several outputs; choose one with output= from {labels}", field="output")
        output = labels[0]
    if isinstance(output, int) and output not in labels:
        return ds.isel(output=output), labels[output]
    if str(output) not in labels:
        raise InputError(f"unknown output {output!r}; expected one of {labels}", field="output")
    return ds.isel(output=labels.index(str(output))), str(output)


def _units_text(units: str) -> str:
    return "%" if _is_share(units) else units


def _output_units(ds: xr.Dataset) -> str:
    if "output_units" in ds.coords and ds["output_units"].size == 1:
        return str(ds["output_units"].values)
    return ""


def tornado(
    data,
    *,
    output=None,
    baseline: float | None = None,
    ax=None,
    title: str | None = None,
    xlabel: str | None = None,
    max_bars: int = 15,
    note=None,
):
    """Tornado chart: one bar per input, longest on top.

    data: a one-at-a-time result (:func:`mcbattery.research.sensitivity.one_at_a_time`: bars from ``base`` to
    ``low`` and ``high``), a Sobol' result (bars of the total-order index ``ST`` with its
    interval), or a mapping / DataFrame ``{input: (low, high)}`` with an optional ``baseline``.
    output: which output of a multi-output result.
    """
    plt = _plt()
    fig, ax, given = _new_axes(ax, figsize=(8, 5))
    attrs: Mapping = {}
    if isinstance(data, xr.Dataset) and "ST" in data:
        ds, out = _pick_output(data, output)
        order = np.argsort(np.nan_to_num(ds["ST"].values, nan=-1))[::-1][:max_bars]
        names = [str(ds["input"].values[i]) for i in order]
        st = ds["ST"].values[order]
        err = None
        if "ST_low" in ds and np.isfinite(ds["ST_low"].values).all():
            err = np.vstack([st - ds["ST_low"].values[order], ds["ST_high"].values[order] - st])
            err = np.maximum(err, 0)
        y = np.arange(len(names))[::-1]
        ax.barh(y, st, color="C3", alpha=0.8, label="total-order index ST")
        if err is not None:
            ax.errorbar(st, y, xerr=err, fmt="none", ecolor="black", capsize=3, label=f"{data.attrs.get('level', 0.95) * 100:g}% bootstrap interval")
        if "S1" in ds:
            ax.plot(ds["S1"].values[order], y, "D", color="black", ms=5, label="first-order index S1")
        ax.set_yticks(y)
        ax.set_yticklabels(names)
        ax.set_xlabel(xlabel or "share of output variance (total-order index)")
        format_axis(ax, "1", "x")
        ax.set_title(_wrap(title or f"What drives the spread of {output_label(out) if out else 'the output'}", 60),
                     fontsize=11)
        ax.axvline(0, color="0.3", lw=0.8)
        attrs = data.attrs
    else:
        if isinstance(data, xr.Dataset) and {"low", "high"} <= set(data.data_vars):
            ds, out = _pick_output(data, output)
            names_all = [str(x) for x in ds["input"].values]
            low, high = ds["low"].values, ds["high"].values
            base = float(ds["base"].values) if "base" in ds and baseline is None else baseline
            units = _output_units(ds)
            attrs = data.attrs
            default_x = _wrap(f"mean {output_label(out)}" + (f" [{_units_text(units)}]" if units else ""), 60)
            levels = str(data.attrs.get("levels", "0.1, 0.9")).split(",")
            lo_lab = f"group at its {levels[0].strip()} quantile"
            hi_lab = f"group at its {levels[-1].strip()} quantile"
        else:
            try:
                import pandas as pd

                if isinstance(data, pd.DataFrame):
                    items = {str(k): (float(r["low"]), float(r["high"])) for k, r in data.iterrows()}
                else:
                    items = {str(k): (float(v[0]), float(v[1])) for k, v in dict(data).items()}
            except (TypeError, ValueError, KeyError, IndexError):
                raise InputError("expected a Sobol' or one-at-a-time Dataset, or {input: (low, high)}", field="data") from None
            names_all = list(items)
            low = np.array([v[0] for v in items.values()])
            high = np.array([v[1] for v in items.values()])
            base = baseline
            default_x, out = "output", None
            lo_lab, hi_lab = "low input value", "high input value"
        if base is None:
            base = float(np.median((low + high) / 2))
        swing = np.abs(high - low)
        order = np.argsort(swing)[::-1][:max_bars]
        y = np.arange(len(order))[::-1]
        ax.barh(y, low[order] - base, left=base, color="C0", alpha=0.8, label=lo_lab)
        ax.barh(y, high[order] - base, left=base, color="C1", alpha=0.8, label=hi_lab)
        units_here = _output_units(ds) if isinstance(data, xr.Dataset) else ""
        ax.axvline(base, color="black", lw=1, label=f"all inputs random: {value_text(base, units_here)}")
        ax.set_yticks(y)
        ax.set_yticklabels([names_all[i] for i in order])
        ax.set_xlabel(xlabel or default_x)
        format_axis(ax, units_here, "x")
        ax.set_title(_wrap(title or f"One-at-a-time swings of {output_label(out) if out else 'the output'}", 60),
                     fontsize=11)
    ax.set_ylabel("input (parameter group)")
    ax.grid(alpha=0.3, axis="x")
    ax.legend(fontsize=8, loc="lower right")
    _finish(fig, given, attrs, note)
    return fig


def sobol_bars(ds: xr.Dataset, output=None, *, ax=None, sort: bool = True, title: str | None = None, note=None):
    """First-order (S1) and total-order (ST) Sobol' indices with their bootstrap intervals.

    ds: from :func:`mcbattery.research.sensitivity.model_sobol` or :mod:`mcbattery.research.sobol`. With several
    outputs and ``output=None`` every output gets its own panel.
    """
    plt = _plt()
    if not isinstance(ds, xr.Dataset) or not {"S1", "ST"} <= set(ds.data_vars):
        raise InputError("expected a Sobol' result with S1 and ST", field="ds")
    if "output" in ds.dims and output is None and ds.sizes["output"] > 1:
        outs = [str(x) for x in ds["output"].values]
        if ax is not None:
            raise InputError("several outputs: pass output= to draw one into ax", field="output")
        fig, axes = plt.subplots(len(outs), 1, figsize=(8, 3.2 * len(outs)), constrained_layout=True, squeeze=False)
        for a, o in zip(axes[:, 0], outs):
            sobol_bars(ds, o, ax=a, sort=sort, note=False)
        _finish(fig, False, ds.attrs, note)
        return fig
    one, out = _pick_output(ds, output)
    fig, ax, given = _new_axes(ax)
    names = [str(x) for x in one["input"].values]
    order = np.argsort(np.nan_to_num(one["ST"].values, nan=-1))[::-1] if sort else np.arange(len(names))
    x = np.arange(len(order))
    w = 0.38
    level = ds.attrs.get("level", 0.95)
    for k, (var, off, c) in enumerate((("S1", -w / 2, "C0"), ("ST", w / 2, "C3"))):
        v = one[var].values[order]
        ax.bar(x + off, v, width=w, color=c, alpha=0.85,
               label={"S1": "first order S1", "ST": "total order ST"}[var])
        if f"{var}_low" in one and np.isfinite(one[f"{var}_low"].values).any():
            lo = one[f"{var}_low"].values[order]
            hi = one[f"{var}_high"].values[order]
            ax.errorbar(x + off, v, yerr=np.maximum(np.vstack([v - lo, hi - v]), 0), fmt="none", ecolor="black",
                        capsize=2, lw=1, label=f"{level * 100:g}% bootstrap interval" if k == 0 else None)
    ax.set_xticks(x)
    ax.set_xticklabels([names[i] for i in order], rotation=30, ha="right")
    ax.set_ylabel("Sobol' index\n(share of output variance)")
    format_axis(ax, "1", "y")
    ax.set_xlabel("input (parameter group)")
    ax.axhline(0, color="0.3", lw=0.8)
    # indices live in [0, 1]; bootstrap intervals of heavy-tailed outputs can run far beyond
    lows = [float(np.nanmin(one[v].values)) for v in ("S1", "S1_low") if v in one and np.isfinite(one[v].values).any()]
    ax.set_ylim(max(-0.25, min([-0.05, *lows]) - 0.02), 1.1)
    ax.set_title(_wrap(title or f"Sobol' indices of {output_label(out) if out else 'the output'}", 60), fontsize=11)
    ax.grid(alpha=0.3, axis="y")
    ax.legend(fontsize=8)
    _finish(fig, given, ds.attrs, note)
    return fig


# ----------------------------------------------------------------------------- hindcast


def hindcast_plot(summary, *, title: str | None = None, note: str | None = None):
    """Coverage, CRPS and log score by horizon: :func:`mcbattery.calibration.hindcast.plot_hindcast` with a
    title and a source note. Accepts the summary of ``summarise_hindcast`` or the raw frame of
    ``rolling_hindcast`` (summarised here)."""
    from mcbattery.calibration.hindcast import plot_hindcast, summarise_hindcast

    if "metric" in getattr(summary, "columns", ()):
        summary = summarise_hindcast(summary)
    fig = plot_hindcast(summary)
    n = int(summary["n"].sum()) if "n" in summary else None
    fig.suptitle(title or "Rolling-origin hindcast of learning-curve forecasts (log unit cost)")
    add_note(fig, note or ("Source: mcbattery.calibration.hindcast" + (f"; {n} scored forecasts" if n else "")))
    return fig


# ----------------------------------------------------------------------------- factory ramp-up


def plant_scrap_paths(
    scenario="baseline",
    regions=("CN", "US", "EU"),
    years: int = 8,
    utilization: float = 0.8,
    draws: int = 2000,
    seed: int = 0,
    *,
    params: Mapping | None = None,
    posterior=None,
) -> xr.DataArray:
    """Scrap-rate paths of one new plant per region over its first ``years`` years, from
    :func:`mcbattery.model.ramp.plant_trajectory` with the engine's sampled ``scrap_new_plant``,
    ``scrap_floor`` and ``scrap_learning_rate`` (draws ``0..draws-1`` of ``seed``, or the given
    ``params`` from ``engine.sample_params``). Returns a DataArray (draw, age, region)."""
    from mcbattery.inputs.priors import shipped_coords
    from mcbattery.model.ramp import plant_trajectory

    REGIONS = shipped_coords()["region"]
    bad = [r for r in regions if r not in REGIONS]
    if bad:
        raise InputError(f"unknown region(s) {bad}; expected some of {list(REGIONS)}", field="regions")
    if not 0 <= float(utilization) <= 1:
        raise InputError("expected a utilisation between 0 and 1", field="utilization")
    if params is None:
        from mcbattery.common.checks import check_int
        from mcbattery.engine.direct import sample_rows
        from mcbattery.inputs.scenarios import resolve_scenario

        draws = check_int("draws", draws, 1)
        pri = resolve_scenario(scenario, None, posterior)
        params = sample_rows(pri, np.arange(draws), seed)
    idx = [REGIONS.index(r) for r in regions]
    new = np.asarray(params["scrap_new_plant"])[:, idx]
    floor = np.asarray(params["scrap_floor"])[:, idx]
    rate = np.asarray(params["scrap_learning_rate"])[:, idx]
    traj = np.asarray(plant_trajectory(new, floor, rate, float(utilization), int(years)))  # (age, draw, region)
    return xr.DataArray(
        np.moveaxis(traj, 0, 1),
        coords={"draw": np.arange(traj.shape[1]), "age": np.arange(int(years)), "region": list(regions)},
        dims=("draw", "age", "region"),
        name="scrap_rate",
        attrs={"units": "1", "long_name": "scrap rate of a new plant (share of gross output)",
               "utilization": float(utilization), "scenario": getattr(scenario, "scenario", str(scenario))},
    )


def plant_ramp(
    scenario="baseline",
    regions=("CN", "US", "EU"),
    years: int = 8,
    utilization: float = 0.8,
    draws: int = 2000,
    seed: int = 0,
    *,
    params: Mapping | None = None,
    paths: xr.DataArray | None = None,
    bands=((0.1, 0.9),),
    ax=None,
    note=None,
):
    """Fan chart of a new plant's scrap rate by age for each region (see
    :func:`plant_scrap_paths`; pass ``paths`` to plot precomputed ones)."""
    plt = _plt()
    if paths is None:
        paths = plant_scrap_paths(scenario, regions, years, utilization, draws, seed, params=params)
    fig, ax, given = _new_axes(ax)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    ages = paths["age"].values
    for i, r in enumerate(paths["region"].values.tolist()):
        p = paths.sel(region=r)
        c = colors[i % len(colors)]
        for lo, hi in bands:
            ax.fill_between(ages, p.quantile(lo, "draw").values, p.quantile(hi, "draw").values, color=c, alpha=0.2, lw=0)
        ax.plot(ages, p.median("draw").values, color=c, lw=2, marker="o", ms=3,
                label=f"{label_name(r)} median ({', '.join(_band_label(lo, hi) for lo, hi in bands)} shaded)")
    ax.set_xlabel("plant age [years since start of production]")
    ax.set_ylabel("scrap rate [% of gross cell output]")
    ax.set_ylim(0, None)
    format_axis(ax, "1", "y")
    u = paths.attrs.get("utilization")
    ax.set_title(_wrap("Ramp-up of a new cell plant: scrap rate by age" + (f" (running at {u:.0%} utilisation)" if u is not None else ""), 70),
                 fontsize=11)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    attrs = {"scenario": paths.attrs.get("scenario", ""), "draws": paths.sizes["draw"], "seed": seed}
    _finish(fig, given, attrs, note)
    return fig


# ----------------------------------------------------------------------------- small multiples


def small_multiples(
    summary,
    var: str,
    sel: Mapping | None = None,
    *,
    rows: str | None = None,
    cols: str | None = None,
    bands=DEFAULT_BANDS,
    sharey: bool | str = True,
    logy: bool = False,
    panel_size=(3.0, 2.3),
    title: str | None = None,
    note=None,
):
    """One fan chart per label of one or two dims, on a grid with shared axes: cell cost by
    region (rows) and chemistry (columns), utilisation by region, demand by segment and region.

    summary, var, sel, bands, logy: as in :func:`fan_chart`; the dims left after ``sel`` (one or
    two besides ``year``) make the panels: ``rows`` and ``cols`` say which is which (default:
    the first for rows, the second for columns; one dim is laid out in a row). ``sharey``: as in
    matplotlib (True, False, "row", "col"). One legend, one y label and a source note for the
    whole figure.
    """
    plt = _plt()
    bands, q, da, attrs, other = _fan_quantiles(summary, var, sel, bands, "small multiples")
    if not other or len(other) > 2:
        raise InputError(f"small multiples need one or two dims besides year; {var} has {other} after sel", field="sel")
    for d in (rows, cols):
        if d is not None and d not in other:
            raise InputError(f"{d!r} is not a dim of {var} left after sel; expected one of {other}", field="rows")
    if len(other) == 1:
        rows, cols = (other[0], None) if rows == other[0] else (None, other[0])
    else:
        rows = rows or next(d for d in other if d != cols)
        cols = cols or next(d for d in other if d != rows)
    row_labels = q[rows].values.tolist() if rows else [None]
    col_labels = q[cols].values.tolist() if cols else [None]
    w, h = panel_size
    fig, axes = plt.subplots(len(row_labels), len(col_labels), figsize=(w * len(col_labels) + 0.8, h * len(row_labels) + 1.2),
                             sharex=True, sharey=sharey, squeeze=False, layout="constrained")
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    years = q["year"].values
    alphas = np.linspace(0.18, 0.4, len(bands)) if bands else []
    for i, r in enumerate(row_labels):
        for j, c in enumerate(col_labels):
            ax = axes[i, j]
            pick = {k: v for k, v in ((rows, r), (cols, c)) if k is not None}
            s = q.sel(pick)
            color = colors[(i if cols is None else j) % len(colors)]
            for (lo, hi), a in zip(bands, alphas):
                ax.fill_between(years, s.sel(quantile=lo, method="nearest").values, s.sel(quantile=hi, method="nearest").values,
                                color=color, alpha=a, lw=0, label=_band_label(lo, hi))
            ax.plot(years, s.sel(quantile=0.5, method="nearest").values, color=color, lw=1.8, label="median")
            if i == 0 and c is not None:
                ax.set_title(label_name(c), fontsize=10)
            if j == len(col_labels) - 1 and r is not None:
                ax.yaxis.set_label_position("right")
                ax.set_ylabel(label_name(r), fontsize=10, rotation=270, labelpad=12)
            if logy:
                ax.set_yscale("log")
            format_axis(ax, _raw_units(da), "y", log=logy)
            ax.tick_params(labelsize=8)
            ax.grid(alpha=0.3)
    from matplotlib import ticker

    for ax in axes[-1]:
        ax.xaxis.set_major_locator(ticker.MaxNLocator(4, integer=True))
        ax.set_xlabel("year", fontsize=9)
    ln = _base_long_name(da, var, attrs)
    units = _units(da)
    where = _sel_text(sel)
    fig.supylabel(_wrap(f"{ln} [{units}]" if units else ln, 50), fontsize=10)
    fig.suptitle(_wrap(title or (ln[0].upper() + ln[1:] + (f" ({where})" if where else "") + ": median and intervals"), 90),
                 fontsize=11)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend([handles[-1], *handles[:-1]], [labels[-1], *labels[:-1]], loc="outside right upper",
               fontsize=8, frameon=False)
    if note is not False:
        add_note(fig, note if isinstance(note, str) else provenance_note(attrs))
    return fig


# ----------------------------------------------------------------------------- scenario discovery


def peeling_tradeoff(discovery, box: int = 0, *, title: str | None = None, note=None):
    """Scenario discovery (:func:`mcbattery.research.discover.discover`): left, PRIM's
    peeling trajectory, coverage against density for every candidate box (colour: how many
    parameters it restricts) with the chosen box ringed; right, the chosen box's range of each
    restricted parameter within the range sampled (a bar from the box's low to its high, on
    0-100 % of the sampled range)."""
    plt = _plt()
    from matplotlib import ticker

    if not hasattr(discovery, "trajectories") or not discovery.trajectories:
        raise InputError("expected the result of discover() with at least one box", field="discovery")
    if not 0 <= box < len(discovery.boxes):
        raise InputError(f"box {box} not found; the discovery has {len(discovery.boxes)}", field="box")
    traj = discovery.trajectories[box]
    chosen = discovery.boxes[box]
    limits = chosen.limits
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(11, 4.6 + 0.1 * max(len(limits) - 6, 0)), layout="constrained",
                                 gridspec_kw={"width_ratios": [1, 1.15]})
    dims = traj["res_dim"].to_numpy()
    sc = ax.scatter(traj["coverage"], traj["density"], c=dims, cmap="viridis", s=18, zorder=3)
    ax.plot(traj["coverage"], traj["density"], color="0.6", lw=0.8, zorder=2)
    ax.scatter([chosen.coverage], [chosen.density], s=160, facecolors="none", edgecolors="C3", lw=2, zorder=4,
               label=f"chosen box: coverage {chosen.coverage:.0%}, density {chosen.density:.0%}")
    ax.axhline(discovery.base_rate, color="0.3", ls=":", lw=1, label=f"base rate {discovery.base_rate:.0%}")
    ax.axhline(discovery.density_target, color="C3", ls="--", lw=0.8, label=f"target density {discovery.density_target:.0%}")
    ax.set_xlabel("coverage [% of outcome draws inside the box]")
    ax.set_ylabel("density [% of box draws with the outcome]")
    for a in (ax.xaxis, ax.yaxis):
        a.set_major_formatter(ticker.PercentFormatter(1.0, decimals=0))
    ax.set_xlim(0, 1.02)
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower left")
    bar = fig.colorbar(sc, ax=ax, pad=0.01)
    bar.set_label("restricted parameters", fontsize=9)
    bar.locator = ticker.MaxNLocator(integer=True)
    bar.update_ticks()
    ax.set_title("Peeling trajectory: coverage against density", fontsize=10)
    y = np.arange(len(limits))[::-1]
    span = (limits["sampled_high"] - limits["sampled_low"]).replace(0, np.nan)
    lo = ((limits["low"] - limits["sampled_low"]) / span).to_numpy()
    hi = ((limits["high"] - limits["sampled_low"]) / span).to_numpy()
    bx.barh(y, np.ones(len(y)), left=0, color="0.9", height=0.6, label="range sampled")
    bx.barh(y, hi - lo, left=lo, color="C0", height=0.6, label="range inside the box")
    for yi, (_, r), a, b in zip(y, limits.iterrows(), lo, hi):
        bx.text(-0.02, yi, f"{_number(r['low'])}", ha="right", va="center", fontsize=7)
        # the unit alone (its first word): prior units go on to explain, e.g. "yr of demand held at ..."
        words = str(r["units"]).split()
        unit = "" if not words or words[0] == "1" else words[0]
        bx.text(1.02, yi, f"{_number(r['high'])} {unit}".rstrip(), ha="left", va="center", fontsize=7)
    bx.set_yticks(y)
    bx.set_yticklabels([_wrap(p, 34) for p in limits["parameter"]], fontsize=8)
    bx.set_xlim(-0.28, 1.5)
    bx.set_xticks([0, 0.5, 1])
    bx.xaxis.set_major_formatter(ticker.PercentFormatter(1.0, decimals=0))
    bx.set_xlabel("share of the sampled range (box limits written beside)")
    bx.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncols=2, frameon=False)
    bx.set_title(f"Box {box + 1}: {len(limits)} restricted parameter(s)", fontsize=10)
    if not len(limits):
        bx.text(0.5, 0.5, "no restriction: the box is every draw", ha="center", va="center", transform=bx.transAxes)
    fig.suptitle(_wrap(title or f"Scenario discovery: which parameters lead to {outcome_label(discovery.outcome)}", 100),
                 fontsize=11)
    if note is not False:
        add_note(fig, note if isinstance(note, str) else provenance_note(discovery.attrs)
                 + f" · PRIM (ema_workbench) on {discovery.draws:,} kept draws")
    return fig
