"""Tests of the posterior store (mcbattery.calibration.store)."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from mcbattery import calibration as cal
from mcbattery.calibration import store
from mcbattery.calibration.engine_map import engine_samples
from mcbattery.common.errors import InputError
from mcbattery.inputs.locations import POSTERIOR_DIR
from mcbattery.inputs.posterior import DEFAULT_POSTERIOR, load_engine_samples

pytest.importorskip("arviz")


def test_save_posterior_roundtrip(small_idata, tmp_path, until):
    post_path, eng_path = store.save_posterior(small_idata, tmp_path / "posterior.nc")
    assert eng_path == tmp_path / "engine_samples.nc"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["engine_samples.nc", "posterior.nc"]
    back = store.load_posterior(post_path)
    attrs = back.posterior.attrs
    for key in ("created_at", "mcbattery_version", "data_vintage", "until", "seed", "posterior_sha256"):
        assert key in attrs, key
    assert attrs["posterior_sha256"] == store.posterior_hash(back) == store.posterior_hash(small_idata)
    # the posterior group is stored exactly; predictive groups are packed to int16
    for name in small_idata.posterior.data_vars:
        np.testing.assert_array_equal(back.posterior[name].values, small_idata.posterior[name].values)
    ll, ll_back = small_idata.log_likelihood["price__log_price"], back.log_likelihood["price__log_price"]
    span = float(ll.max() - ll.min())
    assert float(np.abs(ll_back.values - ll.values).max()) <= span / 65000.0
    # the engine file is NetCDF3 (scipy reader) with the same arrays the engine loader returns
    ds = xr.open_dataset(eng_path, engine="scipy")
    assert ds.attrs["posterior_sha256"] == attrs["posterior_sha256"] and ds.attrs["until"] == str(until)
    loaded, info = load_engine_samples(eng_path)
    expected = engine_samples(small_idata)
    assert set(loaded) == set(expected)
    for k in expected:
        np.testing.assert_allclose(loaded[k], expected[k], rtol=1e-7)
    assert str(until) in info["data_vintage"]


def test_save_posterior_refuses_other_suffixes_and_leaves_no_temporaries(small_idata, tmp_path):
    with pytest.raises(InputError, match=".nc"):
        store.save_posterior(small_idata, tmp_path / "posterior.txt")
    assert list(tmp_path.iterdir()) == []


def test_posterior_hash_changes_with_any_value(small_idata):
    h = store.posterior_hash(small_idata)
    assert len(h) == 64 and h == store.posterior_hash(small_idata.copy())
    changed = small_idata.copy()
    changed.posterior["price__anchor"][0, 0] = changed.posterior["price__anchor"][0, 0] + 1.0
    assert store.posterior_hash(changed) != h


def test_engine_samples_path_and_load_errors(tmp_path):
    assert store.engine_samples_path(tmp_path / "posterior.nc").name == "engine_samples.nc"
    assert store.engine_samples_path(tmp_path / "run.nc").name == "run_engine_samples.nc"
    with pytest.raises(InputError, match="not found"):
        store.load_posterior(tmp_path / "missing.nc")
    bad = tmp_path / "bad.nc"
    bad.write_text("not netcdf")
    with pytest.raises(InputError, match="cannot read"):
        store.load_posterior(bad)


def test_shipped_posterior_is_one_attribute(monkeypatch, tmp_path):
    """The package name, the store's attribute and the engine's default sit in one folder, and
    pointing either name elsewhere moves what ``calibrate --ship`` writes."""
    assert store.shipped_posterior() == store.SHIPPED_POSTERIOR == cal.SHIPPED_POSTERIOR
    assert store.SHIPPED_POSTERIOR.parent == POSTERIOR_DIR == DEFAULT_POSTERIOR.parent
    monkeypatch.setattr(cal, "SHIPPED_POSTERIOR", tmp_path / "a.nc")
    assert store.shipped_posterior() == tmp_path / "a.nc"
    monkeypatch.setattr(store, "SHIPPED_POSTERIOR", tmp_path / "b.nc")
    assert cal.SHIPPED_POSTERIOR == tmp_path / "b.nc"
    with pytest.raises(InputError, match="not found"):
        store.load_posterior()  # the default follows it


def test_posterior_readme_reports_diagnostics_and_parameters(small_idata):
    import pandas as pd

    boom = pd.DataFrame({"P(max/start > 5)": [0.1]}, index=pd.Index(["engine price block, posterior"], name="process"))
    boom.attrs.update(origin=2020, horizon=3, observed_ratio=7.5)
    text = store.posterior_readme(small_idata, boom)
    assert text.startswith("# Shipped calibrated posterior")
    for m in ("learning", "price", "demand"):
        assert f"| {m} |" in text
    assert "`price_reversion`" in text and "learning rate per doubling" in text
    assert "Boom check from 2020" in text and "P(max/start > 5) = 10.0%" in text
    assert small_idata.posterior.attrs["posterior_sha256"] in text
