"""The model reference (docs/model.md) names every parameter and every scenario, so it cannot
silently fall behind the registry or the shipped scenario files."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mcbattery.model.params import REGISTRY
from mcbattery.inputs.priors import PRIORS_DIR

MODEL_DOC = Path(__file__).resolve().parents[1] / "docs" / "model.md"
SCENARIO_FILES = sorted((PRIORS_DIR / "scenarios").glob("*.toml"))


@pytest.fixture(scope="module")
def doc() -> str:
    return MODEL_DOC.read_text(encoding="utf-8")


def _parameter_rows(doc: str) -> set[str]:
    """Parameter names in the first column of the tables of the 'Parameters and sources' section."""
    section = doc.split("## 5. Parameters and sources", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([a-z0-9_]+)` \|", section, flags=re.MULTILINE))


def test_every_registry_parameter_is_documented(doc):
    missing = [name for name in REGISTRY if not re.search(rf"\b{re.escape(name)}\b", doc)]
    assert not missing, f"docs/model.md does not mention {missing}"


def test_parameter_table_matches_registry(doc):
    rows = _parameter_rows(doc)
    assert rows == set(REGISTRY), {
        "missing from the table": sorted(set(REGISTRY) - rows),
        "not in the registry": sorted(rows - set(REGISTRY)),
    }


def test_every_scenario_file_is_documented(doc):
    assert SCENARIO_FILES, "no scenario files found"
    missing = [p.name for p in SCENARIO_FILES if p.name not in doc]
    assert not missing, f"docs/model.md does not describe {missing}"


def test_parameter_tables_show_the_shipped_priors(doc):
    """§5 is exactly what `mcbattery.inputs.doctable.tables()` prints for the shipped priors
    (regenerate it with that function after editing a prior)."""
    from mcbattery.inputs.doctable import tables

    start = doc.index("### horizon (`priors/horizon.toml`)")
    end = doc.index("## 6. Scenarios")
    assert doc[start:end].strip() == tables().strip()


def test_reference_manual_builds_from_the_docstrings(tmp_path):
    """``make docs``: mkdocs with mkdocstrings, strict, so a docstring or reference page that no
    longer matches the code fails here."""
    import subprocess
    import sys

    pytest.importorskip("mkdocs")
    pytest.importorskip("mkdocstrings")
    root = Path(__file__).resolve().parents[1]
    site = tmp_path / "site"
    r = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "-f", str(root / "mkdocs.yml"),
                        "-d", str(site)], capture_output=True, text=True, timeout=600, cwd=root)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    api = (site / "reference" / "api" / "index.html").read_text(encoding="utf-8")
    assert "mcbattery.api.forecast" in api and "keep_draws" in api
    research = (site / "reference" / "research" / "index.html").read_text(encoding="utf-8")
    for name in ("compare", "model_sobol", "discover", "fan_chart", "small_multiples", "peeling_tradeoff"):
        assert f"mcbattery.research." in research and name in research, name


def test_dir_lists_the_public_names():
    import mcbattery

    names = dir(mcbattery)
    for name in mcbattery.__all__:
        assert name in names and getattr(mcbattery, name) is not None, name
    assert {"forecast", "load_scenario", "compare", "discover", "prior_overview"} <= set(names)
    assert not [n for n in names if n.startswith("_") and n != "__version__"]


def test_readme_scenario_example_is_a_valid_scenario(tmp_path):
    """The README's custom scenario (its TOML block) loads and changes what it says it changes."""
    import mcbattery

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```toml\n(# my_scenario.toml\n.*?)```", readme, re.S)
    assert block, "no scenario example in the README"
    path = tmp_path / "my_scenario.toml"
    path.write_text(block.group(1), encoding="utf-8")
    base, mine = mcbattery.load_scenario("baseline"), mcbattery.load_scenario(path)
    assert float(mine["lead_time_median"].fields["mean"][0]) == pytest.approx(1.3 * float(base["lead_time_median"].fields["mean"][0]))
    assert float(mine["import_tariff"].fields["high"][2]) == pytest.approx(float(base["import_tariff"].fields["high"][2]) + 0.1)
    assert sorted(mine.shifted) == ["demand_multiplier", "import_tariff", "lead_time_median", "recovery_rate"]
