"""Progress bars: a compiling stage, then rate and ETA; the final line once; shown only when wanted."""

from __future__ import annotations

import re

from mcbattery.common.progress import Progress, wanted


def _lines(text: str) -> list[str]:
    return [x.strip() for x in re.split(r"[\r\n]+", text) if x.strip()]


def test_compiling_stage_then_counting_and_one_final_line(capsys):
    with Progress(100, unit="draw", desc="simulating", enabled=True) as bar:
        bar.compiled()
        for _ in range(4):
            bar.update(25)
    lines = _lines(capsys.readouterr().err)
    assert lines[0].startswith("compiling")
    assert lines[-1].startswith("simulating: 100%")
    assert sum("100%" in x for x in lines) == 1
    assert "draw/s" in lines[-1]


def test_the_first_update_ends_compiling(capsys):
    bar = Progress(10, unit="run", desc="Sobol' design", enabled=True)
    bar.update(3)
    assert not bar.compiling and bar.bar.n == 3
    bar.close()
    assert _lines(capsys.readouterr().err)[-1].startswith("Sobol' design:  30%")


def test_disabled_bars_do_nothing(capsys):
    bar = Progress(10, enabled=False)
    bar.update(5)
    bar.stage("x")
    bar.close()
    assert bar.bar is None and capsys.readouterr().err == ""


def test_when_a_bar_is_wanted(monkeypatch):
    monkeypatch.delenv("MCBATTERY_PROGRESS", raising=False)
    assert wanted(True) and not wanted(False)
    assert not wanted(None)  # pytest's captured stderr is not a terminal, and no kernel runs here
    monkeypatch.setenv("MCBATTERY_PROGRESS", "1")
    assert wanted(None) and not wanted(False)
    monkeypatch.setenv("MCBATTERY_PROGRESS", "0")
    assert not wanted(None) and wanted(True)
