"""Exports: tidy CSV round trip, atomic writes that leave nothing behind on failure."""

from __future__ import annotations

import pytest
import xarray as xr

from mcbattery import InputError
from mcbattery.results.export import atomic, check_output_path, tidy, write_netcdf


def _ds():
    return xr.Dataset(
        {
            "shortage_mean": (("year",), [0.1, 0.2], {"units": "1"}),
            "shortage_quantile": (("quantile", "year"), [[0.0, 0.1], [0.2, 0.3]], {"units": "1"}),
            "cell_cost_mean": (("year", "region"), [[1.0, 2.0], [3.0, 4.0]], {"units": "USD(2024)/kWh"}),
        },
        coords={"year": [2025, 2026], "quantile": [0.05, 0.95], "region": ["CN", "US"]},
    )


def test_tidy_has_one_row_per_number():
    df = tidy(_ds())
    assert len(df) == 2 + 4 + 4
    row = df[(df.variable == "shortage") & (df.statistic == "q0.95") & (df.year == 2026)]
    assert float(row.value.iloc[0]) == 0.3
    row = df[(df.variable == "cell_cost") & (df.statistic == "mean") & (df.region == "US") & (df.year == 2025)]
    assert float(row.value.iloc[0]) == 2.0 and row.units.iloc[0] == "USD(2024)/kWh"


def test_atomic_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "f.nc"
    with pytest.raises(RuntimeError):
        with atomic(target) as tmp:
            tmp.write_text("partial")
            raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []
    write_netcdf(_ds(), target)
    assert xr.open_dataset(target).shortage_mean.values.tolist() == [0.1, 0.2]
    assert [p.name for p in tmp_path.iterdir()] == ["f.nc"]


def test_output_path_checks(tmp_path):
    with pytest.raises(InputError, match="unknown output format"):
        check_output_path(tmp_path / "f.xlsx")
    with pytest.raises(InputError, match="does not exist"):
        check_output_path(tmp_path / "missing" / "f.nc")
    (tmp_path / "d.nc").mkdir()
    with pytest.raises(InputError, match="is a folder"):
        check_output_path(tmp_path / "d.nc")
