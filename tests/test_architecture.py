"""The house's rules: imports flow one way between the subpackages (import-linter's layer
contract in pyproject.toml), and no private name is used outside its own subpackage."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "mcbattery"


def test_layers_contract_is_kept():
    from importlinter.cli import lint_imports

    assert lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True, no_logo=True) == 0


def _subpackage(module: str) -> str:
    """``mcbattery.engine.kernel`` -> ``engine``; top-level modules are their own unit."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _private_uses(path: Path) -> list[str]:
    """Private names (one leading underscore) this file takes from another subpackage."""
    here = _subpackage(_module_name(path))
    tree = ast.parse(path.read_text(encoding="utf-8"))
    aliases: dict[str, str] = {}  # local name -> mcbattery module it refers to
    bad = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("mcbattery") and node.level == 0:
            for a in node.names:
                if a.name.startswith("_") and not a.name.startswith("__") and _subpackage(node.module) != here:
                    bad.append(f"{node.module}.{a.name}")
                aliases[a.asname or a.name] = f"{node.module}.{a.name}"
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith("mcbattery"):
                    aliases[a.asname or a.name.split(".")[0]] = a.name
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases:
            target = aliases[node.value.id]
            if node.attr.startswith("_") and not node.attr.startswith("__") and _subpackage(target) != here:
                bad.append(f"{target}.{node.attr}")
    return bad


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_private_names_across_subpackages(path):
    assert _private_uses(path) == []
