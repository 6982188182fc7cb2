"""The Python entry point: ``mcbattery.forecast(...)``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import xarray as xr

from mcbattery.common.checks import check_dtype, check_int, check_quantiles, check_thresholds
from mcbattery.common.errors import InputError, InvalidDrawsError
from mcbattery.inputs.priors import Priors
from mcbattery.inputs.scenarios import resolve_scenario
from mcbattery.results import provenance
from mcbattery.results.summary import DEFAULT_QUANTILES, build_draws, build_summary, label_coords

MAX_INVALID = 0.001  # default largest share of draws with non-finite outputs a run accepts


@dataclass
class Forecast:
    """A forecast: ``summary`` (quantiles, means, exceedance probabilities) and ``draws``
    (the first ``keep_draws`` draws in full, or None), both labelled xarray Datasets."""

    summary: xr.Dataset
    draws: xr.Dataset | None
    priors: Priors

    def to_netcdf(self, path: str | Path) -> Path:
        """Write atomically: the summary, and the kept draws beside it (``*_draws.nc``), together."""
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
    out: str | Path | None = None,
    max_invalid: float = MAX_INVALID,
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
    ``{"unmet_share_exceedance": 0.002, "material_price_quantile": 200}`` (``draws`` is the cap);
    draws_store: a ``.zarr`` path to stream the ``keep_draws`` full draws to, chunk by chunk,
    instead of holding them in memory (an existing folder there must be a store mcbattery
    wrote); out: a ``.nc`` or ``.csv`` path to write the summary to, together with the kept
    draws or the store (every output path is checked before the run starts);
    max_invalid: the largest share of draws with non-finite outputs accepted; above it
    :class:`~mcbattery.common.errors.InvalidDrawsError` is raised, naming the parameters that
    produced them, and nothing is written.
    """
    from mcbattery.engine.runner import MAX_DRAWS
    from mcbattery.model.outputs import OUTPUTS

    draws = check_int("draws", draws, 1, MAX_DRAWS)
    seed = check_int("seed", seed, 0, 2**31 - 1)
    chunk_size = check_int("chunk_size", chunk_size, 1)
    keep_draws = check_int("keep_draws", keep_draws, 0)
    end_year = check_int("end_year", end_year, 1901, 2200)
    quantiles = check_quantiles(quantiles)
    thresholds = check_thresholds(thresholds, OUTPUTS)
    dtype = check_dtype(dtype)
    if isinstance(max_invalid, bool) or not isinstance(max_invalid, (int, float)) or not 0 <= max_invalid <= 1:
        raise InputError(f"expected a share between 0 and 1, got {max_invalid!r}", field="max_invalid")
    from mcbattery.engine.precision import achieved, parse_targets, stopping_rule

    targets = parse_targets(target_mcse)
    command = forecast_command(scenario, draws=draws, seed=seed, keep_draws=keep_draws, end_year=end_year, priors=priors,
                               posterior=posterior, thresholds=thresholds, dtype=dtype, target_mcse=target_mcse,
                               draws_store=draws_store)
    if out is not None:
        from mcbattery.results.export import check_output_path

        out = check_output_path(out)
    resolved = resolve_scenario(scenario, priors, posterior)
    resolved.check_range(dtype)
    start_year = resolved.start_year
    if end_year < start_year:
        raise InputError(f"must be >= start_year {start_year}", field="end_year")
    sink = None
    if draws_store is not None:
        from mcbattery.results.export import ZarrDrawSink

        sink = ZarrDrawSink(draws_store, resolved.coords)
    else:
        check_memory(min(keep_draws, draws), end_year - start_year + 1, dtype, thresholds, resolved.coords)

    import jax.numpy as jnp

    from mcbattery.engine.direct import x64
    from mcbattery.engine.runner import run

    try:
        with x64(dtype):  # local: never flips the process-wide setting
            result = (_runner or run)(
                resolved,
                draws=draws,
                seed=seed,
                chunk_size=chunk_size,
                keep_draws=keep_draws,
                end_year=end_year,
                thresholds=thresholds,
                progress=progress,
                dtype=getattr(jnp, dtype),
                devices=devices,
                on_draws=None if sink is None else _with_parameters(sink.append, resolved, seed, chunk_size, dtype),
                stop=stopping_rule(targets) if targets else None,
            )
        report = invalid_report(resolved, result, dtype) if result.acc.invalid else ""
        if result.acc.invalid > max_invalid * result.draws:
            raise InvalidDrawsError(f"{report}; above the accepted share {max_invalid:g} (--max-invalid), nothing written")
        attrs = run_attrs(resolved, result, dtype)
        attrs["command"] = command
        attrs["history"] = f"{attrs['created_at']} {command}"
        if report:
            attrs["invalid_draws_report"] = report
        if targets:
            import json

            attrs["target_mcse"] = json.dumps({f"{n}_{s}": t for (n, s), t in targets.items()})
            attrs["achieved_mcse"] = json.dumps(achieved(result.acc, result.layout, targets))
        summary = build_summary(result, quantiles)
        summary.attrs = {**attrs, "title": "mcbattery forecast summary"}
        kept = build_draws(result)
        if kept is not None:
            from mcbattery.engine.direct import sample_rows
            from mcbattery.results.summary import build_parameters

            params = sample_rows(resolved, np.arange(kept.sizes["draw"]), seed, chunk_size, dtype)
            kept = label_coords(kept.assign(build_parameters(resolved, params).data_vars), resolved.coords)
            kept.attrs = {**attrs, "title": "mcbattery forecast draws (outputs and the sampled parameters of each draw)"}
        f = Forecast(summary=summary, draws=kept, priors=resolved)
        if out is not None:
            from mcbattery.results.export import write

            write(f, out, store=sink)
        elif sink is not None:
            sink.close(attrs)
        return f
    finally:
        if sink is not None:
            sink.abort()


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


