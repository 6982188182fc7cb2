"""``mcbattery priors``: values, medians and intervals within the terminal's width, marks for
what a scenario changes, and the hashes a forecast file records."""

from __future__ import annotations

import io

import pandas as pd
from click.testing import CliRunner

from mcbattery.cli import main


def run(*args, width=100):
    return CliRunner(env={"COLUMNS": str(width)}).invoke(main, list(args))


def test_table_fits_the_terminal_and_marks_the_scenario():
    for width in (80, 120):
        r = run("priors", "--scenario", "unipolar", width=width)
        assert r.exit_code == 0, r.output
        lines = r.output.splitlines()
        assert max(len(line) for line in lines) <= width
    assert any(line.startswith("*") and "production_credit[US]" in line for line in lines)
    assert not any(line.startswith("*") and "production_credit[CN]" in line for line in lines)
    assert "median" in lines[0] and "90% interval" in lines[0]
    row = next(line for line in lines if "demand_start[EV]" in line)
    assert "953" in row and "GWh/yr" in row


def test_diff_shows_only_what_differs():
    r = run("priors", "--scenario", "unipolar", "--diff", "baseline")
    assert r.exit_code == 0, r.output
    rows = [line for line in r.output.splitlines() if line.startswith("*")]
    assert rows and any("production_credit[US]" in x and "30 [" in x and "15 [" in x for x in rows)
    assert len(rows) == 28 and len({x.split()[1].split("[")[0] for x in rows}) == 12
    assert "28 elements of 12 parameters differ from baseline" in r.output.replace("\n    ", " ")
    assert not any("export_control_share[lithium]" in x for x in rows)  # set, but to what it was


def test_csv_and_markdown():
    r = run("priors", "--format", "csv", "--no-posterior")
    assert r.exit_code == 0
    frame = pd.read_csv(io.StringIO(r.output))
    for col in ("parameter", "element", "dist", "median", "q05", "q95", "units", "changed", "source", "dist_mean"):
        assert col in frame
    assert (frame["q05"] <= frame["median"]).all() and (frame["median"] <= frame["q95"]).all()
    md = run("priors", "--format", "markdown").output.splitlines()
    assert md[0].startswith("| | parameter | distribution | median | 90% interval |")


def test_hashes_match_a_forecast_file(tmp_path):
    out = tmp_path / "f.nc"
    r = run("forecast", "--draws", "256", "--out", str(out), "--quiet", "--chunk-size", "256", "--scenario", "unipolar")
    assert r.exit_code == 0, r.output
    import xarray as xr

    attrs = xr.open_dataset(out).attrs
    text = run("priors", "--scenario", "unipolar").output
    assert f"priors hash   {attrs['priors_hash']}" in text
    assert f"resolved hash {attrs['resolved_hash']}" in text
    assert attrs["priors_hash"] != attrs["resolved_hash"]  # the posterior replaced parameters
    plain = run("priors", "--scenario", "unipolar", "--no-posterior").output
    assert f"priors hash   {attrs['priors_hash']}" in plain and f"resolved hash {attrs['priors_hash']}" in plain


def test_bad_input_is_one_line():
    r = run("priors", "--scenario", "nope")
    assert r.exit_code == 2 and len(r.output.strip().splitlines()) == 1
    r = run("priors", "--posterior", "x.nc", "--no-posterior")
    assert r.exit_code == 2 and "--posterior" in r.output
