"""Tests of the flat column layout the kernel reduces (mcbattery.engine.layout)."""

from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np

from mcbattery.engine.layout import flatten_columns, make_layout
from mcbattery.inputs.priors import shipped_coords
from mcbattery.model.outputs import BINS, OUTPUTS


def test_every_output_has_one_contiguous_slice_in_order():
    lay = make_layout(4, 2030, {}, shipped_coords())
    assert lay.names == tuple(OUTPUTS) and list(lay.years) == [2030, 2031, 2032, 2033]
    k = 0
    for name in lay.names:
        shape = (4, *shipped_coords().shape(OUTPUTS[name].dims))
        assert lay.shapes[name] == shape
        assert lay.slices[name] == slice(k, k + math.prod(shape))
        k += math.prod(shape)
    assert lay.n_columns == k == lay.lo.size == lay.width.size == lay.log.size
    assert lay.thr_cols.size == 0 and lay.key == ((), shipped_coords())


def test_grid_per_column_in_transformed_units():
    lay = make_layout(2, 2025, {}, shipped_coords())
    for name, spec in OUTPUTS.items():
        kind, a, b = spec.grid
        sl = lay.slices[name]
        if kind == "log":
            assert np.all(lay.log[sl])
            np.testing.assert_allclose(lay.lo[sl], math.log(a))
            np.testing.assert_allclose(lay.width[sl] * BINS, math.log(b) - math.log(a))
        else:
            assert not np.any(lay.log[sl])
            np.testing.assert_allclose(lay.lo[sl], a)
            np.testing.assert_allclose(lay.width[sl] * BINS, b - a)


def test_thresholds_repeat_their_output_columns():
    lay = make_layout(3, 2025, {"unmet_share": (0.0, 0.1), "material_price": (40000.0,)}, shipped_coords())
    sl = lay.slices["unmet_share"]
    n = sl.stop - sl.start
    assert n == 3 * len(shipped_coords()["material"])  # every year and material
    cols = np.r_[np.arange(sl.start, sl.stop), np.arange(sl.start, sl.stop)]
    first = [i for i, (a, b, t) in enumerate(lay.thr_segments) if a == sl.start]
    assert [lay.thr_segments[i][2] for i in first] == [0.0, 0.1]
    pos = np.flatnonzero(np.isin(lay.thr_cols, cols))
    assert pos.size == 2 * n and set(lay.thr_vals[pos]) == {0.0, 0.1}
    assert lay.key[0] == (("material_price", (40000.0,)), ("unmet_share", (0.0, 0.1)))
    price = lay.slices["material_price"]
    assert [t for a, b, t in lay.thr_segments if a == price.start] == [40000.0]
    assert lay.thr_cols.size == 3 * n and np.count_nonzero(lay.thr_vals == 40000.0) == price.stop - price.start
    for a, b, t in lay.thr_segments:
        seg = (lay.thr_cols >= a) & (lay.thr_cols < b) & (lay.thr_vals == t)
        assert seg.sum() == b - a


def test_flatten_columns_puts_each_output_in_its_rows():
    lay = make_layout(2, 2025, {}, shipped_coords())
    rng = np.random.default_rng(0)
    outputs = {k: jnp.asarray(rng.standard_normal((*lay.shapes[k], 3)), jnp.float32) for k in lay.names}  # draws last
    flat = np.asarray(flatten_columns(outputs, lay))
    assert flat.shape == (lay.n_columns, 3)
    for k in lay.names:
        np.testing.assert_array_equal(flat[lay.slices[k]].T, np.moveaxis(np.asarray(outputs[k]), -1, 0).reshape(3, -1))
