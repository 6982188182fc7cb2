"""The Python entry point: ``mcbattery.forecast(...)``."""

from __future__ import annotations

import datetime as _dt
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import xarray as xr

from mcbattery import __version__
from mcbattery.common.errors import InputError, check_int
from mcbattery.inputs.priors import Priors, load_scenario
from mcbattery.results.summary import DEFAULT_QUANTILES, build_draws, build_summary, label_coords


@dataclass
class Forecast:
    """A forecast: ``summary`` (quantiles, means, exceedance probabilities) and ``draws``
    (the first ``keep_draws`` draws in full, or None), both labelled xarray Datasets."""

    summary: xr.Dataset
    draws: xr.Dataset | None
    priors: Priors

    def to_netcdf(self, path: str | Path) -> Path:
        """Write atomically: the summary, and the kept draws beside it (``*_draws.nc``)."""
        from mcbattery.results.export import write

        return write(self, path)

    def to_csv(self, path: str | Path) -> Path:
        from mcbattery.results.export import write

        return write(self, Path(path).with_suffix(".csv"))


def forecast(
    scenario: str | Path | Priors = "baseline",
    draws: int = 100_000,
    seed: int = 0,
    *,
    chunk_size: int = 16384,
    keep_draws: int = 0,
    end_year: int = 2040,
    priors: str | Path | Priors | None = None,
    posterior: str | Path | None = "default",
    quantiles=DEFAULT_QUANTILES,
    thresholds: dict[str, tuple[float, ...]] | None = None,
    progress: bool | None = None,
    dtype: str = "float32",
    devices=None,
    target_mcse: dict[str, float] | None = None,
    draws_store: str | Path | None = None,
    _runner=None,
) -> Forecast:
    """Run the value-chain Monte Carlo and return labelled output distributions.

    scenario: a name from ``mcbattery.list_scenarios()``, a scenario .toml path, or resolved
    :class:`Priors` (e.g. from ``load_scenario``; used as they are);
    draws: number of Monte Carlo draws; seed: PRNG seed (a draw depends only on seed and
    its index); chunk_size: draws per device call (memory bound, does not change results);
    keep_draws: how many full draws to keep; end_year: last simulated year; priors: a priors
    folder laid out like ``priors/`` or a :class:`Priors` (scenario applied on top);
    posterior: calibrated samples replacing the priors they cover ("default" = the shipped
    posterior when present, None = priors only, or a file path);
    thresholds: extra exceedance thresholds per output name; progress: a bar ("compiling", then
    draws with rate and time left): True, False, or None to show one in interactive sessions
    (notebooks, terminals; ``MCBATTERY_PROGRESS=0`` or ``1`` overrides); dtype: float32 or float64;
    devices: JAX devices to shard the draws over (default: all local devices);
    target_mcse: stop early once these Monte Carlo standard errors are reached, e.g.
    ``{"shortage_exceedance": 0.002, "lithium_price_quantile": 200}`` (``draws`` is the cap);
    draws_store: a ``.zarr`` path to stream the ``keep_draws`` full draws to, chunk by chunk,
    instead of holding them in memory.
    """
    from mcbattery.model.outputs import OUTPUTS

    draws = check_int("draws", draws, 1)
    seed = check_int("seed", seed, 0, 2**31 - 1)
    chunk_size = check_int("chunk_size", chunk_size, 1)
    keep_draws = check_int("keep_draws", keep_draws, 0)
    end_year = check_int("end_year", end_year, 1901, 2200)
    if not all(isinstance(q, (int, float)) and 0 < q < 1 for q in quantiles):
        raise InputError("quantiles must lie strictly between 0 and 1", field="quantiles")
    for name, values in (thresholds or {}).items():
        if name not in OUTPUTS:
            raise InputError(f"unknown output {name!r}; expected one of {sorted(OUTPUTS)}", field="thresholds")
        if not all(isinstance(v, (int, float)) and math.isfinite(v) for v in values):
            raise InputError("thresholds must be finite numbers", field=f"thresholds.{name}")
    from mcbattery.engine.precision import achieved, parse_targets, stopping_rule

    targets = parse_targets(target_mcse)
    if dtype not in ("float32", "float64"):
        raise InputError("expected 'float32' or 'float64'", field="dtype")
    command = forecast_command(scenario, draws=draws, seed=seed, keep_draws=keep_draws, end_year=end_year, priors=priors,
                               posterior=posterior, thresholds=thresholds, dtype=dtype, target_mcse=target_mcse,
                               draws_store=draws_store)
    if isinstance(scenario, Priors):
        resolved = scenario
    else:
        if isinstance(posterior, str) and posterior == "default":
            from mcbattery.inputs.posterior import default_posterior

            posterior = default_posterior()
        resolved = load_scenario(scenario, priors, posterior)
    start_year = resolved.start_year
    if end_year < start_year:
        raise InputError(f"must be >= start_year {start_year}", field="end_year")
    sink = None
    if draws_store is not None:  # created only once every input is known to be good
        from mcbattery.results.export import ZarrDrawSink

        sink = ZarrDrawSink(draws_store, resolved.coords)

    import jax
    import jax.numpy as jnp

    from mcbattery.engine.direct import x64
    from mcbattery.engine.runner import run

    with x64(dtype):  # local: never flips the process-wide setting
        result = (_runner or run)(
            resolved,
            draws=draws,
            seed=seed,
            chunk_size=chunk_size,
            keep_draws=keep_draws,
            end_year=end_year,
            thresholds={k: tuple(float(x) for x in v) for k, v in (thresholds or {}).items()},
            progress=progress,
            dtype=getattr(jnp, dtype),
            devices=devices,
            on_draws=None if sink is None else _with_parameters(sink.append, resolved, seed, chunk_size, dtype),
            stop=stopping_rule(targets) if targets else None,
        )
    if sink is not None:
        sink.close(start_year, attrs=provenance(resolved, result, dtype))
    attrs = provenance(resolved, result, dtype)
    attrs["command"] = command
    attrs["history"] = f"{attrs['created_at']} {command}"
    if targets:
        import json

        attrs["target_mcse"] = json.dumps({f"{n}_{s}": t for (n, s), t in targets.items()})
        attrs["achieved_mcse"] = json.dumps(achieved(result.acc, result.layout, targets))
    summary = build_summary(result, tuple(float(q) for q in quantiles))
    summary.attrs = {**attrs, "title": "mcbattery forecast summary"}
    kept = build_draws(result)
    if kept is not None:
        from mcbattery.engine.direct import sample_rows
        from mcbattery.results.summary import build_parameters

        params = sample_rows(resolved, np.arange(kept.sizes["draw"]), seed, chunk_size, dtype)
        kept = label_coords(kept.assign(build_parameters(resolved, params).data_vars), resolved.coords)
        kept.attrs = {**attrs, "title": "mcbattery forecast draws (outputs and the sampled parameters of each draw)"}
    return Forecast(summary=summary, draws=kept, priors=resolved)


