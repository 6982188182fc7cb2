"""Export of forecasts: NetCDF (``.nc``), tidy CSV (``.csv``) with a provenance sidecar,
Parquet, Zarr and Excel (``.xlsx``), and Zarr stores of streamed draws.

Every output is written under a temporary name and moved into place by
:class:`mcbattery.common.files.Transaction`; a summary and its kept draws (``<stem>_draws``
beside it, or a Zarr store) are replaced together and carry the same ``run_id``, so a crash or
a bad input never leaves a half-written file or a summary beside another run's draws.

The tidy table (:func:`tidy`) has one row per number: ``variable, statistic, quantile,
threshold, <coordinates>, value, units, threshold_units``, where ``quantile`` (the
probability level of a quantile) and ``threshold`` (of an exceedance probability, in
``threshold_units``) are numbers, empty elsewhere. A CSV's provenance (seed, scenario,
version, posterior, command, units of every variable) goes to ``<stem>_provenance.json``
beside it; a spreadsheet carries it in its README sheet.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from mcbattery.common import files
from mcbattery.common.errors import InputError

FORMATS = (".nc", ".csv", ".parquet", ".zarr", ".xlsx")
EXCEL_ROWS = 1_048_576  # rows per worksheet, header included


def draws_path(path: str | Path) -> Path:
    """Where the kept draws of the summary ``path`` go: ``<stem>_draws<suffix>``."""
    path = Path(path)
    return path.with_name(f"{path.stem}_draws{path.suffix}")


def check_output_path(path: str | Path, suffixes: tuple[str, ...] = FORMATS, field: str = "out") -> Path:
    """Validate an output path before any work is done: known suffix, existing writable
    folder, no folder where the file or its kept draws go."""
    zarr = Path(path).suffix == ".zarr"
    path = files.check_output(path, suffixes, field, folder=zarr)
    partner = draws_path(path)
    if zarr:
        for target in (path, partner):
            if target.is_dir() and not is_output(target):
                raise InputError("folder exists and is not a store mcbattery wrote; give a new name", file=str(target),
                                 field=field)
    elif partner.is_dir():
        raise InputError("is a folder; the kept draws are written there", file=str(partner), field=field)
    return path


def is_output(path: str | Path) -> bool:
    """True when ``path`` (a file or a Zarr store) was written by mcbattery: its attributes
    carry ``mcbattery_version``. Reads at most a small header; never follows odd files."""
    path = Path(path)
    try:
        if path.is_dir():
            for meta in (".zattrs", "zarr.json"):
                if (path / meta).is_file():
                    doc = json.loads(files.read_text(path / meta, 2**22))
                    attrs = doc.get("attributes", doc) if meta == "zarr.json" else doc
                    return isinstance(attrs, dict) and "mcbattery_version" in attrs
            return False
        if path.suffix == ".csv":
            head = files.read_head(path, 64).decode("utf-8", "replace")
            return head.startswith("variable,statistic,")
        files.check_self_contained(path)
        with xr.open_dataset(path, engine=netcdf_engine() if _is_hdf5(path) else "scipy") as ds:
            return "mcbattery_version" in ds.attrs
    except (InputError, OSError, ValueError, TypeError):
        return False


def _is_hdf5(path: Path) -> bool:
    return files.read_head(path, 4) == b"\x89HDF"


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
    """Write ``ds`` to ``path`` atomically (NetCDF4 when h5netcdf or netCDF4 is installed)."""
    with files.atomic_file(path) as tmp:
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
    """Write ``tidy(ds)`` to ``path`` atomically."""
    with files.atomic_file(path) as tmp:
        tidy(ds).to_csv(tmp, index=False)
    return path


def sidecar_path(path: str | Path) -> Path:
    """Where a CSV's provenance goes: ``<stem>_provenance.json``."""
    path = Path(path)
    return path.with_name(f"{path.stem}_provenance.json")


def write_sidecar(tmp: Path, datasets: dict[str, xr.Dataset]) -> None:
    """:func:`provenance_record` of a CSV's files as JSON, to ``tmp``."""
    tmp.write_text(json.dumps(provenance_record(datasets), indent=2, default=str) + "\n", encoding="utf-8")


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


def write_xlsx(ds: xr.Dataset, tmp: Path, path: Path, draws: bool = False) -> None:
    """An Excel workbook (openpyxl): a README sheet with the provenance, the columns and every
    variable's units, then the data: one tidy sheet for a summary, or one sheet per variable
    (rows draw x year, a column per element) for kept draws. Written to ``tmp``, the
    transaction's temporary for ``path``."""
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


def _zarr(ds, tmp, path, draws):
    from mcbattery.results.formats import write_zarr_store

    write_zarr_store(ds, tmp)


def _parquet(ds, tmp, path, draws):
    from mcbattery.results.formats import write_parquet_table

    write_parquet_table(ds, tmp)


