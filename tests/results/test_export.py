"""Exports: tidy tables with numeric quantiles and thresholds, every format with its provenance, CF
NetCDF, atomic writes and killed runs that leave nothing half-written."""

from __future__ import annotations

import pandas as pd
import pytest
import xarray as xr

from mcbattery import InputError
from mcbattery.common.files import atomic_file
from mcbattery.results.export import check_output_path, tidy, write_netcdf


def _ds():
    return xr.Dataset(
        {
            "utilization_world_mean": (("year",), [0.1, 0.2], {"units": "1"}),
            "utilization_world_quantile": (("quantile", "year"), [[0.0, 0.1], [0.2, 0.3]], {"units": "1"}),
            "cell_cost_mean": (("year", "region"), [[1.0, 2.0], [3.0, 4.0]], {"units": "USD(2024)/kWh"}),
        },
        coords={"year": [2025, 2026], "quantile": [0.05, 0.95], "region": ["CN", "US"]},
    )


def test_tidy_has_one_row_per_number():
    df = tidy(_ds())
    assert len(df) == 2 + 4 + 4
    row = df[(df.variable == "utilization_world") & (df.statistic == "quantile") & (df["quantile"] == 0.95) & (df.year == 2026)]
    assert float(row.value.iloc[0]) == 0.3
    assert df["quantile"].dtype.kind == "f" and df["threshold"].isna().all()
    row = df[(df.variable == "cell_cost") & (df.statistic == "mean") & (df.region == "US") & (df.year == 2025)]
    assert float(row.value.iloc[0]) == 2.0 and row.units.iloc[0] == "USD(2024)/kWh"


def test_atomic_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "f.nc"
    with pytest.raises(RuntimeError):
        with atomic_file(target) as tmp:
            tmp.write_text("partial")
            raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []
    write_netcdf(_ds(), target)
    assert xr.open_dataset(target).utilization_world_mean.values.tolist() == [0.1, 0.2]
    assert [p.name for p in tmp_path.iterdir()] == ["f.nc"]


def test_output_path_checks(tmp_path):
    with pytest.raises(InputError, match="unknown output format"):
        check_output_path(tmp_path / "f.xls")
    with pytest.raises(InputError, match="does not exist"):
        check_output_path(tmp_path / "missing" / "f.nc")
    (tmp_path / "d.nc").mkdir()
    with pytest.raises(InputError, match="is a folder"):
        check_output_path(tmp_path / "d.nc")


# ----------------------------------------------------------------------------- every format from a forecast


KEPT = 64


@pytest.fixture(scope="module")
def written(tmp_path_factory, baseline_small):
    from mcbattery.results.export import write

    from mcbattery.api import Forecast

    folder = tmp_path_factory.mktemp("exports")
    small = Forecast(summary=baseline_small.summary, draws=baseline_small.draws.isel(draw=slice(0, KEPT)),
                     priors=baseline_small.priors)  # a few kept draws keep the spreadsheet quick to write
    for suffix in (".nc", ".csv", ".parquet", ".zarr", ".xlsx"):
        write(small, folder / f"f{suffix}")
    return folder


def test_csv_is_tidy_with_numeric_quantiles_and_thresholds_and_a_sidecar(written, baseline_small):
    import json

    df = pd.read_csv(written / "f.csv")
    assert df["quantile"].dtype.kind == "f" and df["threshold"].dtype.kind == "f"
    q = df[(df.variable == "material_price") & (df.statistic == "quantile") & (df.year == 2030) & (df["quantile"] == 0.5)
           & (df.material == "lithium")]
    assert len(q) == 1
    expected = baseline_small.summary.material_price_quantile.sel(quantile=0.5, year=2030, material="lithium")
    assert float(q.value.iloc[0]) == pytest.approx(float(expected))
    e = df[(df.variable == "unmet_share") & (df.statistic == "exceedance") & (df.year == 2030) & (df.material == "nickel")]
    assert sorted(e.threshold) == [0.0, 0.05, 0.1] and set(e.threshold_units) == {"1"}
    e = df[(df.variable == "pack_price_average") & (df.statistic == "exceedance") & (df.year == 2030)]
    assert sorted(e.threshold) == [100.0] and set(e.threshold_units) == {"USD(2024)/kWh"}
    side = json.loads((written / "f_provenance.json").read_text())
    for key in ("seed", "scenario", "mcbattery_version", "posterior_file", "priors_hash", "resolved_hash", "command"):
        assert key in side["attributes"], key
    assert set(side["files"]) == {"f.csv", "f_draws.csv"}
    assert side["variables"]["material_price_mean"]["units"] == "USD(2024)/t"
    assert side["variables"]["announced_completion"]["role"] == "parameter"
    draws = pd.read_csv(written / "f_draws.csv")
    assert set(draws.statistic) == {"draw"} and {"announced_completion", "material_price"} <= set(draws.variable)


def test_parquet_zarr_and_spreadsheet(written, baseline_small):
    import pyarrow.parquet as pq

    table = pq.read_table(written / "f.parquet")
    assert table.schema.field("quantile").type == "double" and b"mcbattery" in table.schema.metadata
    z = xr.open_zarr(written / "f_draws.zarr")
    assert z.attrs["seed"] == 7 and "announced_completion" in z and z.sizes["draw"] == KEPT
    book = pd.read_excel(written / "f.xlsx", sheet_name=None, header=None)
    assert list(book) == ["README", "summary"]
    readme = book["README"]
    keys = dict(zip(readme[0], readme[1]))
    assert keys["scenario"] == "baseline" and int(keys["seed"]) == 7 and keys["command"].startswith("mcbattery forecast")
    units = readme[readme[0] == "material_price_quantile"]
    assert units.iloc[0, 1] == "USD(2024)/t"
    summary = pd.read_excel(written / "f.xlsx", sheet_name="summary")
    assert summary["quantile"].dtype.kind == "f" and len(summary) == len(pd.read_csv(written / "f.csv"))
    draws = pd.read_excel(written / "f_draws.xlsx", sheet_name=None)
    assert "parameters" in draws and len(draws["material_price"]) == KEPT * baseline_small.summary.sizes["year"]
    assert sorted(draws["material_price"].columns) == sorted(["draw", "year", "lithium", "nickel", "cobalt", "graphite"])
    assert "announced_completion[EU]" in draws["parameters"].columns and list(draws["cell_cost"].columns[:3]) == ["draw", "year", "CN,LFP"]


