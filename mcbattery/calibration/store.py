"""The posterior on disk: the ArviZ NetCDF, the engine samples beside it (NetCDF3, read by
:mod:`mcbattery.inputs.posterior` with scipy alone), their hash, and the README of the
shipped posterior folder.

:data:`SHIPPED_POSTERIOR` is the one place that names the shipped posterior file: the CLI's
``calibrate --ship`` writes there and :func:`load_posterior` reads there, both looking it up
when called (a test points it at a temporary folder by setting this module's attribute).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd

from mcbattery.results import provenance
from mcbattery.calibration.diagnostics import diagnostics_table, learning_rate_summary, summary_table
from mcbattery.calibration.engine_map import engine_dataset
from mcbattery.common.errors import InputError
from mcbattery.inputs.locations import POSTERIOR_DIR

__all__ = ["SHIPPED_POSTERIOR", "shipped_posterior", "save_posterior", "load_posterior", "posterior_hash",
           "engine_samples_path", "posterior_readme"]

SHIPPED_POSTERIOR = POSTERIOR_DIR / "posterior.nc"
ENGINE_SAMPLES_NAME = "engine_samples.nc"


def shipped_posterior() -> Path:
    """The shipped posterior file (:data:`SHIPPED_POSTERIOR`, read at call time)."""
    return SHIPPED_POSTERIOR


def posterior_hash(idata) -> str:
    """sha256 of the posterior group's values (variables sorted by name, float64 C order)."""
    h = hashlib.sha256()
    post = idata.posterior
    for name in sorted(post.data_vars):
        h.update(name.encode())
        h.update(np.ascontiguousarray(post[name].values, dtype=np.float64).tobytes())
    return h.hexdigest()


def engine_samples_path(path: str | Path) -> Path:
    """Where :func:`save_posterior` puts the NetCDF3 engine samples beside ``path``:
    ``engine_samples.nc`` for ``posterior.nc``, else ``<stem>_engine_samples.nc``."""
    path = Path(path)
    name = ENGINE_SAMPLES_NAME if path.stem == "posterior" else f"{path.stem}_{ENGINE_SAMPLES_NAME}"
    return path.with_name(name)


_PACKED_GROUPS = ("posterior_predictive", "log_likelihood")


def _write_inference_data(idata, path: Path) -> None:
    """ArviZ layout (one NetCDF4 group per InferenceData group), zlib + shuffle compressed.

    posterior_predictive and log_likelihood are packed to int16 with scale_factor/add_offset
    (resolution below 1e-4 of the data range; CF packing, decoded on read); every other group
    is stored exactly.
    """
    mode = "w"
    for group in idata.groups():
        ds = idata[group]
        encoding = {}
        for name, da in ds.data_vars.items():
            enc = {"zlib": True, "complevel": 4, "shuffle": True}
            if group in _PACKED_GROUPS and np.issubdtype(da.dtype, np.floating):
                lo, hi = float(da.min()), float(da.max())
                enc.update(dtype="int16", scale_factor=(hi - lo) / 65000.0 if hi > lo else 1.0,
                           add_offset=(hi + lo) / 2.0, _FillValue=np.int16(-32768))
            encoding[name] = enc
        ds.to_netcdf(path, mode=mode, group=group, engine="h5netcdf", encoding=encoding)
        mode = "a"


