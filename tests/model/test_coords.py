"""Coordinates are declared once, in the priors folder: a copy of the shipped priors with a
fifth region and a fourth chemistry runs, and its outputs carry the new labels."""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

import numpy as np
import pytest

import mcbattery
from mcbattery.common.errors import InputError
from mcbattery.inputs.priors import PRIORS_DIR, shipped_coords
from mcbattery.model.coords import STAGES, load_coords, parse_coords

NEW = {"region": ("IN", "ROW"), "chemistry": ("LMFP", "LFP")}  # new label, the label it copies


def _toml(value, indent=0) -> str:
    """A small TOML writer for the value types prior files use."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(float(value)) if isinstance(value, float) else str(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return "{ " + ", ".join(f'"{k}" = {_toml(v)}' for k, v in value.items()) + " }"


def _write(doc: dict, path: Path) -> None:
    lines = []
    for name, table in doc.items():
        lines.append(f"[{name}]")
        lines += [f'"{k}" = {_toml(v)}' for k, v in table.items()]
        lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")


def _extend(value, dims, dim, new, like):
    """Add label ``new`` (a copy of ``like``) along ``dim`` of a nested label table."""
    if not isinstance(value, dict) or not dims:
        return value
    if dims[0] == dim:
        value = {**value, new: value[like]}
    return {k: _extend(v, dims[1:], dim, new, like) for k, v in value.items()}


def _renormalise(value):
    """Shares over the innermost labels sum to one again after a copy."""
    if isinstance(next(iter(value.values())), dict):
        return {k: _renormalise(v) for k, v in value.items()}
    total = sum(value.values())
    return {k: v / total for k, v in value.items()}


@pytest.fixture(scope="module")
def extended_priors(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("extended") / "priors"
    shutil.copytree(PRIORS_DIR, root)
    coords = tomllib.loads((root / "coords.toml").read_text())
    for dim, (new, _) in NEW.items():
        coords[dim]["labels"].append(new)
    _write(coords, root / "coords.toml")
    for path in sorted(root.glob("*.toml")):
        if path.name == "coords.toml":
            continue
        doc = tomllib.loads(path.read_text())
        for name, table in doc.items():
            dims = table.get("dims", [])
            for dim, (new, like) in NEW.items():
                if dim in dims:
                    for field in list(table):
                        if field not in ("dims", "dist", "units", "source", "note"):
                            table[field] = _extend(table[field], dims, dim, new, like)
            if table.get("dist") == "dirichlet" and table["dims"][-1] in NEW:
                table["mean"] = _renormalise(table["mean"])
        _write(doc, path)
    return root


def test_shipped_coordinates_are_read_from_the_priors_folder():
    c = shipped_coords()
    assert c["region"] == ("CN", "US", "EU", "ROW") and c["stage"] == STAGES
    assert c["region"][c.exporter] == "CN"
    assert list(c.mask("chemistry", "lithium_free")) == [False, False, True]
    assert c == load_coords(PRIORS_DIR) and hash(c) == hash(load_coords(PRIORS_DIR))


def test_a_fifth_region_and_a_fourth_chemistry_run_with_their_labels(extended_priors):
    f = mcbattery.forecast("baseline", draws=300, seed=2, keep_draws=20, end_year=2030, priors=extended_priors,
                           posterior=None, chunk_size=4096)
    s, d = f.summary, f.draws
    assert list(s.region.values) == ["CN", "US", "EU", "ROW", "IN"]
    assert list(s.chemistry.values) == ["LFP", "NMC", "Na-ion", "LMFP"]
    assert s.cell_cost_quantile.sizes["region"] == 5 and s.cell_cost_quantile.sizes["chemistry"] == 4
    assert d.cell_production.sizes["region"] == 5
    assert s.attrs["valid_draws"] == 300 and s.attrs["invalid_draws"] == 0
    for name in ("cell_production", "cell_cost", "chemistry_share", "demand"):
        assert np.all(np.isfinite(d[name].values)), name
    # the copies behave like the labels they copy: India makes cells, LMFP takes a share
    assert float(d.cell_production.sel(region="IN").mean()) > 0
    assert float(d.chemistry_share.sel(chemistry="LMFP").mean()) > 0.01


def test_which_region_exports_is_a_property_of_the_priors(extended_priors, tmp_path):
    root = tmp_path / "priors"
    shutil.copytree(extended_priors, root)
    text = (root / "coords.toml").read_text().replace('"exporter" = "CN"', '"exporter" = "US"')
    (root / "coords.toml").write_text(text)
    runs = [mcbattery.forecast("baseline", draws=300, seed=2, end_year=2027, priors=folder, posterior=None, chunk_size=4096)
            for folder in (extended_priors, root)]
    us = [float(f.summary.import_share_mean.sel(region="US").isel(year=0)) for f in runs]
    assert us[1] < us[0]  # as the exporter, the US serves its own demand first


@pytest.mark.parametrize("edit, field", [
    (lambda d: d.pop("region"), "region"),
    (lambda d: d["region"].update(labels=["CN", "CN"]), "region.labels"),
    (lambda d: d["region"].update(exporter="XX"), "region.exporter"),
    (lambda d: d["stage"].update(labels=["mining"]), "stage.labels"),
    (lambda d: d.update(colour={"labels": ["red"]}), "colour"),
    (lambda d: d["chemistry"].update(lithium_free="Na-ion"), "chemistry.lithium_free"),
])
def test_bad_coordinates_are_named(edit, field):
    doc = tomllib.loads((PRIORS_DIR / "coords.toml").read_text())
    edit(doc)
    with pytest.raises(InputError, match=field.replace(".", r"\.")):
        parse_coords(doc, "coords.toml")
