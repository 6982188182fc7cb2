"""Exports: tidy CSV round trip, atomic writes that leave nothing behind on failure."""

from __future__ import annotations

import pytest
import xarray as xr

from mcbattery import InputError
from mcbattery.common.files import atomic_file
from mcbattery.results.export import check_output_path, tidy, write_netcdf


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
    row = df[(df.variable == "utilization_world") & (df.statistic == "q0.95") & (df.year == 2026)]
    assert float(row.value.iloc[0]) == 0.3
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
