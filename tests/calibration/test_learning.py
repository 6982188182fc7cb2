"""Tests of the Bayesian learning-curve fit and forecast (mcbattery.learning)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.stats
import xarray as xr

from mcbattery.calibration import learning
from mcbattery.calibration.models import increments_log_likelihood
from mcbattery.common.errors import InputError

FAST = dict(num_warmup=200, num_samples=200, num_chains=2)


def _series(n=10, b=0.4, sigma=0.1, rho=0.2, seed=0):
    rng = np.random.default_rng(seed)
    q = np.exp(np.concatenate([[0.0], np.cumsum(rng.uniform(0.1, 0.6, n - 1))]))
    return learning.simulate(b, sigma, rho, q, initial_cost=100.0, seed=seed)


def test_exact_wright_recovers_exponent():
    q = np.exp(np.linspace(0.0, 3.0, 10))
    frame = pd.DataFrame({"year": np.arange(2000, 2010), "cumulative_production": q, "unit_cost": 50 * q**-0.4})
    fit = learning.fit(frame, seed=1, **FAST)
    b = fit.posterior["learning_exponent"]
    assert abs(float(b.mean()) - 0.4) < 0.01
    assert float(b.std()) < 0.02
    assert float(fit.posterior["noise_scale"].median()) < 0.02


def _sbc_ranks(fit_priors, reps=48, n=10, thin=4, seed=0):
    """Rank of each true parameter among thinned posterior draws (SBC, Talts et al. 2018).

    Series are simulated from the full default prior, the exponent's random walk included;
    the drift τ and the first-year exponent are checked alongside σ and ρ.
    """
    truth = learning.sample_prior(learning.LearningCurvePriors.default(), reps, seed=seed)
    rng = np.random.default_rng(seed)
    names = {"learning_exponent": "initial_learning_exponent", "noise_scale": "noise_scale",
             "noise_autocorrelation": "noise_autocorrelation", "learning_exponent_drift": "learning_exponent_drift"}
    ranks = {k: [] for k in names}
    for i in range(reps):
        q = np.exp(np.concatenate([[0.0], np.cumsum(rng.uniform(0.1, 0.6, n - 1))]))
        frame = learning.simulate(truth["learning_exponent"][i], truth["noise_scale"][i],
                                  truth["noise_autocorrelation"][i], q, seed=seed + i,
                                  exponent_drift=truth["learning_exponent_drift"][i])
        fit = learning.fit(frame, seed=i, priors=fit_priors, **FAST)
        for k, post in names.items():
            draws = fit.posterior[post].values[:, ::thin].reshape(-1)
            ranks[k].append(int(np.sum(draws < truth[k][i])))
    return {k: np.array(v) for k, v in ranks.items()}, 2 * FAST["num_samples"] // thin


def _uniformity_pvalues(ranks, n_draws, bins=4):
    """Chi-square p-value per parameter for ranks in 0..n_draws split into equal bins."""
    out = {}
    for k, r in ranks.items():
        counts = np.histogram(r, bins=np.linspace(0, n_draws + 1, bins + 1))[0]
        out[k] = scipy.stats.chisquare(counts).pvalue
    return out


def test_simulation_based_calibration():
    ranks, n_draws = _sbc_ranks(None)
    pvalues = _uniformity_pvalues(ranks, n_draws)
    # 4 parameters tested at 0.001 each: family-wise false alarm rate ≈ 0.004 with 48 replications.
    assert min(pvalues.values()) > 1e-3, pvalues


def test_simulation_based_calibration_detects_wrong_prior():
    # Power check: fitting with a noise prior 4x too high must break rank uniformity.
    ranks, n_draws = _sbc_ranks({"noise_median": 0.4, "noise_log_sd": 0.3})
    pvalues = _uniformity_pvalues(ranks, n_draws)
    assert pvalues["noise_scale"] < 1e-3, pvalues


def test_simulation_based_calibration_detects_wrong_drift_prior():
    # Power check for the drift: a prior on τ 10x too small and narrow must break its ranks.
    ranks, n_draws = _sbc_ranks({"drift_median": learning.LearningCurvePriors().drift_median / 10, "drift_log_sd": 0.3}, reps=32)
    pvalues = _uniformity_pvalues(ranks, n_draws)
    assert pvalues["learning_exponent_drift"] < 1e-3, pvalues


def test_forecast_interval_coverage_on_simulated_data():
    truth = learning.sample_prior(num_samples=60, seed=7)
    rng = np.random.default_rng(7)
    hits = {0.5: [], 0.8: []}
    for i in range(60):
        q = np.exp(np.concatenate([[0.0], np.cumsum(rng.uniform(0.1, 0.6, 11))]))
        frame = learning.simulate(truth["learning_exponent"][i], truth["noise_scale"][i],
                                  truth["noise_autocorrelation"][i], q, seed=100 + i,
                                  exponent_drift=truth["learning_exponent_drift"][i])
        fit = learning.fit(frame.iloc[:8], seed=i, **FAST)
        fc = learning.forecast(fit, cumulative_production=q[8:], draws=400, seed=i)
        y = np.log(frame["unit_cost"].to_numpy()[8:])
        x = np.log(fc.values)
        for level in hits:
            lo, hi = np.quantile(x, [(1 - level) / 2, (1 + level) / 2], axis=0)
            hits[level].append(np.mean((y >= lo) & (y <= hi)))
    for level, per_series in hits.items():
        per_series = np.array(per_series)
        se = per_series.std(ddof=1) / np.sqrt(per_series.size)
        assert abs(per_series.mean() - level) < 3 * se + 0.02, (level, per_series.mean(), se)


def test_five_point_series_default_options():
    frame = _series(n=5, seed=3)
    fit = learning.fit(frame)
    table = fit.summary()
    assert list(table.columns) == ["mean", "sd", "5%", "95%", "r_hat", "ess_bulk"]
    assert set(table.index) == {"learning_exponent", "initial_learning_exponent", "learning_exponent_drift",
                                "noise_scale", "noise_autocorrelation"}
    assert np.all(np.isfinite(table.to_numpy()))
    diag = fit.diagnostics
    assert diag["r_hat_max"] < 1.05 and diag["ess_bulk_min"] > 400
    assert fit.posterior.sizes == {"chain": 4, "draw": 1000}
    # Four increments cannot pin the noise down: the posterior must stay wide.
    assert float(fit.posterior["noise_scale"].quantile(0.95) / fit.posterior["noise_scale"].quantile(0.05)) > 2


def test_noisy_series_with_gaps_and_moore_variant():
    frame = _series(n=14, sigma=0.3, seed=5).iloc[[0, 1, 2, 4, 5, 8, 9, 10, 13]]
    fit = learning.fit(frame, seed=2, **FAST)
    assert fit.last_year == int(frame["year"].max())
    assert np.all(fit.last_innovation_sd.values >= 0)
    moore = learning.fit(frame, model="moore", seed=2, **FAST)
    assert "progress_rate" in moore.posterior and "learning_exponent" not in moore.posterior
    fc = learning.forecast(moore, years=[2015, 2020], draws=50)
    assert fc.sizes == {"draw": 50, "point": 2}
    assert list(fc["year"].values) == [2015, 2020]


def test_forecast_dims_coords_and_continuity():
    frame = _series(n=8, seed=4)
    fit = learning.fit(frame, seed=0, **FAST)
    q_last = frame["cumulative_production"].iloc[-1]
    future = q_last * np.array([1.2, 1.5, 2.5])
    fc = learning.forecast(fit, cumulative_production=future, draws=300, seed=3)
    assert isinstance(fc, xr.DataArray) and fc.name == "unit_cost"
    assert fc.dims == ("draw", "point") and fc.shape == (300, 3)
    np.testing.assert_allclose(fc["cumulative_production"].values, future)
    assert list(fc["year"].values) == [2008, 2009, 2010]
    assert np.all(fc.values > 0)
    # Same seed, same draws; spread grows with horizon; the median starts near the last cost.
    xr.testing.assert_equal(fc, learning.forecast(fit, cumulative_production=future, draws=300, seed=3))
    spread = np.log(fc).std("draw").values
    assert spread[0] < spread[-1]
    assert abs(np.log(float(fc.isel(point=0).median()) / frame["unit_cost"].iloc[-1])) < 0.5
    with pytest.raises(InputError, match="cumulative_production"):
        learning.forecast(fit, cumulative_production=[q_last * 0.5], draws=10)
    with pytest.raises(InputError, match="cumulative_production"):
        learning.forecast(fit, cumulative_production=[q_last * 3, q_last * 2], draws=10)


def test_inference_data_groups():
    pytest.importorskip("arviz")
    fit = learning.fit(_series(n=6, seed=8), seed=0, **FAST)
    idata = fit.to_inference_data()
    for group in ("posterior", "sample_stats", "observed_data", "prior", "posterior_predictive"):
        assert hasattr(idata, group), group
    assert idata.posterior_predictive["log_cost_increment"].shape == (2, 200, 5)


def _good():
    return pd.DataFrame({"year": [2000, 2001, 2002, 2003], "cumulative_production": [1.0, 2.0, 4.0, 8.0],
                         "unit_cost": [10.0, 8.0, 6.5, 5.0]})


@pytest.mark.parametrize(
    "mutate, column",
    [
        (lambda f: f.iloc[:2], "year"),
        (lambda f: f.assign(unit_cost=[10.0, 0.0, 6.5, 5.0]), "unit_cost"),
        (lambda f: f.assign(unit_cost=[10.0, -1.0, 6.5, 5.0]), "unit_cost"),
        (lambda f: f.assign(cumulative_production=[0.0, 2.0, 4.0, 8.0]), "cumulative_production"),
        (lambda f: f.assign(cumulative_production=[1.0, 2.0, 2.0, 8.0]), "cumulative_production"),
        (lambda f: f.assign(cumulative_production=[1.0, 3.0, 2.0, 8.0]), "cumulative_production"),
        (lambda f: f.assign(unit_cost=[10.0, np.nan, 6.5, 5.0]), "unit_cost"),
        (lambda f: f.assign(year=[2000, 2001, 2001, 2003]), "year"),
        (lambda f: f.assign(year=[2000, 2001.37, 2002, 2003]), "year"),  # on no clock
        (lambda f: f.drop(columns="unit_cost"), "unit_cost"),
        (lambda f: f.drop(columns="cumulative_production"), "cumulative_production"),
        (lambda f: f.assign(unit_cost=["a", "b", "c", "d"]), "unit_cost"),
    ],
)
def test_bad_input_raises_input_error(mutate, column):
    with pytest.raises(InputError) as info:
        learning.fit(mutate(_good()), **FAST)
    message = str(info.value)
    assert isinstance(info.value, ValueError)
    assert column in message and "\n" not in message


def test_bad_options_raise_input_error():
    with pytest.raises(InputError, match="model"):
        learning.fit(_good(), model="logistic")
    with pytest.raises(InputError, match="priors"):
        learning.fit(_good(), priors={"nonsense": 1.0})


def _dense_loglik(frame, b, sigma, rho, tau):
    """Exact log density of the observed increments by building their covariance (float64)."""
    s = learning.validate_series(frame)
    dt = learning.clock_step(s.years)
    steps = learning.steps_of(s.years[1:], s.years[0], dt)
    span = steps[-1]
    sigma, tau = sigma * np.sqrt(dt), tau * np.sqrt(dt)  # per-step scales
    dx = learning._annual_dx(steps, np.diff(s.log_q))
    g = np.zeros((steps.size, 2 * span + 1))  # loadings on η_1..η_T and ε_0..ε_T
    mean = np.zeros(steps.size)
    prev = 0
    for i, st in enumerate(steps):
        for t in range(prev + 1, st + 1):
            mean[i] -= b * dx[t - 1]
            g[i, :t] -= tau * dx[t - 1]
            g[i, span + t] += sigma
            g[i, span + t - 1] += rho * sigma
        prev = st
    return scipy.stats.multivariate_normal(mean, g @ g.T).logpdf(np.diff(s.log_cost))


def _tridiagonal_arrays(s):
    """(dx, gaps, dy, mask, first) of a series' observed increments, front-padded to 8."""
    dy, gaps, dx = np.diff(s.log_cost), np.diff(s.years), np.diff(s.log_q)
    pad = 8 - dy.size
    mask = np.r_[np.zeros(pad, bool), np.ones(dy.size, bool)]
    first = np.zeros(8, bool)
    first[pad] = True
    return (np.r_[np.zeros(pad), dx].astype(np.float32), np.r_[np.ones(pad), gaps].astype(np.float32),
            np.r_[np.zeros(pad), dy].astype(np.float32), mask, first)


