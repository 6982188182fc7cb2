"""Host-side streaming statistics: the tree merge of moments depends only on the node sequence."""

from __future__ import annotations

import numpy as np

from mcbattery.engine.streaming import Accumulator, chan_merge, tree_merge


def test_block_moments_merge_the_same_whatever_the_cuts():
    """The host merge of block moments depends only on the block sequence: any split into
    chunks, and any number of trailing empty (padding) blocks, gives bit-identical moments,
    equal to the exact moments of the pooled draws."""
    rng = np.random.default_rng(1)
    n_blocks, cols = 300, 5
    n = rng.integers(0, 257, n_blocks).astype(np.float32)
    n[[7, 100]] = 0  # blocks whose draws were all invalid
    n[-23:] = 0  # padding
    mean = (rng.normal(5.0, 2.0, (n_blocks, cols)) * (n[:, None] > 0)).astype(np.float32)
    m2 = (rng.random((n_blocks, cols)) * 300.0 * (n[:, None] > 0)).astype(np.float32)

    def merged(cuts):
        acc = Accumulator(cols, 0)
        for lo, hi in zip(cuts[:-1], cuts[1:]):
            acc.add_moments(n[lo:hi], mean[lo:hi], m2[lo:hi])
        return acc

    ref = merged(list(range(n_blocks + 1)))  # one block at a time
    for step in (2, 3, 64, 100, 128, n_blocks):
        acc = merged(list(range(0, n_blocks, step)) + [n_blocks])
        assert acc.count == ref.count
        np.testing.assert_array_equal(acc.mean, ref.mean, err_msg=str(step))
        np.testing.assert_array_equal(acc.m2, ref.m2, err_msg=str(step))
    less_padding = merged([0, 150, n_blocks - 20])
    np.testing.assert_array_equal(less_padding.mean, ref.mean)
    np.testing.assert_array_equal(less_padding.m2, ref.m2)

    w = n.astype(np.float64)[:, None]
    exact_mean = (w * mean).sum(axis=0) / w.sum()
    exact_m2 = (m2 + w * (mean - exact_mean) ** 2).sum(axis=0)
    assert ref.count == int(w.sum())
    np.testing.assert_allclose(ref.mean, exact_mean, rtol=1e-12)
    np.testing.assert_allclose(ref.m2, exact_m2, rtol=1e-12)


def test_tree_merge_equals_pairwise_chan_merges_and_ignores_empty_nodes():
    rng = np.random.default_rng(2)
    n = np.array([256.0, 100.0, 0.0, 3.0])
    mean = rng.normal(size=(4, 6)) * (n[:, None] > 0)
    m2 = rng.random((4, 6)) * n[:, None]
    root = tree_merge(n, mean, m2)
    left = chan_merge(n[0], mean[0], m2[0], n[1], mean[1], m2[1])
    right = chan_merge(n[2], mean[2], m2[2], n[3], mean[3], m2[3])
    np.testing.assert_array_equal(right[1], mean[3])  # an empty node changes nothing
    np.testing.assert_array_equal(right[2], m2[3])
    expected = chan_merge(*left, *right)
    for got, want in zip(root, expected):
        np.testing.assert_array_equal(got, want)
