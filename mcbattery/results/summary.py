"""Turn merged run statistics into labelled ``xarray.Dataset``s.

Summary variables per output ``X``: ``X_mean``, ``X_sd``, ``X_mcse`` (Monte Carlo standard
error of the mean), ``X_quantile`` (dim ``quantile``), ``X_min``, ``X_max`` and, where
thresholds are set, ``X_exceedance`` (dim ``X_threshold``: P(X > threshold)).
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from mcbattery.model.coords import Coords
from mcbattery.model.outputs import BINS, OUTPUTS, edges

DEFAULT_QUANTILES = (0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.975)


def histogram_quantiles(hist: np.ndarray, edges_: np.ndarray, vmin, vmax, qs, log: bool = False) -> np.ndarray:
    """Quantiles (len(qs), columns) from per-column counts (columns, bins + 2) over
    [underflow, the bins between ``edges_`` (bins + 1 edges), overflow].

    Linear interpolation inside the bin (in log space on log grids), clamped to the exact
    running [vmin, vmax]; under/overflow bins interpolate towards them. NaN for empty columns.
    """
    n_cols, nb = hist.shape[0], hist.shape[1] - 2
    total = hist.sum(axis=1)
    cum = np.cumsum(hist, axis=1)
    lo_edge = np.concatenate([[edges_[0]], edges_[:-1], [edges_[-1]]])
    hi_edge = np.concatenate([[edges_[0]], edges_[1:], [edges_[-1]]])
    out = np.full((len(qs), n_cols), np.nan)
    rows = np.arange(n_cols)
    for i, q in enumerate(qs):
        target = q * total
        b = np.minimum((cum < target[:, None]).sum(axis=1), nb + 1)
        before = np.where(b > 0, cum[rows, np.maximum(b - 1, 0)], 0)
        inbin = hist[rows, b]
        frac = np.clip((target - before) / np.maximum(inbin, 1), 0.0, 1.0)
        lo = np.where(b == 0, vmin, lo_edge[b])
        hi = np.where(b == nb + 1, vmax, hi_edge[b])
        lo = np.minimum(np.maximum(lo, vmin), hi)
        hi = np.maximum(np.minimum(hi, vmax), lo)
        lo = np.minimum(lo, vmax)
        with np.errstate(invalid="ignore"):  # empty columns (vmin = inf, vmax = -inf): NaN below
            val = lo + frac * (hi - lo)
        if log:
            pos = (lo > 0) & (hi > 0)
            safe_lo, safe_hi = np.where(pos, lo, 1.0), np.where(pos, hi, 1.0)
            val = np.where(pos, np.exp(np.log(safe_lo) + frac * np.log(safe_hi / safe_lo)), val)
        out[i] = np.where(total > 0, val, np.nan)
    return out


def output_coords(dims: tuple[str, ...], years: np.ndarray, coords: Coords) -> dict:
    """Coordinate labels of an output with ``dims`` over ``years``."""
    c = {"year": years}
    for d in dims:
        c[d] = list(coords[d])
    return c


def _attrs(name: str) -> dict:
    spec = OUTPUTS[name]
    return {"units": spec.units, "long_name": spec.long_name}


def quantile_error_attrs(spec) -> dict:
    """The worst-case grid error of an output's streamed quantiles, as a number: inside the
    grid's range, ``quantile_relative_error_bound`` (a fraction of the value, log grids) or
    ``quantile_absolute_error_bound`` (in the variable's units, linear grids)."""
    kind, lo, hi = spec.grid
    if kind == "log":
        return {"quantile_relative_error_bound": float((hi / lo) ** (1.0 / BINS) - 1.0)}
    return {"quantile_absolute_error_bound": float((hi - lo) / BINS)}


def build_summary(result, quantiles=DEFAULT_QUANTILES) -> xr.Dataset:
    """Summary dataset of a :class:`mcbattery.engine.RunResult`."""
    lay, acc = result.layout, result.acc
    n = max(acc.count, 1)
    var = acc.m2 / max(acc.count - 1, 1)
    sd = np.sqrt(np.maximum(var, 0.0))
    data = {}
    exceed_at = 0
    for name in lay.names:
        spec = OUTPUTS[name]
        sl, shape = lay.slices[name], lay.shapes[name]
        dims = ("year", *spec.dims)
        coords = output_coords(spec.dims, lay.years, lay.coords)
        a = _attrs(name)
        data[f"{name}_mean"] = xr.DataArray(acc.mean[sl].reshape(shape), coords, dims, attrs={**a, "long_name": f"mean {a['long_name']}"})
        data[f"{name}_sd"] = xr.DataArray(sd[sl].reshape(shape), coords, dims, attrs={**a, "long_name": f"standard deviation of {a['long_name']}"})
        data[f"{name}_mcse"] = xr.DataArray(
            sd[sl].reshape(shape) / np.sqrt(n), coords, dims, attrs={**a, "long_name": f"Monte Carlo standard error of the mean {a['long_name']}"}
        )
        data[f"{name}_min"] = xr.DataArray(acc.vmin[sl].reshape(shape), coords, dims, attrs={**a, "long_name": f"minimum {a['long_name']}"})
        data[f"{name}_max"] = xr.DataArray(acc.vmax[sl].reshape(shape), coords, dims, attrs={**a, "long_name": f"maximum {a['long_name']}"})
        qv = histogram_quantiles(acc.hist[sl], edges(spec), acc.vmin[sl], acc.vmax[sl], quantiles, spec.grid[0] == "log")
        data[f"{name}_quantile"] = xr.DataArray(
            qv.reshape((len(quantiles), *shape)),
            {**coords, "quantile": list(quantiles)},
            ("quantile", *dims),
            attrs={**a, "long_name": f"quantiles of {a['long_name']}", **quantile_error_attrs(spec)},
        )
        thr = result.thresholds.get(name, ())
        if thr:
            size = int(np.prod(shape))
            counts = acc.exceed[exceed_at : exceed_at + size * len(thr)].reshape((len(thr), *shape))
            exceed_at += size * len(thr)
            p = counts / n
            tdim = f"{name}_threshold"
            data[f"{name}_exceedance"] = xr.DataArray(
                p,
                {**coords, tdim: list(thr)},
                (tdim, *dims),
                attrs={
                    "units": "1",
                    "long_name": f"probability that {a['long_name']} exceeds the threshold",
                    "threshold_units": spec.units,
                },
            )
            data[f"{name}_exceedance_mcse"] = xr.DataArray(
                np.sqrt(p * (1 - p) / n), data[f"{name}_exceedance"].coords, (tdim, *dims),
                attrs={"units": "1", "long_name": f"Monte Carlo standard error of P({name} > threshold)"},
            )
    ds = xr.Dataset(data)
    return label_coords(ds, lay.coords)


def build_draws(result) -> xr.Dataset | None:
    """Kept draws as a dataset with dims (draw, year, ...), or None when none were kept.
    Every variable is marked ``role = "output"``."""
    if not result.kept:
        return None
    data = {}
    for name, arr in result.kept.items():
        spec = OUTPUTS[name]
        coords = output_coords(spec.dims, result.layout.years, result.layout.coords)
        coords["draw"] = np.arange(arr.shape[0])
        data[name] = xr.DataArray(arr, coords, ("draw", "year", *spec.dims), attrs={**_attrs(name), "role": "output"})
    return label_coords(xr.Dataset(data), result.layout.coords)


def varying_parameters(priors) -> list[str]:
    """The parameters whose values differ between draws (every prior but ``fixed``), registry order."""
    from mcbattery.model.params import REGISTRY

    return [k for k in REGISTRY if k in priors.params and priors.params[k].dist != "fixed"]


def build_parameters(priors, params: dict[str, np.ndarray], first_draw: int = 0) -> xr.Dataset:
    """The sampled parameters of draws ``first_draw ..`` (name -> (draws, *dims)) as variables
    with dims (draw, ...), marked ``role = "parameter"``; fixed parameters are left out."""
    from mcbattery.model.params import REGISTRY

    data = {}
    for name in varying_parameters(priors):
        arr = np.asarray(params[name])
        p = priors.params[name]
        coords = {"draw": np.arange(first_draw, first_draw + arr.shape[0]), **{d: list(priors.coords[d]) for d in p.dims}}
        src = "posterior sample" if p.dist == "empirical" else f"{p.dist} prior"
        data[name] = xr.DataArray(arr, coords, ("draw", *p.dims), attrs={
            "units": p.units, "long_name": f"sampled parameter {name} ({REGISTRY[name].block} block; {src})",
            "role": "parameter"})
    return xr.Dataset(data)


def label_coords(ds: xr.Dataset, coords: Coords) -> xr.Dataset:
    """Long names on the coordinates of a summary, draws or comparison dataset, and units on
    every numeric one (CF conventions): years, probability levels, draw indices and
    thresholds (in their output's units)."""
    for d in ds.dims:
        if d in coords:
            ds[d].attrs["long_name"] = coords.long_name(d)
        if d.endswith("_threshold"):
            base = d[: -len("_threshold")]
            name = base[: -len("_diff")] if base.endswith("_diff") else base
            if name in OUTPUTS:
                ds[d].attrs = {"long_name": f"threshold of {OUTPUTS[name].long_name}"
                               + (" difference b - a" if base != name else ""), "units": OUTPUTS[name].units}
    if "draw" in ds.coords:
        ds["draw"].attrs = {"long_name": "Monte Carlo draw index (its random numbers depend on seed and index only)",
                            "units": "1"}
    if "year" in ds.coords:
        ds["year"].attrs = {"long_name": "calendar year", "units": "year"}
    if "quantile" in ds.coords:
        ds["quantile"].attrs = {"long_name": "probability level", "units": "1"}
    return ds
