"""Extra export formats: Zarr stores and tidy Parquet tables (zarr / pyarrow imported on use).

Both write to a temporary name beside the target and rename it into place, like the NetCDF
and CSV writers in :mod:`mcbattery.export`, so a failure never leaves a half-written output.
Kept draws, when present, go beside the summary as ``<stem>_draws<suffix>``.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import xarray as xr

from mcbattery.common.errors import InputError

__all__ = ["to_zarr", "to_parquet"]


def _parts(forecast) -> tuple[xr.Dataset, xr.Dataset | None]:
    if isinstance(forecast, xr.Dataset):
        return forecast, None
    if hasattr(forecast, "summary") and isinstance(forecast.summary, xr.Dataset):
        return forecast.summary, getattr(forecast, "draws", None)
    raise InputError(f"expected a Forecast or an xarray Dataset, got {type(forecast).__name__}", field="forecast")


def _write_parts(forecast, path: Path, write) -> Path:
    """``write(summary, path)``, and ``write(draws, <stem>_draws<suffix>)`` when draws were kept."""
    summary, draws = _parts(forecast)
    write(summary, path)
    if draws is not None:
        write(draws, path.with_name(f"{path.stem}_draws{path.suffix}"))
    return path


def _check(path: str | Path, suffix: str) -> Path:
    path = Path(path)
    if path.suffix != suffix:
        raise InputError(f"expected a path ending in {suffix}", file=str(path), field="path")
    if not path.parent.is_dir():
        raise InputError("output folder does not exist", file=str(path.parent), field="path")
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


def write_zarr_store(ds: xr.Dataset, path: Path) -> Path:
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    old = None
    try:
        clean = ds.copy()
        clean.attrs = _jsonable(ds.attrs)
        for v in clean.variables.values():
            v.attrs = _jsonable(v.attrs)
        # fixed-width unicode labels are stored as variable-length strings (portable)
        for name in list(clean.coords):
            if clean[name].dtype.kind == "U":
                clean[name] = clean[name].astype(object)
        clean.to_zarr(tmp, mode="w", zarr_format=2, consolidated=True)
        if path.exists():
            old = path.with_name(f".{path.name}.old-{os.getpid()}")
            os.replace(path, old)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
        if old is not None and old.exists():
            shutil.rmtree(old, ignore_errors=True) if old.is_dir() else old.unlink()
    return path


def to_zarr(forecast, path: str | Path) -> Path:
    """Write a forecast's summary (and kept draws, as ``<stem>_draws.zarr``) as Zarr stores.

    Zarr format 2 with consolidated metadata (readable by ``xarray.open_zarr``); attributes
    (provenance) and variable units are kept. Returns the summary path."""
    import zarr  # noqa: F401  (lazy: optional dependency; fail early with a clear ImportError)

    return _write_parts(forecast, _check(path, ".zarr"), write_zarr_store)


def write_parquet_table(ds: xr.Dataset, path: Path) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from mcbattery.results.export import atomic, tidy

    df = tidy(ds)
    table = pa.Table.from_pandas(df, preserve_index=False)
    meta = dict(table.schema.metadata or {})
    meta[b"mcbattery"] = json.dumps(_jsonable(ds.attrs), default=str).encode()
    table = table.replace_schema_metadata(meta)
    with atomic(path) as tmp:
        pq.write_table(table, tmp)
    return path


def to_parquet(forecast, path: str | Path) -> Path:
    """Write a forecast's summary as a tidy Parquet table (``variable, statistic, year, region,
    ..., value, units``, as :func:`mcbattery.export.tidy`), provenance attributes as JSON in
    the schema metadata key ``mcbattery``; kept draws as ``<stem>_draws.parquet`` (statistic
    ``draw``, one row per draw and element). Returns the summary path."""
    return _write_parts(forecast, _check(path, ".parquet"), write_parquet_table)
