"""The file layer: whole-or-nothing replacement with the right modes, pairs replaced together,
recovery after a kill, and readers that accept only regular, self-contained files."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys

import numpy as np
import pytest

from mcbattery import InputError
from mcbattery.common import files


def mode(p) -> int:
    return stat.S_IMODE(os.stat(p).st_mode)


def test_new_file_gets_the_umask_mode_and_a_replaced_file_keeps_its_mode(tmp_path):
    old = os.umask(0o027)
    try:
        with files.atomic_file(tmp_path / "a.txt") as tmp:
            tmp.write_text("one")
        assert mode(tmp_path / "a.txt") == 0o640
        os.chmod(tmp_path / "a.txt", 0o604)
        with files.atomic_file(tmp_path / "a.txt") as tmp:
            tmp.write_text("two")
        assert mode(tmp_path / "a.txt") == 0o604 and (tmp_path / "a.txt").read_text() == "two"
    finally:
        os.umask(old)
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_temp_names_are_unique_and_failure_leaves_nothing(tmp_path):
    names = {files.temp_path(tmp_path / "a.nc").name for _ in range(100)}
    assert len(names) == 100 and all(n.startswith(".a.nc.mcb-") for n in names)
    (tmp_path / "a.nc").write_text("old")
    with pytest.raises(RuntimeError):
        with files.atomic_file(tmp_path / "a.nc") as tmp:
            tmp.write_text("partial")
            raise RuntimeError
    assert [p.name for p in tmp_path.iterdir()] == ["a.nc"] and (tmp_path / "a.nc").read_text() == "old"


def test_transaction_replaces_files_and_folders_together(tmp_path):
    (tmp_path / "s.nc").write_text("old summary")
    (tmp_path / "d.zarr").mkdir()
    (tmp_path / "d.zarr" / "x").write_text("old store")
    (tmp_path / "gone.csv").write_text("stale partner")
    with files.Transaction() as tx:
        tx.file(tmp_path / "s.nc", first=True).write_text("new summary")
        folder = tx.folder(tmp_path / "d.zarr")
        (folder / "y").write_text("new store")
        tx.remove(tmp_path / "gone.csv")
        tx.commit()
    assert (tmp_path / "s.nc").read_text() == "new summary"
    assert [p.name for p in (tmp_path / "d.zarr").iterdir()] == ["y"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.zarr", "s.nc"]
    assert mode(tmp_path / "d.zarr") == 0o777 & ~files.umask()


def test_a_lone_folder_is_swapped_atomically(tmp_path):
    (tmp_path / "d.zarr").mkdir()
    (tmp_path / "d.zarr" / "x").write_text("old")
    with files.Transaction() as tx:
        (tx.folder(tmp_path / "d.zarr") / "y").write_text("new")
        tx.commit()
    assert [p.name for p in (tmp_path / "d.zarr").iterdir()] == ["y"]
    assert [p.name for p in tmp_path.iterdir()] == ["d.zarr"]


KILLER = """
import os, signal, sys
from pathlib import Path
from mcbattery.common import files
k, folder = int(sys.argv[1]), Path(sys.argv[2])
count = 0
real = os.rename
def rename(a, b):
    global count
    count += 1
    if count == k:
        os.kill(os.getpid(), signal.SIGKILL)
    return real(a, b)
files.os.rename = rename
with files.Transaction() as tx:
    tx.file(folder / "s.nc", first=True).write_text("new")
    tx.file(folder / "s_draws.nc").write_text("new")
    tx.commit()
