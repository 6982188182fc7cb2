"""Engine: reproducibility, chunk invariance, summaries against kept draws, plausibility."""

from __future__ import annotations

import numpy as np

import mcbattery
from mcbattery.model.outputs import BINS, OUTPUTS
from mcbattery.model.params import REGISTRY


def test_outputs_present_labelled_and_finite(baseline_small):
    s, d = baseline_small.summary, baseline_small.draws
    for name, spec in OUTPUTS.items():
        q = s[f"{name}_quantile"]
        assert q.dims == ("quantile", "year", *spec.dims)
        assert s[f"{name}_mean"].attrs["units"] == spec.units
        assert np.all(np.isfinite(q.values))
        assert d[name].dims == ("draw", "year", *spec.dims)
    assert s.attrs["invalid_draws"] == 0 and s.attrs["valid_draws"] == 2048
    for key in ("mcbattery_version", "seed", "scenario", "priors_hash", "created_at"):
        assert key in s.attrs
    assert list(s.year.values) == list(range(2025, 2041))


def test_same_seed_same_numbers_any_chunk_size():
    from mcbattery.engine import BLOCK, GROUP

    n = GROUP * BLOCK + 900  # two chunks of one group (the second trimmed to 4 blocks) vs one chunk of two
    a = mcbattery.forecast(draws=n, seed=3, keep_draws=n, chunk_size=256)
    b = mcbattery.forecast(draws=n, seed=3, keep_draws=n, chunk_size=2 * GROUP * BLOCK)
    assert a.summary.attrs["valid_draws"] == n
    for name in OUTPUTS:
        np.testing.assert_array_equal(a.draws[name].values, b.draws[name].values)
    for v in a.summary.data_vars:
        np.testing.assert_array_equal(a.summary[v].values, b.summary[v].values, err_msg=v)
    c = mcbattery.forecast(draws=600, seed=4, keep_draws=10, chunk_size=256)
    assert not np.allclose(c.draws.material_price.values, a.draws.material_price.values[:10])


def test_first_draws_do_not_depend_on_total_draws(baseline_small):
    small = mcbattery.forecast(draws=300, seed=7, keep_draws=300, chunk_size=1024)
    np.testing.assert_array_equal(small.draws.cell_cost.values, baseline_small.draws.cell_cost.values[:300])


def test_summary_matches_kept_draws_when_all_kept():
    f = mcbattery.forecast(draws=512, seed=11, keep_draws=512, chunk_size=512)
    s, d = f.summary, f.draws
    for name in ("material_price", "unmet_share", "cell_cost", "utilization_world"):
        x = d[name].values.astype(np.float64)
        np.testing.assert_allclose(s[f"{name}_mean"].values, x.mean(axis=0), rtol=2e-5, atol=1e-6)
        np.testing.assert_allclose(s[f"{name}_sd"].values, x.std(axis=0, ddof=1), rtol=2e-4, atol=1e-6)
        spec = OUTPUTS[name]
        exact = np.quantile(x, [0.1, 0.5, 0.9], axis=0, method="inverted_cdf")
        got = s[f"{name}_quantile"].sel(quantile=[0.1, 0.5, 0.9]).values
        kind, lo, hi = spec.grid
        if kind == "log":
            np.testing.assert_allclose(got, exact, rtol=2 * ((hi / lo) ** (1 / BINS) - 1) + 1e-6)
        else:
            np.testing.assert_allclose(got, exact, atol=2 * (hi - lo) / BINS + 1e-6)
    p = (d.unmet_share.values > 0.1).mean(axis=0)
    np.testing.assert_array_equal(s.unmet_share_exceedance.sel(unmet_share_threshold=0.1).values, p)


