"""Tests of the calibration against history (mcbattery.calibration) and its CLI commands.

Every fit here uses the same small NUTS settings and data lengths as the shared
``until=2022`` calibration, so each model's sampler is compiled once per process.
"""

from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest
import scipy.special
import scipy.stats
import xarray as xr
from click.testing import CliRunner

from mcbattery import calibration as cal
from mcbattery.calibration import driver
from mcbattery.calibration import learning
from mcbattery.model import prices
from mcbattery.cli.group import Group
from mcbattery.cli.calibration import calibrate as calibrate_cmd
from mcbattery.cli.calibration import hindcast as hindcast_cmd
from mcbattery.model.coords import COORDS
from mcbattery.common.errors import InputError
from mcbattery.model.params import REGISTRY, SUPPORTS

az = pytest.importorskip("arviz")

UNTIL = 2022
FAST = dict(num_warmup=300, num_samples=300, num_chains=2)


@pytest.fixture(scope="module")
def small_idata():
    return cal.calibrate(until=UNTIL, seed=3, **FAST)


def _cli():
    return Group(name="mcbattery", commands={"calibrate": calibrate_cmd, "hindcast": hindcast_cmd})


def _inside(x, truth, level=0.99):
    lo, hi = np.quantile(np.asarray(x).reshape(-1), [(1 - level) / 2, (1 + level) / 2])
    return lo <= truth <= hi


# --------------------------------------------------------------------------- data and `until`


def test_until_truncates_every_series(small_idata):
    assert cal.learning_data(2018)["year"].max() == 2018
    assert cal.learning_data(2018)["year"].min() == 2010
    months = pd.DatetimeIndex(cal.price_data(2019)["month"])
    assert months.max() == pd.Timestamp("2019-12-01") and months.min() == pd.Timestamp("2017-05-01")
    assert cal.demand_data(2020)["year"].tolist() == list(range(driver.DEMAND_FIRST_YEAR, 2021))
    assert cal.demand_data(2016, first_year=2010)["year"].tolist() == list(range(2010, 2017))
    obs = small_idata.observed_data
    assert int(obs["learning__year"].max()) == UNTIL and int(obs["demand__year"].max()) == UNTIL
    assert pd.Timestamp(obs["price__month"].values.max()).year == UNTIL
    attrs = small_idata.posterior.attrs
    assert attrs["until"] == str(UNTIL)
    assert "lithium_carbonate_monthly 2022-12" in attrs["data_vintage"]
    with pytest.raises(InputError, match="until"):
        cal.price_data(2016)
    with pytest.raises(InputError, match="until"):
        cal.calibrate(until=2019.5)


def test_inference_data_groups_and_shared_draws(small_idata):
    groups = set(small_idata.groups())
    assert {"posterior", "sample_stats", "observed_data", "prior", "posterior_predictive", "log_likelihood"} <= groups
    post = small_idata.posterior
    assert post.sizes["chain"] == FAST["num_chains"] and post.sizes["draw"] == FAST["num_samples"]
    for m in cal.MODELS:
        assert f"{m}__diverging" in small_idata.sample_stats
    assert small_idata.prior.sizes["draw"] == FAST["num_samples"]
    # engine-named and latent variables; latents carry a model prefix
    for name in post.data_vars:
        assert name in REGISTRY or name.split("__")[0] in cal.MODELS, name
    # pointwise log-likelihood of the learning model sums to the shared learning.py likelihood
    d = cal.learning_data(UNTIL)
    q0, s = float(post["learning__q0"][0, 0]), float(post["learning__nonev_scale"][0, 0])
    b, sig, rho = (float(post[f"learning__{k}"][0, 0]) for k in ("exponent", "noise_scale", "noise_autocorrelation"))
    dx, dy = driver.learning_increments(q0, s, d["cum_ev"], d["log_cost"])
    gaps, mask, first = driver._first_mask(dy.shape[0])
    total = float(learning._log_likelihood(b, sig, rho, dx, gaps, dy, mask, first))
    pointwise = small_idata.log_likelihood["learning__log_cost_increment"].values[0, 0]
    assert pointwise.sum() == pytest.approx(total, rel=1e-4, abs=1e-3)


