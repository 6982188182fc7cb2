"""Multi-host shares: the merged shares equal a single-process run."""

from __future__ import annotations

import numpy as np

import mcbattery
from mcbattery.engine.hosts import merge, run_share, share
from mcbattery.engine import BLOCK, GROUP, run


def test_shares_are_group_aligned_and_cover_all_draws():
    for draws, n in ((10_000, 3), (100_000, 7), (1300, 3)):
        parts = [share(draws, n, i) for i in range(n)]
        assert parts[0][0] == 0 and parts[-1][1] == draws
        assert all(a[1] == b[0] for a, b in zip(parts, parts[1:]))
        assert all(lo % (GROUP * BLOCK) == 0 or lo == draws for lo, _ in parts)


def test_merged_shares_match_single_run():
    pri = mcbattery.load_scenario("baseline")
    n = 2 * GROUP * BLOCK + 700  # three shares, the last one partial
    whole = run(pri, draws=n, seed=2, chunk_size=512, keep_draws=n)
    parts = [run_share(pri, n, 3, i, seed=2, chunk_size=512, keep_draws=n) for i in range(3)]
    assert [p.acc.count for p in parts] == [GROUP * BLOCK, GROUP * BLOCK, 700]
    merged = merge(parts)
    a, b = whole.acc, merged.acc
    assert a.count == b.count == n
    np.testing.assert_array_equal(a.hist, b.hist)
    np.testing.assert_array_equal(a.exceed, b.exceed)
    np.testing.assert_array_equal(a.vmin, b.vmin)
    np.testing.assert_array_equal(a.vmax, b.vmax)
    np.testing.assert_allclose(a.mean, b.mean, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(a.m2, b.m2, rtol=1e-9, atol=1e-9)
    for k in whole.kept:
        np.testing.assert_array_equal(whole.kept[k], merged.kept[k])


def test_forecast_distributed_single_process_equals_forecast():
    from mcbattery import forecast_distributed

    a = forecast_distributed("baseline", draws=600, seed=1, chunk_size=512)
    b = mcbattery.forecast("baseline", draws=600, seed=1, chunk_size=512)
    np.testing.assert_array_equal(a.summary.lithium_price_quantile.values, b.summary.lithium_price_quantile.values)
    np.testing.assert_allclose(a.summary.cell_cost_mean.values, b.summary.cell_cost_mean.values, rtol=1e-12)


# ----------------------------------------------------------------------------- two real processes

HOST_RUN = ["forecast", "--draws", "6000", "--seed", "4", "--end-year", "2027", "--chunk-size", "4096", "--no-posterior",
            "--cpu-devices", "1", "--out", "f.nc"]


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _launch(tmp_path, pid: int, port: int, *extra):
    import os
    import subprocess
    import sys

    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    env.pop("XLA_FLAGS", None)
    args = [sys.executable, "-m", "mcbattery", *HOST_RUN, "--coordinator", f"127.0.0.1:{port}", "--num-processes", "2",
            "--process-id", str(pid), *extra]
    return subprocess.Popen(args, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_two_processes_on_localhost_give_the_single_process_summary(tmp_path):
    """jax.distributed over gloo between two real processes: process 0 writes the merged summary,
    equal to a one-process run (counts exactly, moments to float64 rounding)."""
    import subprocess
    import sys
    import xarray as xr

    (tmp_path / "one").mkdir()
    single = subprocess.run([sys.executable, "-m", "mcbattery", *HOST_RUN, "-q"], cwd=tmp_path / "one",
                            capture_output=True, text=True, timeout=300)
    assert single.returncode == 0, single.stderr
    port = _free_port()
    procs = [_launch(tmp_path, i, port, "-q") for i in (0, 1)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [o[1][-2000:] for o in outs]
    a, b = xr.open_dataset(tmp_path / "one" / "f.nc"), xr.open_dataset(tmp_path / "f.nc")
    assert b.attrs["device"].startswith("2 processes") and b.attrs["valid_draws"] == a.attrs["valid_draws"] == 6000
    for name in a.data_vars:
        if name.endswith(("_quantile", "_min", "_max", "_exceedance")):
            np.testing.assert_array_equal(a[name].values, b[name].values, err_msg=name)
        else:
            np.testing.assert_allclose(a[name].values, b[name].values, rtol=1e-9, atol=1e-12, err_msg=name)


def test_a_process_that_dies_mid_run_makes_the_other_fail_clearly_with_nothing_written(tmp_path):
    import os
    import signal
    import time

    port = _free_port()
    p0, p1 = _launch(tmp_path, 0, port), _launch(tmp_path, 1, port)
    seen = ""
    deadline = time.monotonic() + 240
    while "simulating" not in seen and time.monotonic() < deadline:  # its progress bar: the run is under way
        seen += os.read(p1.stderr.fileno(), 4096).decode(errors="replace")
    assert "simulating" in seen, seen[-2000:]
    p1.send_signal(signal.SIGKILL)
    t0 = time.monotonic()
    _, err = p0.communicate(timeout=240)
    p1.wait()
    lines = [line for line in err.splitlines() if line.startswith("error: ")]
    assert p0.returncode == 4 and len(lines) == 1 and "process 1" in lines[0] and "nothing written" in lines[0], err[-3000:]
    assert time.monotonic() - t0 < 120
    assert "Traceback" not in err
    assert not [p.name for p in tmp_path.iterdir() if not p.name.startswith(".")]
