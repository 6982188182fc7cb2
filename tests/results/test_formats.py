"""Tests of the Zarr and Parquet writers (mcbattery.results.formats)."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from mcbattery.common.errors import InputError
from mcbattery.results.formats import to_parquet, to_zarr


def test_zarr_and_parquet_exports(baseline_small, tmp_path):
    pytest.importorskip("zarr")
    pq = pytest.importorskip("pyarrow.parquet")

    s = baseline_small.summary
    path = to_zarr(baseline_small, tmp_path / "f.zarr")
    to_zarr(baseline_small, path)  # overwrite in place
    z = xr.open_zarr(path)
    np.testing.assert_array_equal(z.material_price_quantile.values, s.material_price_quantile.values)
    assert z.attrs["scenario"] == "baseline" and z.material_price_mean.attrs["units"] == "USD(2024)/t"
    assert list(z.material.values) == ["lithium", "nickel", "cobalt", "graphite"]
    assert list(z.region.values) == ["CN", "US", "EU", "ROW"]
    assert xr.open_zarr(tmp_path / "f_draws.zarr").sizes["draw"] == 512
    p = to_parquet(baseline_small, tmp_path / "f.parquet")
    t = pq.read_table(p)
    df = t.to_pandas()
    assert {"variable", "statistic", "year", "value", "units"} <= set(df.columns)
    med = df.query("variable == 'material_price' and statistic == 'quantile' and quantile == 0.5 and year == 2030"
                   " and material == 'lithium'").value
    assert len(med) == 1
    assert float(med.iloc[0]) == pytest.approx(float(s.material_price_quantile.sel(quantile=0.5, year=2030, material="lithium")))
    import json

    assert json.loads(t.schema.metadata[b"mcbattery"])["seed"] == 7
    assert pq.read_table(tmp_path / "f_draws.parquet").num_rows > 0
    assert not [x for x in tmp_path.iterdir() if x.name.startswith(".")]
    with pytest.raises(InputError, match=r"expected one of \['.zarr'\]"):
        to_zarr(baseline_small, tmp_path / "f.nc")
    with pytest.raises(InputError, match="output folder"):
        to_parquet(baseline_small, tmp_path / "missing" / "f.parquet")


def test_a_dataset_alone_is_written_without_draws(baseline_small, tmp_path):
    pytest.importorskip("zarr")
    path = to_zarr(baseline_small.summary, tmp_path / "s.zarr")
    assert path.is_dir() and not (tmp_path / "s_draws.zarr").exists()
    np.testing.assert_array_equal(xr.open_zarr(path).material_price_mean.values,
                                  baseline_small.summary.material_price_mean.values)
    with pytest.raises(InputError, match="expected a Forecast"):
        to_zarr(42, tmp_path / "x.zarr")
