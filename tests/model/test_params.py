"""Tests of the parameter registry and the grouping by mechanism (mcbattery.model.params)."""

from __future__ import annotations

import numpy as np
import pytest

from mcbattery.inputs.priors import load_priors, shipped_coords
from mcbattery.model.params import BLOCK_TYPES, BLOCKS, REGISTRY, SUPPORTS, Params, block, group


def test_registry_dims_supports_and_blocks():
    coords = shipped_coords()
    for name, spec in REGISTRY.items():
        assert all(d in coords for d in spec.dims), name
        assert spec.support in SUPPORTS, name
        assert spec.block in BLOCKS or spec.block == "horizon", name
    for lo, hi in SUPPORTS.values():
        assert lo < hi


def test_every_parameter_has_a_shipped_prior_of_its_shape():
    pri = load_priors()
    assert set(pri.params) == set(REGISTRY)
    for name, spec in REGISTRY.items():
        assert tuple(pri[name].dims) == spec.dims, name


def test_group_by_mechanism_and_back():
    flat = {name: np.full(len(name), i, float) for i, name in enumerate(REGISTRY)}
    p = group(flat)
    assert isinstance(p, Params) and Params._fields == BLOCKS
    seen = set()
    for b in BLOCKS:
        part = getattr(p, b)
        assert type(part) is BLOCK_TYPES[b]
        for field in part._fields:
            assert REGISTRY[field].block == b
            np.testing.assert_array_equal(getattr(part, field), flat[field])
            seen.add(field)
    assert seen == {n for n, s in REGISTRY.items() if s.block != "horizon"}
    with pytest.raises(KeyError):
        group({k: v for k, v in flat.items() if k != "price_reversion"})


def test_block_fills_what_is_not_given():
    prices = block("prices", {"price_reversion": 0.4}, fill=0.0)
    assert prices.price_reversion == 0.4 and prices.boom_drift == 0.0
    assert set(prices._fields) == {n for n, s in REGISTRY.items() if s.block == "prices"}