def test_kalman_likelihood_is_exact_with_gaps():
    """The filter equals a dense Gaussian built from the model; with τ = 0 it equals the
    tridiagonal likelihood of the static model."""
    frame = _series(n=14, seed=5).iloc[[0, 1, 2, 4, 5, 8, 9, 10, 13]]
    s = learning.validate_series(frame)
    annual = learning._annual_arrays(s, "wright")
    tridiagonal = _tridiagonal_arrays(s)
    for b, sigma, rho, tau in [(0.4, 0.1, 0.3, 0.0), (0.2, 0.3, -0.5, 0.1), (0.6, 0.05, 0.8, 0.3)]:
        ll, _, _ = learning._kalman(np.float32(b), np.float32(sigma), np.float32(rho), np.float32(tau), *annual)
        assert float(ll) == pytest.approx(_dense_loglik(frame, b, sigma, rho, tau), abs=2e-3)
        if tau == 0.0:
            assert float(ll) == pytest.approx(float(increments_log_likelihood(b, sigma, rho, *tridiagonal)), abs=2e-3)


def test_drifting_exponent_gets_wider_long_horizon_intervals():
    q = np.exp(np.linspace(0.0, 0.35 * 24, 25))
    b_path = 0.5 + np.concatenate([np.zeros(12), np.linspace(0.05, 0.6, 12)])  # learning slows, then stops
    log_c = np.log(100.0) - np.concatenate([[0.0], np.cumsum(b_path * np.diff(np.log(q)))])
    noise = np.random.default_rng(1).normal(0.0, 0.05, 25)
    drifting = pd.DataFrame({"year": np.arange(2000, 2025), "cumulative_production": q,
                             "unit_cost": np.exp(log_c + noise)})
    fixed = learning.simulate(0.5, 0.05, 0.0, q, initial_cost=100.0, seed=1)
    future = q[-1] * np.exp(0.35 * np.arange(1, 9))
    spread, tau = {}, {}
    for name, frame in (("drifting", drifting), ("fixed", fixed)):
        fit = learning.fit(frame, seed=0, **FAST)
        tau[name] = float(fit.posterior["learning_exponent_drift"].median())
        x = np.log(learning.forecast(fit, cumulative_production=future, draws=2000, seed=0).values)
        spread[name] = np.subtract(*np.quantile(x, [0.9, 0.1], axis=0))
    assert tau["drifting"] > 2 * tau["fixed"], tau
    assert spread["drifting"][-1] > 1.5 * spread["fixed"][-1], spread
    # The exponent walk widens intervals faster than noise alone: ratio of 8-year to 1-year width.
    assert spread["drifting"][-1] / spread["drifting"][0] > spread["fixed"][-1] / spread["fixed"][0]


