"""Argument checks shared by every entry point: integers, compute dtypes, quantile levels,
exceedance thresholds and numbers inside a dtype's range. Each refusal is one
:class:`~mcbattery.common.errors.InputError` naming the field."""

from __future__ import annotations

import math
from typing import Iterable, Mapping

import numpy as np

from mcbattery.common.errors import InputError

DTYPES = ("float32", "float64")


def check_int(name: str, value, low: int, high: int | None = None) -> int:
    """An integer argument within [low, high] (a float with an integer value is accepted)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise InputError(f"expected an integer, got {_short(value)}", field=name)
    value = int(value)
    if value < low or (high is not None and value > high):
        bound = f">= {low}" + (f" and <= {high}" if high is not None else "")
        raise InputError(f"expected an integer {bound}, got {_short(value)}", field=name)
    return value


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:20]}...({len(text)} characters)"


def check_dtype(dtype, field: str = "dtype") -> str:
    """A compute dtype name: "float32" or "float64"."""
    name = dtype if isinstance(dtype, str) else None
    if isinstance(dtype, (type, np.dtype)):
        try:
            name = np.dtype(dtype).name
        except TypeError:
            pass
    if name not in DTYPES:
        raise InputError(f"expected one of {list(DTYPES)}, got {_short(dtype)}", field=field)
    return name


def check_quantiles(quantiles, field: str = "quantiles") -> tuple[float, ...]:
    """Probability levels strictly between 0 and 1 (at least one)."""
    try:
        qs = tuple(quantiles)
    except TypeError:
        raise InputError("expected a sequence of probability levels", field=field) from None
    if not qs or not all(isinstance(q, (int, float, np.floating)) and not isinstance(q, bool) and 0 < q < 1 for q in qs):
        raise InputError("quantiles must lie strictly between 0 and 1", field=field)
    return tuple(float(q) for q in qs)


def check_thresholds(thresholds: Mapping | None, known: Iterable[str], field: str = "thresholds") -> dict[str, tuple[float, ...]]:
    """``{output: finite numbers}`` with every output one of ``known``."""
    known = sorted(known)
    if thresholds is None:
        return {}
    if not isinstance(thresholds, Mapping):
        raise InputError("expected a mapping of output name to threshold values", field=field)
    out = {}
    for name, values in thresholds.items():
        if name not in known:
            raise InputError(f"unknown output {name!r}; expected one of {known}", field=field)
        vals = tuple(np.atleast_1d(np.asarray(values, dtype=object)).tolist())
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in vals):
            raise InputError("thresholds must be finite numbers", field=f"{field}.{name}")
        out[name] = tuple(float(v) for v in vals)
    return out


def dtype_range(dtype: str) -> tuple[float, float]:
    """(smallest positive normal, largest finite) magnitude of a float dtype."""
    info = np.finfo(dtype)
    return float(info.tiny), float(info.max)


def check_in_dtype(values, dtype: str, file: str | None = None, field: str | None = None) -> None:
    """Every value finite and representable in ``dtype``: |x| <= max and, unless zero, >= the
    smallest normal number (smaller magnitudes would flush to zero or lose their precision)."""
    a = np.asarray(values, dtype=np.float64)
    if not np.all(np.isfinite(a)):
        raise InputError("expected finite numbers", file=file, field=field)
    tiny, big = dtype_range(dtype)
    mag = np.abs(a)
    bad = (mag > big) | ((mag > 0) & (mag < tiny))
    if np.any(bad):
        x = float(a[bad].flat[0])
        raise InputError(f"{x:g} is outside the {dtype} range (magnitude {tiny:.3g} to {big:.3g})", file=file, field=field)
