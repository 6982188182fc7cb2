"""Commands ``mcbattery forecast`` and ``scenarios``."""

from __future__ import annotations

from pathlib import Path

import click

from mcbattery.common.errors import InputError


@click.command()
@click.option("--scenario", default="baseline", show_default=True, help="Scenario name (see `mcbattery scenarios`) or a .toml file.")
@click.option("--draws", type=click.IntRange(min=1), default=100_000, show_default=True, help="Monte Carlo draws (at most 2,147,479,552).")
@click.option("--seed", type=click.IntRange(0, 2**31 - 1), default=0, show_default=True, help="PRNG seed.")
@click.option("--chunk-size", type=click.IntRange(min=1), default=16384, show_default=True, help="Draws per device call (memory bound; results do not depend on it).")
@click.option("--out", type=click.Path(path_type=Path), required=True,
              help="Output: .nc (NetCDF, CF conventions), .csv (tidy, with <stem>_provenance.json), .parquet, .zarr "
                   "or .xlsx (a README sheet with provenance and units). Kept draws go beside it as <stem>_draws<suffix>.")
@click.option("--keep-draws", type=click.IntRange(min=0), default=0, show_default=True, help="Also write the first K draws in full, beside --out.")
@click.option("--priors", "priors_dir", type=click.Path(path_type=Path), default=None, help="Priors folder laid out like the shipped one.")
@click.option("--end-year", type=click.IntRange(1901, 2200), default=2040, show_default=True, help="Last simulated year.")
@click.option("--posterior", type=click.Path(path_type=Path), default=None, help="Posterior samples file (default: the shipped calibrated posterior).")
@click.option("--no-posterior", is_flag=True, help="Use the priors alone, uncalibrated.")
@click.option("--float64", is_flag=True, help="Simulate in double precision.")
@click.option("--cpu-devices", type=click.IntRange(min=0), default=0, show_default=True, help="Without a GPU: split draws over this many CPU devices (0: one per core). Results do not depend on it.")
@click.option("--draws-store", type=click.Path(dir_okay=True, path_type=Path), default=None,
              help="Stream the kept draws (all draws unless --keep-draws is given) chunk by chunk to this .zarr store instead of memory.")
@click.option("--threshold", "thresholds", multiple=True, metavar="OUTPUT=VALUE",
              help="Also report P(OUTPUT > VALUE), e.g. material_price=40000 or price_ratio=2 (repeatable; added to the defaults).")
@click.option("--target-mcse", "targets", multiple=True, metavar="STATISTIC=VALUE",
              help="Stop drawing (at most --draws) once this Monte Carlo standard error is reached, e.g. "
                   "unmet_share_exceedance=0.002 or material_price_quantile=100 (repeatable; <output>_mean, _exceedance, _quantile).")
@click.option("--max-invalid", type=click.FloatRange(0, 1), default=0.001, show_default=True,
              help="Largest share of draws with non-finite outputs accepted; above it the run exits 3 and writes nothing.")
@click.option("--distributed", is_flag=True,
              help="One process of a multi-host run: join the others (JAX reads SLURM's or the cluster's environment, "
                   "or give --coordinator, --num-processes and --process-id). Process 0 writes OUT; see docs/scaling.md.")
@click.option("--coordinator", default=None, metavar="HOST:PORT", help="Address of process 0 in a multi-host run (implies --distributed).")
@click.option("--num-processes", type=click.IntRange(min=1), default=None, help="Processes in a multi-host run.")
@click.option("--process-id", type=click.IntRange(min=0), default=None, help="This process's index in a multi-host run.")
@click.option("--host-timeout", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Seconds to wait for the other processes after this one's share (default: as long as they live; "
                   "a process silent for 20 s counts as stopped).")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar or summary lines.")