def _with_parameters(append, priors: Priors, seed: int, batch: int, dtype: str):
    """A draws callback that hands ``append`` every chunk's outputs together with the sampled
    parameters of the same draws."""
    from mcbattery.engine.direct import sample_rows
    from mcbattery.results.summary import build_parameters

    def with_parameters(start: int, outputs: dict) -> None:
        n = next(iter(outputs.values())).shape[0]
        params = sample_rows(priors, np.arange(start, start + n), seed, batch, dtype)
        append(start, outputs, build_parameters(priors, params, first_draw=start))

    return with_parameters


def forecast_command(scenario, *, draws: int, seed: int, keep_draws: int = 0, end_year: int = 2040, priors=None,
                     posterior="default", thresholds=None, dtype: str = "float32", target_mcse=None,
                     draws_store=None) -> str:
    """The ``mcbattery forecast`` command line (shell-quoted, without ``--out``) that repeats a
    forecast made with these arguments: recorded as the ``command`` attribute and in ``history``.

    For resolved :class:`Priors` it names their scenario file, priors folder and posterior; edits
    made to them in Python are not in any file, so the hashes tell whether a rerun matches."""
    import shlex

    from mcbattery.inputs.priors import PRIORS_DIR

    args = ["mcbattery", "forecast"]
    if isinstance(scenario, Priors):
        file = Path(scenario.scenario_file) if scenario.scenario_file else None
        shipped = file is not None and file.parent == Path(scenario.directory) / "scenarios" and file.is_file()
        args += ["--scenario", file.stem if shipped else str(file or scenario.scenario)]
        if Path(scenario.directory).resolve() != PRIORS_DIR.resolve():
            args += ["--priors", str(scenario.directory)]
        info = scenario.posterior
        if not info:
            args.append("--no-posterior")
        else:
            from mcbattery.inputs.posterior import default_posterior

            default = default_posterior()
            if default is None or info.get("file") != default.name:
                args += ["--posterior", str(info.get("file"))]
    else:
        args += ["--scenario", str(scenario)]
        if priors is not None:
            args += ["--priors", str(getattr(priors, "directory", priors))]
        if posterior is None:
            args.append("--no-posterior")
        elif not (isinstance(posterior, str) and posterior == "default"):
            args += ["--posterior", str(posterior)]
    args += ["--draws", str(draws), "--seed", str(seed)]
    if end_year != 2040:
        args += ["--end-year", str(end_year)]
    if dtype == "float64":
        args.append("--float64")
    if keep_draws and draws_store is None:
        args += ["--keep-draws", str(keep_draws)]
    if draws_store is not None:
        args += ["--draws-store", str(draws_store)] + (["--keep-draws", str(keep_draws)] if keep_draws != draws else [])
    from mcbattery.model.outputs import OUTPUTS

    for name, values in sorted((thresholds or {}).items()):
        extra = [v for v in values if name not in OUTPUTS or v not in OUTPUTS[name].thresholds]
        args += [x for v in extra for x in ("--threshold", f"{name}={v:g}")]
    for name, value in sorted((target_mcse or {}).items()):
        args += ["--target-mcse", f"{name}={value:g}"]
    return shlex.join(args)


