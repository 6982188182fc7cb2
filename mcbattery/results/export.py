"""Atomic export of forecasts: NetCDF (``.nc``), tidy CSV (``.csv``) with a provenance
sidecar, Parquet, Zarr and Excel (``.xlsx``).

Every file is written to a temporary name in the target folder and renamed into place, so
a crash or a bad input never leaves a half-written output.

The tidy table (:func:`tidy`) has one row per number: ``variable, statistic, quantile,
threshold, <coordinates>, value, units, threshold_units``, where ``quantile`` (the
probability level of a quantile) and ``threshold`` (of an exceedance probability, in
``threshold_units``) are numbers, empty elsewhere. A CSV's provenance (seed, scenario,
version, posterior, command, units of every variable) goes to ``<stem>_provenance.json``
beside it; a spreadsheet carries it in its README sheet.
"""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from mcbattery.common.errors import InputError

FORMATS = (".nc", ".csv", ".parquet", ".zarr", ".xlsx")
EXCEL_ROWS = 1_048_576  # rows per worksheet, header included


def check_output_path(path: str | Path) -> Path:
    """Validate an output path before any work is done: known suffix, existing folder."""
    path = Path(path)
    if path.suffix not in FORMATS:
        raise InputError(f"unknown output format {path.suffix or '(none)'!r}; expected one of {list(FORMATS)}", file=str(path), field="out")
    if not path.parent.is_dir():
        raise InputError(f"output folder does not exist: {path.parent} (create it first: mkdir -p {path.parent})", field="out")
    if path.is_dir() and path.suffix != ".zarr":
        raise InputError("is a folder; expected a file name", file=str(path), field="out")
    if path.suffix == ".zarr" and path.exists() and not path.is_dir():
        raise InputError("is a file; a .zarr store is a folder", file=str(path), field="out")
    return path


@contextmanager
def atomic(path: Path):
    """Yield a temporary path beside ``path``; rename it over ``path`` on success."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def netcdf_engine() -> str:
    """The best NetCDF writer available: h5netcdf, netCDF4, else scipy (NetCDF3)."""
    for name in ("h5netcdf", "netCDF4"):
        try:
            __import__(name)
            return name.lower() if name == "netCDF4" else name
        except ImportError:
            continue
    return "scipy"


def write_netcdf(ds: xr.Dataset, path: Path) -> Path:
    with atomic(path) as tmp:
        ds.to_netcdf(tmp, engine=netcdf_engine())
    return path


def tidy(ds: xr.Dataset) -> pd.DataFrame:
    """Long table, one row per number: ``variable, statistic, quantile, threshold,
    <coordinates>, value, units, threshold_units``. ``quantile`` and ``threshold`` are numeric
    (NaN where they do not apply); kept draws have statistic ``draw`` and a ``draw`` column."""
    frames = []
    for name, da in ds.data_vars.items():
        base, stat = (name, "draw") if "draw" in da.dims else _split(name)
        df = da.to_dataframe(name="value").reset_index()
        df["quantile"] = df.pop("quantile").astype(float) if "quantile" in df else np.nan
        tcols = [c for c in df.columns if c.endswith("_threshold")]
        df["threshold"] = df.pop(tcols[0]).astype(float) if tcols else np.nan
        df["statistic"] = stat
        df["variable"] = base
        df["units"] = da.attrs.get("units", "")
        df["threshold_units"] = da.attrs.get("threshold_units", "") if tcols else ""
        frames.append(df)
    out = pd.concat(frames, ignore_index=True)
    for col in ("year", "draw"):  # whole numbers stay whole where some variables lack the dim
        if col in out and out[col].dtype.kind == "f":
            out[col] = out[col].astype("Int64")
    first = ["variable", "statistic", "quantile", "threshold"]
    last = ["value", "units", "threshold_units"]
    middle = [c for c in out.columns if c not in first + last]
    return out[first + middle + last]


def _split(name: str) -> tuple[str, str]:
    for stat in ("_exceedance_mcse", "_exceedance", "_quantile", "_mean", "_sd", "_mcse", "_min", "_max"):
        if name.endswith(stat):
            return name[: -len(stat)], stat[1:]
    return name, "draw"


COLUMNS = {
    "variable": "model output (or, in kept draws, sampled parameter); see 'variables'",
    "statistic": "mean, sd, mcse (Monte Carlo standard error of the mean), min, max, quantile, exceedance "
                 "(probability of exceeding 'threshold'), exceedance_mcse, or draw (one Monte Carlo draw)",
    "quantile": "probability level of a quantile (0-1); empty for other statistics",
    "threshold": "threshold of an exceedance probability, in 'threshold_units'; empty for other statistics",
    "value": "the number, in 'units'",
    "units": "units of 'value' (1 = dimensionless fraction or probability)",
    "threshold_units": "units of 'threshold'",
}


def provenance_record(datasets: dict[str, xr.Dataset]) -> dict:
    """What a sidecar or README sheet says: the first dataset's attributes (provenance), the
    files, the columns of the tidy table and every variable's units and long name."""
    first = next(iter(datasets.values()))
    variables = {}
    for ds in datasets.values():
        for name, da in ds.data_vars.items():
            variables[name] = {k: _plain(v) for k, v in da.attrs.items() if k in ("units", "long_name", "role", "threshold_units")}
    return {
        "title": str(first.attrs.get("title", "mcbattery output")),
        "attributes": {k: _plain(v) for k, v in first.attrs.items()},
        "files": {name: str(ds.attrs.get("title", "")) for name, ds in datasets.items()},
        "columns": COLUMNS,
        "variables": variables,
    }