def forecast(scenario, draws, seed, chunk_size, out, keep_draws, priors_dir, end_year, posterior, no_posterior, float64,
             cpu_devices, draws_store, thresholds, targets, max_invalid, distributed, coordinator, num_processes, process_id,
             host_timeout, quiet):
    """Run a forecast and write its summary (and kept draws) to OUT."""
    import functools

    from mcbattery.engine.devices import use_cpu_cores

    use_cpu_cores(cpu_devices or None)
    from mcbattery.api import forecast as run_forecast

    distributed = distributed or coordinator is not None or num_processes is not None or process_id is not None
    if distributed:
        from mcbattery.api import forecast_distributed
        from mcbattery.engine.devices import initialize_hosts

        if num_processes is not None and process_id is not None and process_id >= num_processes:
            raise InputError(f"expected a process id below --num-processes {num_processes}, got {process_id}", field="--process-id")
        initialize_hosts(coordinator, num_processes, process_id)
        run_forecast = functools.partial(_or_exit, functools.partial(forecast_distributed, timeout=host_timeout))
    from mcbattery.common.checks import check_thresholds
    from mcbattery.model.outputs import OUTPUTS

    if draws_store is not None and keep_draws == 0:
        keep_draws = draws
    if out.suffix == ".xlsx" and draws_store is None and min(keep_draws, draws) >= 1_048_575:  # a row per draw and year
        from mcbattery.results.export import EXCEL_ROWS

        raise InputError(f"{keep_draws:,} kept draws need more rows than a spreadsheet holds ({EXCEL_ROWS:,}); keep "
                         "fewer draws or write .nc, .parquet or .zarr", field="--keep-draws")
    extra = check_thresholds(_name_values(thresholds, "--threshold"), OUTPUTS, "--threshold")
    result = run_forecast(
        scenario,
        draws=draws,
        seed=seed,
        chunk_size=chunk_size,
        keep_draws=keep_draws,
        end_year=end_year,
        priors=priors_dir,
        posterior=None if no_posterior else (posterior or "default"),
        progress=not quiet,
        dtype="float64" if float64 else "float32",
        thresholds={k: tuple(sorted(set(OUTPUTS[k].thresholds) | set(v))) for k, v in extra.items()},
        target_mcse={k: v[-1] for k, v in _name_values(targets, "--target-mcse").items()} or None,
        draws_store=draws_store,
        out=out,
        max_invalid=max_invalid,
    )
    s = result.summary
    import jax

    if distributed and jax.process_index() != 0:
        return
    if s.attrs["invalid_draws"]:
        click.echo(f"warning: {s.attrs['invalid_draws_report']}; left out of the summary", err=True)
    if not quiet:
        click.echo(
            f"wrote {out} ({s.attrs['valid_draws']} draws, scenario {s.attrs['scenario']}, "
            f"priors hash {s.attrs['priors_hash']}, posterior {s.attrs['posterior_file']}, resolved hash {s.attrs['resolved_hash']}, "
            f"{s.attrs['seconds']:.1f} s on {s.attrs['device']})"
        )
        if draws_store is not None:
            click.echo(f"wrote {min(keep_draws, int(s.attrs['draws']))} full draws to {draws_store}")
        y = min(2030, int(s.year[-1]))
        q = s.sel(year=y)
        click.echo(
            f"{y}: lithium price median {float(q.material_price_quantile.sel(quantile=0.5, material='lithium')):,.0f} USD/t, "
            f"P(lithium unmet > 10%) = {float(q.unmet_share_exceedance.sel(unmet_share_threshold=0.1, material='lithium')):.1%}, "
            f"world cell utilisation median {float(q.utilization_world_quantile.sel(quantile=0.5)):.0%}, "
            f"average cell price median {float(q.cell_price_average_quantile.sel(quantile=0.5)):.0f} USD/kWh, "
            f"average pack price median {float(q.pack_price_average_quantile.sel(quantile=0.5)):.0f} USD/kWh"
        )
        if "achieved_mcse" in s.attrs:
            import json

            got, want = json.loads(s.attrs["achieved_mcse"]), json.loads(s.attrs["target_mcse"])
            met = all(got[k] <= t for k, t in want.items())
            click.echo(f"{'targets met' if met else 'targets NOT met (draw cap reached)'} after {s.attrs['valid_draws']} draws: "
                       + ", ".join(f"{k} MCSE {got[k]:.4g} (target {want[k]:.4g})" for k in want))


def _or_exit(run, *args, **kwargs):
    """Run a multi-host forecast; if another process stopped, say so in one line and leave at
    once (exit status 4): JAX's own shutdown would wait for the stopped process."""
    from mcbattery.common.errors import HostsError

    try:
        return run(*args, **kwargs)
    except HostsError as exc:
        import os
        import sys

        click.echo(f"error: {exc}", err=True)
        sys.stderr.flush()
        os._exit(exc.exit_status)


def _name_values(items, option: str) -> dict[str, list[float]]:
    """Parse repeated NAME=NUMBER options into {name: [numbers]}."""
    out: dict[str, list[float]] = {}
    for item in items:
        name, sep, value = item.partition("=")
        try:
            number = float(value)
        except ValueError:
            number = float("nan")
        if not sep or not name.strip() or number != number or number in (float("inf"), float("-inf")):
            raise InputError(f"expected NAME=NUMBER, got {item!r}", field=option)
        out.setdefault(name.strip(), []).append(number)
    return out


@click.command()
@click.option("--priors", "priors_dir", type=click.Path(path_type=Path), default=None, help="Priors folder.")
def scenarios(priors_dir):
    """List scenarios with one-line descriptions."""
    from mcbattery.inputs.priors import PRIORS_DIR, list_scenarios

    root = priors_dir or PRIORS_DIR
    if not Path(root).is_dir():
        raise InputError("priors folder not found", file=str(root), field="priors")
    for name, desc in list_scenarios(root).items():
        click.echo(f"{name:28s} {desc}")
