"""Extra export formats: Zarr stores and tidy Parquet tables (zarr / pyarrow imported on use).

Both write to temporary names and replace the targets together
(:class:`mcbattery.common.files.Transaction`), like the NetCDF and CSV writers in
:mod:`mcbattery.results.export`, so a failure never leaves a half-written output. Kept draws,
when present, go beside the summary as ``<stem>_draws<suffix>``; an existing Zarr folder is
replaced only when mcbattery wrote it.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import xarray as xr

from mcbattery.common import files
from mcbattery.common.errors import InputError
from mcbattery.results.export import check_output_path, draws_path, is_output, tidy

__all__ = ["to_zarr", "to_parquet"]


def _parts(forecast) -> tuple[xr.Dataset, xr.Dataset | None]:
    if isinstance(forecast, xr.Dataset):
        return forecast, None
    if hasattr(forecast, "summary") and isinstance(forecast.summary, xr.Dataset):
        return forecast.summary, getattr(forecast, "draws", None)
    raise InputError(f"expected a Forecast or an xarray Dataset, got {type(forecast).__name__}", field="forecast")


def _write_parts(forecast, path: Path, write, folder: bool = False) -> Path:
    """``write(summary, tmp)``, and ``write(draws, tmp)`` for ``<stem>_draws<suffix>`` when
    draws were kept, replaced together."""
    summary, draws = _parts(forecast)
    partner = draws_path(path)
    for target in (path, partner) if folder else ():
        if target.is_dir() and not is_output(target):
            raise InputError("folder exists and is not a store mcbattery wrote; give a new name", file=str(target), field="path")
    with files.Transaction() as tx:
        add = tx.folder if folder else tx.file
        write(summary, add(path))
        if draws is not None:
            write(draws, add(partner))
        tx.commit()
    return path


def _jsonable(attrs: dict) -> dict:
    out = {}
    for k, v in attrs.items():
        if isinstance(v, np.generic):
            v = v.item()
        elif isinstance(v, np.ndarray):
            v = v.tolist()
        out[k] = v
    return out


def write_zarr_store(ds: xr.Dataset, tmp: Path) -> None:
    clean = ds.copy()
    clean.attrs = _jsonable(ds.attrs)
    for v in clean.variables.values():
        v.attrs = _jsonable(v.attrs)
    # fixed-width unicode labels are stored as variable-length strings (portable)
    for name in list(clean.coords):
        if clean[name].dtype.kind == "U":
            clean[name] = clean[name].astype(object)
    clean.to_zarr(tmp, mode="w", zarr_format=2, consolidated=True)


def to_zarr(forecast, path: str | Path) -> Path:
    """Write a forecast's summary (and kept draws, as ``<stem>_draws.zarr``) as Zarr stores.

    Zarr format 2 with consolidated metadata (readable by ``xarray.open_zarr``); attributes
    (provenance) and variable units are kept. Returns the summary path."""
    import zarr  # noqa: F401  (lazy: optional dependency; fail early with a clear ImportError)

    path = files.check_output(path, (".zarr",), "path", folder=True)
    return _write_parts(forecast, path, write_zarr_store, folder=True)


def write_parquet_table(ds: xr.Dataset, tmp: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    df = tidy(ds)
    table = pa.Table.from_pandas(df, preserve_index=False)
    meta = dict(table.schema.metadata or {})
    meta[b"mcbattery"] = json.dumps(_jsonable(ds.attrs), default=str).encode()
    table = table.replace_schema_metadata(meta)
    pq.write_table(table, tmp)


def to_parquet(forecast, path: str | Path) -> Path:
    """Write a forecast's summary as a tidy Parquet table (``variable, statistic, year, region,
    ..., value, units``, as :func:`mcbattery.results.export.tidy`), provenance attributes as JSON in
    the schema metadata key ``mcbattery``; kept draws as ``<stem>_draws.parquet`` (statistic
    ``draw``, one row per draw and element). Returns the summary path."""
    return _write_parts(forecast, check_output_path(path, (".parquet",), "path"), write_parquet_table)