def test_float64_close_to_float32():
    """float64 simulates the same draws as float32 (random numbers are drawn in float32 for every
    dtype), so the two differ by rounding only: parameters to float32 rounding, smooth outputs to
    float32 rounding carried through the years (about 1e-5). A whole-year or yes/no decision (lead
    times, cancellations, shortages) may tip in a rare draw, so a few draws may differ more."""
    a = mcbattery.forecast(draws=256, seed=5, keep_draws=256, chunk_size=256)
    b = mcbattery.forecast(draws=256, seed=5, keep_draws=256, chunk_size=256, dtype="float64")
    assert a.summary.attrs["dtype"] == "float32" and b.summary.attrs["dtype"] == "float64"
    params = [k for k in REGISTRY if k in a.draws]
    assert {"price_volatility", "reference_utilization", "chemistry_share_start", "demand_start"} <= set(params)
    for k in params:  # the same parameters, draw by draw
        np.testing.assert_allclose(a.draws[k].values, b.draws[k].values, rtol=1e-4, atol=1e-6, err_msg=k)
    for k in ("pack_cost_average", "cell_cost", "material_price", "demand", "cell_capacity", "utilization_world"):
        x, y = a.draws[k].values.astype(np.float64), b.draws[k].values.astype(np.float64)
        rel = (np.abs(x - y) / np.abs(y)).reshape(len(y), -1).max(axis=1)
        assert (rel > 1e-3).mean() <= 0.02, (k, np.sort(rel)[-8:])  # per draw
        np.testing.assert_allclose(np.median(x, axis=0), np.median(y, axis=0), rtol=1e-4, err_msg=k)


def test_plausible_against_the_documents(baseline_small):
    s = baseline_small.summary
    med = s.sel(quantile=0.5)
    # 2025 Chinese cell costs near 003 Fig. 5 (NMC 56-68, LFP 46-53 USD/kWh)
    cn = med.cell_cost_quantile.sel(year=2025, region="CN")
    assert 40 <= float(cn.sel(chemistry="LFP")) <= 62
    assert 50 <= float(cn.sel(chemistry="NMC")) <= 80
    # EU premium over Chinese imports: LFP 24-50%, NMC 10-27% (003 Fig. 5): median within a widened band
    gap = med.cost_gap_quantile.sel(year=2025, region="EU")
    landed = float(cn.sel(chemistry="LFP")) + 3
    assert 0.05 <= float(gap.sel(chemistry="LFP")) / landed <= 0.8
    # 2025 average pack price near 108 USD/kWh (003 Fig. 15)
    assert 80 <= float(med.pack_price_average_quantile.sel(year=2025)) <= 130
    # 2030: cell utilisation well below full (003: <= 64% implied), demand below 5,100 GWh upper bound
    assert float(med.utilization_world_quantile.sel(year=2030)) < 0.85
    demand2030 = s.demand_mean.sel(year=2030).sum()
    assert 2500 < float(demand2030) < 6500
    # EV demand 2025 near 1,187 GWh (003 Fig. 2)
    assert 1000 < float(s.demand_mean.sel(year=2025, segment="EV").sum()) < 1400
    # costs fall over time
    assert float(med.pack_cost_average_quantile.sel(year=2040)) < float(med.pack_cost_average_quantile.sel(year=2025))


def test_supply_shock_scenario_raises_shortage_and_price():
    base = mcbattery.forecast("baseline", draws=1024, seed=2, chunk_size=1024)
    shock = mcbattery.forecast("lithium_supply_shock", draws=1024, seed=2, chunk_size=1024)
    y = 2027
    li = {"material": "lithium"}
    assert float(shock.summary.price_ratio_mean.sel(year=y, **li)) > float(base.summary.price_ratio_mean.sel(year=y, **li))
    assert float(shock.summary.material_supply_mean.sel(year=y, **li)) < float(base.summary.material_supply_mean.sel(year=y, **li))