def provenance(priors: Priors, result, dtype: str) -> dict:
    """Attributes stamped on every output: what produced it, from which inputs, when."""
    import jax

    return {
        "Conventions": "CF-1.10",
        "source": f"mcbattery {__version__} Monte Carlo forecast of the lithium-ion battery value chain",
        "mcbattery_version": __version__,
        "jax_version": jax.__version__,
        "created_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "scenario": priors.scenario,
        "scenario_description": priors.scenario_description,
        "scenario_file": Path(priors.scenario_file).name,
        "priors_hash": priors.priors_hash(),
        "resolved_hash": priors.hash(),
        "priors_directory": Path(priors.directory).name,
        "calibrated": int(bool(priors.posterior)),
        "posterior_file": priors.posterior.get("file", "none (priors only)"),
        "posterior_hash": priors.posterior.get("hash", ""),
        "data_vintage": priors.posterior.get("data_vintage", ""),
        "seed": result.seed,
        "draws": result.draws,
        "valid_draws": result.acc.count,
        "invalid_draws": result.acc.invalid,
        "chunk_size": result.chunk_size,
        "dtype": dtype,
        "device": result.device,
        "start_year": int(result.layout.years[0]),
        "end_year": int(result.layout.years[-1]),
        "seconds": round(result.seconds, 3),
        "quantile_method": "fixed-grid histograms merged across chunks (see each quantile variable's "
                           "quantile_relative_error_bound or quantile_absolute_error_bound)",
    }


def forecast_distributed(scenario="baseline", draws: int = 10**7, seed: int = 0, **kwargs) -> Forecast:
    """:func:`forecast` across all JAX processes; call ``jax.distributed.initialize()`` first.
    Every process simulates a contiguous share of the draws (:mod:`mcbattery.engine.hosts`)
    and returns the same merged :class:`Forecast`."""
    from mcbattery.engine.hosts import run_all_hosts

    return forecast(scenario, draws=draws, seed=seed, _runner=run_all_hosts, **kwargs)
