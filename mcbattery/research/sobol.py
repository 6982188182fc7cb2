"""Global variance-based sensitivity analysis: Sobol' indices with bootstrap intervals.

Three public functions, from high level to low level:

:func:`sobol_indices`
    Run the whole analysis on a function of ``d`` independent uniform inputs: build the
    design, evaluate the function once on the stacked design matrix, estimate the indices.
:func:`saltelli_design`
    Only the design (matrices ``A``, ``B`` and ``A_B^(i)``), for callers who run their own
    model (for instance the Monte Carlo engine) on it.
:func:`sobol_from_samples`
    Only the estimators, from model outputs on that design. Outputs may carry a trailing
    axis of ``k`` quantities (outputs, years, ...) which are analysed all at once.

Estimators (see ``docs/sensitivity.md``): first order after Saltelli et al. (2010),
total order after Jansen (1999), optional closed second order after Saltelli (2002).
Model outputs are centred on their grand mean before estimation and the variance is the
sample variance of the pooled ``f(A)`` and ``f(B)`` values, which reproduces the SALib
(1.x) ``sobol`` analyser on the same outputs. Intervals are percentile bootstrap intervals
over the ``n`` base samples (rows of ``A``, ``B`` and every ``A_B^(i)`` are resampled
together); the resampling is vectorised as a matrix of resampling counts.
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import xarray as xr
from scipy.stats import qmc

from mcbattery.common.errors import InputError

__all__ = ["saltelli_design", "sobol_from_samples", "sobol_indices"]

S1_ESTIMATOR = "Saltelli et al. (2010): V_i = mean(f(B) * (f(A_B^i) - f(A)))"
ST_ESTIMATOR = "Jansen (1999): V_Ti = mean((f(A) - f(A_B^i))**2) / 2"
S2_ESTIMATOR = "Saltelli (2002): V_ij = mean(f(B_A^i) * f(A_B^j) - f(A) * f(B)) - V_i - V_j"
DESIGN = "Saltelli radial design A, B, A_B^(i) from a scrambled Sobol' sequence of dimension 2d"

# Bootstrap resampling counts are drawn in blocks of at most this many entries.
_BOOT_BLOCK = 1 << 22
# A spawn key that separates the bootstrap stream from the design stream of one seed.
_BOOT_SPAWN_KEY = (0x5EB0,)

SeedLike = int | np.random.Generator | None


# --------------------------------------------------------------------------------------
# validation helpers
# --------------------------------------------------------------------------------------


def _is_int(x: Any) -> bool:
    return isinstance(x, numbers.Integral) and not isinstance(x, bool)


def _check_bounds(bounds: Any) -> tuple[np.ndarray, np.ndarray]:
    try:
        arr = np.asarray(bounds, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InputError(
            f"expected a sequence of (low, high) pairs of numbers, got {bounds!r}",
            field="bounds",
        ) from exc
    if arr.ndim != 2 or arr.shape[1] != 2 or arr.shape[0] < 1:
        raise InputError(
            f"expected a sequence of (low, high) pairs (shape (d, 2), d >= 1), "
            f"got shape {arr.shape}",
            field="bounds",
        )
    bad = np.flatnonzero(~np.isfinite(arr).all(axis=1))
    if bad.size:
        raise InputError(
            f"bounds must be finite; input(s) {bad.tolist()} have {arr[bad].tolist()}",
            field="bounds",
        )
    bad = np.flatnonzero(arr[:, 0] >= arr[:, 1])
    if bad.size:
        raise InputError(
            f"each bound needs low < high; input(s) {bad.tolist()} have "
            f"{arr[bad].tolist()}",
            field="bounds",
        )
    return arr[:, 0].copy(), arr[:, 1].copy()


def _check_n(n: Any) -> int:
    if not _is_int(n):
        raise InputError(f"expected an integer number of base samples, got {n!r}", field="n")
    n = int(n)
    if n < 2:
        raise InputError(f"need at least 2 base samples, got {n}", field="n")
    if n & (n - 1):
        warnings.warn(
            f"n={n} is not a power of two; the Sobol' sequence loses its balance "
            f"properties (n={1 << (n - 1).bit_length()} is the next power of two)",
            UserWarning,
            stacklevel=3,
        )
    return n


def _check_seed(seed: Any) -> None:
    if seed is None or isinstance(seed, np.random.Generator):
        return
    if not _is_int(seed) or seed < 0:
        raise InputError(
            f"expected a non-negative integer, None or a numpy Generator, got {seed!r}",
            field="seed",
        )


def _check_bootstrap_level(bootstrap: Any, level: Any) -> tuple[int, float]:
    if not _is_int(bootstrap) or bootstrap < 0:
        raise InputError(
            f"expected a non-negative integer number of replicates, got {bootstrap!r}",
            field="bootstrap",
        )
    if (
        not isinstance(level, numbers.Real)
        or isinstance(level, bool)
        or not 0.0 < float(level) < 1.0
    ):
        raise InputError(f"expected a number strictly between 0 and 1, got {level!r}", field="level")
    return int(bootstrap), float(level)


def _check_names(names: Any, d: int) -> list[str]:
    if names is None:
        return [f"x{i}" for i in range(d)]
    if isinstance(names, str) or not isinstance(names, Sequence | np.ndarray):
        raise InputError(f"expected a sequence of {d} strings, got {names!r}", field="names")
    names = list(names)
    if len(names) != d:
        raise InputError(f"expected {d} names (one per input), got {len(names)}", field="names")
    if not all(isinstance(s, str) for s in names):
        raise InputError(f"names must be strings, got {names!r}", field="names")
    if len(set(names)) != d:
        raise InputError(f"names must be unique, got {names!r}", field="names")
    return names


def _seed_attr(seed: SeedLike) -> Any:
    if isinstance(seed, np.random.Generator):
        return "numpy Generator"
    return "none" if seed is None else int(seed)


def _design_rng(seed: SeedLike) -> np.random.Generator:
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def _bootstrap_rng(seed: SeedLike) -> np.random.Generator:
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None:
        return np.random.default_rng()
    return np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=_BOOT_SPAWN_KEY))


# --------------------------------------------------------------------------------------
# design
# --------------------------------------------------------------------------------------


def _sobol_points(dim: int, n: int, rng: np.random.Generator) -> np.ndarray:
    try:
        engine = qmc.Sobol(d=dim, scramble=True, rng=rng)
    except TypeError:  # SciPy < 1.15 names the argument ``seed``
        engine = qmc.Sobol(d=dim, scramble=True, seed=rng)
    with warnings.catch_warnings():
        # our own warning about n (see _check_n) replaces SciPy's
        warnings.filterwarnings("ignore", message=".*balance properties.*", category=UserWarning)
        return engine.random(n)


def _design(lo: np.ndarray, hi: np.ndarray, n: int, rng: np.random.Generator, second_order: bool):
    d = lo.size
    base = _sobol_points(2 * d, n, rng)
    width = hi - lo
    A = base[:, :d] * width + lo
    B = base[:, d:] * width + lo
    idx = np.arange(d)
    AB = np.repeat(A[None], d, axis=0)
    AB[idx, :, idx] = B[:, idx].T  # AB[i] = A with column i taken from B
    if not second_order:
        return A, B, AB
    BA = np.repeat(B[None], d, axis=0)
    BA[idx, :, idx] = A[:, idx].T  # BA[i] = B with column i taken from A
    return A, B, AB, BA


def saltelli_design(
    bounds: Sequence[tuple[float, float]],
    n: int,
    seed: SeedLike = 0,
    *,
    second_order: bool = False,
):
    """Saltelli design for ``d`` independent uniform inputs.

    Parameters
    ----------
    bounds
        ``d`` pairs ``(low, high)``, finite with ``low < high``: input ``i`` is
        uniform on ``[low_i, high_i]``.
    n
        Number of base samples (rows of ``A`` and ``B``). A power of two keeps the
        balance properties of the Sobol' sequence; other values work but warn.
    seed
        Seed of the scrambling (non-negative int, ``None`` or a numpy ``Generator``).
        The same seed gives the same design, and the same design as
        :func:`sobol_indices` with that seed.
    second_order
        Also return the ``B_A^(i)`` matrices needed for second-order indices.

    Returns
    -------
    A, B : ndarray, shape (n, d)
        The two independent base matrices: the first and last ``d`` columns of ``n``
        points of one scrambled Sobol' sequence of dimension ``2d``, scaled to ``bounds``.
    AB : ndarray, shape (d, n, d)
        ``AB[i]`` is ``A`` with its column ``i`` replaced by column ``i`` of ``B``.
    BA : ndarray, shape (d, n, d)
        Only with ``second_order=True``: ``BA[i]`` is ``B`` with column ``i`` from ``A``.

    The model evaluated on these gives the arguments of :func:`sobol_from_samples`:
    ``fA = f(A)``, ``fB = f(B)``, ``fAB[i] = f(AB[i])`` (and ``fBA[i] = f(BA[i])``).
    """
    lo, hi = _check_bounds(bounds)
    n = _check_n(n)
    _check_seed(seed)
    return _design(lo, hi, n, _design_rng(seed), bool(second_order))


# --------------------------------------------------------------------------------------
# estimators
# --------------------------------------------------------------------------------------


def _as_outputs(x: Any, name: str) -> np.ndarray:
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InputError(f"expected a numeric array, got {type(x).__name__}", field=name) from exc
    return arr


def _estimate(
    w: np.ndarray,
    fA: np.ndarray,
    fB: np.ndarray,
    fAB: np.ndarray,
    fBA: np.ndarray | None,
) -> dict[str, np.ndarray]:
    """Indices under resampling weights ``w`` (R, n), rows summing to one.

    Every sample mean of the estimators is a weighted mean ``w @ x``, so one matrix
    product evaluates all ``R`` bootstrap replicates (``w = 1/n`` gives the plain
    estimate). Inputs are centred, shapes ``(n, k)`` and ``(d, n, k)``; results have
    shape ``(R, d, k)`` (``S2``: ``(R, d, d, k)``, NaN on the diagonal).
    """
    d, n, k = fAB.shape
    R = w.shape[0]
    # variance of the pooled f(A), f(B) sample (ddof=0), per replicate and output
    m1 = w @ (fA + fB) / 2.0
    m2 = w @ (fA * fA + fB * fB) / 2.0
    var = m2 - m1 * m1  # (R, k)

    def wmean(p: np.ndarray) -> np.ndarray:  # (m, n, k) -> (R, m, k)
        m = p.shape[0]
        return (w @ p.transpose(1, 0, 2).reshape(n, m * k)).reshape(R, m, k)

    V1 = wmean(fB[None] * (fAB - fA[None]))
    VT = 0.5 * wmean((fA[None] - fAB) ** 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        S1 = V1 / var[:, None, :]
        ST = VT / var[:, None, :]
    out = {"S1": S1, "ST": ST}
    if fBA is not None:
        S2 = np.full((R, d, d, k), np.nan)
        fAfB = fA * fB
        for i in range(d - 1):  # loop over inputs only; replicates stay vectorised
            Vc = wmean(fBA[i][None] * fAB[i + 1 :] - fAfB[None])  # closed V_{i,j}, j > i
            with np.errstate(divide="ignore", invalid="ignore"):
                s2 = Vc / var[:, None, :] - S1[:, i : i + 1, :] - S1[:, i + 1 :, :]
            S2[:, i, i + 1 :, :] = s2
            S2[:, i + 1 :, i, :] = s2
        out["S2"] = S2
    return out


def _bootstrap_weights(rng: np.random.Generator, n: int, count: int):
    """Yield blocks of resampling weights (counts / n), ``count`` rows in total."""
    block = max(1, _BOOT_BLOCK // n)
    done = 0
    while done < count:
        r = min(block, count - done)
        idx = rng.integers(0, n, size=(r, n))
        idx += (np.arange(r) * n)[:, None]
        counts = np.bincount(idx.ravel(), minlength=r * n).reshape(r, n)
        yield counts / n
        done += r


def _analyze(
    fA: np.ndarray,
    fB: np.ndarray,
    fAB: np.ndarray,
    fBA: np.ndarray | None,
    *,
    bootstrap: int,
    level: float,
    rng: np.random.Generator,
    names: list[str],
    output_names: Any,
    squeeze: bool,
) -> xr.Dataset:
    d, n, k = fAB.shape
    # constant outputs have undefined indices
    pooled = np.concatenate([fA, fB], axis=0)
    scale = np.max(np.abs(pooled), axis=0)
    constant = np.ptp(pooled, axis=0) <= 8.0 * np.finfo(np.float64).eps * scale
    if constant.any():
        warnings.warn(
            f"{int(constant.sum())} of {k} output(s) are constant over f(A) and f(B); "
            "their Sobol' indices are undefined and set to NaN",
            UserWarning,
            stacklevel=3,
        )

    parts = [fA, fB, fAB.reshape(d * n, k)]
    if fBA is not None:
        parts.append(fBA.reshape(d * n, k))
    centre = np.mean(np.concatenate(parts, axis=0), axis=0)
    fA, fB, fAB = fA - centre, fB - centre, fAB - centre
    if fBA is not None:
        fBA = fBA - centre

    point = _estimate(np.full((1, n), 1.0 / n), fA, fB, fAB, fBA)
    point = {key: val[0] for key, val in point.items()}
    q = np.array([(1.0 - level) / 2.0, (1.0 + level) / 2.0])
    if bootstrap > 0:
        reps: dict[str, list[np.ndarray]] = {key: [] for key in point}
        for w in _bootstrap_weights(rng, n, bootstrap):
            for key, val in _estimate(w, fA, fB, fAB, fBA).items():
                reps[key].append(val)
        bounds_ci = {key: np.quantile(np.concatenate(v), q, axis=0) for key, v in reps.items()}
    else:
        bounds_ci = {key: np.full((2, *val.shape), np.nan) for key, val in point.items()}

    if constant.any():
        for arrs in (point, bounds_ci):
            for val in arrs.values():
                val[..., constant] = np.nan

    out_dims: tuple[str, ...] = () if squeeze else ("output",)

    def finish(a: np.ndarray) -> np.ndarray:
        return a[..., 0] if squeeze else a

    data_vars = {}
    for key in point:
        dims = ("input",) if key != "S2" else ("input", "input_j")
        dims = dims + out_dims
        data_vars[key] = (dims, finish(point[key]))
        data_vars[f"{key}_low"] = (dims, finish(bounds_ci[key][0]))
        data_vars[f"{key}_high"] = (dims, finish(bounds_ci[key][1]))
    coords: dict[str, Any] = {"input": names}
    if fBA is not None:
        coords["input_j"] = names
    if not squeeze:
        coords["output"] = np.arange(k) if output_names is None else list(output_names)
    attrs = {
        "estimator_S1": S1_ESTIMATOR,
        "estimator_ST": ST_ESTIMATOR,
        "interval": "bootstrap percentile interval over the base samples",
        "n": n,
        "n_inputs": d,
        "n_evaluations": n * (2 * d + 2 if fBA is not None else d + 2),
        "bootstrap": bootstrap,
        "level": level,
    }
    if fBA is not None:
        attrs["estimator_S2"] = S2_ESTIMATOR
    return xr.Dataset(data_vars, coords=coords, attrs=attrs)


def sobol_from_samples(
    fA: Any,
    fB: Any,
    fAB: Any,
    *,
    fBA: Any = None,
    bootstrap: int = 200,
    level: float = 0.95,
    seed: SeedLike = 0,
    names: Sequence[str] | None = None,
    output_names: Sequence[Any] | None = None,
) -> xr.Dataset:
    """Sobol' indices from model outputs on a Saltelli design.

    Parameters
    ----------
    fA, fB
        Model outputs on the base matrices ``A`` and ``B``: shape ``(n,)``, or
        ``(n, k)`` for ``k`` outputs analysed at once (outputs, years, regions...).
    fAB
        Outputs on ``A_B^(i)`` (``A`` with column ``i`` from ``B``): shape ``(d, n)`` or
        ``(d, n, k)``.
    fBA
        Optional outputs on ``B_A^(i)`` (same shape as ``fAB``); when given, closed
        second-order indices ``S2`` are estimated too.
    bootstrap
        Number of bootstrap replicates (0: no intervals, they are NaN).
    level
        Level of the percentile intervals, in (0, 1).
    seed
        Seed of the bootstrap resampling (int, ``None`` or numpy ``Generator``).
    names
        Names of the ``d`` inputs (default ``x0 .. x{d-1}``).
    output_names
        Coordinate labels of the ``k`` outputs (default ``0 .. k-1``).

    Returns
    -------
    xarray.Dataset
        ``S1``, ``ST`` and their intervals ``S1_low``, ``S1_high``, ``ST_low``,
        ``ST_high`` on dimension ``input`` (plus ``output`` for 2-D outputs); with
        ``fBA``, ``S2`` (symmetric, NaN diagonal) and its intervals on
        (``input``, ``input_j``). Outputs constant over ``fA`` and ``fB`` get NaN
        indices and a warning.
    """
    fA = _as_outputs(fA, "fA")
    fB = _as_outputs(fB, "fB")
    fAB = _as_outputs(fAB, "fAB")
    if fA.ndim not in (1, 2):
        raise InputError(f"expected shape (n,) or (n, k), got {fA.shape}", field="fA")
    if fB.shape != fA.shape:
        raise InputError(f"expected the shape of fA {fA.shape}, got {fB.shape}", field="fB")
    if fAB.ndim != fA.ndim + 1 or fAB.shape[1:] != fA.shape:
        raise InputError(
            f"expected shape (d, *{fA.shape}) (one row of outputs per input), got {fAB.shape}",
            field="fAB",
        )
    if fAB.shape[0] < 1:
        raise InputError("need at least one input (d >= 1)", field="fAB")
    if fBA is not None:
        fBA = _as_outputs(fBA, "fBA")
        if fBA.shape != fAB.shape:
            raise InputError(f"expected the shape of fAB {fAB.shape}, got {fBA.shape}", field="fBA")
    n = fA.shape[0]
    if n < 2:
        raise InputError(f"need at least 2 base samples, got {n}", field="fA")
    for name, arr in (("fA", fA), ("fB", fB), ("fAB", fAB), ("fBA", fBA)):
        if arr is not None and not np.isfinite(arr).all():
            raise InputError(
                f"{int((~np.isfinite(arr)).sum())} non-finite model output(s)", field=name
            )
    bootstrap, level = _check_bootstrap_level(bootstrap, level)
    _check_seed(seed)
    d = fAB.shape[0]
    names = _check_names(names, d)
    squeeze = fA.ndim == 1
    k = 1 if squeeze else fA.shape[1]
    if output_names is not None:
        if squeeze:
            raise InputError("only meaningful for 2-D outputs (n, k)", field="output_names")
        output_names = list(output_names)
        if len(output_names) != k:
            raise InputError(f"expected {k} labels, got {len(output_names)}", field="output_names")
    shape2 = (n, k)
    ds = _analyze(
        fA.reshape(shape2),
        fB.reshape(shape2),
        fAB.reshape(d, *shape2),
        None if fBA is None else fBA.reshape(d, *shape2),
        bootstrap=bootstrap,
        level=level,
        rng=_bootstrap_rng(seed),
        names=names,
        output_names=output_names,
        squeeze=squeeze,
    )
    ds.attrs["seed"] = _seed_attr(seed)
    return ds


# --------------------------------------------------------------------------------------
# high level
# --------------------------------------------------------------------------------------


def _evaluate(func: Callable, X: np.ndarray, batch_size: int | None) -> np.ndarray:
    rows = X.shape[0]
    if batch_size is None or batch_size >= rows:
        return _check_output(func(X), rows, X.shape)
    outs = []
    for start in range(0, rows, batch_size):
        chunk = X[start : start + batch_size]
        m = chunk.shape[0]
        if m < batch_size:  # pad so that a jitted function sees a single shape
            chunk = np.concatenate([chunk, np.repeat(chunk[-1:], batch_size - m, axis=0)])
        outs.append(_check_output(func(chunk), batch_size, chunk.shape)[:m])
    return np.concatenate(outs, axis=0)


def _check_output(y: Any, rows: int, in_shape: tuple[int, ...]) -> np.ndarray:
    try:
        arr = np.asarray(y, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InputError(
            f"func must return a numeric array, got {type(y).__name__}", field="func"
        ) from exc
    if arr.ndim not in (1, 2) or arr.shape[0] != rows:
        raise InputError(
            f"func returned shape {arr.shape} for inputs of shape {in_shape}; expected "
            f"({rows},) (one output per row) or ({rows}, k)",
            field="func",
        )
    bad = ~np.isfinite(arr)
    if bad.any():
        raise InputError(
            f"func returned {int(bad.sum())} non-finite value(s) (NaN or inf) on "
            f"{rows} input rows",
            field="func",
        )
    return arr


def sobol_indices(
    func: Callable[[np.ndarray], Any],
    bounds: Sequence[tuple[float, float]],
    n: int,
    seed: SeedLike = 0,
    *,
    bootstrap: int = 200,
    level: float = 0.95,
    names: Sequence[str] | None = None,
    second_order: bool = False,
    batch_size: int | None = None,
) -> xr.Dataset:
    """First- and total-order Sobol' indices of ``func`` for independent uniform inputs.

    Parameters
    ----------
    func
        Maps an ``(m, d)`` float64 array of inputs to ``m`` outputs, shape ``(m,)``
        (or ``(m, k)`` for ``k`` outputs at once). NumPy or JAX (also jitted) functions
        work; the result is converted to float64.
    bounds
        ``d`` pairs ``(low, high)``: input ``i`` is uniform on ``[low_i, high_i]``.
    n
        Number of base samples; a power of two is recommended (others warn).
    seed
        Seed for the scrambled Sobol' design and the bootstrap (int, ``None`` or numpy
        ``Generator``); the same int seed gives the same result.
    bootstrap, level
        Number of bootstrap replicates and level of the percentile intervals.
    names
        Input names, the coordinates of dimension ``input`` (default ``x0 .. x{d-1}``).
    second_order
        Also estimate closed second-order indices ``S2`` (costs ``n * (2d + 2)``
        evaluations instead of ``n * (d + 2)``).
    batch_size
        Evaluate ``func`` in batches of this many rows (the last batch is padded to the
        same shape). Default: one call on the whole stacked design.

    Returns
    -------
    xarray.Dataset
        See :func:`sobol_from_samples`; ``attrs`` also record the design, ``seed`` and
        ``n_evaluations``.

    The design matrix passed to ``func`` stacks ``A``, ``B``, ``A_B^(0)``, ...,
    ``A_B^(d-1)`` (then ``B_A^(0)``, ... with ``second_order``), ``n`` rows each.
    """
    if not callable(func):
        raise InputError(f"expected a callable, got {type(func).__name__}", field="func")
    lo, hi = _check_bounds(bounds)
    d = lo.size
    n = _check_n(n)
    _check_seed(seed)
    bootstrap, level = _check_bootstrap_level(bootstrap, level)
    names = _check_names(names, d)
    if batch_size is not None and (not _is_int(batch_size) or batch_size < 1):
        raise InputError(f"expected a positive integer or None, got {batch_size!r}", field="batch_size")

    design = _design(lo, hi, n, _design_rng(seed), bool(second_order))
    A, B, AB = design[:3]
    parts = [A, B, AB.reshape(d * n, d)]
    if second_order:
        parts.append(design[3].reshape(d * n, d))
    X = np.concatenate(parts, axis=0)
    Y = _evaluate(func, X, batch_size)

    squeeze = Y.ndim == 1
    Y2 = Y.reshape(Y.shape[0], -1)
    k = Y2.shape[1]
    fA, fB = Y2[:n], Y2[n : 2 * n]
    fAB = Y2[2 * n : (2 + d) * n].reshape(d, n, k)
    fBA = Y2[(2 + d) * n :].reshape(d, n, k) if second_order else None
    ds = _analyze(
        fA,
        fB,
        fAB,
        fBA,
        bootstrap=bootstrap,
        level=level,
        rng=_bootstrap_rng(seed),
        names=names,
        output_names=None,
        squeeze=squeeze,
    )
    ds.attrs["design"] = DESIGN
    ds.attrs["seed"] = _seed_attr(seed)
    ds.attrs["bounds_low"] = lo
    ds.attrs["bounds_high"] = hi
    return ds
