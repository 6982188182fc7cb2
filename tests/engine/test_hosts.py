"""Multi-host shares: the merged shares equal a single-process run."""

from __future__ import annotations

import numpy as np

import mcbattery
from mcbattery.engine.hosts import merge, run_share, share
from mcbattery.engine import BLOCK, GROUP, run


def test_shares_are_group_aligned_and_cover_all_draws():
    for draws, n in ((10_000, 3), (100_000, 7), (1300, 3)):
        parts = [share(draws, n, i) for i in range(n)]
        assert parts[0][0] == 0 and parts[-1][1] == draws
        assert all(a[1] == b[0] for a, b in zip(parts, parts[1:]))
        assert all(lo % (GROUP * BLOCK) == 0 or lo == draws for lo, _ in parts)


def test_merged_shares_match_single_run():
    pri = mcbattery.load_scenario("baseline")
    n = 2 * GROUP * BLOCK + 700  # three shares, the last one partial
    whole = run(pri, draws=n, seed=2, chunk_size=512, keep_draws=n)
    parts = [run_share(pri, n, 3, i, seed=2, chunk_size=512, keep_draws=n) for i in range(3)]
    assert [p.acc.count for p in parts] == [GROUP * BLOCK, GROUP * BLOCK, 700]
    merged = merge(parts)
    a, b = whole.acc, merged.acc
    assert a.count == b.count == n
    np.testing.assert_array_equal(a.hist, b.hist)
    np.testing.assert_array_equal(a.exceed, b.exceed)
    np.testing.assert_array_equal(a.vmin, b.vmin)
    np.testing.assert_array_equal(a.vmax, b.vmax)
    np.testing.assert_allclose(a.mean, b.mean, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(a.m2, b.m2, rtol=1e-9, atol=1e-9)
    for k in whole.kept:
        np.testing.assert_array_equal(whole.kept[k], merged.kept[k])


def test_forecast_distributed_single_process_equals_forecast():
    from mcbattery import forecast_distributed

    a = forecast_distributed("baseline", draws=600, seed=1, chunk_size=512)
    b = mcbattery.forecast("baseline", draws=600, seed=1, chunk_size=512)
    np.testing.assert_array_equal(a.summary.lithium_price_quantile.values, b.summary.lithium_price_quantile.values)
    np.testing.assert_allclose(a.summary.cell_cost_mean.values, b.summary.cell_cost_mean.values, rtol=1e-12)