# --------------------------------------------------------------------------- engine samples


def test_engine_samples_match_registry(small_idata):
    samples = cal.engine_samples(small_idata)
    assert set(samples) == set(cal.ENGINE_MAP)
    n = FAST["num_chains"] * FAST["num_samples"]
    for name, arr in samples.items():
        spec = REGISTRY[name]
        assert arr.shape == (n, *(len(COORDS[d]) for d in spec.dims)), name
        lo, hi = SUPPORTS[spec.support]
        assert np.all(np.isfinite(arr)) and np.all(arr >= lo) and np.all(arr <= hi), name
        da = small_idata.posterior[name]
        assert da.dims == ("chain", "draw", *spec.dims)
        for d in spec.dims:
            assert list(da[d].values) == list(COORDS[d])
    # cell-level exponent on LFP and NMC (same draw), Na-ion from its expert prior
    b = samples["conversion_learning_exponent"]
    np.testing.assert_array_equal(b[:, 0], b[:, 1])
    np.testing.assert_allclose(b[:, 0], small_idata.posterior["learning__exponent"].values.reshape(-1), rtol=1e-6)
    assert abs(b[:, 2].mean() - 0.421) < 0.02 and not np.allclose(b[:, 2], b[:, 0])
    # EV demand from the fit, storage from the expert prior (truncnormal mean 0.35)
    g = samples["demand_growth_rate"]
    np.testing.assert_allclose(g[:, 0], small_idata.posterior["demand__growth_rate"].values.reshape(-1), rtol=1e-6)
    assert abs(g[:, 1].mean() - 0.35) < 0.03
    # annual boom probabilities: the switch within a year, 1 - (1 - p)^12; the engine's monthly
    # hazards give back the fitted monthly probabilities
    e = small_idata.posterior["price__entry_monthly"].values.reshape(-1)
    x = small_idata.posterior["price__exit_monthly"].values.reshape(-1)
    np.testing.assert_allclose(samples["boom_exit_probability"], 1 - (1 - x.astype(float)) ** 12, rtol=1e-4)
    np.testing.assert_allclose(samples["boom_entry_logit"], scipy.special.logit(1 - (1 - e.astype(float)) ** 12),
                               rtol=1e-3, atol=1e-4)
    eng = {k: jnp.asarray(v) for k, v in samples.items()}
    np.testing.assert_allclose(prices.entry_hazard(dict(eng, boom_entry_tightness=jnp.zeros_like(eng["boom_entry_logit"])),
                                                   0.0), e, rtol=1e-4)
    np.testing.assert_allclose(prices.monthly_hazard(eng["boom_exit_probability"]), x, rtol=1e-4)


