"""Export of forecasts: NetCDF (``.nc``) and tidy CSV (``.csv``), and Zarr stores of draws.

Every output is written under a temporary name and moved into place by
:class:`mcbattery.common.files.Transaction`; a summary and its kept draws (``<stem>_draws``
beside it, or a Zarr store) are replaced together and carry the same ``run_id``, so a crash or
a bad input never leaves a half-written file or a summary beside another run's draws.
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

FORMATS = (".nc", ".csv")


def draws_path(path: str | Path) -> Path:
    """Where the kept draws of the summary ``path`` go: ``<stem>_draws<suffix>``."""
    path = Path(path)
    return path.with_name(f"{path.stem}_draws{path.suffix}")


def check_output_path(path: str | Path, suffixes: tuple[str, ...] = FORMATS, field: str = "out") -> Path:
    """Validate an output path before any work is done: known suffix, existing writable
    folder, no folder where the file or its kept draws go."""
    path = files.check_output(path, suffixes, field)
    partner = draws_path(path)
    if partner.is_dir():
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
    """Long table: variable, statistic, coordinates..., value, units."""
    frames = []
    for name, da in ds.data_vars.items():
        base, stat = _split(name)
        df = da.to_dataframe(name="value").reset_index()
        if "quantile" in df:
            df["statistic"] = "q" + df.pop("quantile").map(lambda q: f"{q:g}")
        elif any(c.endswith("_threshold") for c in df.columns):
            col = next(c for c in df.columns if c.endswith("_threshold"))
            df["statistic"] = stat + ">" + df.pop(col).map(lambda t: f"{t:g}")
        else:
            df["statistic"] = stat
        df["variable"] = base
        df["units"] = da.attrs.get("units", "")
        frames.append(df)
    out = pd.concat(frames, ignore_index=True)
    first = ["variable", "statistic"]
    last = ["value", "units"]
    middle = [c for c in out.columns if c not in first + last]
    return out[first + middle + last]


def _split(name: str) -> tuple[str, str]:
    for stat in ("_exceedance_mcse", "_exceedance", "_quantile", "_mean", "_sd", "_mcse", "_min", "_max"):
        if name.endswith(stat):
            return name[: -len(stat)], stat[1:]
    return name, "draw"


def write_csv(ds: xr.Dataset, path: Path) -> Path:
    """Write ``tidy(ds)`` to ``path`` atomically."""
    with files.atomic_file(path) as tmp:
        tidy(ds).to_csv(tmp, index=False)
    return path


_WRITERS = {
    ".nc": lambda ds, tmp: ds.to_netcdf(tmp, engine=netcdf_engine()),
    ".csv": lambda ds, tmp: tidy(ds).to_csv(tmp, index=False),
}


def write(forecast, path: str | Path, store: "ZarrDrawSink | None" = None) -> Path:
    """Write a :class:`mcbattery.api.Forecast` to ``path`` (summary) and, if draws were kept,
    ``<stem>_draws<suffix>`` beside it, or finish the Zarr ``store`` its draws streamed to:
    all replaced together, so no reader sees a summary beside another run's draws. A
    ``<stem>_draws`` file of an earlier run is removed in the same step when this run keeps no
    draws beside the summary. Returns the summary path."""
    path = check_output_path(path)
    writer = _WRITERS[path.suffix]
    partner = draws_path(path)
    with files.Transaction() as tx:
        writer(forecast.summary, tx.file(path, first=True))
        if forecast.draws is not None:
            writer(forecast.draws, tx.file(partner))
        elif os.path.lexists(partner) and is_output(partner):
            tx.remove(partner)
        if store is not None:
            store.finish(tx, forecast.summary.attrs)
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

    def append(self, start: int, outputs: dict) -> None:
        from mcbattery.model.outputs import OUTPUTS
        from mcbattery.results.summary import output_coords

        n_years = next(iter(outputs.values())).shape[1]
        data = {}
        for name, arr in outputs.items():
            spec = OUTPUTS[name]
            coords = output_coords(spec.dims, np.arange(n_years), self.coords)
            coords["draw"] = np.arange(start, start + arr.shape[0])
            data[name] = xr.DataArray(arr, coords, ("draw", "year", *spec.dims), attrs={"units": spec.units, "long_name": spec.long_name})
        ds = xr.Dataset(data)
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
