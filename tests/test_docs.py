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