def _plain(v):
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, np.ndarray):
        return v.tolist()
    return v


def write_csv(ds: xr.Dataset, path: Path) -> Path:
    with atomic(path) as tmp:
        tidy(ds).to_csv(tmp, index=False)
    return path


def write_sidecar(path: Path, datasets: dict[str, xr.Dataset]) -> Path:
    """``<stem>_provenance.json`` beside a CSV: :func:`provenance_record` of its files."""
    import json

    side = path.with_name(f"{path.stem}_provenance.json")
    with atomic(side) as tmp:
        tmp.write_text(json.dumps(provenance_record(datasets), indent=2, default=str) + "\n", encoding="utf-8")
    return side


def _sheet_name(name: str, taken: set[str]) -> str:
    base = "".join(c if c not in "[]:*?/\\" else "_" for c in name)[:31]
    out, i = base, 1
    while out.lower() in taken:
        i += 1
        out = f"{base[: 31 - len(str(i)) - 1]}~{i}"
    taken.add(out.lower())
    return out


def _wide(da: xr.DataArray) -> pd.DataFrame:
    """One row per (draw, year), one column per element of the other dims."""
    index = [d for d in ("draw", "year") if d in da.dims]
    other = [d for d in da.dims if d not in index]
    s = da.drop_vars([c for c in da.coords if c not in da.dims]).to_series()
    if not other:
        return s.rename(da.name).reset_index()
    table = s.unstack(other)
    table.columns = [",".join(str(x) for x in (c if isinstance(c, tuple) else (c,))) for c in table.columns]
    return table.reset_index()


def write_xlsx(ds: xr.Dataset, path: Path, draws: bool = False) -> Path:
    """An Excel workbook (openpyxl): a README sheet with the provenance, the columns and every
    variable's units, then the data: one tidy sheet for a summary, or one sheet per variable
    (rows draw x year, a column per element) for kept draws."""
    sheets: dict[str, pd.DataFrame] = {}
    taken = {"readme"}
    if draws:
        params = [k for k, v in ds.data_vars.items() if v.attrs.get("role") == "parameter"]
        for name in [k for k in ds.data_vars if k not in params]:
            sheets[_sheet_name(name, taken)] = _wide(ds[name])
        if params:
            frame = pd.concat([_wide(ds[k]).set_index("draw").add_prefix(f"{k}[").rename(columns=lambda c: c + "]")
                               if len(ds[k].dims) > 1 else _wide(ds[k]).set_index("draw") for k in params], axis=1)
            sheets[_sheet_name("parameters", taken)] = frame.reset_index()
    else:
        sheets["summary"] = tidy(ds)
    too_big = [n for n, f in sheets.items() if len(f) + 1 > EXCEL_ROWS]
    if too_big:
        raise InputError(f"sheet {too_big[0]!r} would need {len(sheets[too_big[0]]) + 1:,} rows, more than a spreadsheet "
                         f"holds ({EXCEL_ROWS:,}); keep fewer draws or write .nc, .parquet or .zarr", file=str(path), field="out")
    record = provenance_record({path.name: ds})
    readme = [[record["title"]], [], ["provenance"]] + [[k, v] for k, v in record["attributes"].items()]
    if not draws:
        readme += [[], ["column", "meaning"]] + [[k, v] for k, v in COLUMNS.items()]
    readme += [[], ["variable", "units", "long_name", "role"]] + [
        [k, v.get("units", ""), v.get("long_name", ""), v.get("role", "")] for k, v in record["variables"].items()]
    with atomic(path) as tmp:
        with pd.ExcelWriter(tmp, engine="openpyxl") as xw:
            pd.DataFrame([row + [""] * (4 - len(row)) for row in readme]).to_excel(xw, sheet_name="README", index=False,
                                                                                  header=False)
            xw.sheets["README"].column_dimensions["A"].width = 28
            xw.sheets["README"].column_dimensions["B"].width = 90
            for name, frame in sheets.items():
                frame.to_excel(xw, sheet_name=name, index=False)
                sheet = xw.sheets[name]
                sheet.freeze_panes = "A2"
                sheet.auto_filter.ref = sheet.dimensions
    return path


