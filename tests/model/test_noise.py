"""Tests of the per-year random-number slots (mcbattery.model.noise)."""

from __future__ import annotations

import numpy as np

from mcbattery.inputs.priors import shipped_coords
from mcbattery.model import noise, pipeline, prices


def _contiguous(offsets: dict, total: int):
    spans = sorted(offsets.values())
    assert spans[0][0] == 0 and spans[-1][1] == total
    assert all(a[1] == b[0] for a, b in zip(spans, spans[1:]))  # no gap, no overlap


def test_slots_follow_the_coordinates():
    c = shipped_coords()
    lay = noise.layout(c)
    _contiguous(lay.normal, lay.n_normals)
    _contiguous(lay.uniform, lay.n_uniforms)
    projects = noise.pipeline_rows(c) * pipeline.PROJECTS_PER_ORDER
    sizes = {k: b - a for k, (a, b) in lay.normal.items()}
    assert sizes == {"demand": c.size("segment"), "price": prices.MONTHS, "cost": c.size("chemistry"),
                     "lead": projects, "drift": c.size("chemistry")}
    sizes = {k: b - a for k, (a, b) in lay.uniform.items()}
    assert sizes == {"regime": prices.MONTHS, "delay": projects, "extra": projects, "cancel": projects,
                     "announced": c.size("region")}
    assert noise.pipeline_rows(c) == 3 + c.size("region")


def test_a_slot_position_depends_only_on_the_coordinates():
    a, b = noise.layout(shipped_coords()), noise.layout(shipped_coords())
    assert a == b
    # the first slots keep their place whatever comes after them
    assert a.normal["demand"] == (0, shipped_coords().size("segment"))


def test_take_reads_a_named_slot():
    lay = noise.layout(shipped_coords())
    z = np.arange(lay.n_normals)
    a, b = lay.normal["price"]
    np.testing.assert_array_equal(noise.take(z, lay.normal, "price"), np.arange(a, b))
    zz = np.arange(lay.n_normals * 3).reshape(lay.n_normals, 3)  # draws last (NumPy path)
    c0, c1 = lay.normal["cost"]
    assert noise.take(zz, lay.normal, "cost").shape == (c1 - c0, 3)
