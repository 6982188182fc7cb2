"""Tests of the out-of-sample history (mcbattery.calibration.history): what happened, how a
forecast is scored against it, the figure, and the checks made before any calibration runs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import mcbattery
from mcbattery.calibration import history
from mcbattery.common.errors import InputError


@pytest.fixture(scope="module")
def hindcast_summary():
    """A small forecast from the 2020 start state with the expert priors (no posterior)."""
    return mcbattery.forecast("hindcast_2020", draws=512, seed=1, end_year=2025, posterior=None, chunk_size=512).summary


def test_realised_outcomes_are_the_shipped_data():
    r = history.realised(2021, 2025)
    assert set(r["outcome"]) == set(history.OUTCOMES) and r["year"].between(2021, 2025).all()
    value = r.set_index(["outcome", "year"])["value"]
    assert value["lithium_price", 2022] == pytest.approx(73_817, rel=0.01)  # the 2022 spike
    assert value["ev_battery_demand", 2022] == pytest.approx(557, rel=0.01)
    assert value["pack_price", 2021] > value["pack_price", 2025]
    notes = r.set_index(["outcome", "year"])["note"]
    assert notes["lithium_price", 2024] == "4 months"  # a partial year says so
    assert len(history.realised(2023, 2023)) < len(r)


def test_scores_put_each_outcome_beside_its_interval(hindcast_summary):
    actual = history.realised(2021, 2025)
    s = history.score(hindcast_summary, actual)
    assert len(s) == len(actual)
    assert (s["low"] <= s["median"]).all() and (s["median"] <= s["high"]).all()
    assert (s["inside"] == ((s["low"] <= s["value"]) & (s["value"] <= s["high"]))).all()
    assert s["percentile"].between(0, 1).all()
    # an outcome at the forecast's median sits at its 50th percentile, one far above at 1
    probe = actual.iloc[:1].copy()
    probe["value"] = s["median"].iloc[0]
    assert history.score(hindcast_summary, probe)["percentile"].iloc[0] == pytest.approx(0.5, abs=1e-6)
    probe["value"] = 1e9
    row = history.score(hindcast_summary, probe).iloc[0]
    assert row["percentile"] == 1.0 and not row["inside"]
    # a narrower interval is inside a wider one
    s50 = history.score(hindcast_summary, actual, level=0.5)
    assert (s50["low"] >= s["low"]).all() and (s50["high"] <= s["high"]).all()


def test_an_interval_the_forecast_has_no_quantiles_for_is_refused(hindcast_summary):
    with pytest.raises(InputError, match="no 0.15 and 0.85 quantiles"):
        history.score(hindcast_summary, history.realised(2021, 2021), level=0.7)


def test_years_outside_the_forecast_are_left_out(hindcast_summary):
    s = history.score(hindcast_summary, history.realised(2021, 2030))
    assert s["year"].max() <= 2025


def test_the_figure_has_one_panel_per_outcome(hindcast_summary):
    import matplotlib

    matplotlib.use("Agg")
    s = history.score(hindcast_summary, history.realised(2021, 2025))
    fig = history.plot_history(s)
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(visible) == len(history.OUTCOMES)
    assert f"{int(s['inside'].sum())} of {len(s)}" in fig._suptitle.get_text()


def test_a_scenario_that_does_not_start_the_year_after_the_origin_is_refused_before_calibrating(monkeypatch):
    from mcbattery.calibration import fit

    monkeypatch.setattr(fit, "calibrate", lambda *a, **k: pytest.fail("calibrated before checking the scenario"))
    with pytest.raises(InputError, match="needs a 2021 start"):
        history.run_history(until=2020, scenario="hindcast_2020", draws=256)