def test_engine_price_block_is_the_fitted_monthly_process():
    """Draw by draw, with the same random numbers: a year of the engine's price step (tightness
    0) from calibration sites mapped as ENGINE_MAP maps them equals twelve months of the fitted
    monthly model (price_step_terms, regime switching first)."""
    truth = _price_truth()
    n, years = 64, 3
    rng = np.random.default_rng(4)
    eps = rng.standard_normal((years, 12, n))
    u = rng.uniform(size=(years, 12, n))
    p_in, p_out = cal.annual_price_parameters(truth["price__entry_monthly"], truth["price__exit_monthly"])
    eng = {"lithium_cost_anchor": truth["price__anchor"], "lithium_cost_anchor_trend": 0.02,
           "price_reversion": truth["price__reversion"], "price_volatility": truth["price__volatility"],
           "boom_drift": truth["price__drift"], "boom_entry_logit": float(scipy.special.logit(p_in)),
           "boom_exit_probability": float(p_out), "boom_ceiling": truth.get("price__ceiling", np.inf),
           "tightness_premium": 0.7, "boom_entry_tightness": 4.0}
    eng = {k: jnp.full(n, v, jnp.float32) for k, v in eng.items()}
    sites = dict(truth, price__anchor_trend=0.02)
    first_year = 2021
    lp_e, bm_e = jnp.full(n, math.log(8000.0)), jnp.zeros(n)
    y, bm = np.full(n, math.log(8000.0)), np.zeros(n)
    for t in range(years):
        lp_e, bm_e, mean_e, share_e = prices.step(eng, float(first_year - 2025 + t), lp_e, bm_e, jnp.zeros(n),
                                                  jnp.asarray(eps[t], jnp.float32), jnp.asarray(u[t], jnp.float32))
        months = []
        for j in range(12):
            tau = first_year + t - driver.ANCHOR_YEAR + (j - 5.5) / 12
            bm = np.where(bm > 0.5, u[t, j] < 1 - truth["price__exit_monthly"], u[t, j] < truth["price__entry_monthly"])
            mean0, d_m, s_m = (np.asarray(a, float) for a in driver.price_step_terms(sites, jnp.asarray(y), tau))
            y = mean0 + d_m * bm + s_m * eps[t, j]
            months.append(np.exp(y))
        np.testing.assert_allclose(np.asarray(lp_e), y, rtol=1e-4, atol=1e-4)
        np.testing.assert_array_equal(np.asarray(bm_e), bm)
        np.testing.assert_allclose(np.asarray(mean_e), np.mean(months, axis=0), rtol=1e-4)
    # the boom check's engine simulator is this block: annual means, start in column 0
    lp = cal.simulate_price_annual({k: np.asarray(v) for k, v in eng.items()}, 2, math.log(8000.0), 2021)
    assert lp.shape == (n, 3) and np.all(lp[:, 0] == math.log(8000.0)) and np.all(np.isfinite(lp))


def test_monthly_annual_price_conversion_is_exact():
    # A year of the monthly AR(1) equals one engine step: reversion, volatility and drift.
    k, vol, drift = 0.6, 0.3, 1.2
    k_m, s_m, d_m = (float(v) for v in cal.monthly_price_parameters(k, vol, drift))
    phi = 1 - k_m
    assert phi**12 == pytest.approx(1 - k, rel=1e-5)
    assert s_m**2 * sum(phi ** (2 * j) for j in range(12)) == pytest.approx(vol**2, rel=1e-4)
    assert d_m * sum(phi**j for j in range(12)) == pytest.approx(drift, rel=1e-4)


def test_price_ceiling_follows_the_engine_and_is_optional():
    with_c = cal.prior_distributions("price", cal.PricePriors(ceiling=True))
    without = cal.prior_distributions("price", cal.PricePriors(ceiling=False))
    assert set(with_c) - set(without) == {"price__ceiling"}
    assert cal.PricePriors().with_ceiling == ("boom_ceiling" in REGISTRY)
    assert ("boom_ceiling" in cal.ENGINE_MAP) == ("boom_ceiling" in REGISTRY)
    d = cal.price_data()
    truth = {k: v for k, v in _price_truth().items() if k != "price__ceiling"}
    base = np.asarray(cal.price_log_likelihood(d["log_price"], d["tau"], truth)[0])
    high = np.asarray(cal.price_log_likelihood(d["log_price"], d["tau"], dict(truth, price__ceiling=np.inf))[0])
    low = np.asarray(cal.price_log_likelihood(d["log_price"], d["tau"], dict(truth, price__ceiling=3.0))[0])
    assert np.all(np.isfinite(base)) and np.allclose(base, high, atol=1e-3)
    assert not np.allclose(base, low, atol=1e-3)  # a low ceiling stops the 2021-2022 boom drift


# --------------------------------------------------------------------------- parameter recovery


