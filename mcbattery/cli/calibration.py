"""Command-line entry points ``mcbattery calibrate`` and ``mcbattery hindcast``.

Two standalone click commands, registered on the main group with ``main.add_command``. Input
problems raise :class:`mcbattery.common.errors.InputError`, which the group prints as one line with
exit status 2; ``calibrate`` exits 1 when the convergence diagnostics fail.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import click

from mcbattery.common.errors import InputError
from mcbattery.common.files import Transaction, atomic_file, check_output, check_regular

DEFAULT_OUT = Path("out") / "posterior.nc"
DEFAULT_HINDCAST_OUT = Path("out") / "hindcast.csv"
DEFAULT_ORIGINS = tuple(range(2012, 2019))


def _fmt(x: float, digits: int = 3) -> str:
    return "nan" if x != x else f"{x:.{digits}f}"


@click.command()
@click.option("--until", type=click.IntRange(2019, 2100), default=None,
              help="Fit only on data up to this year (inclusive). Default: all shipped data.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help=f"Posterior file (.nc); engine samples are written beside it. Default: {DEFAULT_OUT}.")
@click.option("--ship", is_flag=True,
              help="Write the shipped default posterior priors/posterior/posterior.nc (used by every forecast).")
@click.option("--seed", type=click.IntRange(0, 2**31 - 1), default=0, show_default=True, help="PRNG seed.")
@click.option("--samples", type=click.IntRange(min=4), default=1000, show_default=True, help="Kept draws per chain.")
@click.option("--warmup", type=click.IntRange(min=1), default=None, help="Warm-up iterations per chain [default: = --samples].")
@click.option("--chains", type=click.IntRange(min=1), default=4, show_default=True, help="Chains per model.")
@click.option("--demand-first-year", type=click.IntRange(2010, 2020), default=2015, show_default=True,
              help="First year of the EV demand growth fit (2010: the whole IEA series; see docs/calibration.md).")
@click.option("--max-rhat", type=click.FloatRange(min=1.0), default=1.01, show_default=True, help="Largest accepted R-hat.")
@click.option("--min-ess", type=click.FloatRange(min=0.0), default=400.0, show_default=True, help="Smallest accepted bulk ESS.")
@click.option("--max-divergences", type=click.IntRange(min=0), default=0, show_default=True,
              help="Largest accepted number of divergent transitions per model.")
@click.option("--force", is_flag=True, help="Save even when the diagnostics fail (the exit status is still 1).")
def calibrate(until, out, ship, seed, samples, warmup, chains, demand_first_year, max_rhat, min_ess,
              max_divergences, force):
    """Fit the engine's priors to history (NUTS) and save the posterior.

    Prints the convergence diagnostics per model and the fitted Li-ion learning rate beside
    published estimates; exits 1 (writing nothing unless --force) if the diagnostics fail.
    """
    from mcbattery import calibration as cal
    from mcbattery.calibration.store import shipped_posterior

    if ship and out is not None:
        raise InputError("give either --out or --ship, not both", field="out")
    target = shipped_posterior() if ship else (out if out is not None else DEFAULT_OUT)
    if target.parent.exists() and not target.parent.is_dir():
        raise InputError("output folder is not a folder", file=str(target), field="out")
    if target.parent.is_dir():  # the default folder out/ is made when the posterior is saved
        check_output(target, (".nc",), "--out")
    elif target.suffix != ".nc":
        raise InputError(f"expected a .nc file name; got {target.name!r}", file=str(target), field="--out")
    warmup = samples if warmup is None else warmup
    t0 = time.perf_counter()
    idata = cal.calibrate(until=until, seed=seed, num_warmup=warmup, num_samples=samples, num_chains=chains,
                          demand_first_year=demand_first_year, progress=True)
    seconds = time.perf_counter() - t0
    table = cal.diagnostics_table(idata)
    click.echo(f"calibrated on data up to {until or 'the end of the shipped series'} "
               f"({idata.posterior.attrs['data_vintage']}); {chains} chains x {samples} draws "
               f"(+{warmup} warm-up) per model, {seconds:.1f} s")
    click.echo("")
    click.echo(f"{'model':14s} {'R-hat max':>10s} {'bulk ESS min':>13s} {'divergences':>12s} {'seconds':>8s}  worst")
    for m, row in table.iterrows():
        click.echo(f"{m:14s} {_fmt(row.r_hat_max):>10s} {row.ess_bulk_min:13.0f} {row.divergences:12d} "
                   f"{row.seconds:8.1f}  {row.r_hat_worst} / {row.ess_worst}")
    lr = cal.learning_rate_summary(idata)
    click.echo("")
    click.echo(f"Li-ion cell learning rate per doubling (1 - 2^-b): {lr['median']:.1%} "
               f"(90% interval {lr['lower']:.1%} to {lr['upper']:.1%}); exponent b = {lr['exponent_mean']:.3f} "
               f"({lr['exponent_lower']:.3f} to {lr['exponent_upper']:.3f})")
    for label, (lo, hi) in cal.PUBLISHED_LEARNING.items():
        click.echo(f"  published: {label}: {lo:.1%} to {hi:.1%}")
    failures = cal.check_diagnostics(idata, max_rhat=max_rhat, min_ess=min_ess, max_divergences=max_divergences)
    if failures and not force:
        click.echo("", err=True)
        fail_diagnostics("diagnostics failed, nothing written:", failures,
                         "Run longer chains (--samples, --warmup), or loosen --max-rhat/--min-ess/--max-divergences "
                         "knowingly; --force saves anyway.")
    post_path, eng_path = cal.save_posterior(idata, target)
    written = f"{post_path} and {eng_path}"
    if ship:
        readme = post_path.with_name("README.md")
        with atomic_file(readme) as tmp:
            tmp.write_text(cal.posterior_readme(idata), encoding="utf-8")
        written = f"{post_path}, {eng_path} and {readme}"
    click.echo("")
    click.echo(f"wrote {written} (posterior sha256 {idata.posterior.attrs['posterior_sha256'][:16]})")
    if failures:
        fail_diagnostics("diagnostics failed (saved because of --force):", failures)


def fail_diagnostics(header: str, failures: list[str], advice: str | None = None) -> None:
    """Print the failed diagnostics on stderr and end the command with exit status 1."""
    click.echo(header, err=True)
    for line in failures:
        click.echo(f"  {line}", err=True)
    if advice:
        click.echo(advice, err=True)
    click.get_current_context().exit(1)


class Years(click.ParamType):
    """A comma-separated list of years or ranges: ``2012,2015,2018`` or ``2012-2018``."""

    name = "YEARS"

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        years = []
        for part in str(value).split(","):
            part = part.strip()
            m = re.fullmatch(r"(\d{4})(?:-(\d{4}))?", part)
            if not m or (m.group(2) and int(m.group(2)) < int(m.group(1))):
                raise InputError(f"expected years like 2012,2015,2018 or a range 2012-2018; got {part!r}", field="--origins")
            years += range(int(m.group(1)), int(m.group(2) or m.group(1)) + 1)
        return tuple(years)


def _read_frame(path: Path):
    import pandas as pd

    check_regular(path, field="data")
    try:
        frame = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read CSV ({exc.__class__.__name__})", file=str(path), field="data") from None
    need = ("series", "year", "cumulative_production", "unit_cost")
    missing = [c for c in need if c not in frame.columns]
    if missing:
        raise InputError(f"missing column(s) {missing}; expected columns {', '.join(need)}", file=str(path),
                         field=missing[0])
    return frame


@click.command()
@click.option("--data", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="CSV with columns series, year, cumulative_production, unit_cost. Default: the built-in "
                   "Li-ion cell series 1991-2024 (cumulative production: the calibration's prior path before 2010, "
                   "then Q0 + non-EV scale x IEA EV demand).")
@click.option("--origins", "origins", type=Years(), multiple=True,
              help="Forecast origin years: comma-separated years or ranges, e.g. --origins 2012,2015,2018 or "
                   "--origins 2012-2018 (repeatable) [default: 2012-2018].")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=DEFAULT_HINDCAST_OUT,
              show_default=True, help="Summary CSV; scores go to <stem>_scores.csv and the plot to <stem>.png.")
@click.option("--posterior", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Posterior whose mean Q0 and non-EV scale build the built-in series [default: the prior medians].")
@click.option("--draws", type=click.IntRange(min=100), default=2000, show_default=True, help="Forecast draws per origin.")
@click.option("--samples", type=click.IntRange(min=10), default=1000, show_default=True, help="NUTS draws per chain per fit.")
@click.option("--chains", type=click.IntRange(min=1), default=4, show_default=True, help="Chains per fit.")
@click.option("--min-points", type=click.IntRange(min=3), default=3, show_default=True,
              help="Fewest observations up to an origin.")
@click.option("--seed", type=click.IntRange(0, 2**31 - 1), default=0, show_default=True, help="PRNG seed.")
@click.option("--no-plot", is_flag=True, help="Do not write the PNG.")
def hindcast(data, origins, out, posterior, draws, samples, chains, min_points, seed, no_plot):
    """Rolling-origin hindcast of learning-curve forecasts against two baselines.

    Fits on the data up to each origin, forecasts every later year at its realised
    cumulative production and prints coverage, CRPS and log score by horizon for mcbattery,
    the OLS experience curve and Way et al. (2022).
    """
    import pandas as pd

    from mcbattery import calibration as cal
    from mcbattery.calibration import hindcast as hc

    if out.parent.is_dir():  # the default folder out/ is made when the results are written
        check_output(out, (".csv",), "--out")
    elif out.suffix != ".csv":
        raise InputError(f"expected a .csv file name; got {out.name!r}", file=str(out), field="--out")
    years = tuple(sorted({y for group in origins for y in group})) or DEFAULT_ORIGINS
    if data is not None:
        frame = _read_frame(data)
        label = str(data)
    else:
        frame = cal.cell_series(posterior=posterior)
        q0 = float(frame.loc[frame.year == 2009, "cumulative_production"].iloc[0])
        label = f"built-in Li-ion cell series {int(frame.year.min())}-{int(frame.year.max())} (Q 2009 = {q0:,.0f} GWh)"
    result = hc.rolling_hindcast(frame, origins=years, draws=draws, seed=seed, min_points=min_points,
                                 fit_options=dict(num_warmup=samples, num_samples=samples, num_chains=chains), progress=True)
    if result.empty:
        raise InputError(f"no origin in {list(years)} has {min_points} observations up to it and one after it",
                         field="origins")
    summary = hc.summarise_hindcast(result)
    out.parent.mkdir(parents=True, exist_ok=True)
    scores_path = out.with_name(f"{out.stem}_scores.csv")
    click.echo(f"hindcast of {label}; origins {', '.join(str(y) for y in sorted(result.origin.unique()))}")
    with pd.option_context("display.width", 200, "display.max_rows", None, "display.float_format", "{:.3f}".format):
        click.echo(summary.to_string(index=False))
    cov = [c for c in summary.columns if c.startswith("coverage_")]
    pooled = result[result.metric.isin(cov + ["crps"])].groupby(["method", "metric"])["value"].mean().unstack()
    click.echo("")
    click.echo("all horizons pooled:")
    with pd.option_context("display.float_format", "{:.3f}".format):
        click.echo(pooled.to_string())
    written = [str(out), str(scores_path)]
    with Transaction() as tx:  # summary, scores and plot are replaced together
        summary.to_csv(tx.file(out, first=True), index=False)
        result.to_csv(tx.file(scores_path), index=False)
        if not no_plot:
            try:
                import matplotlib

                matplotlib.use("Agg")
                fig = hc.plot_hindcast(summary)
                png = out.with_suffix(".png")
                fig.savefig(tx.file(png), dpi=120, format="png")
                written.append(str(png))
            except ImportError:
                click.echo("warning: matplotlib not installed; no plot written", err=True)
        tx.commit()
    click.echo(f"wrote {', '.join(written)}")


@click.command()
@click.option("--until", type=click.IntRange(2018, 2100), default=2019, show_default=True,
              help="Calibrate on data up to this year only; the forecast starts the year after.")
@click.option("--scenario", default="hindcast_2020", show_default=True,
              help="Scenario describing the state at the end of --until (name or .toml file).")
@click.option("--draws", type=click.IntRange(min=256), default=20_000, show_default=True, help="Forecast draws.")
@click.option("--seed", type=click.IntRange(0, 2**31 - 1), default=0, show_default=True, help="PRNG seed (calibration and forecast).")
@click.option("--samples", type=click.IntRange(min=50), default=1000, show_default=True, help="NUTS draws per chain per model.")
@click.option("--chains", type=click.IntRange(min=1), default=4, show_default=True, help="Chains per model.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=Path("out") / "history.csv",
              show_default=True, help="Scores (.csv); the figure (.png), a Markdown table (.md) and the posterior "
                                      "(_posterior.nc) go beside it.")
@click.option("--max-divergences", type=click.IntRange(min=0), default=0, show_default=True,
              help="Largest accepted number of divergent transitions per model.")
def history(until, scenario, draws, seed, samples, chains, out, max_divergences):
    """History out of sample: calibrate every model on data up to --until, forecast from the
    state at the end of that year with that posterior only, and score the forecast on what
    happened after it (lithium, nickel, cobalt prices, cell and pack prices, EV battery demand)."""
    import pandas as pd

    from mcbattery.calibration import history as hi
    from mcbattery.calibration.diagnostics import check_diagnostics, diagnostics_table
    from mcbattery.calibration.store import save_posterior

    if out.parent.is_dir():
        check_output(out, (".csv",), "--out")
    elif out.suffix != ".csv":
        raise InputError(f"expected a .csv file name; got {out.name!r}", file=str(out), field="--out")
    t0 = time.perf_counter()
    scores, f, idata = hi.run_history(until=until, scenario=scenario, draws=draws, seed=seed, num_samples=samples,
                                      num_chains=chains, progress=True)
    table = diagnostics_table(idata)
    click.echo(f"calibrated on data up to {until}; {chains} chains x {samples} draws per model; "
               f"forecast {scenario} ({f.summary.attrs['valid_draws']} draws), {time.perf_counter() - t0:.0f} s")
    for m, row in table.iterrows():
        click.echo(f"  {m:14s} R-hat max {row.r_hat_max:.3f}, bulk ESS min {row.ess_bulk_min:.0f}, "
                   f"divergences {row.divergences}")
    failures = check_diagnostics(idata, max_divergences=max_divergences)
    with pd.option_context("display.width", 200, "display.max_rows", None, "display.float_format", "{:,.1f}".format):
        click.echo(scores[["outcome", "year", "value", "low", "median", "high", "inside", "percentile"]].to_string(index=False))
    n, k = len(scores), int(scores["inside"].sum())
    click.echo(f"{k} of {n} realised outcomes inside the 90% interval ({k / max(n, 1):.0%})")
    out.parent.mkdir(parents=True, exist_ok=True)
    md = out.with_suffix(".md")
    png = out.with_suffix(".png")
    with Transaction() as tx:
        scores.to_csv(tx.file(out, first=True), index=False)
        tx.file(md).write_text(history_markdown(scores, until, scenario, f.summary.attrs), encoding="utf-8")
        try:
            import matplotlib

            matplotlib.use("Agg")
            hi.plot_history(scores).savefig(tx.file(png), dpi=110, format="png")
        except ImportError:
            click.echo("warning: matplotlib not installed; no figure written", err=True)
        tx.commit()
    post, eng = save_posterior(idata, out.with_name(f"{out.stem}_posterior.nc"))
    click.echo(f"wrote {out}, {md}, {png}, {post} and {eng}")
    if failures:
        fail_diagnostics("calibration diagnostics failed:", failures)


def history_markdown(scores, until: int, scenario: str, attrs: dict) -> str:
    """The scores as a Markdown table with their provenance."""
    lines = [f"Calibrated on data up to {until}; scenario `{scenario}`; {attrs.get('valid_draws')} draws, seed "
             f"{attrs.get('seed')}, mcbattery {attrs.get('mcbattery_version')}.", "",
             "| outcome | year | realised | 90% interval | median | inside | percentile | note |",
             "|---|---|---|---|---|---|---|---|"]

    def g(x: float) -> str:
        return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.3g}"

    for _, r in scores.iterrows():
        lines.append(f"| {r['outcome']} | {r['year']} | {g(r['value'])} {r['unit']} | {g(r['low'])} - {g(r['high'])} | "
                     f"{g(r['median'])} | {'yes' if r['inside'] else '**no**'} | {r['percentile']:.2f} | {r['note']} |")
    n, k = len(scores), int(scores["inside"].sum())
    lines += ["", f"{k} of {n} realised outcomes inside the 90% interval ({k / max(n, 1):.0%})."]
    return "\n".join(lines) + "\n"
