"""Command ``mcbattery priors``: every parameter's distribution with its values, median and
90 % interval, what the scenario changed, and the two hashes a forecast file records."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import click

from mcbattery.common.errors import InputError

SHORT = {"concentration": "conc", "median": "median", "sigma": "sigma"}


def _num(x: float, digits: int = 4) -> str:
    """``digits`` significant figures, thousands separated; calendar years as they are."""
    x = float(x)
    if x != x:
        return "nan"
    if x == int(x) and 1900 <= x <= 2200:
        return str(int(x))
    if abs(x) >= 10 ** (digits - 1):
        return f"{x:,.0f}"
    return f"{x:.{digits}g}"


def _dist_text(row) -> str:
    if row["dist"] == "posterior":
        return f"posterior ({int(row['samples']):,} samples)"
    from mcbattery.inputs.priors import DISTRIBUTIONS

    fields = [(k, row[f"dist_{k}"]) for k in DISTRIBUTIONS[row["dist"]][0]]
    if row["dist"] == "fixed":
        return f"fixed {_num(fields[0][1])}"
    return f"{row['dist']}(" + ", ".join(f"{SHORT.get(k, k)} {_num(v)}" for k, v in fields) + ")"


def _name(row) -> str:
    return row["parameter"] + (f"[{row['element']}]" if row["element"] else "")


def _interval(lo: float, hi: float, digits: int = 4) -> str:
    return f"[{_num(lo, digits)}, {_num(hi, digits)}]"


def _fit(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(width - 1, 0)] + "…"


def _table(frame, width: int, diff: str | None, scenario: str) -> list[str]:
    """Aligned text within ``width`` columns; the source column takes what is left, or goes."""
    if diff:
        cols = [
            ("", [("*" if c else " ") for c in frame["changed"]], 1),
            ("parameter", [_name(r) for _, r in frame.iterrows()], 40),
            (f"{diff}",
             [f"{_num(r['ref_median'], 3)} {_interval(r['ref_q05'], r['ref_q95'], 3)}" for _, r in frame.iterrows()], 30),
            (f"{scenario}",
             [f"{_num(r['median'], 3)} {_interval(r['q05'], r['q95'], 3)}" for _, r in frame.iterrows()], 30),
            ("units", list(frame["units"]), 16),
        ]
        shrink = ((4, 8), (1, 20), (4, 4), (1, 12))
    else:
        cols = [
            ("", [("*" if c else " ") for c in frame["changed"]], 1),
            ("parameter", [_name(r) for _, r in frame.iterrows()], 38),
            ("distribution", [_dist_text(r) for _, r in frame.iterrows()], 44),
            ("median", [_num(v) for v in frame["median"]], 10),
            ("90% interval", [_interval(a, b) for a, b in zip(frame["q05"], frame["q95"])], 22),
            ("units", list(frame["units"]), 16),
        ]
        shrink = ((2, 14), (5, 8), (1, 20), (2, 6), (1, 14))
    widths = [min(max([len(h), *(len(v) for v in vals)]), cap) for h, vals, cap in cols]
    used = sum(widths) + 2 * (len(widths) - 1)
    for i, least in shrink:  # the distribution text gives way first, then units, then the name
        cut = min(max(used - width, 0), max(widths[i] - least, 0))
        widths[i] -= cut
        used -= cut
    room = width - used - 2
    with_source = not diff and room >= 16
    lines = [f"median [90% interval] in {diff} and in {scenario}"] if diff else []
    header = "  ".join(_fit(h, w).ljust(w) for (h, _, _), w in zip(cols, widths))
    lines.append((header + ("  source" if with_source else "")).rstrip())
    block = None
    for i, (_, r) in enumerate(frame.iterrows()):
        if not diff and r["block"] != block:
            block = r["block"]
            lines.append(_fit(f"-- {block} ", width).ljust(min(width, 40), "-"))
        cells = [_fit(vals[i], w).ljust(w) for (_, vals, _), w in zip(cols, widths)]
        line = "  ".join(cells)
        if with_source:
            line += "  " + _fit(str(r["source"]).replace("\n", " "), room)
        lines.append(line.rstrip())
    return lines


def _markdown(frame, diff: str | None, scenario: str) -> list[str]:
    esc = lambda s: str(s).replace("|", "\\|").replace("\n", " ")  # noqa: E731
    if diff:
        lines = [f"| | parameter | {diff}: median | {diff}: 90% interval | {scenario}: median | "
                 f"{scenario}: 90% interval | units |", "|---|---|---|---|---|---|---|"]
        for _, r in frame.iterrows():
            lines.append(f"| {'*' if r['changed'] else ''} | `{_name(r)}` | {_num(r['ref_median'])} | "
                         f"{_interval(r['ref_q05'], r['ref_q95'])} | {_num(r['median'])} | {_interval(r['q05'], r['q95'])} | "
                         f"{esc(r['units'])} |")
        return lines
    lines = ["| | parameter | distribution | median | 90% interval | units | source |", "|---|---|---|---|---|---|---|"]
    for _, r in frame.iterrows():
        lines.append(f"| {'*' if r['changed'] else ''} | `{_name(r)}` | {esc(_dist_text(r))} | {_num(r['median'])} | "
                     f"{_interval(r['q05'], r['q95'])} | {esc(r['units'])} | {esc(r['source'])} |")
    return lines


@click.command(name="priors")
@click.option("--scenario", default="baseline", show_default=True, help="Scenario name or .toml file.")
@click.option("--diff", "diff", default=None, metavar="SCENARIO",
              help="Show only what differs from this scenario (name or .toml file), both side by side.")
@click.option("--priors", "priors_dir", type=click.Path(path_type=Path), default=None, help="Priors folder.")
@click.option("--posterior", type=click.Path(path_type=Path), default=None,
              help="Posterior samples file (default: the shipped calibrated posterior, as forecasts use).")
@click.option("--no-posterior", is_flag=True, help="Show the priors alone, uncalibrated.")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "markdown"]), default="table", show_default=True,
              help="table: fits the terminal; csv: every number in its own column; markdown: for documents.")
def show_priors(scenario, diff, priors_dir, posterior, no_posterior, fmt):
    """Validate the priors (and scenario) and print every parameter: its distribution with
    its values, median and 90% interval, units and source.

    Elements the scenario changes are marked *. The closing lines give the priors hash (the
    files with the scenario applied) and the resolved hash (after the calibrated posterior
    replaced the parameters it covers): a forecast file records both as priors_hash and
    resolved_hash.
    """
    from mcbattery.inputs.overview import prior_overview
    from mcbattery.inputs.priors import load_priors, load_scenario

    if no_posterior and posterior is not None:
        raise InputError("give either --posterior or --no-posterior, not both", field="--posterior")
    post = None
    if not no_posterior:
        if posterior is not None:
            post = posterior
        else:
            from mcbattery.inputs.posterior import default_posterior

            post = default_posterior()
    p = load_scenario(scenario, priors_dir, post)
    if diff is not None:
        reference = load_scenario(diff, priors_dir, post)
    else:
        reference = load_priors(priors_dir)
        if post is not None:
            from mcbattery.inputs.posterior import load_engine_samples

            reference = reference.with_posterior(*load_engine_samples(post))
    frame = prior_overview(p, reference)
    changed = frame[frame["changed"]]
    if diff is not None:
        frame = changed
    if fmt == "csv":
        click.echo(frame.to_csv(index=False), nl=False)
        return
    label = diff if diff is None else Path(diff).stem
    lines = _markdown(frame, label, p.scenario) if fmt == "markdown" else _table(
        frame, shutil.get_terminal_size((100, 24)).columns, label, p.scenario)
    for line in lines:
        click.echo(line)
    click.echo("")
    n_par = frame["parameter"].nunique()
    what = (f"{len(changed)} elements of {changed['parameter'].nunique()} parameters differ from {label}"
            if diff is not None else
            f"{n_par} parameters ({len(frame)} elements); * = changed by the scenario: "
            f"{len(changed)} elements of {changed['parameter'].nunique()} parameters")
    notes = [f"scenario {p.scenario} ({p.scenario_file}); {what}",
             f"priors hash   {p.priors_hash()}  (the priors files with the scenario applied; forecast attribute priors_hash)"]
    if p.posterior:
        n_post = len(p.posterior.get("parameters", "").split(","))
        notes.append(f"resolved hash {p.hash()}  (after posterior {p.posterior.get('file')} "
                     f"[hash {p.posterior.get('hash')}] replaced {n_post} parameters; forecast attribute resolved_hash)")
    else:
        notes.append(f"resolved hash {p.hash()}  (no posterior: the same inputs; forecast attribute resolved_hash)")
    width = 10**6 if fmt == "markdown" else shutil.get_terminal_size((100, 24)).columns
    for note in notes:
        click.echo("\n".join(textwrap.wrap(note, width, subsequent_indent="    ", break_on_hyphens=False)))
