"""Tests of ``mcbattery calibrate`` and ``mcbattery hindcast`` (mcbattery.cli.calibration): their
arguments, a tiny calibration written to a redirected shipped folder, a small hindcast."""

from __future__ import annotations

import click
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from mcbattery.calibration import learning, store
from mcbattery.cli import main
from mcbattery.cli.calibration import Years, calibrate, hindcast
from mcbattery.cli.group import Group

pytest.importorskip("arviz")


def _cli():
    return Group(name="mcbattery", commands={"calibrate": calibrate, "hindcast": hindcast})


def test_origins_take_lists_and_ranges():
    years = Years()
    assert years.convert("2012,2015, 2018", None, None) == (2012, 2015, 2018)
    assert years.convert("2012-2014,2018", None, None) == (2012, 2013, 2014, 2018)
    cmd = click.Command("x", params=[click.Option(["--origins"], type=Years(), multiple=True)], callback=lambda origins: origins)
    assert cmd.main(["--origins", "2012,2013", "--origins", "2015"], standalone_mode=False) == ((2012, 2013), (2015,))


@pytest.mark.parametrize("value", ["2012 2015", "12", "2018-2012", "2012,,x"])
def test_bad_origins_are_one_line(tmp_path, monkeypatch, value):
    monkeypatch.chdir(tmp_path)
    r = CliRunner().invoke(main, ["hindcast", "--origins", value, "--out", "h.csv"])
    assert r.exit_code == 2 and "--origins" in r.output and len(r.output.strip().splitlines()) == 1
    assert not list(tmp_path.iterdir())
    assert "[default: 2012-2018]" in CliRunner().invoke(main, ["hindcast", "--help"]).output.replace("\n ", "")


def test_cli_calibrate_tiny_writes_and_exits_zero(tmp_path, monkeypatch):
    shipped = tmp_path / "ship" / "posterior.nc"
    real = store.shipped_posterior()
    before = real.stat().st_mtime_ns if real.is_file() else None
    monkeypatch.setattr(store, "SHIPPED_POSTERIOR", shipped)  # --ship must not touch the real file here
    args = ["calibrate", "--until", "2022", "--samples", "300", "--warmup", "300", "--chains", "2",
            "--seed", "3", "--min-ess", "20", "--max-rhat", "1.5", "--max-divergences", "10", "--ship"]
    r = CliRunner().invoke(_cli(), args)
    assert r.exit_code == 0, r.output
    assert shipped.is_file() and (shipped.parent / "engine_samples.nc").is_file()
    assert (real.stat().st_mtime_ns if real.is_file() else None) == before
    readme = (shipped.parent / "README.md").read_text()
    assert "data vintage" in readme and "| price_lithium |" in readme and "| chemistry |" in readme
    assert "learning rate per doubling" in r.output and "Way et al." in r.output
    # default thresholds fail at this size: exit 1, explanation, nothing written
    out = tmp_path / "strict.nc"
    r = CliRunner().invoke(_cli(), args[:-7] + ["--out", str(out)])
    assert r.exit_code == 1
    assert "diagnostics failed" in r.output and not out.exists()
    r = CliRunner().invoke(_cli(), ["calibrate", "--out", str(tmp_path / "x.txt")])
    assert r.exit_code == 2 and "expected one of ['.nc']" in r.output
    r = CliRunner().invoke(_cli(), ["calibrate", "--ship", "--out", str(out)])
    assert r.exit_code == 2 and "not both" in r.output


def _panel() -> pd.DataFrame:
    frames = []
    for i, b in enumerate((0.3, 0.5)):
        q = np.exp(np.linspace(0.0, 3.0, 10))
        f = learning.simulate(b, 0.05, 0.2, q, years=np.arange(2000, 2010), initial_cost=100.0, seed=i)
        frames.append(f.assign(series=f"s{i}"))
    return pd.concat(frames, ignore_index=True)


def test_cli_hindcast_on_small_csv(tmp_path):
    csv = tmp_path / "panel.csv"
    _panel().to_csv(csv, index=False)
    out = tmp_path / "h.csv"
    r = CliRunner().invoke(_cli(), ["hindcast", "--data", str(csv), "--origins", "2004,2006", "--out", str(out),
                                    "--samples", "100", "--chains", "2", "--draws", "200", "--no-plot"])
    assert r.exit_code == 0, r.output
    summary = pd.read_csv(out)
    assert set(summary["method"]) == {"mcbattery", "wright_ols", "way2022"}
    assert {"coverage_80", "crps", "log_score", "n"} <= set(summary.columns)
    scores = pd.read_csv(tmp_path / "h_scores.csv")
    assert set(scores["origin"]) == {2004, 2006}
    assert "coverage_80" in r.output
    bad = tmp_path / "bad.csv"
    _panel().drop(columns="unit_cost").to_csv(bad, index=False)
    r = CliRunner().invoke(_cli(), ["hindcast", "--data", str(bad), "--out", str(tmp_path / "b.csv")])
    assert r.exit_code == 2 and "unit_cost" in r.output and len(r.output.strip().splitlines()) == 1
    r = CliRunner().invoke(_cli(), ["hindcast", "--data", str(tmp_path / "none.csv")])
    assert r.exit_code == 2 and "file not found" in r.output
    r = CliRunner().invoke(_cli(), ["hindcast", "--data", str(csv), "--origins", "20x4"])
    assert r.exit_code == 2 and "origins" in r.output
    r = CliRunner().invoke(_cli(), ["hindcast", "--data", str(csv), "--out", str(tmp_path / "h.txt")])
    assert r.exit_code == 2 and "expected one of ['.csv']" in r.output


def test_history_refuses_bad_arguments_in_one_line(tmp_path):
    from mcbattery.cli.calibration import history as history_cmd

    cli = Group(name="mcbattery", commands={"history": history_cmd})
    r = CliRunner().invoke(cli, ["history", "--out", str(tmp_path / "h.txt")])
    assert r.exit_code == 2 and r.output.strip().count("\n") == 0 and ".csv" in r.output
    r = CliRunner().invoke(cli, ["history", "--until", "2020", "--out", str(tmp_path / "h.csv")])
    assert r.exit_code == 2 and "needs a 2021 start" in r.output
    assert list(tmp_path.iterdir()) == []
