"""Where each model output sits in the flat (draw, column) matrix the kernel reduces."""

from __future__ import annotations

import math
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from mcbattery.model.coords import Coords
from mcbattery.model.outputs import BINS, OUTPUTS


@dataclass
class Layout:
    """Where each output sits in the flat (draw, column) matrix of one chunk."""

    years: np.ndarray
    coords: Coords
    names: tuple[str, ...]
    shapes: dict[str, tuple[int, ...]]  # (year, *dims)
    slices: dict[str, slice]
    lo: np.ndarray  # per column, grid low in transformed units
    width: np.ndarray  # per column, bin width in transformed units
    log: np.ndarray  # per column, bool
    thr_cols: np.ndarray  # columns with thresholds, repeated per threshold
    thr_vals: np.ndarray
    thr_segments: tuple = ()  # the same as contiguous (start, stop, threshold) column ranges

    thresholds: tuple = ()

    @property
    def key(self) -> tuple:
        return self.thresholds, self.coords

    @property
    def n_columns(self) -> int:
        return int(self.lo.size)


def make_layout(n_years: int, start_year: int, thresholds: dict[str, tuple[float, ...]], coords: Coords) -> Layout:
    """The columns of every output for ``n_years`` from ``start_year`` with ``coords``' labels."""
    shapes, slices, lo, width, log, tcols, tvals, segs = {}, {}, [], [], [], [], [], []
    k = 0
    for name, spec in OUTPUTS.items():
        shape = (n_years, *coords.shape(spec.dims))
        size = int(np.prod(shape))
        shapes[name], slices[name] = shape, slice(k, k + size)
        kind, a, b = spec.grid
        is_log = kind == "log"
        ta, tb = (math.log(a), math.log(b)) if is_log else (a, b)
        lo += [ta] * size
        width += [(tb - ta) / BINS] * size
        log += [is_log] * size
        for thr in thresholds.get(name, ()):
            tcols += list(range(k, k + size))
            tvals += [thr] * size
            segs.append((k, k + size, float(thr)))
        k += size
    return Layout(
        years=np.arange(start_year, start_year + n_years),
        coords=coords,
        names=tuple(OUTPUTS),
        shapes=shapes,
        slices=slices,
        lo=np.asarray(lo),
        width=np.asarray(width),
        log=np.asarray(log),
        thr_cols=np.asarray(tcols, dtype=np.int64),
        thr_vals=np.asarray(tvals),
        thr_segments=tuple(segs),
        thresholds=tuple(sorted((k, tuple(v)) for k, v in thresholds.items())),
    )


def flatten_columns(outputs: dict[str, jax.Array], layout: Layout) -> jax.Array:
    """Outputs name -> (year, *dims, draws) as one (columns, draws) matrix in layout order."""
    n = next(iter(outputs.values())).shape[-1]
    return jnp.concatenate([outputs[k].reshape(-1, n) for k in layout.names], axis=0)

