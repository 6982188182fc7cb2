"""Tests of ``mcbattery sensitivity``, ``compare`` and ``card`` (mcbattery.cli.research)."""

from __future__ import annotations

import pandas as pd
import pytest
import xarray as xr
from click.testing import CliRunner

from mcbattery.cli import main
from mcbattery.cli.research import _parse_select
from mcbattery.common.errors import InputError

N = 512  # base samples, as in tests/research/test_sensitivity.py (one compiled shape)


def run(*args):
    return CliRunner().invoke(main, list(args))


def test_select_pairs():
    assert _parse_select(["stage=cells", " region = EU "]) == {"stage": "cells", "region": "EU"}
    assert _parse_select([]) == {}
    for bad in (["stage"], ["=cells"], ["year=2030"]):
        with pytest.raises(InputError, match="--select"):
            _parse_select(bad)


def test_cli_compare_csv_and_netcdf(tmp_path):
    out = tmp_path / "c.csv"
    r = run("compare", "baseline", "cooperation", "--draws", "300", "--output", "import_share", "--output", "material_price",
            "--no-posterior", "--out", str(out), "--quiet")
    assert r.exit_code == 0, r.output
    df = pd.read_csv(out)
    assert {"variable", "statistic", "year", "value", "units"} <= set(df.columns)
    assert {"import_share_diff", "import_share_a", "material_price_diff"} <= set(df.variable)
    price = df[(df.variable == "material_price_diff") & (df.statistic == "mean") & (df.year == 2030)]
    assert sorted(price.material) == ["cobalt", "graphite", "lithium", "nickel"]
    nc = tmp_path / "c.nc"
    r = run("compare", "baseline", "cooperation", "--draws", "300", "--output", "import_share", "--no-posterior",
            "--out", str(nc))
    assert r.exit_code == 0, r.output and "paired draws" in r.output
    ds = xr.open_dataset(nc)
    assert ds.attrs["scenario_b"] == "cooperation" and "import_share_diff_quantile" in ds
    assert not list(tmp_path.glob(".*.tmp"))
    # the summary lines are about the requested output, element by element
    assert "share of a region's cell demand imported from the exporter region, mean difference (pp" in r.output
    assert "  EU " in r.output and "world price" not in r.output and "unmet" not in r.output


@pytest.mark.parametrize(
    "args,needle",
    [
        (["baseline", "nope", "--out", "x.nc"], "unknown scenario"),
        (["baseline", "unipolar", "--out", "x.txt"], "unknown output format"),
        (["baseline", "unipolar", "--out", "missing_dir/x.nc"], "output folder does not exist"),
        (["baseline", "unipolar", "--output", "bogus", "--out", "x.nc"], "unknown output"),
    ],
)
def test_cli_compare_bad_input_one_line_exit_2(tmp_path, monkeypatch, args, needle):
    monkeypatch.chdir(tmp_path)
    r = run("compare", *args, "--draws", "16", "--no-posterior", "--quiet")
    assert r.exit_code == 2, r.output
    assert needle in r.output and len(r.output.strip().splitlines()) == 1
    assert not list(tmp_path.iterdir())


def test_cli_card(tmp_path, baseline_small):
    nc = tmp_path / "f.nc"
    baseline_small.to_netcdf(nc)
    out = tmp_path / "card.md"
    r = run("card", str(nc), "--out", str(out))
    assert r.exit_code == 0, r.output
    text = out.read_text()
    assert text.startswith("# mcbattery forecast card: baseline") and "P(more than 10% of a material's demand unmet)" in text
    assert "Lithium price" in text and "P(a shortage year by 2030)" in text
    assert "Regenerate: `mcbattery forecast --scenario baseline --draws 2048 --seed 7 --keep-draws 512 --out FILE.nc`" in text
    r = run("card", str(tmp_path / "f_draws.nc"), "--out", str(tmp_path / "x.md"))
    assert r.exit_code == 2 and "not a forecast summary" in r.output
    r = run("card", str(tmp_path / "missing.nc"), "--out", str(tmp_path / "x.md"))
    assert r.exit_code == 2 and "not found" in r.output
    assert not (tmp_path / "x.md").exists()


def test_cli_sensitivity(tmp_path):
    out = tmp_path / "s.csv"
    r = run("sensitivity", "--output", "cell_utilization", "--year", "2030", "--select", "region=EU", "--n", str(N),
            "--bootstrap", "20", "--out", str(out))
    assert r.exit_code == 0, r.output
    df = pd.read_csv(out)
    assert {"input", "output", "S1", "ST", "S1_low", "ST_high", "scenario"} <= set(df.columns)
    assert set(df.output) == {"cell_utilization[year=2030,region=EU]"} and "supply" in set(df.input)
    assert "cell_utilization[year=2030,region=EU]" in r.output
    assert "widest 95% bootstrap interval: S1" in r.output
    assert set(df.scenario) == {"baseline"} and "posterior" in set(df.input)  # calibrated by default, like forecast


@pytest.mark.parametrize(
    "args,needle",
    [
        (["--output", "nope", "--year", "2030"], "unknown output"),
        (["--output", "cell_utilization", "--year", "2030", "--select", "region"], "expected DIM=LABEL"),
        (["--output", "utilization_world", "--year", "2030", "--select", "region=EU"], "has no dim"),
        (["--output", "material_price", "--year", "2030", "--select", "material=lithium", "--groups", "prices"],
         "unknown parameter or block"),
        (["--output", "material_price", "--year", "2030", "--scenario", "nope"], "unknown scenario"),
    ],
)
def test_cli_sensitivity_bad_input(tmp_path, monkeypatch, args, needle):
    monkeypatch.chdir(tmp_path)
    r = run("sensitivity", *args, "--n", "8", "--out", "s.csv")
    assert r.exit_code == 2, r.output
    assert needle in r.output and len(r.output.strip().splitlines()) == 1
    assert not list(tmp_path.iterdir())
    r = run("sensitivity", "--output", "material_price", "--year", "2030", "--out", "s.xlsx")
    assert r.exit_code == 2 and "unknown output format" in r.output
