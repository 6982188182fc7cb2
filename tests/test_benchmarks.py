"""The benchmark scripts' contract: ``throughput.py --json`` prints one JSON line per N with the
figures others compare, and the engine it times reproduces the NumPy model on the same draws."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


def test_throughput_json_contract_on_the_side_by_side_path():
    """A tiny run through the accelerators' loop (one group per turn, forced on this CPU)."""
    cmd = [sys.executable, str(BENCH / "throughput.py"), "--draws", "4096", "8192", "--years", "2",
           "--numpy-max-draws", "512", "--wave-groups", "1", "--cpu-devices", "1", "--json"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    assert [r["draws"] for r in rows] == [4096, 8192]
    for r in rows:
        for key in ("engine_s", "engine_draw_years_per_s", "numpy_s", "rng_bound_s", "device"):
            assert key in r, key
        assert r["years"] == 2 and r["wave_groups"] == 1 and r["device"].startswith("1 x ")
        assert r["engine_s"] > 0 and r["rng_bound_s"] > 0 and r["numpy_extrapolated"]
        assert 0 <= r["check_max_err"] <= 1  # the timed engine computes the NumPy model's draws
        assert abs(r["engine_draw_years_per_s"] - r["draws"] * 2 / r["engine_s"]) < 1e-6 * r["engine_draw_years_per_s"]


def test_throughput_rejects_bad_arguments():
    proc = subprocess.run([sys.executable, str(BENCH / "throughput.py"), "--draws", "0"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2 and "must be positive" in proc.stderr
