"""Paired scenario comparison: common random numbers, exact zero for a self-comparison,
agreement with the engine and the forecast, the CLI command."""

from __future__ import annotations

import numpy as np
import pytest

from mcbattery.engine.direct import sample_rows, simulate_rows
from mcbattery.inputs.scenarios import resolve_scenario
from mcbattery.research.compare import compare
from mcbattery.common.errors import InputError

OUTS = ["material_price", "unmet_share", "cell_cost", "demand", "utilization_world"]
LI = {"material": "lithium"}


@pytest.fixture(scope="module")
def shock_vs_base():
    # same seed and posterior ("default") as the session's baseline_small forecast (conftest),
    # whose first 512 draws are kept
    return compare("baseline", "lithium_supply_shock", draws=512, seed=7, outputs=OUTS)


def test_self_comparison_is_exactly_zero():
    ds = compare("baseline", "baseline", draws=300, seed=3, outputs=OUTS, posterior=None)
    assert ds.attrs["changed_parameters"] == "none" and ds.attrs["valid_draws"] == 300
    for name in OUTS:
        for stat in ("mean", "sd", "mcse", "min", "max", "quantile"):
            v = ds[f"{name}_diff_{stat}"].values
            assert np.all(v == 0.0), f"{name}_diff_{stat}"
        assert np.all(ds[f"{name}_diff_exceedance"].values == 0.0)
        np.testing.assert_array_equal(ds[f"{name}_a_mean"].values, ds[f"{name}_b_mean"].values)
    assert np.all(ds.unmet_share_exceedance_change_mean.values == 0.0)
    assert np.all(ds.unmet_share_exceedance_change_mcse.values == 0.0)


def test_crn_paired_variance_far_below_independent(shock_vs_base):
    ds = shock_vs_base
    assert ds.attrs["changed_parameters"] == "delay_probability, supply_shock_fraction"
    # the shock starts in 2027: earlier demand is untouched, draw by draw
    assert np.all(ds.demand_diff_sd.sel(year=[2025, 2026]).values == 0.0)
    # outputs the scenario changes less than draws differ: paired variance at most half of
    # var(a) + var(b) (the 2030 LFP cell cost still carries the lithium shock's after-effects)
    for name, sel in (("cell_cost", dict(year=2030, region="CN", chemistry="LFP")),
                      ("demand", dict(year=2030, segment="storage", region="EU")),
                      ("utilization_world", dict(year=2026))):
        v_diff = float(ds[f"{name}_diff_sd"].sel(sel)) ** 2
        v_ind = float(ds[f"{name}_a_sd"].sel(sel)) ** 2 + float(ds[f"{name}_b_sd"].sel(sel)) ** 2
        assert v_diff < 0.5 * v_ind, (name, v_diff, v_ind)
    # the shock itself shows, with its own interval, in its first year (2027). In the second
    # year the lithium price can already be below the baseline's: a first-year spike moves new
    # cells to sodium-ion and cuts demand (chemistry choice, pack-price response), so the
    # direction of the 2028 difference is not fixed draw by draw.
    d = ds.material_price_diff_quantile.sel(year=2027, **LI)
    assert float(d.sel(quantile=0.5)) > 0 and float(d.sel(quantile=0.975)) > float(d.sel(quantile=0.025))
    # paired draws: lost mine capacity never makes the first-year price lower (draws already at
    # the price ceiling in the baseline tie at exactly zero) ...
    assert float(d.sel(quantile=0.025)) >= 0.0
    assert float(ds.material_price_diff_exceedance.sel(year=2027, material_price_diff_threshold=0.0, **LI)) > 0.7
    # ... and the difference is far tighter than two independent samples would make it
    sel = dict(year=2027, **LI)
    v_diff = float(ds.material_price_diff_sd.sel(sel)) ** 2
    v_ind = float(ds.material_price_a_sd.sel(sel)) ** 2 + float(ds.material_price_b_sd.sel(sel)) ** 2
    assert v_diff < 0.5 * v_ind, (v_diff, v_ind)
    # the shock makes lithium demand go unmet in more draws
    ch = ds.unmet_share_exceedance_change_mean.sel(year=2027, unmet_share_threshold=0.0, **LI)
    se = ds.unmet_share_exceedance_change_mcse.sel(year=2027, unmet_share_threshold=0.0, **LI)
    assert float(se) > 0.0 and float(ch) > 2 * float(se), (float(ch), float(se))
    # exceedance change is the difference of the two probabilities
    np.testing.assert_allclose(
        ds.unmet_share_exceedance_change_mean.values,
        ds.unmet_share_b_exceedance.values - ds.unmet_share_a_exceedance.values, atol=1e-12)


