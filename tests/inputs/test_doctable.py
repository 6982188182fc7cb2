"""Tests of the Markdown tables of the priors (mcbattery.inputs.doctable)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mcbattery.inputs.doctable import describe, tables
from mcbattery.inputs.priors import Prior, load_priors, shipped_coords
from mcbattery.model.params import REGISTRY


def _prior(dist, fields, dims=()):
    return Prior(name="x", dist=dist, dims=dims, fields={k: np.asarray(v, float) for k, v in fields.items()},
                 units="1", source="test", file="t.toml")


def test_describe_each_kind_of_prior():
    C = shipped_coords()
    assert describe(_prior("fixed", {"value": 2025.0}), C) == "fixed 2025"  # calendar years stay plain
    assert describe(_prior("fixed", {"value": 12000.0}), C) == "fixed 12,000"
    assert describe(_prior("lognormal", {"median": 0.3, "sigma": 0.5}), C) == "lognormal(median 0.3; σ 0.5)"
    assert describe(_prior("normal", {"mean": [0.1, 0.2, 0.1, 0.1], "sd": 0.05}, ("region",)), C) == \
        "normal(mean {CN 0.1, US 0.2, EU 0.1, ROW 0.1}; sd 0.05)"
    same = describe(_prior("uniform", {"low": [1.0, 1.0, 1.0, 1.0], "high": 2.0}, ("region",)), C)
    assert same == "uniform(low 1; high 2)"  # equal elements collapse to one number
    assert describe(_prior("empirical", {"samples": np.zeros((40, 2))}), C) == "posterior samples (40)"


def test_tables_cover_every_parameter_once_grouped_by_file():
    text = tables()
    pri = load_priors()
    rows = [line for line in text.splitlines() if line.startswith("| `")]
    assert len(rows) == len(REGISTRY)
    for name in REGISTRY:
        assert sum(line.startswith(f"| `{name}` |") for line in rows) == 1, name
    for file in {Path(pri[n].file).name for n in REGISTRY}:
        assert f"(`priors/{file}`)" in text
    assert text == tables(pri)  # the shipped priors are the default
