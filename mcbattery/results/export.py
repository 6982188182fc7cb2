"""Atomic export of forecasts: NetCDF (``.nc``) and tidy CSV (``.csv``).

Every file is written to a temporary name in the target folder and renamed into place, so
a crash or a bad input never leaves a half-written output.
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

FORMATS = (".nc", ".csv")


def check_output_path(path: str | Path) -> Path:
    """Validate an output path before any work is done: known suffix, existing folder."""
    path = Path(path)
    if path.suffix not in FORMATS:
        raise InputError(f"unknown output format {path.suffix or '(none)'!r}; expected one of {list(FORMATS)}", file=str(path), field="out")
    if not path.parent.is_dir():
        raise InputError("output folder does not exist", file=str(path.parent), field="out")
    if path.is_dir():
        raise InputError("is a folder; expected a file name", file=str(path), field="out")
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
    with atomic(path) as tmp:
        tidy(ds).to_csv(tmp, index=False)
    return path


def write(forecast, path: str | Path) -> Path:
    """Write a :class:`mcbattery.api.Forecast` to ``path`` (summary) and, if draws were kept,
    ``<stem>_draws<suffix>`` beside it. Returns the summary path."""
    path = check_output_path(path)
    writer = write_netcdf if path.suffix == ".nc" else write_csv
    writer(forecast.summary, path)
    if forecast.draws is not None:
        writer(forecast.draws, path.with_name(f"{path.stem}_draws{path.suffix}"))
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
