"""Research commands: ``mcbattery sensitivity | compare | card | discover``.

Standalone click commands, added to the main group in :mod:`mcbattery.cli`. Bad input raises :class:`mcbattery.common.errors.InputError`, which the group
turns into one line and exit status 2; nothing is written.
"""

from __future__ import annotations

from pathlib import Path

import click

from mcbattery.common.errors import InputError

__all__ = ["sensitivity", "compare", "card", "discover"]


def _parse_select(items) -> dict:
    """``material=lithium`` / ``region=EU`` pairs to a dict (numbers stay strings except year)."""
    out = {}
    for item in items:
        if "=" not in item:
            raise InputError(f"expected DIM=LABEL, got {item!r}", field="--select")
        k, v = (x.strip() for x in item.split("=", 1))
        if not k or not v:
            raise InputError(f"expected DIM=LABEL, got {item!r}", field="--select")
        if k == "year":
            raise InputError("give the year with --year", field="--select")
        out[k] = v
    return out


def _posterior_arg(posterior, no_posterior):
    if no_posterior:
        return None
    return posterior if posterior is not None else "default"


@click.command()
@click.option("--output", "output", required=True, help="Model output, e.g. material_price, utilization_world, cell_price (see mcbattery.model.outputs).")
@click.option("--year", type=click.IntRange(1901, 2200), required=True, help="Year of the output.")
@click.option("--select", "select", multiple=True, metavar="DIM=LABEL", help="Label of another dim, e.g. material=lithium or region=EU (repeatable; unselected dims give one row each).")
@click.option("--n", "n", type=click.IntRange(min=2), default=1024, show_default=True, help="Base samples; cost n x (groups + 2) model runs.")
@click.option("--scenario", default="baseline", show_default=True, help="Scenario name or .toml file.")
@click.option("--groups", default="block", show_default=True, help="'block', 'parameter', or comma-separated parameter/block names.")
@click.option("--noise", type=click.Choice(["common", "group"]), default="common", show_default=True, help="Process-noise convention (see docs/research.md).")
@click.option("--log", "log_transform", is_flag=True, help="Indices of the log of the output (steadier for heavy-tailed prices).")
@click.option("--seed", type=click.IntRange(0, 2**31 - 1), default=0, show_default=True, help="Seed of the draws and the bootstrap.")
@click.option("--bootstrap", type=click.IntRange(min=0), default=200, show_default=True, help="Bootstrap replicates for the intervals.")
@click.option("--posterior", type=click.Path(path_type=Path), default=None,
              help="Posterior samples file (default: the shipped calibrated posterior, as forecast and compare use; "
                   "its parameters form one group).")
