"""The research notebooks are stored executed, with their figures, at the sizes that tell the
story (``make notebooks`` re-executes them), and every one of them runs end to end here at a
tiny size.

For the run, the cell tagged ``parameters`` is replaced by ``DRAWS = <small>`` (plus the other
names it defines, unchanged). Kernels share a JAX compilation cache for the session, so the
engine kernels compiled by one notebook are reused by the next.
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


def test_notebooks_are_stored_executed_and_documented():
    assert [p.name for p in NOTEBOOKS] == [
        "01_quickstart.ipynb",
        "02_lithium_supply_risk.ipynb",
        "03_gigafactory_rampup.ipynb",
        "04_overcapacity_2030.ipynb",
        "05_calibration_diagnostics.ipynb",
        "06_scenario_discovery.ipynb",
    ]
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
        assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# "), path.name
        draws = re.search(r"^DRAWS\s*=\s*([0-9_]+)", _parameter_cell(nb).source, re.M)
        assert draws and int(draws.group(1).replace("_", "")) >= 1_000, f"{path.name}: stored at a tiny size"
        code = [c for c in nb.cells if c.cell_type == "code"]
        # executed top to bottom in one kernel, without errors
        assert [c.get("execution_count") for c in code] == list(range(1, len(code) + 1)), f"{path.name}: not executed in order"
        outputs = [o for c in code for o in c.get("outputs", [])]
        assert not [o for o in outputs if o.get("output_type") == "error"], f"{path.name}: stored with an error"
        assert not [o for o in outputs if o.get("name") == "stderr" and "%|" in o.get("text", "")], f"{path.name}: progress bars stored"
        n_fig = sum(c.source.count("plots.") + c.source.count("plt.subplots") for c in code)
        n_png = sum("image/png" in o.get("data", {}) for o in outputs)
        n_cap = sum(c.source.count("**Figure") for c in nb.cells if c.cell_type == "markdown")
        assert n_cap >= 1 and n_fig >= 1 and n_png >= n_cap, f"{path.name}: {n_png} figures stored for {n_cap} captions"
        text = " ".join(str(o) for o in outputs)
        assert "/work/" not in text and "/home/" not in text, f"{path.name}: a local path in the stored outputs"


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
    monkeypatch.setenv("MCBATTERY_PROGRESS", "0")
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
