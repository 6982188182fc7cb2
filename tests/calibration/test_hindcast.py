"""Tests of rolling hindcasts and forecast scores (mcbattery.calibration.hindcast)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.stats

from mcbattery.calibration import hindcast
from mcbattery.calibration import learning
from mcbattery.common.errors import InputError

FAST = dict(num_warmup=200, num_samples=200, num_chains=2)


def test_crps_sample_matches_gaussian_closed_form():
    rng = np.random.default_rng(0)
    mu, sigma = 0.3, 0.7
    y = np.array([-1.5, 0.0, 0.3, 1.0, 3.0])
    x = mu + sigma * rng.standard_normal((20000, y.size))
    exact = hindcast.crps_gaussian(y, mu, sigma)
    np.testing.assert_allclose(hindcast.crps_sample(x, y), exact, rtol=0.02)
    # Brute-force O(S²) energy form on a small sample agrees with the sorted shortcut.
    small = x[:200, :]
    pair = np.abs(small[:, None, :] - small[None, :, :]).sum(axis=(0, 1)) / (200 * 199)
    brute = np.abs(small - y).mean(axis=0) - 0.5 * pair
    np.testing.assert_allclose(hindcast.crps_sample(small, y), brute, rtol=1e-10)
    # A point mass: CRPS is the absolute error.
    np.testing.assert_allclose(hindcast.crps_gaussian(1.0, 0.0, 1e-9), 1.0, rtol=1e-6)


def test_crps_student_t_closed_form():
    rng = np.random.default_rng(1)
    y = np.array([-2.0, 0.1, 0.5, 4.0])
    draws = 0.2 + 0.5 * rng.standard_t(4, size=(40000, y.size))
    np.testing.assert_allclose(hindcast.crps_student_t(y, 4, 0.2, 0.5), hindcast.crps_sample(draws, y), rtol=0.03)
    np.testing.assert_allclose(hindcast.crps_student_t(y, 1e6, 0.2, 0.5), hindcast.crps_gaussian(y, 0.2, 0.5),
                               rtol=1e-4)
    assert np.isnan(hindcast.crps_student_t(0.0, 1, 0.0, 1.0))


def test_log_score_kde_close_to_gaussian_density():
    rng = np.random.default_rng(2)
    y = np.array([-1.0, 0.0, 0.5, 2.0])
    x = rng.standard_normal((20000, y.size))
    np.testing.assert_allclose(hindcast.log_score_kde(x, y), -scipy.stats.norm.logpdf(y), atol=0.05)


def test_way_forecast_variance_matches_monte_carlo():
    # The closed form must equal the variance of simulated forecast errors under its own model.
    rng = np.random.default_rng(3)
    b, sigma, rho, n, horizon = 0.35, 0.1, 0.19, 8, np.array([1, 3, 6])
    log_q = np.concatenate([[0.0], np.cumsum(rng.uniform(0.1, 0.6, n + 5))])
    errors, scales = [], []
    for i in range(4000):
        frame = learning.simulate(b, sigma, rho, np.exp(log_q), seed=i)
        lc = np.log(frame["unit_cost"].to_numpy())
        mean, scale, df = hindcast.way_forecast(lc[:n], log_q[:n], log_q[n - 1 + horizon], horizon, rho=rho)
        errors.append(lc[n - 1 + horizon] - mean)
        # Scale with the true σ to test the variance formula itself.
        scales.append(scale)
    errors = np.array(errors)
    dx = np.diff(log_q[:n])
    s = np.sum(dx**2)
    h = log_q[n - 1 + horizon] - log_q[n - 1]
    lag = np.sum(dx[1:] * dx[:-1])
    var = sigma**2 * (1 + rho**2 + (horizon - 1) * (1 + rho) ** 2 - 2 * rho * h * dx[-1] / s
                      + (h / s) ** 2 * ((1 + rho**2) * s + 2 * rho * lag))
    np.testing.assert_allclose(errors.var(axis=0), var, rtol=0.08)
    assert abs(errors.mean(axis=0)).max() < 0.02
    # Estimated σ̂ is unbiased for σ² on average: mean scale² close to the true variance.
    np.testing.assert_allclose(np.mean(np.array(scales) ** 2, axis=0), var, rtol=0.15)
    assert df == n - 2


def _panel():
    frames = []
    for i, (b, sigma) in enumerate([(0.4, 0.05), (0.2, 0.15)]):
        q = np.exp(np.linspace(0, 3, 9))
        f = learning.simulate(b, sigma, 0.2, q, initial_cost=10.0 * (i + 1), seed=i)
        frames.append(f.assign(series=f"tech{i}"))
    return pd.concat(frames, ignore_index=True)


def test_rolling_hindcast_tiny_panel():
    panel = _panel()
    result = hindcast.rolling_hindcast(panel, draws=400, seed=0, min_points=6, fit_options=FAST)
    assert list(result.columns) == ["series", "origin", "horizon", "method", "metric", "value"]
    assert set(result["method"]) == {"mcbattery", "wright_ols", "way2022"}
    # 9 points, ≥ 6 to fit: origins 2005, 2006, 2007 with 3 + 2 + 1 target years per series.
    per_metric = result[(result.method == "mcbattery") & (result.metric == "crps")]
    assert len(per_metric) == 2 * 6
    assert sorted(per_metric.groupby("series").origin.unique().iloc[0]) == [2005, 2006, 2007]
    assert set(per_metric["horizon"]) == {1, 2, 3}
    cov = result[result.metric.str.startswith("coverage_") & (result.method != "wright_ols")]["value"]
    assert set(cov.unique()) <= {0.0, 1.0}
    assert result[(result.method == "wright_ols") & result.metric.str.startswith("coverage_")]["value"].isna().all()
    nested = result[(result.method == "mcbattery") & result.metric.str.startswith("coverage_")]
    wide = nested.pivot_table(index=["series", "origin", "horizon"], columns="metric", values="value")
    assert (wide["coverage_50"] <= wide["coverage_80"]).all() and (wide["coverage_80"] <= wide["coverage_95"]).all()
    crps = result[result.metric == "crps"].pivot_table(index=["series", "origin", "horizon"], columns="method",
                                                      values="value")
    assert (crps > 0).all().all()

    summary = hindcast.summarise_hindcast(result)
    assert list(summary.columns) == ["method", "horizon", "coverage_50", "coverage_80", "coverage_95", "crps",
                                     "log_score", "n"]
    row = summary[(summary.method == "mcbattery") & (summary.horizon == 1)].iloc[0]
    assert row["n"] == 6
    expected = per_metric[per_metric.horizon == 1]["value"].mean()
    assert row["crps"] == pytest.approx(expected)
    assert summary[summary.method == "wright_ols"]["coverage_80"].isna().all()

    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    fig = hindcast.plot_hindcast(summary)
    assert isinstance(fig, matplotlib.figure.Figure) and len(fig.axes) == 3


def test_rolling_hindcast_explicit_origins_and_baselines_only():
    panel = _panel()
    result = hindcast.rolling_hindcast(panel, origins=[2006], methods=("way2022", "wright_ols"), min_points=5)
    assert set(result["origin"]) == {2006} and set(result["horizon"]) == {1, 2}
    assert set(result["method"]) == {"way2022", "wright_ols"}


def test_rolling_hindcast_input_errors():
    panel = _panel()
    with pytest.raises(InputError, match="series"):
        hindcast.rolling_hindcast(panel.drop(columns="series"))
    bad = panel.copy()
    bad.loc[3, "unit_cost"] = -1.0
    with pytest.raises(InputError, match="tech0"):
        hindcast.rolling_hindcast(bad)
    with pytest.raises(InputError, match="levels"):
        hindcast.rolling_hindcast(panel, levels=(0.5, 1.2))
    with pytest.raises(InputError, match="method"):
        hindcast.summarise_hindcast(pd.DataFrame({"x": [1]}))