def test_learning_model_recovers_parameters():
    d = cal.learning_data(UNTIL)
    truth = dict(b=0.35, sigma=0.05, rho=0.2, q0=120.0, scale=1.3)
    q = truth["q0"] + truth["scale"] * d["cum_ev"]
    sim = learning.simulate(truth["b"], truth["sigma"], truth["rho"], q, years=d["year"], initial_cost=500.0, seed=4)
    data = dict(d, log_cost=np.log(sim["unit_cost"].to_numpy()))
    s, st, _ = cal.fit_model("learning", data, seed=1, **FAST)
    assert st["diverging"].sum() == 0
    assert _inside(s["learning__exponent"], truth["b"])
    assert _inside(s["learning__noise_scale"], truth["sigma"])
    assert abs(np.median(s["learning__exponent"]) - truth["b"]) < 0.15


def _price_truth():
    truth = {"price__reversion": 0.55, "price__volatility": 0.25, "price__drift": 1.6, "price__anchor": 9000.0,
             "price__anchor_trend": 0.0, "price__entry_monthly": 0.04, "price__exit_monthly": 0.1}
    if cal.PricePriors().with_ceiling:  # the engine's boom drift fades at boom_ceiling x anchor
        truth["price__ceiling"] = 12.0
    return truth


def test_price_model_recovers_parameters():
    d = cal.price_data(UNTIL)
    truth = _price_truth()
    y, boom = cal.simulate_price_monthly(truth, d["tau"].size - 1, math.log(20000.0), tau0=d["tau"][0], seed=11)
    assert boom.sum() >= 6  # the seed gives at least one boom to learn from
    s, st, _ = cal.fit_model("price", dict(d, log_price=y[0]), seed=2, **FAST)
    assert st["diverging"].sum() == 0
    for k in ("price__reversion", "price__volatility", "price__drift", "price__anchor"):
        assert _inside(s[k], truth[k]), (k, np.quantile(s[k], [0.005, 0.5, 0.995]))
    ll, pred, filt = cal.price_log_likelihood(y[0], d["tau"], truth)
    # the filter finds the simulated booms
    assert np.mean(np.asarray(filt)[boom[0, 1:] > 0.5]) > 0.6


def test_price_model_simulation_based_calibration():
    """SBC (Talts et al. 2018) of the price model: 24 series of 48 months simulated from
    parameters drawn from the prior, fitted jointly (independent replicates under a plate,
    the same priors and likelihood as price_model, one NUTS chain); the rank of each true
    value among the thinned posterior draws must be uniform."""
    import jax
    import jax.numpy as jnp

    reps, months, thin = 24, 48, 3
    truths = cal.sample_priors("price", n=reps, seed=5)
    tau = (np.arange(months) - months / 2) / 12.0
    series = []
    for i in range(reps):
        t = {k: v[i] for k, v in truths.items()}
        start = math.log(t["price__anchor"]) + 0.3 * np.random.default_rng(i).standard_normal()
        series.append(cal.simulate_price_monthly(t, months - 1, start, tau0=tau[0], seed=100 + i)[0][0])
    y_all = jnp.asarray(np.array(series), jnp.float32)
    z0 = cal.initial_points("price", None, jax.random.PRNGKey(1), 1, batch_shape=(reps,))

    post = cal.constrain("price", None, cal.run_nuts(_batched_price, (y_all, jnp.asarray(tau, jnp.float32)), z0, seed=0,
                                                      num_warmup=250, num_samples=250)[0])
    for k in ("price__reversion", "price__volatility", "price__drift", "price__anchor", "price__exit_monthly"):
        draws = post[k][0, ::thin]
        ranks = (draws < truths[k][None, :]).sum(axis=0)
        counts = np.histogram(ranks, bins=np.linspace(0, draws.shape[0] + 1, 4))[0]
        p = scipy.stats.chisquare(counts).pvalue
        assert p > 1e-3, (k, counts, p)


def _batched_price(y_all, tau):
    """Independent replicates of price_model's priors and likelihood under one plate."""
    import jax
    import jax.numpy as jnp
    import numpyro

    with numpyro.plate("rep", y_all.shape[0]):
        v = {k: numpyro.sample(k, d) for k, d in cal.prior_distributions("price").items()}

    loglik = jax.vmap(lambda params, y: cal.price_log_likelihood(y, tau, params)[0].sum())
    numpyro.factor("loglik", loglik(v, y_all).sum())