def test_tariff_lever_reduces_us_imports(tmp_path):
    f = tmp_path / "high_tariff.toml"
    f.write_text('[meta]\ndescription = "x"\n[set.import_tariff]\nlow = { CN = 0.0, US = 0.0, EU = 1.0, ROW = 0.0 }\nhigh = { CN = 0.0, US = 0.0, EU = 1.0, ROW = 0.0 }\n')
    base = mcbattery.forecast("baseline", draws=512, seed=2, chunk_size=512)
    high = mcbattery.forecast(f, draws=512, seed=2, chunk_size=512)
    eu = dict(region="EU", year=2028)
    assert float(high.summary.import_share_mean.sel(**eu)) < float(base.summary.import_share_mean.sel(**eu))


def test_scenarios_share_random_numbers_for_unchanged_parameters():
    from mcbattery.engine import sample_params

    base = mcbattery.load_scenario("baseline")
    shock = mcbattery.load_scenario("lithium_supply_shock")
    a, b = sample_params(base, 64, seed=3), sample_params(shock, 64, seed=3)
    changed = set(shock.shifted)
    for name in a:
        if name not in changed:
            np.testing.assert_array_equal(a[name], b[name], err_msg=name)
    assert not np.array_equal(a["supply_shock_fraction"], b["supply_shock_fraction"])


def test_keeping_draws_does_not_change_the_summary():
    a = mcbattery.forecast(draws=700, seed=8, chunk_size=256)
    b = mcbattery.forecast(draws=700, seed=8, chunk_size=256, keep_draws=300)
    for v in a.summary.data_vars:
        np.testing.assert_array_equal(a.summary[v].values, b.summary[v].values, err_msg=v)


def test_narrow_histogram_counts_flush_exactly(monkeypatch):
    """uint16 counts emptied into int32 every FLUSH_GROUPS groups give the exact histogram,
    added to the totals passed in, padding rows excluded (groups of 2 blocks, flush forced
    every 2 groups, 5 blocks run: flushes after blocks 4 and 5)."""
    import jax
    import jax.numpy as jnp

    from mcbattery.engine import kernel as engine
    from mcbattery.engine.layout import make_layout
    from mcbattery.engine.sampling import prior_fields, structure
    from mcbattery.inputs.priors import load_scenario

    monkeypatch.setattr(engine, "GROUP", 2)
    monkeypatch.setattr(engine, "FLUSH_GROUPS", 2)
    p = load_scenario("baseline")
    layout = make_layout(6, 2025, {k: v.thresholds for k, v in OUTPUTS.items()}, p.coords)
    kernel = engine.make_kernel(structure(p), 6, 2025, layout, narrow_counts=True)
    run = jax.jit(kernel, static_argnames=("chunk_groups", "with_draws"))
    n_blocks, n_valid = 5, 5 * engine.BLOCK - 100
    n_hist = layout.n_columns * (BINS + 2)
    before = jnp.zeros(n_hist + 1, jnp.int32).at[7].set(5)  # totals from earlier chunks
    res = run(jax.random.PRNGKey(3), jnp.int32(0), jnp.int32(n_blocks), jnp.int32(n_valid),
              prior_fields(p), before, chunk_groups=3, with_draws=True)
    total, x = np.array(res[5]), np.asarray(res[8])[:n_valid]
    assert total.dtype == np.int32 and total[7] >= 5
    total[7] -= 5
    hist = total[:n_hist].reshape(layout.n_columns, BINS + 2)
    assert hist.sum() == n_valid * layout.n_columns
    # group moments, merged on the device along each group's tree of blocks
    assert np.asarray(res[0]).tolist() == [2 * engine.BLOCK, 2 * engine.BLOCK, engine.BLOCK - 100]
    for g, (a, b) in enumerate([(0, 512), (512, 1024), (1024, n_valid)]):
        xs = x[a:b].astype(np.float64)
        np.testing.assert_allclose(np.asarray(res[1])[g], xs.mean(axis=0), rtol=2e-5, atol=1e-6)
        m2 = ((xs - xs.mean(axis=0)) ** 2).sum(axis=0)
        np.testing.assert_allclose(np.asarray(res[2])[g], m2, rtol=2e-3, atol=1e-3 * (1 + m2.max()))

    @jax.jit
    def bins(x):  # the kernel's own bin formula, counted by NumPy
        tx = jnp.where(jnp.asarray(layout.log), jnp.log(jnp.maximum(x, 1e-30)), x)
        lo, width = jnp.asarray(layout.lo, x.dtype), jnp.asarray(layout.width, x.dtype)
        return jnp.clip(jnp.floor((tx - lo) / width) + 1, 0, BINS + 1).astype(jnp.int32)

    b = np.asarray(bins(jnp.asarray(x)))
    expected = np.zeros_like(hist)
    for col in range(layout.n_columns):
        expected[col] = np.bincount(b[:, col], minlength=BINS + 2)
    np.testing.assert_array_equal(hist, expected)