def test_static_option_matches_constant_exponent_model():
    frame = _series(n=10, seed=6)
    fit = learning.fit(frame, seed=0, drift=False, **FAST)
    assert "learning_exponent_drift" not in fit.posterior and not fit.drift
    assert set(fit.summary().index) == {"learning_exponent", "noise_scale", "noise_autocorrelation"}
    np.testing.assert_allclose(fit.last_state["mean"].values[..., 0], 0.0, atol=1e-6)
    fc = learning.forecast(fit, cumulative_production=frame["cumulative_production"].iloc[-1] * np.array([2.0, 4.0]), draws=100)
    assert fc.shape == (100, 2) and np.all(np.isfinite(fc.values))


@pytest.mark.parametrize(
    "frame",
    [
        _series(n=3, seed=11),  # the fewest points accepted
        _series(n=5, sigma=0.6, seed=12),  # short and very noisy
        pd.DataFrame({"year": [2000, 2001, 2002, 2003, 2004], "cumulative_production": [1.0, 2.0, 3.0, 5.0, 9.0],
                      "unit_cost": [7.0, 7.0, 7.0, 7.0, 7.0]}),  # flat costs: zero increments
        pd.DataFrame({"year": [2000, 2001, 2006, 2007, 2015], "cumulative_production": [1.0, 1.1, 50.0, 60.0, 1e6],
                      "unit_cost": [3e6, 2.9e6, 1e5, 9e4, 2.0]}),  # long gaps, huge scale range
    ],
)
def test_short_noisy_and_odd_series_fit_and_forecast(frame):
    fit = learning.fit(frame, seed=0, **FAST)
    table = fit.summary()
    assert np.all(np.isfinite(table[["mean", "sd", "5%", "95%"]].to_numpy()))
    q_last = frame["cumulative_production"].iloc[-1]
    fc = learning.forecast(fit, cumulative_production=q_last * np.array([1.5, 3.0, 10.0]), draws=500, seed=1)
    x = np.log(fc.values)
    assert np.all(np.isfinite(x))
    assert np.all(np.diff(x.std(axis=0)) > 0)


