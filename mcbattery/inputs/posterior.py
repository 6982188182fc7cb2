"""Read calibrated posterior samples for the engine.

The calibration writes ``engine_samples.nc`` (NetCDF3, readable with scipy alone) beside the
ArviZ posterior: one variable per engine parameter, dims ``(sample, *dims)``. An ArviZ file
(NetCDF4 with a ``posterior`` group) is also accepted when h5netcdf or netCDF4 is installed.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import xarray as xr

from mcbattery.common import files
from mcbattery.model.coords import Coords, load_coords
from mcbattery.common.errors import InputError
from mcbattery.model.params import REGISTRY
from mcbattery.inputs.locations import POSTERIOR_DIR, PRIORS_DIR

DEFAULT_POSTERIOR = POSTERIOR_DIR / "engine_samples.nc"
POSTERIOR_LIMIT = 2**30  # bytes: the largest posterior file read


def default_posterior() -> Path | None:
    """The shipped posterior samples, if present."""
    return DEFAULT_POSTERIOR if DEFAULT_POSTERIOR.is_file() else None


def _open(path: Path) -> xr.Dataset:
    files.check_regular(path, POSTERIOR_LIMIT, "posterior")
    files.check_self_contained(path, "posterior")  # no external storage or links
    try:
        return xr.open_dataset(path, engine="scipy").load()
    except Exception:  # not NetCDF3: try an ArviZ NetCDF4 file's posterior group
        pass
    try:
        ds = xr.open_dataset(path, group="posterior").load()
        if not {"chain", "draw"} <= set(ds.dims):
            raise ValueError("no chain and draw dims")
    except Exception as exc:
        raise InputError(f"cannot read posterior ({exc.__class__.__name__}); expected engine_samples.nc or an ArviZ NetCDF file", file=str(path), field="posterior") from None
    stacked = ds.stack(sample=("chain", "draw")).transpose("sample", ...)
    return stacked.drop_vars(["chain", "draw", "sample"], errors="ignore")


def load_engine_samples(path: str | Path, coords: Coords | None = None) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """``(name -> array (samples, *dims), info)`` for every variable named like a model parameter;
    its coordinates must be ``coords`` (default: those of the shipped priors)."""
    coords = coords if coords is not None else load_coords(PRIORS_DIR)
    path = Path(path)
    if not path.exists():
        raise InputError("posterior file not found", file=str(path), field="posterior")
    ds = _open(path)
    out = {}
    for name, da in ds.data_vars.items():
        if name not in REGISTRY:
            if "__" in name:  # an ArviZ posterior's model variables (<model>__<name>)
                continue
            import difflib

            close = difflib.get_close_matches(str(name), list(REGISTRY), n=2)
            raise InputError("not a model parameter" + (f"; did you mean {close}?" if close else ""), file=str(path), field=str(name))
        dims = REGISTRY[name].dims
        if da.dtype.kind not in "fiu":
            raise InputError(f"expected numbers, got {da.dtype}", file=str(path), field=name)
        if not da.dims or da.dims[0] != "sample" or tuple(da.dims[1:]) != dims:
            raise InputError(f"expected dims ('sample', {', '.join(dims)}), got {da.dims}", file=str(path), field=name)
        for d in dims:
            if d not in da.coords or list(da[d].values) != list(coords[d]):
                raise InputError(f"coordinate {d} must be {list(coords[d])}", file=str(path), field=name)
        out[name] = np.asarray(da.values, dtype=np.float64)
        if out[name].shape[0] == 0:
            raise InputError("no samples; expected at least one", file=str(path), field=name)
    if not out:
        raise InputError("no variable is named like a model parameter", file=str(path), field="posterior")
    digest = hashlib.sha256(b"".join(out[k].tobytes() for k in sorted(out))).hexdigest()[:16]
    info = {
        "file": path.name,
        "hash": digest,
        "data_vintage": str(ds.attrs.get("data_vintage", "unknown")),
        "created_at": str(ds.attrs.get("created_at", "unknown")),
        "parameters": ",".join(sorted(out)),
    }
    return out, info