@click.option("--no-posterior", is_flag=True, help="Use the priors alone, uncalibrated.")
@click.option("--calibrated", is_flag=True, hidden=True, help="The default now; kept so that old commands still run.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="Output: .csv (tidy) or .nc.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def sensitivity(output, year, select, n, scenario, groups, noise, log_transform, seed, bootstrap, posterior, no_posterior,
                calibrated, out, quiet):
    """Sobol' indices of one output/year to groups of parameters, written to OUT.

    Prints the indices with their bootstrap intervals and the widest interval; below 32 base
    samples (--n) it refuses, and it warns when an interval is wider than 0.2.
    """
    import warnings

    from mcbattery.research.sensitivity import model_sobol

    from mcbattery.common.files import check_output

    check_output(out, (".csv", ".nc"), "--out")
    sel = {"year": year, **_parse_select(select)}
    if groups not in ("block", "parameter"):
        groups = [g.strip() for g in groups.split(",") if g.strip()]
        if not groups:
            raise InputError("expected 'block', 'parameter' or names", field="--groups")
    if no_posterior and (posterior is not None or calibrated):
        raise InputError("give either --posterior/--calibrated or --no-posterior, not both", field="--no-posterior")
    post = _posterior_arg(str(posterior) if posterior is not None else None, no_posterior)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UserWarning)
        ds = model_sobol(scenario, [(output, sel)], groups=groups, n=n, seed=seed, posterior=post, noise=noise,
                         transform="log" if log_transform else None, bootstrap=bootstrap, progress=not quiet)
    from mcbattery.common.files import atomic_file
    from mcbattery.results.export import write_netcdf

    if out.suffix == ".nc":
        write_netcdf(ds, out)
    else:
        df = ds.drop_vars([v for v in ("noise_closed_S1",) if v in ds]).to_dataframe().reset_index()
        df["scenario"] = ds.attrs["scenario"]
        df["n"] = n
        df["noise"] = noise
        with atomic_file(out) as tmp:
            df.to_csv(tmp, index=False)
    for label in ds["output"].values:
        one = ds.sel(output=label).sortby("ST", ascending=False)
        click.echo(f"{label} (scenario {ds.attrs['scenario']}, n = {n}):")
        for g in one["input"].values:
            r = one.sel(input=g)
            click.echo(f"  {g:16s} S1 {float(r.S1):6.3f} [{float(r.S1_low):6.3f}, {float(r.S1_high):6.3f}]"
                       f"   ST {float(r.ST):6.3f} [{float(r.ST_low):6.3f}, {float(r.ST_high):6.3f}]")
    level = float(ds.attrs.get("level", 0.95))
    if bootstrap:
        click.echo(f"widest {level:.0%} bootstrap interval: S1 {ds.attrs['widest_interval_S1']:.3f}, "
                   f"ST {ds.attrs['widest_interval_ST']:.3f} (n = {n}; the width shrinks like 1/sqrt(n))")
    else:
        click.echo("no bootstrap intervals (--bootstrap 0): the precision of these indices is unknown", err=True)
    for w in caught:
        if issubclass(w.category, UserWarning):
            click.echo(f"warning: {w.message}", err=True)
    click.echo(f"wrote {out}")


@click.command()
@click.argument("scenario_a")
@click.argument("scenario_b")
@click.option("--draws", type=click.IntRange(min=2), default=20_000, show_default=True, help="Paired draws.")
@click.option("--seed", type=click.IntRange(0, 2**31 - 1), default=0, show_default=True, help="PRNG seed shared by both scenarios.")
@click.option("--output", "outputs", multiple=True, help="Output name(s) to compare (repeatable; default all).")
@click.option("--chunk-size", type=click.IntRange(min=1), default=4096, show_default=True, help="Draws per device call (memory bound; results do not depend on it).")
@click.option("--end-year", type=click.IntRange(1901, 2200), default=2040, show_default=True, help="Last simulated year.")
@click.option("--posterior", type=click.Path(path_type=Path), default=None, help="Posterior samples file (default: the shipped calibrated posterior).")
@click.option("--no-posterior", is_flag=True, help="Use the priors alone, uncalibrated.")
@click.option("--out", type=click.Path(path_type=Path), required=True,
              help="Output: .nc, .csv (tidy, with <stem>_provenance.json), .parquet, .zarr or .xlsx.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar or summary lines.")
def compare(scenario_a, scenario_b, draws, seed, outputs, chunk_size, end_year, posterior, no_posterior, out, quiet):
    """Paired difference SCENARIO_B - SCENARIO_A on common random numbers, written to OUT."""
    from mcbattery.research.compare import compare as run_compare
    from mcbattery.research.compare import write

    from mcbattery.results.export import check_output_path

    check_output_path(out, field="--out")
    ds = run_compare(
        scenario_a, scenario_b, draws=draws, seed=seed, outputs=list(outputs) or None, chunk_size=chunk_size,
        end_year=end_year, posterior=_posterior_arg(str(posterior) if posterior else None, no_posterior),
        progress=not quiet,
    )
    write(ds, out)
    if not quiet:
        click.echo(f"wrote {out} ({ds.attrs['valid_draws']} paired draws, {ds.attrs['scenario_b']} - {ds.attrs['scenario_a']}; "
                   f"changed parameters: {ds.attrs['changed_parameters']})")
        y = min(2030, int(ds.year[-1]))
        for name in list(dict.fromkeys(outputs)) or ["material_price", "unmet_share"]:
            for line in _difference_lines(ds, name, y):
                click.echo(line)