def test_netcdf_follows_cf_conventions(written):
    from mcbattery.model.outputs import OUTPUTS

    for name in ("f.nc", "f_draws.nc"):
        ds = xr.open_dataset(written / name)
        assert ds.attrs["Conventions"].startswith("CF-") and ds.attrs["history"].endswith(ds.attrs["command"])
        assert ds.attrs["source"].startswith("mcbattery")
        for c in ds.coords:
            if ds[c].dtype.kind in "iuf":
                assert ds[c].attrs.get("units"), f"{name}: coordinate {c} has no units"
            assert ds[c].attrs.get("long_name") or c == "stage_units", f"{name}: coordinate {c} has no long_name"
        for v, da in ds.data_vars.items():
            assert da.attrs.get("units"), f"{name}: {v} has no units"
            base = v.split("_quantile")[0].split("_mean")[0]
            assert "see" not in da.attrs["units"], f"{name}: {v} has more than one unit"
            if v.endswith("_quantile"):
                bounds = [k for k in da.attrs if k.startswith("quantile_") and k.endswith("_error_bound")]
                assert bounds and all(isinstance(da.attrs[k], float) for k in bounds), v
        thr = [c for c in ds.coords if c.endswith("_threshold")]
        if name == "f.nc":
            assert thr and ds["pack_price_average_threshold"].attrs["units"] == OUTPUTS["pack_price_average"].units
            assert ds["unmet_share_threshold"].attrs["units"] == OUTPUTS["unmet_share"].units


# ----------------------------------------------------------------------------- killed runs

KILL_CHILD = """
import os, signal, sys
k, log = int(os.environ["MCB_KILL_AT"]), os.environ["MCB_OPS_LOG"]
count = 0
def wrap(fn):
    def inner(*a, **kw):
        global count
        if any(".mcb-" in os.path.basename(os.fsdecode(x)) for x in a[:2] if isinstance(x, (str, bytes, os.PathLike))):
            count += 1
            if count == k:
                os.kill(os.getpid(), signal.SIGKILL)
        return fn(*a, **kw)
    return inner
os.rename, os.replace, os.unlink = wrap(os.rename), wrap(os.replace), wrap(os.unlink)
import atexit
atexit.register(lambda: open(log, "w").write(str(count)))
from mcbattery.cli import main
main(sys.argv[1:], prog_name="mcbattery")
"""
RUN = ["forecast", "--draws", "300", "--end-year", "2027", "--chunk-size", "256", "-q", "--no-posterior"]


def _killed_run(tmp_path, args, k: int):
    """Run the CLI as a real process, SIGKILLed at its k-th rename/unlink of a temporary (0: never)."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "MCB_KILL_AT": str(k), "MCB_OPS_LOG": str(tmp_path / "ops.log")}
    proc = subprocess.run([sys.executable, "-c", KILL_CHILD, *RUN, *args], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == (0 if k == 0 else -9), proc.stderr
    return int((tmp_path / "ops.log").read_text()) if k == 0 else None


def _run_ids(tmp_path, store: bool):
    summary = tmp_path / "f.nc"
    partner = tmp_path / ("s.zarr" if store else "f_draws.nc")
    ids = []
    for path in (summary, partner):
        if not path.exists():
            ids.append(None)
        elif store:
            ids.append(xr.open_zarr(path).attrs["run_id"] if path.is_dir() else xr.open_dataset(path).attrs["run_id"])
        else:
            with xr.open_dataset(path) as ds:
                ids.append(ds.attrs["run_id"])
    return ids


@pytest.mark.parametrize("store", [False, True], ids=["draws file", "zarr store"])
def test_a_killed_run_never_leaves_a_mismatched_summary_and_draws(tmp_path, store):
    """Kill real runs at every rename and removal of the commit (and before it): the visible
    summary and draws never belong to different runs, and the next write restores a whole
    pair, old or new, with no temporary left."""
    from mcbattery.common.files import recover

    args = ["--out", "f.nc", *(["--draws-store", "s.zarr"] if store else ["--keep-draws", "7"])]
    total = _killed_run(tmp_path, args, 0)
    old = _run_ids(tmp_path, store)
    assert old[0] == old[1] is not None
    # a real run per point: the writability probe, then inside the commit (journal written, old
    # versions moved aside one by one, new ones moved in one by one, journal removed)
    points = sorted({1, *range(3, total + 1, 2 if store else 1)} - {total + 1})[: 7 if store else 6]
    for k in points:
        _killed_run(tmp_path, args, k)
        a, b = _run_ids(tmp_path, store)
        assert a is None or b is None or a == b, (k, a, b)
        recover(tmp_path)
        now = _run_ids(tmp_path, store)
        assert now[0] == now[1] is not None, (k, now)
        assert not [p.name for p in tmp_path.iterdir() if ".mcb-" in p.name], k
        if store:
            assert xr.open_zarr(tmp_path / "s.zarr").sizes["draw"] == 300
        else:
            assert xr.open_dataset(tmp_path / "f_draws.nc").sizes["draw"] == 7
