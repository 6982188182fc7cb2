"""The benchmark scripts' contract: ``throughput.py --json`` prints one JSON line per N with the
figures others compare, and the engine it times reproduces the NumPy model on the same draws.
Both scripts run here with only the packages a GPU node has, as they must there."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"

# Installed here for the CLI, I/O, calibration diagnostics and plots, but absent on GPU nodes
# (which have jax, numpy, scipy, pandas, xarray, numpyro and what those need; tqdm comes with
# numpyro there, yet the simulation path must not rely on it either).
NOT_ON_GPU_NODES = ("click", "tqdm", "arviz", "matplotlib", "zarr", "h5netcdf", "h5py", "pyarrow",
                    "SALib", "nbformat", "nbclient", "ipykernel")


@pytest.fixture
def gpu_node_env(tmp_path):
    """Environment whose Python processes (children included) cannot import NOT_ON_GPU_NODES."""
    (tmp_path / "sitecustomize.py").write_text(textwrap.dedent(f"""
        import importlib.abc, sys

        class _Absent(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name.partition(".")[0] in {NOT_ON_GPU_NODES!r}:
                    raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)

        sys.meta_path.insert(0, _Absent())
    """))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")])))
    probe = subprocess.run([sys.executable, "-c", "import click"], env=env, capture_output=True, text=True)
    assert probe.returncode != 0 and "No module named 'click'" in probe.stderr  # the fence holds
    return env


def test_throughput_json_contract_on_the_side_by_side_path(gpu_node_env):
    """A tiny run through the accelerators' loop (one group per turn, forced on this CPU)."""
    cmd = [sys.executable, str(BENCH / "throughput.py"), "--draws", "4096", "8192", "--years", "2",
           "--numpy-max-draws", "512", "--wave-groups", "1", "--cpu-devices", "1", "--json"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=gpu_node_env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    assert [r["draws"] for r in rows] == [4096, 8192]
    for r in rows:
        for key in ("engine_s", "engine_draw_years_per_s", "numpy_s", "rng_bound_s", "device"):
            assert key in r, key
        assert r["years"] == 2 and r["wave_groups"] == 1 and r["device"].startswith("1 x ")
        assert r["engine_s"] > 0 and r["rng_bound_s"] > 0 and r["numpy_extrapolated"]
        assert 0 <= r["check_max_err"] <= 1 and r["check_diverged"] <= 2  # the timed engine computes the NumPy model's draws
        assert abs(r["engine_draw_years_per_s"] - r["draws"] * 2 / r["engine_s"]) < 1e-6 * r["engine_draw_years_per_s"]


def test_throughput_rejects_bad_arguments():
    proc = subprocess.run([sys.executable, str(BENCH / "throughput.py"), "--draws", "0"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2 and "must be positive" in proc.stderr


def test_gpu_script_sweeps_widths_and_reports_without_writing(gpu_node_env):
    """gpu.py end to end on the CPU: a width sweep, the main run with the fastest width, the host
    merge figure, and the section it would append (here only printed)."""
    before = (BENCH / "RESULTS.md").read_bytes()
    cmd = [sys.executable, str(BENCH / "gpu.py"), "--draws", "4096", "--years", "2", "--chunk-size", "4096",
           "--numpy-max-draws", "256", "--wave-groups", "0", "1", "--sweep-draws", "4096", "--no-write"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900, env=gpu_node_env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = proc.stdout
    assert "no GPU visible to JAX" in proc.stderr  # CPU figures are labelled as such
    assert "## GPU run" in out and "Loop-turn width sweep" in out and "Host work for 1e8 draws" in out
    sweep, main = out.split("Loop-turn width sweep")[1].split("Best throughput")[0].split("\n\n")[1:3]
    widths = [line.split("|")[3].strip() for line in sweep.splitlines() if line.startswith("| 4e+03")]
    assert sorted(widths) == ["0", "1"]
    chosen = [line.split("|")[3].strip() for line in main.splitlines() if line.startswith("| 4e+03")]
    assert len(chosen) == 1 and chosen[0] in widths
    assert (BENCH / "RESULTS.md").read_bytes() == before