def check_memory(keep: int, n_years: int, dtype: str, thresholds: dict, coords) -> None:
    """Refuse, before the run, to keep more draws in memory than the machine has (the kept
    draws are held about three times over: chunks, the joined array and the Dataset)."""
    if not keep:
        return
    from mcbattery.engine.layout import make_layout
    from mcbattery.engine.runner import available_memory

    columns = make_layout(n_years, 2000, thresholds, coords).n_columns
    need = 3 * keep * columns * (4 if dtype == "float32" else 8)
    have = available_memory()
    if have is not None and need > have:
        raise InputError(f"keeping {keep} draws needs about {need / 2**30:.1f} GiB, {have / 2**30:.1f} GiB available; "
                         "keep fewer or stream them to a store (--draws-store)", field="keep_draws")


def run_attrs(priors: Priors, result, dtype: str) -> dict:
    """Attributes stamped on every output of a forecast run."""
    return provenance.stamp(
        priors,
        seed=result.seed,
        draws=result.draws,
        valid_draws=result.acc.count,
        invalid_draws=result.acc.invalid,
        chunk_size=result.chunk_size,
        dtype=dtype,
        device=result.device,
        start_year=int(result.layout.years[0]),
        end_year=int(result.layout.years[-1]),
        seconds=round(result.seconds, 3),
        quantile_method="fixed-grid histograms merged across chunks (see each quantile variable's "
                        "quantile_relative_error_bound or quantile_absolute_error_bound)",
    )


def invalid_report(priors: Priors, result, dtype: str) -> str:
    """One line: how many draws were invalid, which outputs and which parameters made them so."""
    from mcbattery.engine.diagnose import diagnose_invalid

    n, total = result.acc.invalid, result.draws
    found = diagnose_invalid(priors, result, dtype)
    text = f"{n} of {total} draws ({n / max(total, 1):.2%}) had non-finite outputs"
    if found.outputs:
        text += f" ({', '.join(found.outputs[:4])}{', ...' if len(found.outputs) > 4 else ''})"
    if found.parameters:
        text += "; parameters that produced them: " + ", ".join(f"{k} ({v} of {found.examined})" for k, v in found.parameters[:5])
    elif found.examined:
        text += f"; no single parameter restores the {found.examined} draws examined"
    return text


def forecast_distributed(scenario="baseline", draws: int = 10**7, seed: int = 0, *, timeout: float | None = None,
                         **kwargs) -> Forecast:
    """:func:`forecast` across all JAX processes; call :func:`mcbattery.engine.devices.initialize_hosts`
    (or ``jax.distributed.initialize()``) first. Every process simulates a contiguous share of
    the draws (:mod:`mcbattery.engine.hosts`) and returns the same merged :class:`Forecast`;
    only process 0 writes ``out``. ``timeout``: seconds to wait for the other processes once
    this one's share is done (default: as long as they live); a process that stops makes the
    others raise :class:`~mcbattery.common.errors.HostsError`, and nothing is written."""
    import functools

    import jax

    from mcbattery.engine.hosts import barrier, run_all_hosts

    if jax.process_count() > 1:
        if kwargs.get("draws_store") is not None:
            raise InputError("streaming draws to a store is not supported across processes; keep them with keep_draws",
                             field="draws_store")
        if jax.process_index() != 0:
            kwargs["out"] = None
    f = forecast(scenario, draws=draws, seed=seed, _runner=functools.partial(run_all_hosts, timeout=timeout), **kwargs)
    barrier("written")  # every process leaves together, once process 0 has written
    return f