def test_demand_model_recovers_parameters():
    d = cal.demand_data(UNTIL)
    truth = dict(saturation=6000.0, rate=0.45, midpoint=2027.0, noise_sd=0.08, persistence=0.5)
    demand = cal.simulate_demand(d["year"], **truth, seed=1)
    s, st, _ = cal.fit_model("demand", dict(d, log_demand=np.log(demand)), seed=4, **FAST)
    assert st["diverging"].sum() <= 2
    assert _inside(s["demand__growth_rate"], truth["rate"])
    assert _inside(s["demand__noise_sd"], truth["noise_sd"])
    assert _inside(s["demand__midpoint_year"], truth["midpoint"])


# --------------------------------------------------------------------------- diagnostics


def test_diagnostics_failure_path(small_idata):
    table = cal.diagnostics_table(small_idata)
    assert list(table.index) == list(cal.MODELS)
    assert cal.check_diagnostics(small_idata, max_rhat=1.5, min_ess=20, max_divergences=10) == []
    ess_failures = [f for f in cal.check_diagnostics(small_idata, min_ess=1e9) if "bulk ESS" in f]
    assert [f.split(":")[0] for f in ess_failures] == list(cal.MODELS)
    broken = small_idata.copy()
    broken.posterior["price__anchor"][0] = broken.posterior["price__anchor"][0] * 3.0
    broken.sample_stats["demand__diverging"][1, 5] = True
    failures = cal.check_diagnostics(broken, max_rhat=1.5, min_ess=20, max_divergences=0)
    assert any(f.startswith("price: R-hat") and "price__anchor" in f for f in failures), failures
    assert any(f.startswith("demand: 1 divergent") for f in failures), failures


# --------------------------------------------------------------------------- saving


def test_save_posterior_roundtrip(small_idata, tmp_path):
    from mcbattery.inputs.posterior import load_engine_samples

    post_path, eng_path = cal.save_posterior(small_idata, tmp_path / "posterior.nc")
    assert eng_path == tmp_path / "engine_samples.nc"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["engine_samples.nc", "posterior.nc"]
    back = cal.load_posterior(post_path)
    attrs = back.posterior.attrs
    for key in ("created_at", "mcbattery_version", "data_vintage", "until", "seed", "posterior_sha256"):
        assert key in attrs, key
    assert attrs["posterior_sha256"] == cal.posterior_hash(back) == cal.posterior_hash(small_idata)
    # the engine file is NetCDF3 (scipy reader) with the same arrays the engine loader returns
    ds = xr.open_dataset(eng_path, engine="scipy")
    assert ds.attrs["posterior_sha256"] == attrs["posterior_sha256"] and ds.attrs["until"] == str(UNTIL)
    loaded, info = load_engine_samples(eng_path)
    expected = cal.engine_samples(small_idata)
    assert set(loaded) == set(expected)
    for k in expected:
        np.testing.assert_allclose(loaded[k], expected[k], rtol=1e-7)
    assert "2022" in info["data_vintage"]
    assert cal.engine_samples_path(tmp_path / "run.nc").name == "run_engine_samples.nc"
    with pytest.raises(InputError, match="not found"):
        cal.load_posterior(tmp_path / "missing.nc")


# --------------------------------------------------------------------------- CLI


