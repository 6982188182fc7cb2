"""Tests of the output catalogue and its quantile grids (mcbattery.model.outputs)."""

from __future__ import annotations

import numpy as np
import pytest

from mcbattery.inputs.priors import shipped_coords
from mcbattery.model.outputs import BINS, OUTPUTS, edges, quantile_error_bound


@pytest.mark.parametrize("name", sorted(OUTPUTS))
def test_every_output_is_declared_completely(name):
    spec = OUTPUTS[name]
    coords = shipped_coords()
    assert all(d in coords for d in spec.dims), spec.dims
    assert spec.units and spec.long_name
    kind, lo, hi = spec.grid
    assert kind in ("lin", "log") and lo < hi and (kind == "lin" or lo > 0)
    assert list(spec.thresholds) == sorted(spec.thresholds)
    assert all(lo <= t <= hi for t in spec.thresholds), spec.thresholds


def test_edges_are_even_on_their_scale():
    lin = OUTPUTS["shortage"]
    e = edges(lin)
    assert e.size == BINS + 1 and e[0] == 0.0 and e[-1] == 1.0
    np.testing.assert_allclose(np.diff(e), 1.0 / BINS)
    log = OUTPUTS["lithium_price"]
    e = edges(log)
    assert e[0] == pytest.approx(5e2) and e[-1] == pytest.approx(1e6)
    ratios = e[1:] / e[:-1]
    np.testing.assert_allclose(ratios, ratios[0], rtol=1e-10)


def test_quantile_error_bound_is_one_bin():
    log = OUTPUTS["lithium_price"]
    ratio = (1e6 / 5e2) ** (1 / BINS) - 1
    assert quantile_error_bound(log) == f"relative {ratio:.2%}"
    assert quantile_error_bound(OUTPUTS["cost_gap"]) == f"absolute {600.0 / BINS:.3g}"
