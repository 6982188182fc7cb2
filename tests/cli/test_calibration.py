"""``mcbattery calibrate`` and ``hindcast`` arguments (the fits themselves are tested in tests/calibration)."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from mcbattery.cli import main
from mcbattery.cli.calibration import Years


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