def test_cli_calibrate_tiny_writes_and_exits_zero(tmp_path, monkeypatch):
    shipped = tmp_path / "ship" / "posterior.nc"
    monkeypatch.setattr(cal, "SHIPPED_POSTERIOR", shipped)  # --ship must not touch the real file here
    args = ["calibrate", "--until", str(UNTIL), "--samples", "300", "--warmup", "300", "--chains", "2",
            "--seed", "3", "--min-ess", "20", "--max-rhat", "1.5", "--max-divergences", "10", "--ship"]
    r = CliRunner().invoke(_cli(), args)
    assert r.exit_code == 0, r.output
    assert shipped.is_file() and (shipped.parent / "engine_samples.nc").is_file()
    readme = (shipped.parent / "README.md").read_text()
    assert "data vintage" in readme and "| price |" in readme
    assert "learning rate per doubling" in r.output and "Way et al." in r.output
    assert "P(max/start > 5)" in r.output
    # default thresholds fail at this size: exit 1, explanation, nothing written
    out = tmp_path / "strict.nc"
    r = CliRunner().invoke(_cli(), args[:-7] + ["--no-boom-check", "--out", str(out)])
    assert r.exit_code == 1
    assert "diagnostics failed" in r.output and not out.exists()
    r = CliRunner().invoke(_cli(), ["calibrate", "--out", str(tmp_path / "x.txt")])
    assert r.exit_code == 2 and "expected one of ['.nc']" in r.output
    r = CliRunner().invoke(_cli(), ["calibrate", "--ship", "--out", str(out)])
    assert r.exit_code == 2 and "not both" in r.output


def _panel() -> pd.DataFrame:
    frames = []
    for i, b in enumerate((0.3, 0.5)):
        q = np.exp(np.linspace(0.0, 3.0, 10))
        f = learning.simulate(b, 0.05, 0.2, q, years=np.arange(2000, 2010), initial_cost=100.0, seed=i)
        frames.append(f.assign(series=f"s{i}"))
    return pd.concat(frames, ignore_index=True)


def test_cli_hindcast_on_small_csv(tmp_path):
    csv = tmp_path / "panel.csv"
    _panel().to_csv(csv, index=False)
    out = tmp_path / "h.csv"
    r = CliRunner().invoke(_cli(), ["hindcast", "--data", str(csv), "--origins", "2004,2006", "--out", str(out),
                                    "--samples", "100", "--chains", "2", "--draws", "200", "--no-plot"])
    assert r.exit_code == 0, r.output
    summary = pd.read_csv(out)
    assert set(summary["method"]) == {"mcbattery", "wright_ols", "way2022"}
    assert {"coverage_80", "crps", "log_score", "n"} <= set(summary.columns)
    scores = pd.read_csv(tmp_path / "h_scores.csv")
    assert set(scores["origin"]) == {2004, 2006}
    assert "coverage_80" in r.output
    bad = tmp_path / "bad.csv"
    _panel().drop(columns="unit_cost").to_csv(bad, index=False)
    r = CliRunner().invoke(_cli(), ["hindcast", "--data", str(bad), "--out", str(tmp_path / "b.csv")])
    assert r.exit_code == 2 and "unit_cost" in r.output and len(r.output.strip().splitlines()) == 1
    r = CliRunner().invoke(_cli(), ["hindcast", "--data", str(tmp_path / "none.csv")])
    assert r.exit_code == 2 and "file not found" in r.output
    r = CliRunner().invoke(_cli(), ["hindcast", "--data", str(csv), "--origins", "20x4"])
    assert r.exit_code == 2 and "origins" in r.output


def test_cell_series_prior_path_before_2010():
    """1991-2024, cumulative production rising throughout; the pre-2010 path reaches q0 at the
    end of 2009 at the stated growth; defaults are prior medians, not fitted values."""
    f = cal.cell_series()
    assert f.year.min() == 1991 and f.year.max() >= 2024
    q = f.set_index("year")["cumulative_production"]
    assert (np.diff(q.to_numpy()) > 0).all()
    pri = cal.LearningPriors()
    assert q[2009] == pytest.approx(pri.q0_median)
    assert np.log(q[2009] / q[2008]) == pytest.approx(pri.early_growth_median)
    g = cal.cell_series(early_growth=0.2, q0=50.0).set_index("year")["cumulative_production"]
    assert g[2009] == pytest.approx(50.0) and np.log(g[2009] / g[2008]) == pytest.approx(0.2)
    assert cal.cell_series(first_year=2010).year.min() == 2010
    with pytest.raises(InputError):
        cal.cell_series(early_growth=-0.1)
