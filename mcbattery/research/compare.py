"""Paired scenario comparison with common random numbers (CRN).

``compare(a, b)`` runs two scenarios on the *same* draws and summarises the per-draw
difference ``b - a`` of every output, so that the difference gets its own interval instead of
being read off two overlapping fans.

Common random numbers, precisely:

* both scenarios use the same seed and the same draw indices ``0 .. draws-1``;
* a parameter whose resolved prior is identical in the two scenarios (same distribution and
  numbers) takes *exactly the same value* in draw ``i`` of both (it is copied from ``a``);
* a parameter the scenario changes is drawn by ``b``'s prior from the same uniform slot, so a
  shifted prior moves each draw's value monotonically (quantile coupling) rather than
  re-drawing it;
* the process noise of draw ``i`` (demand shocks, price innovations, project lead times,
  delays, cancellations, supply disruptions) is the noise of draw index ``i`` for both.

So ``b - a`` in a draw is the effect of the scenario's change alone, with everything else held
fixed, and the variance of the paired difference is far below ``var(a) + var(b)`` for outputs
the scenario barely touches; a scenario compared with itself gives exactly zero.

Draws are simulated in chunks (``chunk_size``, 4096 by default): memory does not grow with
``draws``. Means and variances are merged exactly (Chan et al.); quantiles of the difference
come from per-element histograms on a fixed grid in ``asinh(diff / s)`` (``s`` = the element's
spread over draws 0..255), so they are exact to within one bin (see ``quantile_relative_error_bound``),
and exactly zero where every difference is zero. Results do not depend on the chunk size beyond
floating-point rounding.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
import xarray as xr

from mcbattery.common.checks import check_dtype, check_int, check_quantiles, check_thresholds
from mcbattery.common.errors import InputError
from mcbattery.engine.direct import CHUNK_UNIT, all_finite, chunk_rows, sample_draws, sample_rows, simulate_draws  # noqa: F401  (re-exported)
from mcbattery.engine.streaming import chan_merge
from mcbattery.inputs.scenarios import resolve_scenario
from mcbattery.results import provenance
from mcbattery.model.outputs import OUTPUTS
from mcbattery.results.summary import DEFAULT_QUANTILES, histogram_quantiles

__all__ = ["compare"]

DIFF_BINS = 4096
DIFF_RANGE = 1e7  # the grid covers |diff| <= DIFF_RANGE * s; beyond, min/max take over
_T = math.asinh(DIFF_RANGE)
_DT = 2 * _T / DIFF_BINS

CRN_NOTE = (
    "common random numbers: same seed and draw indices in both scenarios; parameters with "
    "identical priors take identical values; changed parameters read the same uniform slot; "
    "process noise of draw i is shared"
)


# ----------------------------------------------------------------------------- scenarios


def same_prior(p, q) -> bool:
    """True when two resolved priors are the same distribution with the same numbers."""
    if p.dist != q.dist or tuple(p.dims) != tuple(q.dims) or set(p.fields) != set(q.fields):
        return False
    return all(np.array_equal(np.asarray(p.fields[k]), np.asarray(q.fields[k])) for k in p.fields)


# ----------------------------------------------------------------------------- streaming statistics


class _Moments:
    """Exact streaming count, mean and M2 (Chan et al.'s pairwise merge), float64."""

    def __init__(self, k: int):
        self.n = 0
        self.mean = np.zeros(k)
        self.m2 = np.zeros(k)

    def add(self, x: np.ndarray):
        m = x.shape[0]
        if m == 0:
            return
        mb = x.mean(axis=0)
        m2b = ((x - mb) ** 2).sum(axis=0)
        _, self.mean, self.m2 = chan_merge(self.n, self.mean, self.m2, m, mb, m2b)
        self.n += m

    @property
    def sd(self) -> np.ndarray:
        return np.sqrt(np.maximum(self.m2 / max(self.n - 1, 1), 0.0))


class _PairStats:
    """Streaming statistics of paired outputs a, b and their difference d = b - a."""

    def __init__(self, k: int, thr_cols: np.ndarray, thr_vals: np.ndarray):
        self.k = k
        self.a, self.b, self.d = _Moments(k), _Moments(k), _Moments(k)
        self.dmin = np.full(k, np.inf)
        self.dmax = np.full(k, -np.inf)
        self.pos = np.zeros(k, np.int64)
        self.scale = None
        self.hist = np.zeros((k, DIFF_BINS + 2), np.int64)
        self.thr_cols, self.thr_vals = thr_cols, thr_vals
        self.above_a = np.zeros(thr_cols.size, np.int64)
        self.above_b = np.zeros(thr_cols.size, np.int64)
        self.flips = np.zeros(thr_cols.size, np.int64)

    def add(self, a: np.ndarray, b: np.ndarray, index: np.ndarray):
        """Merge paired rows ``a``, ``b`` (rows, k) of draws ``index``."""
        a = a.astype(np.float64)
        b = b.astype(np.float64)
        d = b - a
        if d.shape[0] == 0:
            return
        if self.scale is None:
            # the grid scale comes from the draws with index < CHUNK_UNIT, which every chunk
            # size puts in the first chunk: the grid, hence the quantiles, do not depend on it
            first = index < CHUNK_UNIT
            if not first.any():
                first = np.ones_like(first)
            a0, b0, d0 = a[first], b[first], d[first]
            sa, sb, sd = a0.std(axis=0), b0.std(axis=0), d0.std(axis=0)
            ref = np.maximum(np.abs(a0).mean(axis=0), 1e-300)
            self.scale = np.maximum.reduce([sd, 1e-3 * 0.5 * (sa + sb), 1e-12 * ref])
        self.a.add(a)
        self.b.add(b)
        self.d.add(d)
        self.dmin = np.minimum(self.dmin, d.min(axis=0))
        self.dmax = np.maximum(self.dmax, d.max(axis=0))
        self.pos += (d > 0).sum(axis=0)
        with np.errstate(over="ignore"):
            t = np.arcsinh(d / self.scale)
        idx = np.clip(np.floor((t + _T) / _DT) + 1, 0, DIFF_BINS + 1).astype(np.int64)
        flat = (idx + (np.arange(self.k) * (DIFF_BINS + 2))[None, :]).ravel()
        self.hist += np.bincount(flat, minlength=self.k * (DIFF_BINS + 2)).reshape(self.k, DIFF_BINS + 2)
        if self.thr_cols.size:
            ea = a[:, self.thr_cols] > self.thr_vals
            eb = b[:, self.thr_cols] > self.thr_vals
            self.above_a += ea.sum(axis=0)
            self.above_b += eb.sum(axis=0)
            self.flips += (ea != eb).sum(axis=0)

    def quantiles(self, qs) -> np.ndarray:
        with np.errstate(over="ignore"):
            tmin = np.arcsinh(self.dmin / self.scale)
            tmax = np.arcsinh(self.dmax / self.scale)
        tq = histogram_quantiles(self.hist, np.linspace(-_T, _T, DIFF_BINS + 1), tmin, tmax, qs)
        with np.errstate(over="ignore"):
            return self.scale[None, :] * np.sinh(tq)


def quantile_error_attrs() -> dict:
    """The grid error of the difference quantiles, as numbers: relative where |diff| > s,
    ``quantile_scaled_error_bound`` x s below (s: the element's spread over draws 0-255)."""
    return {
        "quantile_relative_error_bound": float(math.expm1(_DT)),
        "quantile_scaled_error_bound": float(_DT),
        "quantile_error_note": "relative bound where |diff| > s, scaled bound x s below (s: the element's spread over "
                               "draws 0-255, at least 1e-3 of the outputs' own spread)",
    }


# ----------------------------------------------------------------------------- compare


def _check_outputs(outputs) -> tuple[str, ...]:
    if outputs is None:
        return tuple(OUTPUTS)
    if isinstance(outputs, str):
        outputs = (outputs,)
    out = []
    for name in outputs:
        if name not in OUTPUTS:
            raise InputError(f"unknown output {name!r}; expected one of {sorted(OUTPUTS)}", field="outputs")
        if name not in out:
            out.append(name)
    if not out:
        raise InputError("expected at least one output name", field="outputs")
    return tuple(out)


def compare(
    scenario_a="baseline",
    scenario_b="baseline",
    draws: int = 20_000,
    seed: int = 0,
    outputs=None,
    quantiles=DEFAULT_QUANTILES,
    *,
    thresholds: dict[str, tuple[float, ...]] | None = None,
    chunk_size: int = 4096,
    end_year: int = 2040,
    priors=None,
    posterior="default",
    dtype: str = "float32",
    progress: bool | None = None,
) -> xr.Dataset:
    """Paired comparison of two scenarios with common random numbers.

    scenario_a, scenario_b: scenario names, .toml paths or resolved ``Priors``; draws, seed:
    the shared draws; outputs: output names (default: all, see ``mcbattery.model.outputs``);
    quantiles: levels of the difference's quantiles; thresholds: exceedance thresholds per
    output (default: the engine's, e.g. unmet_share 0/5/10 %), whose probabilities are
    reported for a and b with their paired change; chunk_size: draws per device call (a
    memory bound; results do not depend on it); priors, posterior, progress: as in
    :func:`mcbattery.forecast`, applied to both scenarios.

    Returns an ``xarray.Dataset``; for every output ``X`` (dims ``year, ...``):

    * ``X_diff_mean``, ``X_diff_sd``, ``X_diff_mcse`` (Monte Carlo standard error of the mean
      difference), ``X_diff_min``, ``X_diff_max``, ``X_diff_quantile`` (dim ``quantile``),
      ``X_diff_exceedance`` (dim ``X_diff_threshold`` = [0]: P(b - a > 0)) and its
      ``X_diff_exceedance_mcse``;
    * ``X_a_mean``, ``X_a_sd``, ``X_b_mean``, ``X_b_sd``: each scenario alone on the same
      draws (``X_diff_sd**2`` against ``X_a_sd**2 + X_b_sd**2`` shows what pairing gained);
    * where thresholds apply: ``X_a_exceedance``, ``X_b_exceedance`` (dim ``X_threshold``)
      and the paired change ``X_exceedance_change_mean`` with ``X_exceedance_change_mcse``.
    """
    from mcbattery.inputs.priors import Priors

    draws = check_int("draws", draws, 2)
    seed = check_int("seed", seed, 0, 2**31 - 1)
    chunk_size = check_int("chunk_size", chunk_size, 1)
    end_year = check_int("end_year", end_year, 1901, 2200)
    dtype = check_dtype(dtype)
    qs = check_quantiles(quantiles)
    names = _check_outputs(outputs)
    thr = {k: tuple(v.thresholds) for k, v in OUTPUTS.items()} | check_thresholds(thresholds, OUTPUTS)

    pa = resolve_scenario(scenario_a, priors, posterior)
    pb = resolve_scenario(scenario_b, priors, posterior)
    if not isinstance(pa, Priors) or not isinstance(pb, Priors):  # pragma: no cover
        raise InputError("expected scenario names, files or Priors", field="scenario")
    pa.check_range(dtype)
    pb.check_range(dtype)
    start_year = pa.start_year
    if pb.start_year != start_year:
        raise InputError(
            f"scenarios start in different years ({start_year} and {pb.start_year})", field="start_year"
        )
    if end_year < start_year:
        raise InputError(f"must be >= start_year {start_year}", field="end_year")
    if pa.coords != pb.coords:
        raise InputError("scenarios declare different coordinates (priors folders)", field="scenario")
    if set(pa.params) != set(pb.params):  # pragma: no cover - both validated against REGISTRY
        raise InputError("scenarios define different parameters", field="scenario")
    shared = sorted(k for k in pa.params if same_prior(pa.params[k], pb.params[k]))
    changed = sorted(set(pa.params) - set(shared))

    n_years = end_year - start_year + 1
    years = np.arange(start_year, end_year + 1)
    shapes = {k: (n_years, *pa.coords.shape(OUTPUTS[k].dims)) for k in names}
    sizes = {k: int(np.prod(shapes[k])) for k in names}
    offsets, pos = {}, 0
    for k in names:
        offsets[k] = pos
        pos += sizes[k]
    n_cols = pos
    tcols, tvals, tinfo = [], [], {}
    for k in names:
        if thr.get(k):
            tinfo[k] = (len(tcols), thr[k])
            for t in thr[k]:
                tcols += range(offsets[k], offsets[k] + sizes[k])
                tvals += [t] * sizes[k]
    stats = _PairStats(n_cols, np.asarray(tcols, np.int64), np.asarray(tvals, np.float64))

    chunk = chunk_rows(chunk_size, draws)
    invalid = 0
    t0 = time.perf_counter()
    from mcbattery.common.progress import Progress

    bar = Progress(draws, unit="draw", desc="comparing", enabled=progress)
    for start in range(0, draws, chunk):
        idx = np.arange(start, start + chunk)
        real = idx < draws
        par_a = sample_draws(pa, idx, seed, dtype)
        par_b = sample_draws(pb, idx, seed, dtype)
        for k in shared:
            par_b[k] = par_a[k]
        out_a = simulate_draws(par_a, idx, seed, start_year, end_year, dtype, pa.coords)
        out_b = simulate_draws(par_b, idx, seed, start_year, end_year, dtype, pb.coords)
        ok = real & all_finite(out_a) & all_finite(out_b)
        invalid += int((real & ~ok).sum())
        flat_a = np.concatenate([out_a[k][ok].reshape(int(ok.sum()), -1) for k in names], axis=1)
        flat_b = np.concatenate([out_b[k][ok].reshape(int(ok.sum()), -1) for k in names], axis=1)
        stats.add(flat_a, flat_b, idx[ok])
        bar.update(int(real.sum()))
    bar.close()
    if stats.d.n == 0:
        raise InputError("every draw had non-finite outputs; nothing to compare", field="draws")

    n = stats.d.n
    qv = stats.quantiles(qs)
    p_pos = stats.pos / n
    data = {}
    for k in names:
        spec = OUTPUTS[k]
        sl = slice(offsets[k], offsets[k] + sizes[k])
        dims = ("year", *spec.dims)
        coords = {"year": years, **{d: list(pa.coords[d]) for d in spec.dims}}
        shp = shapes[k]
        units = spec.units
        ln = spec.long_name

        def arr(x, long_name, u=units, extra_dims=(), extra_coords=None, shape=shp):
            c = dict(coords)
            c.update(extra_coords or {})
            return xr.DataArray(np.asarray(x).reshape((*(len(v) for v in (extra_coords or {}).values()), *shape)),
                                c, (*extra_dims, *dims), attrs={"units": u, "long_name": long_name})

        what = f"difference b - a of {ln}"
        data[f"{k}_diff_mean"] = arr(stats.d.mean[sl], f"mean {what}")
        data[f"{k}_diff_sd"] = arr(stats.d.sd[sl], f"standard deviation of the {what}")
        data[f"{k}_diff_mcse"] = arr(stats.d.sd[sl] / math.sqrt(n), f"Monte Carlo standard error of the mean {what}")
        data[f"{k}_diff_min"] = arr(stats.dmin[sl], f"minimum {what}")
        data[f"{k}_diff_max"] = arr(stats.dmax[sl], f"maximum {what}")
        q = arr(qv[:, sl], f"quantiles of the {what}", extra_dims=("quantile",), extra_coords={"quantile": list(qs)})
        q.attrs.update(quantile_error_attrs())
        data[f"{k}_diff_quantile"] = q
        tdim = f"{k}_diff_threshold"
        data[f"{k}_diff_exceedance"] = arr(
            p_pos[sl], f"probability that the {what} exceeds the threshold", u="1",
            extra_dims=(tdim,), extra_coords={tdim: [0.0]},
        )
        data[f"{k}_diff_exceedance"].attrs["threshold_units"] = units
        data[f"{k}_diff_exceedance_mcse"] = arr(
            np.sqrt(p_pos[sl] * (1 - p_pos[sl]) / n), "Monte Carlo standard error of P(b - a > threshold)", u="1",
            extra_dims=(tdim,), extra_coords={tdim: [0.0]},
        )
        for tag, mom in (("a", stats.a), ("b", stats.b)):
            data[f"{k}_{tag}_mean"] = arr(mom.mean[sl], f"mean {ln} in scenario {tag}")
            data[f"{k}_{tag}_sd"] = arr(mom.sd[sl], f"standard deviation of {ln} in scenario {tag}")
        if k in tinfo:
            first, tv = tinfo[k]
            m = len(tv)
            rng = slice(first, first + m * sizes[k])
            tdim = f"{k}_threshold"
            ex = {tdim: list(tv)}
            pa_ = stats.above_a[rng] / n
            pb_ = stats.above_b[rng] / n
            change = pb_ - pa_
            second = stats.flips[rng] / n  # E[(1[b>t] - 1[a>t])^2]
            var = np.maximum(second - change**2, 0.0) * n / max(n - 1, 1)
            for tag, p in (("a", pa_), ("b", pb_)):
                data[f"{k}_{tag}_exceedance"] = arr(
                    p, f"probability that {ln} exceeds the threshold in scenario {tag}", u="1",
                    extra_dims=(tdim,), extra_coords=ex,
                )
                data[f"{k}_{tag}_exceedance"].attrs["threshold_units"] = units
            data[f"{k}_exceedance_change_mean"] = arr(
                change, f"paired change b - a in P({k} > threshold)", u="1", extra_dims=(tdim,), extra_coords=ex
            )
            data[f"{k}_exceedance_change_mcse"] = arr(
                np.sqrt(var / n), f"Monte Carlo standard error of the paired change in P({k} > threshold)", u="1",
                extra_dims=(tdim,), extra_coords=ex,
            )
    ds = xr.Dataset(data)
    from mcbattery.results.summary import label_coords

    ds = label_coords(ds, pa.coords)
    import jax

    import shlex

    command = shlex.join(["mcbattery", "compare", str(scenario_a if not isinstance(scenario_a, Priors) else pa.scenario_file),
                          str(scenario_b if not isinstance(scenario_b, Priors) else pb.scenario_file),
                          "--draws", str(draws), "--seed", str(seed)]
                         + (["--end-year", str(end_year)] if end_year != 2040 else [])
                         + (["--no-posterior"] if not pa.posterior else [])
                         + [x for o in (names if outputs is not None else ()) for x in ("--output", o)])
    ds.attrs = {
        **provenance.software(),
        "run_id": provenance.new_run_id(),
        "command": command,
        "title": "mcbattery paired scenario comparison (difference = b - a)",
        "difference": "b - a",
        **provenance.inputs(pa, "_a"),
        **provenance.inputs(pb, "_b"),
        **provenance.posterior(pa),
        "changed_parameters": ", ".join(changed) if changed else "none",
        "crn": CRN_NOTE,
        "seed": seed,
        "draws": draws,
        "valid_draws": n,
        "invalid_draws": invalid,
        "chunk_size": chunk,
        "dtype": dtype,
        "start_year": start_year,
        "end_year": end_year,
        "device": str(jax.devices()[0].device_kind),
        "seconds": round(time.perf_counter() - t0, 3),
        "quantile_method": "fixed-grid histograms of asinh(diff / s) merged across chunks (see quantile_relative_error_bound)",
    }
    ds.attrs["history"] = f"{ds.attrs['created_at']} {command}"
    return ds


def write(ds: xr.Dataset, path: str | Path) -> Path:
    """Write a comparison (or any summary-like dataset) atomically in the format the suffix of
    ``path`` names (``.nc``, tidy ``.csv`` with its provenance sidecar, ``.parquet``, ``.zarr``,
    ``.xlsx``; see :func:`mcbattery.results.export.write`)."""
    from mcbattery.results.export import write as write_any

    return write_any(ds, path)
