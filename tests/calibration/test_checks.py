"""Tests of the calibration's checks and companions (mcbattery.calibration.checks)."""

from __future__ import annotations

import numpy as np
import pytest

from mcbattery.calibration import checks
from mcbattery.calibration.priors import LearningPriors
from mcbattery.common.errors import InputError

pytest.importorskip("arviz")


def test_cell_series_prior_path_before_2010():
    """1991-2024, cumulative production rising throughout; the pre-2010 path reaches q0 at the
    end of 2009 at the stated growth; defaults are prior medians, not fitted values."""
    f = checks.cell_series()
    assert list(f.columns) == ["series", "year", "cumulative_production", "unit_cost"]
    assert f.year.min() == 1991 and f.year.max() >= 2024
    q = f.set_index("year")["cumulative_production"]
    assert (np.diff(q.to_numpy()) > 0).all()
    pri = LearningPriors()
    assert q[2009] == pytest.approx(pri.q0_median)
    assert np.log(q[2009] / q[2008]) == pytest.approx(pri.early_growth_median)
    g = checks.cell_series(early_growth=0.2, q0=50.0).set_index("year")["cumulative_production"]
    assert g[2009] == pytest.approx(50.0) and np.log(g[2009] / g[2008]) == pytest.approx(0.2)
    assert checks.cell_series(first_year=2010).year.min() == 2010
    with pytest.raises(InputError):
        checks.cell_series(early_growth=-0.1)


def test_cell_series_from_a_posterior(small_idata, tmp_path):
    from mcbattery.calibration.store import save_posterior

    path, _ = save_posterior(small_idata, tmp_path / "posterior.nc")
    f = checks.cell_series(posterior=path).set_index("year")["cumulative_production"]
    assert f[2009] == pytest.approx(float(small_idata.posterior["learning__q0"].mean()), rel=1e-5)
    with pytest.raises(InputError, match="not found"):
        checks.cell_series(posterior=tmp_path / "none.nc")


def test_boom_check_rows_and_observed_ratio(small_idata):
    boom = checks.boom_check(small_idata, paths_per_sample=2, ratios=(2.0, 5.0))
    assert list(boom.index) == ["engine price block, posterior", "monthly fit, posterior",
                                "engine price block, expert priors"]
    n = small_idata.posterior.sizes["chain"] * small_idata.posterior.sizes["draw"] * 2
    assert (boom["paths"] == n).all()
    p2, p5 = boom["P(max/start > 2)"], boom["P(max/start > 5)"]
    assert ((0 <= p5) & (p5 <= p2) & (p2 <= 1)).all()
    # the engine block and the monthly fit are one process written twice: Monte Carlo error apart
    assert abs(p2.iloc[0] - p2.iloc[1]) < 5 * np.sqrt(0.25 / n) + 0.02
    assert boom.attrs["origin"] == 2020 and boom.attrs["observed_ratio"] > 5  # the 2021-2022 boom
    with pytest.raises(InputError, match="origin"):
        checks.boom_check(small_idata, origin=1990)


@pytest.mark.filterwarnings("ignore:Estimated shape parameter of Pareto")
def test_moore_comparison_and_loo(small_idata, until):
    out = checks.moore_comparison(until=until, seed=1, idata=small_idata, num_warmup=100, num_samples=100,
                                  num_chains=2)
    assert {"summary", "diagnostics", "annual_decline_mean", "annual_decline_90", "fit", "elpd_moore",
            "elpd_wright"} <= set(out)
    lo, hi = out["annual_decline_90"]
    assert lo < out["annual_decline_mean"] < hi and 0 < out["annual_decline_mean"] < 0.3  # prices fell
    assert all(np.isfinite(v) for v in out["elpd_moore"] + out["elpd_wright"])


def test_published_learning_rates():
    for lo, hi in checks.PUBLISHED_LEARNING.values():
        assert 0.15 < lo < hi < 0.35
