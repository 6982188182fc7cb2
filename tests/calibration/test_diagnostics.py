"""Tests of the convergence diagnostics and summaries (mcbattery.calibration.diagnostics)."""

from __future__ import annotations

import numpy as np
import pytest

from mcbattery.calibration import diagnostics as D
from mcbattery.calibration.engine_map import ENGINE_MAP
from mcbattery.calibration.priors import MODELS

az = pytest.importorskip("arviz")


def test_rhat_ess_of_independent_and_stuck_chains():
    rng = np.random.default_rng(0)
    iid = rng.standard_normal((4, 500))
    rhat, ess = D.rhat_ess(iid)
    assert rhat < 1.01 and 1500 < ess < 2500  # about the 2,000 draws
    stuck = iid + np.arange(4)[:, None]  # chains at different levels
    rhat_s, ess_s = D.rhat_ess(stuck)
    assert rhat_s > 1.5 and ess_s < 50
    assert np.isnan(D.rhat_ess(np.ones((2, 50)))[0])
    assert (rhat, ess) == (float(az.rhat(iid)), float(az.ess(iid, method="bulk")))


def test_diagnostics_failure_path(small_idata):
    table = D.diagnostics_table(small_idata)
    assert list(table.index) == list(MODELS)
    assert set(table.columns) == {"r_hat_max", "r_hat_worst", "ess_bulk_min", "ess_worst", "divergences", "draws",
                                  "seconds"}
    assert D.check_diagnostics(small_idata, max_rhat=1.5, min_ess=20, max_divergences=10) == []
    ess_failures = [f for f in D.check_diagnostics(small_idata, min_ess=1e9) if "bulk ESS" in f]
    assert [f.split(":")[0] for f in ess_failures] == list(MODELS)
    broken = small_idata.copy()
    broken.posterior["price__anchor"][0] = broken.posterior["price__anchor"][0] * 3.0
    broken.sample_stats["demand__diverging"][1, 5] = True
    failures = D.check_diagnostics(broken, max_rhat=1.5, min_ess=20, max_divergences=0)
    assert any(f.startswith("price: R-hat") and "price__anchor" in f for f in failures), failures
    assert any(f.startswith("demand: 1 divergent") for f in failures), failures


def test_learning_rate_summary_is_one_minus_two_to_the_minus_b(small_idata):
    s = D.learning_rate_summary(small_idata, level=0.8)
    b = small_idata.posterior["learning__exponent"].values.reshape(-1).astype(float)
    lr = 1 - 2.0 ** -b
    assert s["median"] == pytest.approx(np.median(lr), rel=1e-5)
    assert s["lower"] == pytest.approx(np.quantile(lr, 0.1), rel=1e-5)
    assert s["exponent_mean"] == pytest.approx(b.mean(), rel=1e-6) and s["level"] == 0.8
    assert s["lower"] < s["median"] < s["upper"]


def test_summary_table_rows_and_sd_ratio(small_idata):
    table = D.summary_table(small_idata)
    assert {"conversion_learning_exponent[LFP]", "conversion_learning_exponent[NMC]", "price_reversion",
            "demand_saturation[EV]"} <= set(table.index)
    assert set(table["model"]) == set(MODELS)
    assert all(name.split("[")[0] in ENGINE_MAP for name in table.index)
    ordered = table[["posterior_low", "posterior_median", "posterior_high"]].to_numpy()
    assert np.all(ordered[:, 0] <= ordered[:, 1]) and np.all(ordered[:, 1] <= ordered[:, 2])
    # monthly prices pin the volatility down: much narrower than its prior
    assert table.loc["price_volatility", "sd_ratio"] < 0.3
    post = small_idata.posterior["price_reversion"].values.reshape(-1)
    assert table.loc["price_reversion", "posterior_median"] == pytest.approx(np.median(post), rel=1e-5)