def save_posterior(idata, path: str | Path) -> tuple[Path, Path]:
    """Write ``idata`` (ArviZ NetCDF4) to ``path`` and the engine samples (NetCDF3, readable
    with scipy alone) beside it; both replaced together (:class:`mcbattery.common.files.Transaction`).

    Stamps attrs: created_at, mcbattery_version, data_vintage (and per series), until, seed,
    posterior_sha256. Returns (posterior path, engine samples path).
    """
    from mcbattery.common.files import Transaction, check_output

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path = check_output(path, (".nc",))
    post_attrs = idata.posterior.attrs
    post_attrs["posterior_sha256"] = posterior_hash(idata)
    for k, v in provenance.software().items():
        post_attrs.setdefault(k, v)
    stamp = {k: post_attrs[k] for k in post_attrs if k in (
        "created_at", "mcbattery_version", "data_vintage", "until", "seed", "posterior_sha256", "num_chains",
        "num_samples", "num_warmup") or k.startswith("data_vintage_")}
    eng = engine_dataset(idata)
    eng.attrs.update({k: (v if isinstance(v, (int, float)) else str(v)) for k, v in stamp.items()})
    eng.attrs["source_posterior"] = path.name
    eng.attrs["convention"] = ("sample = chain-major flattening of (chain, draw) of the posterior; elements named in a "
                               "variable's from_expert_prior attr are draws from priors/*.toml")
    engine_path = engine_samples_path(path)
    with Transaction() as tx:  # the posterior and its engine samples are replaced together
        _write_inference_data(idata, tx.file(path, first=True))
        eng.to_netcdf(tx.file(engine_path), engine="scipy", format="NETCDF3_64BIT")
        tx.commit()
    return path, engine_path


def load_posterior(path: str | Path | None = None):
    """Read a saved posterior (default: the shipped ``priors/posterior/posterior.nc``)."""
    import arviz as az

    from mcbattery.common.files import check_self_contained

    path = Path(path) if path is not None else shipped_posterior()
    check_self_contained(path, "posterior")  # a regular file whose data is all inside it
    try:
        return az.from_netcdf(str(path))
    except Exception as exc:  # noqa: BLE001 - any reader failure is bad input
        raise InputError(f"cannot read posterior ({exc.__class__.__name__})", file=str(path), field="posterior") from None


def posterior_readme(idata) -> str:
    """Markdown README for a shipped posterior folder: provenance, data vintage, diagnostics,
    the learning rate and the calibrated engine parameters."""
    a = idata.posterior.attrs
    lines = [
        "# Shipped calibrated posterior",
        "",
        "Written by `mcbattery calibrate --ship` (see docs/calibration.md); every forecast uses",
        "`engine_samples.nc` unless run with `--no-posterior`. Do not edit by hand: re-run the command.",
        "",
        f"* created: {a.get('created_at')}, mcbattery {a.get('mcbattery_version')}, seed {a.get('seed')}",
        f"* data vintage: {a.get('data_vintage')}; fitted on data up to: {a.get('until')}"
        f" (EV demand fit from {a.get('demand_first_year')})",
        f"* sampler: {a.get('sampler')}; {a.get('num_chains')} chains x {a.get('num_samples')} draws"
        f" (+{a.get('num_warmup')} warm-up) per model",
        f"* posterior sha256: `{a.get('posterior_sha256')}`",
        "* files: `posterior.nc` (ArviZ InferenceData, NetCDF4), `engine_samples.nc` (NetCDF3, engine",
        "  parameters with dims (sample, *dims); elements not informed by data are expert-prior draws)",
        "",
        "## Diagnostics",
        "",
        "| model | R-hat max | bulk ESS min | divergences | seconds |",
        "| --- | --- | --- | --- | --- |",
    ]
    for m, row in diagnostics_table(idata).iterrows():
        lines.append(f"| {m} | {row.r_hat_max:.3f} | {row.ess_bulk_min:,.0f} | {row.divergences} | {row.seconds:.1f} |")
    lr = learning_rate_summary(idata)
    lines += ["", f"Li-ion cell learning rate per doubling: {lr['median']:.1%} (90 % interval {lr['lower']:.1%}"
              f" to {lr['upper']:.1%}), exponent {lr['exponent_mean']:.3f}.", "",
              "## Calibrated engine parameters (median, 90 % interval)", "",
              "| parameter | posterior | expert prior |", "| --- | --- | --- |"]

    def g(x: float) -> str:
        return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.3g}"

    for name, row in summary_table(idata).iterrows():
        lines.append(f"| `{name}` | {g(row.posterior_median)} ({g(row.posterior_low)} to {g(row.posterior_high)}) | "
                     f"{g(row.expert_prior_median)} ({g(row.expert_prior_low)} to {g(row.expert_prior_high)}) |")
    return "\n".join(lines) + "\n"