def write_dataset(ds: xr.Dataset, path: str | Path, draws: bool = False) -> Path:
    """Write one dataset (a summary, kept draws or a comparison) in the format ``path`` names."""
    path = Path(path)
    if path.suffix == ".nc":
        return write_netcdf(ds, path)
    if path.suffix == ".csv":
        return write_csv(ds, path)
    if path.suffix == ".xlsx":
        return write_xlsx(ds, path, draws=draws)
    from mcbattery.results import formats

    if path.suffix == ".parquet":
        return formats.write_parquet_table(ds, path)
    if path.suffix == ".zarr":
        return formats.write_zarr_store(ds, path)
    raise InputError(f"unknown output format {path.suffix or '(none)'!r}; expected one of {list(FORMATS)}", file=str(path), field="out")


def write(forecast, path: str | Path) -> Path:
    """Write a :class:`mcbattery.api.Forecast` (or one summary-like Dataset) to ``path`` in the
    format its suffix names (:data:`FORMATS`) and, if draws were kept, ``<stem>_draws<suffix>``
    beside it; a CSV gets ``<stem>_provenance.json`` too. Returns the summary path."""
    path = check_output_path(path)
    if isinstance(forecast, xr.Dataset):
        summary, kept = forecast, None
    else:
        summary, kept = forecast.summary, forecast.draws
    if path.suffix in (".parquet", ".zarr"):
        from mcbattery.results import formats  # noqa: F401  (fail early, before anything is written, without pyarrow/zarr)

        __import__("pyarrow" if path.suffix == ".parquet" else "zarr")
    if path.suffix == ".xlsx":
        __import__("openpyxl")
    files = {path.name: summary}
    write_dataset(summary, path)
    if kept is not None:
        draws_path = path.with_name(f"{path.stem}_draws{path.suffix}")
        write_dataset(kept, draws_path, draws=True)
        files[draws_path.name] = kept
    if path.suffix == ".csv":
        write_sidecar(path, files)
    return path


class ZarrDrawSink:
    """Stream full draws to a Zarr store chunk by chunk (xarray/dask-readable), never holding
    them all in memory. Written into a temporary store and renamed into place on close."""

    def __init__(self, path: str | Path, coords):
        self.path = Path(path)
        self.coords = coords
        if self.path.suffix != ".zarr":
            raise InputError("expected a .zarr path", file=str(self.path), field="draws_store")
        if not self.path.parent.is_dir():
            raise InputError("output folder does not exist", file=str(self.path.parent), field="draws_store")
        self.tmp = Path(tempfile.mkdtemp(prefix=f".{self.path.name}.", dir=self.path.parent))
        self.started = False

    def append(self, start: int, outputs: dict, parameters: xr.Dataset | None = None) -> None:
        """Add draws ``start ..``: outputs (name -> (draws, years, ...)) and, optionally, the
        same draws' sampled parameters (from :func:`~mcbattery.results.summary.build_parameters`)."""
        from mcbattery.model.outputs import OUTPUTS
        from mcbattery.results.summary import output_coords

        n_years = next(iter(outputs.values())).shape[1]
        data = {}
        for name, arr in outputs.items():
            spec = OUTPUTS[name]
            coords = output_coords(spec.dims, np.arange(n_years), self.coords)
            coords["draw"] = np.arange(start, start + arr.shape[0])
            data[name] = xr.DataArray(arr, coords, ("draw", "year", *spec.dims),
                                      attrs={"units": spec.units, "long_name": spec.long_name, "role": "output"})
        ds = xr.Dataset(data)
        if parameters is not None:
            ds = ds.assign(parameters.data_vars)
        if self.started:
            ds.to_zarr(self.tmp, append_dim="draw", zarr_format=2)
        else:
            ds.to_zarr(self.tmp, mode="w", zarr_format=2)
            self.started = True

    def close(self, start_year: int, attrs: dict) -> Path:
        import shutil

        import zarr

        group = zarr.open_group(str(self.tmp), mode="r+")
        group["year"][:] = np.arange(start_year, start_year + group["year"].shape[0])
        group.attrs.update({k: v for k, v in attrs.items()})
        if self.path.exists():
            shutil.rmtree(self.path)
        os.replace(self.tmp, self.path)
        return self.path