def test_scenario_a_matches_the_forecast(shock_vs_base, baseline_small):
    ds, kept = shock_vs_base, baseline_small.draws
    assert ds.attrs["valid_draws"] == kept.sizes["draw"] == 512
    for name in ("material_price", "cell_cost", "utilization_world"):
        np.testing.assert_allclose(ds[f"{name}_a_mean"].values, kept[name].mean("draw").values, rtol=1e-4)
    # P(unmet > 0) is sensitive to rounding (0 against 1e-7); the deeper thresholds are not
    for t in (0.05, 0.1):
        p = (kept.unmet_share > t).mean("draw").values
        np.testing.assert_allclose(ds.unmet_share_a_exceedance.sel(unmet_share_threshold=t).values, p, atol=2.5e-3)


def test_diff_quantiles_match_exact_quantiles():
    ds = compare("baseline", "unipolar", draws=512, seed=11, outputs=["utilization_world"], posterior=None,
                 quantiles=(0.1, 0.5, 0.9))
    idx = np.arange(512)
    ys = []
    for name in ("baseline", "unipolar"):
        pri = resolve_scenario(name, posterior=None)
        ys.append(simulate_rows(sample_rows(pri, idx, seed=11), idx, 11, 2025, 2040)["utilization_world"][:, 5])
    d = ys[1].astype(float) - ys[0].astype(float)
    exact = np.quantile(d, [0.1, 0.5, 0.9])
    got = ds.utilization_world_diff_quantile.sel(year=2030).values
    np.testing.assert_allclose(got, exact, atol=0.05 * float(np.std(d)) + 1e-6)
    np.testing.assert_allclose(float(ds.utilization_world_diff_mean.sel(year=2030)), d.mean(), rtol=1e-9)


def test_bad_inputs():
    with pytest.raises(InputError, match="unknown output"):
        compare("baseline", "baseline", draws=10, outputs=["nope"], posterior=None)
    with pytest.raises(InputError, match="draws"):
        compare("baseline", "baseline", draws=1, posterior=None)
    with pytest.raises(InputError, match="unknown scenario"):
        compare("baseline", "no_such_scenario", draws=10, posterior=None)
    with pytest.raises(InputError, match="quantiles"):
        compare("baseline", "baseline", draws=10, quantiles=(0.5, 1.5), posterior=None)


# ----------------------------------------------------------------------------- CLI


def test_streaming_difference_statistics_are_chunk_invariant():
    from mcbattery.research.compare import _PairStats

    rng = np.random.default_rng(0)
    n = 3000
    a = rng.lognormal(3.0, 1.0, size=(n, 4))
    b = a * (1 + 0.2 * rng.standard_normal((n, 4)))
    b[:, 1] = a[:, 1] + rng.standard_t(2, n)  # heavy-tailed differences
    b[:, 3] = a[:, 3]  # no difference at all
    idx = np.arange(n)
    qs = (0.025, 0.1, 0.5, 0.9, 0.975)
    results = []
    for chunk in (256, 1024, n):
        st = _PairStats(4, np.array([0, 1]), np.array([20.0, 20.0]))
        for s in range(0, n, chunk):
            st.add(a[s:s + chunk], b[s:s + chunk], idx[s:s + chunk])
        results.append((st.quantiles(qs), st.d.mean, st.d.sd, st.flips.copy()))
    for q, mean, sd, flips in results[1:]:
        np.testing.assert_array_equal(q, results[0][0])
        np.testing.assert_allclose(mean, results[0][1], rtol=1e-12)
        np.testing.assert_allclose(sd, results[0][2], rtol=1e-12)
        np.testing.assert_array_equal(flips, results[0][3])
    d = b - a
    exact = np.quantile(d, qs, axis=0)
    q = results[0][0]
    np.testing.assert_allclose(q[:, :3], exact[:, :3], rtol=0.01, atol=0.01 * d[:, :3].std(axis=0).min())
    assert np.all(q[:, 3] == 0.0)
    np.testing.assert_allclose(results[0][1], d.mean(axis=0), rtol=1e-10, atol=1e-12)
