"""Every research notebook runs end to end at a tiny size.

The cell tagged ``parameters`` is replaced by ``DRAWS = <small>`` (plus the other names it
defines, unchanged). Kernels share a JAX compilation cache for the session, so the engine
kernels compiled by one notebook are reused by the next.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
pytest.importorskip("matplotlib")

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
TINY = {"DRAWS": 256}


@pytest.fixture(scope="session")
def jax_cache(tmp_path_factory):
    """A JAX compilation cache shared by the notebook kernels of this run (and by the
    pytest-xdist workers: their temp folders share a parent)."""
    base = tmp_path_factory.getbasetemp()
    root = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    path = root / "jax_cache_notebooks"
    path.mkdir(exist_ok=True)
    return path


def _parameter_cell(nb):
    cells = [c for c in nb.cells if c.cell_type == "code" and "parameters" in c.metadata.get("tags", [])]
    assert len(cells) == 1, "exactly one code cell must be tagged 'parameters'"
    return cells[0]


def test_notebooks_are_stored_clean_and_documented():
    assert [p.name for p in NOTEBOOKS] == [
        "01_quickstart.ipynb",
        "02_lithium_supply_risk.ipynb",
        "03_gigafactory_rampup.ipynb",
        "04_overcapacity_2030.ipynb",
        "05_calibration_diagnostics.ipynb",
    ]
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
        assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# "), path.name
        assert re.search(r"^DRAWS\s*=", _parameter_cell(nb).source, re.M), path.name
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert not cell.get("outputs") and cell.get("execution_count") is None, f"{path.name}: stored with outputs"
        n_fig = sum(c.source.count("plots.") + c.source.count("plt.subplots") for c in nb.cells if c.cell_type == "code")
        n_cap = sum(c.source.count("**Figure") for c in nb.cells if c.cell_type == "markdown")
        assert n_cap >= 1 and n_fig >= 1, path.name


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path, jax_cache, monkeypatch):
    nb = nbformat.read(path, as_version=4)
    cell = _parameter_cell(nb)
    src = cell.source
    for name, value in TINY.items():
        src, n = re.subn(rf"^{name}\s*=.*$", f"{name} = {value!r}", src, flags=re.M)
        assert n == 1, f"{path.name}: no {name} in the parameters cell"
    cell.source = src
    monkeypatch.setenv("JAX_COMPILATION_CACHE_DIR", str(jax_cache))
    monkeypatch.setenv("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0.5")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("PYTHONWARNINGS", "ignore::DeprecationWarning")
    client = nbclient.NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    )
    t0 = time.perf_counter()
    client.execute()
    elapsed = time.perf_counter() - t0
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
    print(f"{path.name}: {elapsed:.1f} s")
    assert not list(path.parent.glob("*.tmp")) and not os.path.exists(path.parent / "out")
