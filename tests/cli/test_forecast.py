"""CLI end to end at small draws, and bad input: one line, exit status 2, nothing written."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest
import xarray as xr
from click.testing import CliRunner

from mcbattery.cli import main


def run(*args):
    return CliRunner().invoke(main, list(args))


def test_help_on_every_command():
    for cmd in ([], ["forecast"], ["scenarios"], ["priors"], ["calibrate"], ["hindcast"], ["sensitivity"], ["compare"], ["card"]):
        r = run(*cmd, "--help")
        assert r.exit_code == 0 and "Usage" in r.output


def test_scenarios_lists_descriptions():
    r = run("scenarios")
    assert r.exit_code == 0
    assert "baseline" in r.output and "unipolar" in r.output and "Competitive cooperation" in r.output


def test_forecast_netcdf_and_csv(tmp_path):
    out = tmp_path / "f.nc"
    r = run("forecast", "--draws", "300", "--seed", "1", "--out", str(out), "--keep-draws", "5", "--quiet", "--chunk-size", "256")
    assert r.exit_code == 0, r.output
    ds = xr.open_dataset(out)
    assert ds.attrs["draws"] == 300 and "material_price_quantile" in ds
    draws = xr.open_dataset(tmp_path / "f_draws.nc")
    assert draws.sizes["draw"] == 5
    csv = tmp_path / "f.csv"
    r = run("forecast", "--draws", "300", "--seed", "1", "--out", str(csv), "--quiet", "--chunk-size", "256")
    assert r.exit_code == 0, r.output
    df = pd.read_csv(csv)
    assert {"variable", "statistic", "year", "value", "units"} <= set(df.columns)
    med = df.query("variable == 'material_price' and statistic == 'quantile' and quantile == 0.5 and year == 2030 and material == 'lithium'").value
    assert len(med) == 1
    ref = float(ds.material_price_quantile.sel(quantile=0.5, year=2030, material="lithium"))
    assert float(med.iloc[0]) == pytest.approx(ref, rel=1e-5)
    assert not list(tmp_path.glob(".*.tmp"))


@pytest.mark.parametrize(
    "args,needle",
    [
        (["--scenario", "nope"], "unknown scenario"),
        (["--draws", "0"], "--draws"),
        (["--draws", "ten"], "--draws"),
        (["--out", "missing_dir/x.nc"], "output folder does not exist"),
        (["--out", "x.txt"], "unknown output format"),
        (["--priors", "no_such_priors"], "priors folder not found"),
    ],
)
def test_bad_arguments_exit_2_without_output(tmp_path, monkeypatch, args, needle):
    monkeypatch.chdir(tmp_path)
    base = ["forecast", "--draws", "10", "--out", "x.nc", "--quiet"]
    # later options override earlier ones in click
    r = run(*base, *args)
    assert r.exit_code == 2
    assert needle in r.output
    assert not list(tmp_path.iterdir())


def test_bad_scenario_file_one_line(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[meta]\ndescription = 'x'\n[shift.price_volatility]\nscale = nan\n")
    out = tmp_path / "x.nc"
    proc = subprocess.run(
        [sys.executable, "-m", "mcbattery", "forecast", "--scenario", str(bad), "--draws", "10", "--out", str(out), "-q"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "bad.toml" in lines[0] and "price_volatility" in lines[0]
    assert "Traceback" not in proc.stderr
    assert not out.exists()


def test_forecast_extra_thresholds_and_stop_when_precise(tmp_path):
    out = tmp_path / "f.nc"
    r = run("forecast", "--draws", "9000", "--seed", "2", "--out", str(out), "--chunk-size", "4096", "--end-year", "2031",
            "--threshold", "price_ratio=2.5", "--threshold", "unmet_share=0.3", "--target-mcse", "unmet_share_exceedance=0.05")
    assert r.exit_code == 0, r.output
    ds = xr.open_dataset(out)
    assert list(ds.price_ratio_threshold.values) == [1.5, 2.0, 2.5, 3.0]  # added to the defaults
    assert 0.3 in ds.unmet_share_threshold.values and 0.1 in ds.unmet_share_threshold.values
    n = int(ds.attrs["valid_draws"])  # met after the first chunk (4,096 draws per CPU device): it stopped there
    assert n < 9000 and n % 4096 == 0
    assert f"targets met after {n} draws" in r.output and "unmet_share_exceedance MCSE" in r.output


@pytest.mark.parametrize("args, message", [
    (("--threshold", "material_price"), "--threshold: expected NAME=NUMBER"),
    (("--threshold", "material_price=abc"), "--threshold: expected NAME=NUMBER"),
    (("--threshold", "nonsense=3"), "--threshold: unknown output 'nonsense'"),
    (("--target-mcse", "material_price_median=3"), "target_mcse.material_price_median"),
    (("--target-mcse", "unmet_share_exceedance=-1"), "expected a positive number"),
])
def test_forecast_bad_threshold_or_target_is_one_line_and_exit_2(tmp_path, args, message):
    out = tmp_path / "f.nc"
    r = run("forecast", "--draws", "100", "--out", str(out), "--quiet", *args)
    assert r.exit_code == 2 and message in r.output, r.output
    assert not out.exists() and not list(tmp_path.iterdir())


def test_forecast_streams_draws_to_zarr(tmp_path):
    out, store = tmp_path / "f.nc", tmp_path / "draws.zarr"
    r = run("forecast", "--draws", "700", "--seed", "3", "--end-year", "2029", "--out", str(out), "--draws-store", str(store))
    assert r.exit_code == 0, r.output
    d = xr.open_zarr(store)
    assert d.sizes["draw"] == 700 and list(d.year.values) == list(range(2025, 2030))
    assert not (tmp_path / "f_draws.nc").exists()  # the draws went to the store, not beside --out
    ref = xr.open_dataset(out)
    assert float(d.material_price.max()) == float(ref.material_price_max.max())
    bad = run("forecast", "--draws", "10", "--out", str(tmp_path / "g.nc"), "--draws-store", str(tmp_path / "d.txt"), "--quiet")
    assert bad.exit_code == 2 and "expected one of ['.zarr']" in bad.output and not (tmp_path / "g.nc").exists()


@pytest.mark.parametrize("suffix", [".parquet", ".zarr", ".xlsx"])
def test_forecast_writes_every_format_from_the_command_line(tmp_path, suffix):
    out = tmp_path / f"f{suffix}"
    r = run("forecast", "--draws", "256", "--keep-draws", "4", "--chunk-size", "256", "--out", str(out), "--quiet")
    assert r.exit_code == 0, r.output
    assert out.exists() and (tmp_path / f"f_draws{suffix}").exists()


def test_progress_says_compiling_then_counts_once_to_the_end(tmp_path):
    import re

    r = CliRunner().invoke(main, ["forecast", "--draws", "300", "--chunk-size", "256", "--out", str(tmp_path / "f.nc")])
    assert r.exit_code == 0, r.output
    lines = [x for x in re.split(r"[\r\n]+", r.stderr) if x.strip()]
    assert lines[0].startswith("compiling") and any(x.startswith("simulating") for x in lines)
    assert sum("100%" in x for x in lines) == 1
