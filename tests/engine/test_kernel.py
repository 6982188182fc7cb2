"""Tests of the device kernel's pieces (mcbattery.engine.kernel): which random numbers a draw
consumes, the deployment history, and the block and group sizes its counts rely on. The
reductions themselves are checked end to end in test_runner.py."""

from __future__ import annotations

import jax
import numpy as np

from mcbattery.engine import kernel
from mcbattery.inputs.datasets import battery_demand
from mcbattery.inputs.priors import shipped_coords
from mcbattery.model import noise
from mcbattery.model.recycling import HISTORY


def test_draw_randomness_shapes_ranges_and_determinism():
    slots = noise.layout(shipped_coords())
    key = jax.random.fold_in(jax.random.PRNGKey(0), 5)
    kp, z, u = kernel.draw_randomness(key, 7, slots)
    assert z.shape == (7, slots.n_normals) and u.shape == (7, slots.n_uniforms)
    assert float(u.min()) >= 1e-7 and float(u.max()) < 1.0
    kp2, z2, u2 = kernel.draw_randomness(key, 7, slots)
    np.testing.assert_array_equal(np.asarray(z), np.asarray(z2))
    np.testing.assert_array_equal(np.asarray(kp), np.asarray(kp2))
    _, z3, _ = kernel.draw_randomness(jax.random.fold_in(jax.random.PRNGKey(0), 6), 7, slots)
    assert not np.allclose(np.asarray(z), np.asarray(z3))
    # a longer horizon starts with other numbers (the shape is part of the draw), not a prefix
    assert kernel.draw_randomness(key, 8, slots)[1].shape == (8, slots.n_normals)


def test_deployment_history_is_the_iea_series_before_the_start():
    h = kernel.deployment_history(2025)
    assert h.shape == (HISTORY,)
    ev = battery_demand("World", by="total").set_index("year")["gwh"]
    assert h[0] == ev.loc[2024] and h[1] == ev.loc[2023]
    assert np.all(h[2025 - int(ev.index.min()):] == 0.0)  # zero before the data begins


def test_block_and_group_sizes_keep_narrow_counts_exact():
    assert kernel.BLOCK % 2 == 0 and kernel.GROUP & (kernel.GROUP - 1) == 0
    assert kernel.FLUSH_GROUPS * kernel.GROUP * kernel.BLOCK < 2**16  # uint16 histogram counts never overflow