"""


@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_a_kill_inside_a_commit_is_rolled_forward_by_the_next_writer(tmp_path, k):
    for name in ("s.nc", "s_draws.nc"):
        (tmp_path / name).write_text("old")
    proc = subprocess.run([sys.executable, "-c", KILLER, str(k), str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == -9, proc.stderr
    visible = {p.name: p.read_text() for p in tmp_path.iterdir() if not p.name.startswith(".")}
    assert len(set(visible.values())) <= 1  # never a summary beside draws of another run
    assert any(".mcb-" in p.name and p.name.endswith(".journal") for p in tmp_path.iterdir())
    files.check_output(tmp_path / "other.nc", (".nc",))  # any later write to the folder recovers it
    assert {p.name: p.read_text() for p in tmp_path.iterdir()} == {"s.nc": "new", "s_draws.nc": "new"}


def test_stale_temporaries_of_dead_processes_are_removed_live_ones_kept(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    pid = int(dead.stdout)
    stale = tmp_path / f".f.nc.mcb-{files.HOST}-{pid}-abc123.tmp"
    stale.write_text("partial")
    (tmp_path / f".g.zarr.mcb-{files.HOST}-{pid}-abc124.tmp").mkdir()
    live = files.temp_path(tmp_path / "h.nc")
    live.write_text("being written")
    other_host = tmp_path / f".f.nc.mcb-elsewhere-{pid}-abc125.tmp"
    other_host.write_text("another machine's")
    mine = tmp_path / ".f.nc.abc.tmp"  # not our pattern: never touched
    mine.write_text("user file")
    files.recover(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([live.name, other_host.name, mine.name])


def test_read_regular_refuses_fifos_devices_folders_and_big_files(tmp_path):
    (tmp_path / "ok.txt").write_text("hello")
    assert files.read_text(tmp_path / "ok.txt") == "hello"
    os.mkfifo(tmp_path / "pipe")
    with pytest.raises(InputError, match="not a regular file"):
        files.read_regular(tmp_path / "pipe")  # returns at once: never blocks on the writer
    with pytest.raises(InputError, match="not a regular file"):
        files.read_regular("/dev/zero")
    with pytest.raises(InputError, match="folder"):
        files.read_regular(tmp_path)
    with pytest.raises(InputError, match="expected at most 4"):
        files.read_regular(tmp_path / "ok.txt", limit=4)
    with pytest.raises(InputError, match="not found"):
        files.check_regular(tmp_path / "missing")
    (tmp_path / "latin.txt").write_bytes(b"\xff\xfe")
    with pytest.raises(InputError, match="UTF-8"):
        files.read_text(tmp_path / "latin.txt")


def test_hdf5_referring_to_other_files_is_refused(tmp_path):
    import h5py

    secret = tmp_path / "secret.bin"
    secret.write_bytes(np.arange(4, dtype="<f8").tobytes())
    with h5py.File(tmp_path / "ext.h5", "w") as f:
        f.create_dataset("x", shape=(4,), dtype="<f8", external=[(str(secret), 0, 32)])
    with h5py.File(tmp_path / "link.h5", "w") as f:
        f["g"] = h5py.ExternalLink(str(tmp_path / "ext.h5"), "/")
    with h5py.File(tmp_path / "fine.h5", "w") as f:
        f.create_group("g")["x"] = np.arange(3)
        f["soft"] = h5py.SoftLink("/g/x")
    with pytest.raises(InputError, match="stores its data in another file"):
        files.check_self_contained(tmp_path / "ext.h5")
    with pytest.raises(InputError, match="external link"):
        files.check_self_contained(tmp_path / "link.h5")
    assert files.check_self_contained(tmp_path / "fine.h5") == tmp_path / "fine.h5"
    (tmp_path / "plain.nc").write_bytes(b"CDF\x01" + bytes(60))
    assert files.check_self_contained(tmp_path / "plain.nc").name == "plain.nc"


def test_output_checks(tmp_path):
    with pytest.raises(InputError, match="unknown output format"):
        files.check_output(tmp_path / "f.xlsx", (".nc",))
    with pytest.raises(InputError, match="does not exist"):
        files.check_output(tmp_path / "missing" / "f.nc", (".nc",))
    (tmp_path / "d.nc").mkdir()
    with pytest.raises(InputError, match="is a folder"):
        files.check_output(tmp_path / "d.nc", (".nc",))
    (tmp_path / "f.zarr").write_text("")
    with pytest.raises(InputError, match="is a file"):
        files.check_output(tmp_path / "f.zarr", (".zarr",), folder=True)
    if os.path.isdir("/sys"):
        with pytest.raises(InputError, match="not writable"):
            files.check_output("/sys/f.nc", (".nc",))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.nc", "f.zarr"]


def test_journal_names_every_entry(tmp_path):
    tx = files.Transaction()
    tx.file(tmp_path / "a", first=True).write_text("a")
    tx.file(tmp_path / "b").write_text("b")
    seen = []
    real = files._roll_forward

    def spy(plan):
        seen.extend(json.loads(next(tmp_path.glob("*.journal")).read_text())["entries"])
        real(plan)

    files._roll_forward = spy
    try:
        tx.commit()
    finally:
        files._roll_forward = real
    assert [os.path.basename(e["target"]) for e in seen] == ["a", "b"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b"]