def test_overlong_span_raises_input_error():
    frame = pd.DataFrame({"year": [1000, 1001, 2500], "cumulative_production": [1.0, 2.0, 4.0],
                          "unit_cost": [3.0, 2.0, 1.0]})
    with pytest.raises(InputError, match="year"):
        learning.fit(frame, **FAST)


def test_fractional_years_and_irregular_gaps():
    """Quarterly stamps with irregular gaps: the filter is the exact Gaussian with per-step
    variances σ² dt and τ² dt; a monthly series fits and forecasts on its clock."""
    years = 2010 + np.array([0, 1, 2, 3, 5, 6, 9, 10, 11, 15, 16, 20]) / 4
    q = np.exp(np.linspace(0.0, 3.0, years.size))
    frame = learning.simulate(0.4, 0.1, 0.2, q, years=years, initial_cost=50.0, seed=3, exponent_drift=0.1)
    s = learning.validate_series(frame)
    assert learning.clock_step(s.years) == 0.25
    arrays = learning._annual_arrays(s, "wright")
    for b, sigma, rho, tau in [(0.4, 0.1, 0.3, 0.0), (0.2, 0.3, -0.5, 0.2)]:
        ll, _, _ = learning._kalman(np.float32(b), np.float32(sigma), np.float32(rho), np.float32(tau), *arrays)
        assert float(ll) == pytest.approx(_dense_loglik(frame, b, sigma, rho, tau), abs=2e-3)
    monthly = learning.simulate(0.05, 0.05, 0.1, np.exp(np.linspace(0, 1, 30)), years=2018 + np.arange(30) / 12,
                                model="moore", seed=4)
    fit = learning.fit(monthly, model="moore", seed=0, **FAST)
    assert fit.last_year == pytest.approx(2018 + 29 / 12)
    fc = learning.forecast(fit, years=fit.last_year + np.array([1, 2, 12]) / 12, draws=200, seed=1)
    assert fc.shape == (200, 3) and np.all(np.isfinite(fc.values))
    assert np.allclose(fc.year.values, fit.last_year + np.array([1, 2, 12]) / 12)
    with pytest.raises(InputError, match="clock"):
        learning.forecast(fit, years=[fit.last_year + 0.01], draws=10)
