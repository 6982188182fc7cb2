"""Tests of ``python -m mcbattery`` (mcbattery.__main__)."""

from __future__ import annotations

import subprocess
import sys

from mcbattery import __version__


def test_python_dash_m_runs_the_cli():
    r = subprocess.run([sys.executable, "-m", "mcbattery", "--version"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and __version__ in r.stdout
    r = subprocess.run([sys.executable, "-m", "mcbattery", "forecast", "--draws", "0", "--out", "x.nc"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "--draws" in r.stderr
