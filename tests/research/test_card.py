"""Tests of the forecast card (mcbattery.research.card)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from mcbattery.common.errors import InputError
from mcbattery.research.card import forecast_card, load_summary, quantile_mcse, write_card


def test_forecast_card(baseline_small, tmp_path):

    s = baseline_small.summary
    text = forecast_card(baseline_small)
    calibrated = bool(s.attrs["calibrated"])
    post = f"{s.attrs['posterior_file']} (hash {s.attrs['posterior_hash']}" if calibrated else "priors only (uncalibrated)"
    for needle in ("# mcbattery forecast card: baseline", post, "| seed | 7 |",
                   "Lithium price", "Nickel price", "Cobalt price", "Graphite price", "Average cell price paid",
                   "Average pack price paid", "P(a shortage year by 2030)",
                   "P(more than 10% of a material's demand unmet)", "| year | lithium | nickel | cobalt | graphite |",
                   "| CN |", "| EU |", "utilisation", s.attrs["priors_hash"], "mcbattery 0.1.0"):
        assert needle in text, needle
    assert "lithium carbonate" not in text.lower() and "lithium shortage" not in text.lower()
    assert text.count("\n| 20") == len(s.year)  # one shortage row per year
    for m in ("lithium", "nickel"):
        med = float(s.material_price_quantile.sel(year=2030, material=m, quantile=0.5))
        assert f"{med:,.0f} USD/t" in text, m
        err = float(quantile_mcse(s.material_price_quantile.sel(year=2030, material=m), 0.5, 2048))
        assert 0 < err < 0.2 * med, m
    med = float(s.cell_price_average_quantile.sel(year=2030, quantile=0.5))
    shown = f"{med:.0f}" if med >= 100 else f"{med:.1f}"
    assert f"Average cell price paid** (demand-weighted, USD(2024)/kWh), median: {shown} USD/kWh" in text
    p = float(s.shortage_ever_mean.sel(year=2030, material="lithium"))
    assert f"lithium {100 * p:.1f}% ± " in text
    row = next(line for line in text.splitlines() if line.startswith("| 2030 |"))
    p = s.unmet_share_exceedance.sel(year=2030, unmet_share_threshold=0.1)
    assert row.split(" | ")[1].startswith(f"{100 * float(p.sel(material='lithium')):.1f}%")
    assert row.split(" | ")[4].startswith(f"{100 * float(p.sel(material='graphite')):.1f}%")
    h = pd.DataFrame({"method": ["mcbattery"], "horizon": [1], "coverage_80": [0.8], "crps": [0.1],
                      "log_score": [0.0], "n": [5]})
    assert "| mcbattery | 1 | 0.80 | 0.100 | 5 |" in forecast_card(s, h)
    out = write_card(baseline_small, tmp_path / "card.md")
    assert out.read_text() == text  # deterministic: the card only reads the forecast
    assert not list(tmp_path.glob(".*.tmp"))
    with pytest.raises(InputError, match="output folder does not exist"):
        write_card(baseline_small, tmp_path / "nope" / "card.md")
    with pytest.raises(InputError, match="expected a Forecast"):
        forecast_card(42)


def test_load_summary_from_a_forecast_a_dataset_or_a_file(baseline_small, tmp_path):
    s = baseline_small.summary
    assert load_summary(baseline_small) is s and load_summary(s) is s
    path = tmp_path / "f.nc"
    baseline_small.to_netcdf(path)
    loaded = load_summary(path)
    np.testing.assert_array_equal(loaded.material_price_mean.values, s.material_price_mean.values)
    with pytest.raises(InputError, match="not found"):
        load_summary(tmp_path / "missing.nc")
    with pytest.raises(InputError, match="not a forecast summary"):
        load_summary(tmp_path / "f_draws.nc")


def test_quantile_mcse_is_the_binomial_error_over_the_density():
    """For quantiles of N(0, 1) stored at neighbouring levels, the error of the median is
    sqrt(q(1−q)/n) / φ(0) = sqrt(π/2)/sqrt(n)."""
    import scipy.stats

    levels = np.array([0.25, 0.5, 0.75])
    qa = xr.DataArray(scipy.stats.norm.ppf(levels), coords={"quantile": levels}, dims="quantile")
    got = float(quantile_mcse(qa, 0.5, 10_000))
    slope = (scipy.stats.norm.ppf(0.75) - scipy.stats.norm.ppf(0.25)) / 0.5  # the stored levels' slope
    assert got == pytest.approx(np.sqrt(0.25 / 10_000) * slope, rel=1e-9)
    assert got == pytest.approx(np.sqrt(np.pi / 2) / 100, rel=0.15)
    assert np.isnan(float(quantile_mcse(qa, 0.25, 10_000)))  # no stored level below: unknown
    assert np.isnan(float(quantile_mcse(qa, 0.5, 1)))