def test_side_by_side_groups_give_the_same_numbers_for_any_chunk_size(monkeypatch):
    """Accelerators simulate several groups per loop turn (``engine.runner.WAVE_GROUPS``; forced on
    the CPU here with 2 groups per turn): results are bit-identical for any chunk size and
    device split, and agree with the one-block-at-a-time CPU path to float32 rounding (XLA
    vectorises the model differently for 512 and 8,192 draws at once)."""
    from mcbattery import engine
    from mcbattery.engine import runner
    from mcbattery.inputs.priors import load_scenario

    p = load_scenario("baseline")
    n = 3 * engine.GROUP * engine.BLOCK + 900  # a wave and a half: the second wave partly empty
    one_block = engine.run(p, n, seed=3, chunk_size=4096, keep_draws=n, end_year=2030)
    monkeypatch.setattr(runner, "WAVE_GROUPS", {"cpu": 2})
    runs = [engine.run(p, n, seed=3, chunk_size=c, keep_draws=n, end_year=2030) for c in (4096, 3 * 4096)]
    a, b = (r.acc for r in runs)
    for k in one_block.kept:
        np.testing.assert_array_equal(runs[0].kept[k], runs[1].kept[k], err_msg=k)
        # float32 rounding differs between the two programs; a rare draw can turn a rounding
        # difference into a different whole-year lead time, so a few draws may differ more
        x, y = runs[0].kept[k], one_block.kept[k]
        off = ~np.isclose(x, y, rtol=1e-3, atol=1e-3).reshape(len(x), -1).all(axis=1)
        assert off.mean() <= 0.01, (k, off.mean())
    for f in ("mean", "m2", "vmin", "vmax", "hist", "exceed"):
        np.testing.assert_array_equal(getattr(a, f), getattr(b, f), err_msg=f)
    assert a.count == b.count == one_block.acc.count == n and a.invalid == 0
    # means agree to float32 rounding except in columns where one of the draws above took
    # another branch
    off_columns = ~np.isclose(a.mean, one_block.acc.mean, rtol=1e-3, atol=1e-6)
    assert off_columns.mean() <= 0.01, off_columns.mean()
    assert abs(int(a.hist.sum()) - int(one_block.acc.hist.sum())) == 0


def test_histogram_totals_read_back_before_they_could_overflow(monkeypatch):
    """The device keeps int32 histogram totals across chunks and the host reads them back
    before any bin could pass HIST_LIMIT; forcing a tiny limit (a read-back every chunk) gives
    the same histogram as one read at the end."""
    from mcbattery import engine
    from mcbattery.engine import runner
    from mcbattery.inputs.priors import load_scenario

    p = load_scenario("baseline")
    n = 2 * engine.GROUP * engine.BLOCK + 300
    ref = engine.run(p, n, seed=6, chunk_size=4096, end_year=2028)
    monkeypatch.setattr(runner, "HIST_LIMIT", engine.GROUP * engine.BLOCK + 1)
    low = engine.run(p, n, seed=6, chunk_size=4096, end_year=2028)
    assert ref.acc.hist.sum() == low.acc.hist.sum() == n * ref.layout.n_columns
    np.testing.assert_array_equal(ref.acc.hist, low.acc.hist)
    np.testing.assert_array_equal(ref.acc.mean, low.acc.mean)