def _difference_lines(ds, name: str, year: int, most: int = 8) -> list[str]:
    """The mean paired difference of output ``name`` in ``year`` (every element, up to
    ``most``) and the paired change of its exceedance probabilities, with MC errors."""
    from mcbattery.model.outputs import OUTPUTS

    if f"{name}_diff_mean" not in ds:
        return []
    spec = OUTPUTS[name]
    share = spec.units == "1"
    unit = "pp" if share else spec.units
    scale = 100.0 if share else 1.0
    mean = ds[f"{name}_diff_mean"].sel(year=year) * scale
    err = ds[f"{name}_diff_mcse"].sel(year=year) * scale
    lines = [f"{year}: {spec.long_name}, mean difference ({unit}, ± MC s.e.):"]
    flat_m, flat_e = mean.stack(element=mean.dims) if mean.dims else mean, err.stack(element=err.dims) if err.dims else err
    if not mean.dims:
        lines[0] += f" {_signed(float(mean))} ± {_plain(float(err))}"
    else:
        labels = [",".join(str(x) for x in (v if isinstance(v, tuple) else (v,))) for v in flat_m["element"].values]
        for lab, m, e in list(zip(labels, flat_m.values, flat_e.values))[:most]:
            lines.append(f"  {lab:16s} {_signed(float(m))} ± {_plain(float(e))}")
        if len(labels) > most:
            lines.append(f"  ... {len(labels) - most} more in the file")
    change, tdim = f"{name}_exceedance_change_mean", f"{name}_threshold"
    if change in ds and ds[change].sel(year=year).dims == (tdim,):
        for t in ds[tdim].values:
            c = float(ds[change].sel(year=year, **{tdim: t}).squeeze()) * 100
            e = float(ds[f"{name}_exceedance_change_mcse"].sel(year=year, **{tdim: t}).squeeze()) * 100
            shown = f"{float(t):.0%}" if share else f"{float(t):,.6g}"
            lines.append(f"{year}: change in P({name} > {shown}) {c:+.1f} ± {e:.1f} pp")
    return lines


def _signed(x: float) -> str:
    return f"{x:+,.0f}" if abs(x) >= 100 else f"{x:+.3g}"


def _plain(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.2g}"


@click.command()
@click.argument("forecast", type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="Markdown file to write.")
@click.option("--hindcast", type=click.Path(path_type=Path), default=None, help="Hindcast CSV (rolling_hindcast frame or its summary) for a coverage table.")
def card(forecast, out, hindcast):
    """Write a Markdown forecast card for a forecast summary FORECAST.nc."""
    from mcbattery.research.card import load_summary, write_card

    from mcbattery.common.files import check_output, check_regular

    check_output(out, (".md", ".markdown", ".txt"), "--out")
    if hindcast is not None:
        check_regular(hindcast, field="--hindcast")
    summary = load_summary(forecast)
    h = None
    if hindcast is not None:
        import pandas as pd

        try:
            h = pd.read_csv(hindcast)
        except Exception as exc:
            raise InputError(f"cannot read CSV ({exc.__class__.__name__})", file=str(hindcast), field="--hindcast") from None
        if not ({"method", "horizon"} <= set(h.columns)):
            raise InputError("expected a rolling_hindcast frame or summary (columns method, horizon, ...)", file=str(hindcast), field="--hindcast")
    write_card(summary, out, h)
    click.echo(f"wrote {out}")


@click.command()
@click.argument("outcome")
@click.option("--draws-file", "draws_file", type=click.Path(path_type=Path), default=None,
              help="Kept draws of an earlier forecast (<stem>_draws.nc or .zarr, with their sampled parameters). "
                   "Default: run a forecast now and keep every draw.")
@click.option("--scenario", default="baseline", show_default=True, help="Scenario name or .toml file (without --draws-file).")
@click.option("--draws", type=click.IntRange(min=100), default=5000, show_default=True, help="Draws of that forecast.")
@click.option("--seed", type=click.IntRange(0, 2**31 - 1), default=0, show_default=True, help="PRNG seed.")
@click.option("--posterior", type=click.Path(path_type=Path), default=None,
              help="Posterior samples file (default: the shipped calibrated posterior).")