#: suffix -> writer(dataset, temporary path, target path, is kept draws)
_WRITERS = {
    ".nc": lambda ds, tmp, path, draws: ds.to_netcdf(tmp, engine=netcdf_engine()),
    ".csv": lambda ds, tmp, path, draws: tidy(ds).to_csv(tmp, index=False),
    ".xlsx": write_xlsx,
    ".parquet": _parquet,
    ".zarr": _zarr,
}
NEEDS = {".xlsx": "openpyxl", ".parquet": "pyarrow", ".zarr": "zarr"}


def write(forecast, path: str | Path, store: "ZarrDrawSink | None" = None) -> Path:
    """Write a :class:`mcbattery.api.Forecast` (or one summary-like Dataset, e.g. a comparison)
    to ``path`` in the format its suffix names (:data:`FORMATS`) and, if draws were kept,
    ``<stem>_draws<suffix>`` beside it, or finish the Zarr ``store`` its draws streamed to; a
    CSV gets ``<stem>_provenance.json`` too. All are replaced together, so no reader sees a
    summary beside another run's draws. A ``<stem>_draws`` file of an earlier run is removed in
    the same step when this run keeps no draws beside the summary. Returns the summary path."""
    path = check_output_path(path)
    if path.suffix in NEEDS:  # fail before anything is written when the optional writer is missing
        try:
            __import__(NEEDS[path.suffix])
        except ImportError:
            raise InputError(f"writing {path.suffix} needs {NEEDS[path.suffix]}: pip install 'mcbattery[io]'",
                             file=str(path), field="out") from None
    summary, kept = (forecast, None) if isinstance(forecast, xr.Dataset) else (forecast.summary, forecast.draws)
    writer = _WRITERS[path.suffix]
    partner = draws_path(path)
    add = (lambda tx, target, first=False: tx.folder(target)) if path.suffix == ".zarr" else (
        lambda tx, target, first=False: tx.file(target, first=first))
    with files.Transaction() as tx:
        writer(summary, add(tx, path, first=True), path, False)
        if kept is not None:
            writer(kept, add(tx, partner), partner, True)
        elif os.path.lexists(partner) and is_output(partner):
            tx.remove(partner)
        if path.suffix == ".csv":
            write_sidecar(tx.file(sidecar_path(path)), {path.name: summary, **({partner.name: kept} if kept is not None else {})})
        if store is not None:
            store.finish(tx, summary.attrs)
        tx.commit()
    return path


class ZarrDrawSink:
    """Stream full draws to a Zarr store chunk by chunk (xarray/dask-readable), never holding
    them all in memory. The path is checked when the sink is made (a ``.zarr`` name in a
    writable folder; an existing folder there must be a store mcbattery wrote); the draws go
    to a temporary store made at the first chunk, which replaces the target only when the run
    is finished (:meth:`close`, or together with a summary: :func:`write`)."""

    def __init__(self, path: str | Path, coords, field: str = "draws_store"):
        self.field = field
        self.coords = coords
        self.path = files.check_output(path, (".zarr",), field, folder=True)
        if self.path.is_dir() and not is_output(self.path):
            raise InputError("folder exists and is not a store mcbattery wrote; give a new name",
                             file=str(self.path), field=field)
        self.tmp: Path | None = None

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
        if self.tmp is not None:
            ds.to_zarr(self.tmp, append_dim="draw", zarr_format=2)
        else:
            self.tmp = files.temp_folder(self.path)
            ds.to_zarr(self.tmp, mode="w", zarr_format=2)

    def finish(self, tx: files.Transaction, attrs: dict) -> None:
        """Stamp the years and ``attrs`` on the temporary store and add it to ``tx``."""
        import zarr

        if self.tmp is None:
            raise InputError("no draws were streamed", file=str(self.path), field=self.field)
        group = zarr.open_group(str(self.tmp), mode="r+")
        start_year = int(attrs["start_year"])
        group["year"][:] = np.arange(start_year, start_year + group["year"].shape[0])
        group.attrs.update({k: v.item() if isinstance(v, np.generic) else v for k, v in attrs.items()})
        if self.path.is_dir() and not is_output(self.path):  # appeared while the run went on
            raise InputError("folder exists and is not a store mcbattery wrote; give a new name",
                             file=str(self.path), field=self.field)
        tx.folder(self.path, self.tmp)
        self.tmp = None  # the transaction owns it now

    def close(self, attrs: dict) -> Path:
        """Finish the store on its own (no summary written with it)."""
        with files.Transaction() as tx:
            self.finish(tx, attrs)
            tx.commit()
        return self.path

    def abort(self) -> None:
        """Remove the temporary store (nothing was replaced)."""
        files.remove_temp(self.tmp)
        self.tmp = None