@click.option("--no-posterior", is_flag=True, help="Use the priors alone, uncalibrated.")
@click.option("--density", type=click.FloatRange(0, 1, min_open=True), default=0.8, show_default=True,
              help="Target density: the chosen box is the one with the highest coverage whose density reaches it.")
@click.option("--boxes", type=click.IntRange(min=1), default=1, show_default=True, help="Boxes to find, one after another.")
@click.option("--max-parameters", type=click.IntRange(min=1), default=30, show_default=True,
              help="Parameter elements PRIM looks at: those that differ most between draws with and without the outcome.")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="CSV of the boxes' limits, with coverage and density; the peeling trajectory goes to <stem>_trajectory.csv.")
@click.option("--plot", type=click.Path(path_type=Path), default=None,
              help="Figure of the coverage/density trade-off and the box (.png, .pdf or .svg).")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def discover(outcome, draws_file, scenario, draws, seed, posterior, no_posterior, density, boxes, max_parameters, out, plot,
             quiet):
    """Scenario discovery: which parameter ranges lead to OUTCOME, e.g. "unmet_share[year=2030,material=lithium] > 0.1"
    or "cost_gap[year=2030,region=EU,chemistry=LFP] > 0" (EU LFP cells not at parity).

    Finds boxes with PRIM (ema_workbench) in the sampled parameters of the kept draws and prints
    each box's coverage (share of the outcome's draws inside it), density (share of the box's
    draws with the outcome) and the parameter ranges that define it.
    """
    from mcbattery.research.discover import discover as run_discover
    from mcbattery.research.discover import parse_outcome

    parse_outcome(outcome)  # bad text fails before anything runs
    from mcbattery.common import files

    if out is not None:
        files.check_output(out, (".csv",), "--out")
    if plot is not None:
        files.check_output(plot, (".png", ".pdf", ".svg"), "--plot")
    try:
        import ema_workbench  # noqa: F401
    except ImportError:
        raise InputError("scenario discovery needs ema_workbench: pip install 'mcbattery[discovery]'", field="discover") from None
    if draws_file is not None:
        ds = _open_draws(draws_file)
    else:
        from mcbattery.api import forecast

        ds = forecast(scenario, draws=draws, seed=seed, keep_draws=draws, chunk_size=min(draws, 16384),
                      posterior=_posterior_arg(str(posterior) if posterior else None, no_posterior),
                      progress=not quiet).draws
    found = run_discover(ds, outcome, density=density, boxes=boxes, max_parameters=max_parameters)
    click.echo(found.summary())
    written = []
    fig = None
    if plot is not None:
        import matplotlib

        matplotlib.use("Agg")
        from mcbattery.research.plots import peeling_tradeoff

        fig = peeling_tradeoff(found)
    with files.Transaction() as tx:  # the boxes, their trajectory and the figure are replaced together
        if out is not None:
            import pandas as pd

            traj = out.with_name(f"{out.stem}_trajectory.csv")
            found.table().to_csv(tx.file(out, first=True), index=False)
            pd.concat([t.assign(box=i + 1) for i, t in enumerate(found.trajectories)]).to_csv(tx.file(traj), index=False)
            written += [str(out), str(traj)]
        if fig is not None:
            fig.savefig(tx.file(plot), format=plot.suffix[1:], dpi=200)
            written.append(str(plot))
        tx.commit()
    if written:
        click.echo(f"wrote {', '.join(written)}")


def _open_draws(path: Path):
    import xarray as xr

    from mcbattery.common import files

    if not path.exists():
        raise InputError("draws file not found", file=str(path), field="--draws-file")
    if path.suffix != ".zarr":
        files.check_self_contained(files.check_regular(path, field="--draws-file"), field="--draws-file")
    try:
        ds = xr.open_zarr(path) if path.suffix == ".zarr" else xr.open_dataset(path)
        return ds.load()
    except Exception as exc:  # any reader failure is a bad input file
        raise InputError(f"cannot read kept draws ({exc.__class__.__name__}); expected a <stem>_draws.nc or .zarr",
                         file=str(path), field="--draws-file") from None
