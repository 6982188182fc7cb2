"""Files written whole or not at all, and read only when they are what they claim to be.

Writing: every output is written under a unique temporary name beside its target
(``.<name>.mcb-<host>-<pid>-<token>.tmp``), fsynced with its folder, given the mode a new file
gets under the umask (or the mode of the file it replaces) and renamed into place. A
:class:`Transaction` replaces several targets together (a summary and its kept draws, or a
summary and a Zarr store): the temporaries are finished and fsynced first, a journal names
them, the old targets are moved aside (summary first) and the new ones moved in (summary
last), so a reader never sees a summary beside draws of another run, and a process killed at
any instant leaves a journal that the next write to the same folder rolls forward
(:func:`recover`). A folder is replaced by an atomic exchange where the system has one
(Linux ``renameat2``), else by the journal. Temporaries of processes that are gone are
removed; those of live processes are left alone.

Reading: :func:`read_regular` and :func:`check_regular` accept only regular files below a
size cap (no FIFOs, devices or folders), and :func:`check_self_contained` refuses HDF5 /
NetCDF4 files whose data lives in other files (external storage, virtual datasets, external
links).

Every refusal is an :class:`~mcbattery.common.errors.InputError` naming the file and field.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import secrets
import shutil
import socket
import stat
from pathlib import Path

from mcbattery.common.errors import InputError

READ_LIMIT = 256 * 2**20  # bytes: the largest input file read (priors, scenarios, posteriors, CSVs)
MARK = ".mcb-"
HOST = re.sub(r"[^A-Za-z0-9]", "", socket.gethostname())[:32] or "host"
_NAME = re.compile(r"^\.(?P<target>.+)\.mcb-(?P<host>[A-Za-z0-9]+)-(?P<pid>\d+)-(?P<token>[0-9a-f]+)\.(?P<kind>tmp|old|journal)$")
_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


# ----------------------------------------------------------------------------- names and modes


def temp_path(target: str | Path, kind: str = "tmp", token: str | None = None) -> Path:
    """A name beside ``target`` that no other process uses: ``.<name>.mcb-<host>-<pid>-<token>.<kind>``."""
    target = Path(target)
    token = token or secrets.token_hex(6)
    return target.with_name(f".{target.name}{MARK}{HOST}-{os.getpid()}-{token}.{kind}")


def umask() -> int:
    """The process umask, read without changing it where the system tells it (Linux)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def new_mode(target: Path, folder: bool = False) -> int:
    """The mode ``target`` gets: that of the file it replaces, else what the umask allows."""
    try:
        st = os.stat(target)
        if stat.S_ISDIR(st.st_mode) == folder:
            return stat.S_IMODE(st.st_mode)
    except OSError:
        pass
    return (0o777 if folder else 0o666) & ~umask()


def _fsync_path(path: Path, directory: bool = False) -> None:
    flags = os.O_RDONLY | (getattr(os, "O_DIRECTORY", 0) if directory else 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError as exc:  # some filesystems cannot fsync a folder
        if exc.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EBADF):
            raise
    finally:
        os.close(fd)


def fsync_tree(path: Path) -> None:
    """fsync a file, or every file and folder of a tree (folders after their contents)."""
    path = Path(path)
    if not path.is_dir():
        _fsync_path(path)
        return
    for root, dirs, files in os.walk(path, topdown=False):
        for name in files:
            _fsync_path(Path(root) / name)
        _fsync_path(Path(root), directory=True)


# ----------------------------------------------------------------------------- checks


def check_output(path: str | Path, suffixes: tuple[str, ...], field: str = "out", folder: bool = False) -> Path:
    """An output path, checked before any work: a known suffix, an existing writable folder,
    and no folder (or, with ``folder``, no file) in the way. Removes what killed runs left there."""
    path = Path(path)
    if path.suffix not in suffixes:
        raise InputError(f"unknown output format {path.suffix or '(none)'!r}; expected one of {list(suffixes)}",
                         file=str(path), field=field)
    parent = path.parent
    if not parent.is_dir():
        raise InputError(f"output folder does not exist: {parent} (create it first: mkdir -p {parent})", field=field)
    if folder and path.exists() and not path.is_dir():
        raise InputError("is a file; expected a folder name", file=str(path), field=field)
    if not folder and path.is_dir():
        raise InputError("is a folder; expected a file name", file=str(path), field=field)
    check_writable(parent, field)
    recover(parent)
    return path


def check_writable(folder: str | Path, field: str = "out") -> None:
    """Create and remove a file in ``folder``: the only check that holds for every user and mount."""
    probe = temp_path(Path(folder) / "probe")
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        raise InputError(f"output folder is not writable ({exc.strerror})", file=str(folder), field=field) from None
    os.close(fd)
    os.unlink(probe)


def _open_regular(path: Path, limit: int, field: str | None):
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise InputError("file not found", file=str(path), field=field) from None
    except IsADirectoryError:
        raise InputError("is a folder; expected a file", file=str(path), field=field) from None
    except OSError as exc:
        raise InputError(f"cannot read file ({exc.strerror})", file=str(path), field=field) from None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        kind = "a folder" if stat.S_ISDIR(st.st_mode) else "not a regular file"
        raise InputError(f"{kind}; expected a regular file", file=str(path), field=field)
    if st.st_size > limit:
        os.close(fd)
        raise InputError(f"file is {st.st_size} bytes; expected at most {limit}", file=str(path), field=field)
    return fd


def read_regular(path: str | Path, limit: int = READ_LIMIT, field: str | None = None) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes (FIFOs, devices and folders refused)."""
    path = Path(path)
    fd = _open_regular(path, limit, field)
    try:
        with os.fdopen(fd, "rb", closefd=True) as fh:
            data = fh.read(limit + 1)
    except OSError as exc:
        raise InputError(f"cannot read file ({exc.strerror})", file=str(path), field=field) from None
    if len(data) > limit:
        raise InputError(f"file grew past {limit} bytes while read", file=str(path), field=field)
    return data


def read_head(path: str | Path, size: int, field: str | None = None) -> bytes:
    """The first ``size`` bytes of a regular file of any length."""
    fd = _open_regular(Path(path), 2**62, field)
    with os.fdopen(fd, "rb", closefd=True) as fh:
        return fh.read(size)


def read_text(path: str | Path, limit: int = READ_LIMIT, field: str | None = None) -> str:
    """:func:`read_regular` decoded as UTF-8."""
    try:
        return read_regular(path, limit, field).decode("utf-8")
    except UnicodeDecodeError:
        raise InputError("not UTF-8 text", file=str(path), field=field) from None


def check_regular(path: str | Path, limit: int = READ_LIMIT, field: str | None = None) -> Path:
    """``path`` if it is a regular file of at most ``limit`` bytes (for readers that take a path)."""
    path = Path(path)
    os.close(_open_regular(path, limit, field))
    return path


def check_self_contained(path: str | Path, field: str | None = None) -> Path:
    """Refuse an HDF5 / NetCDF4 file that would make a reader open other files: datasets with
    external storage, virtual datasets or external links. NetCDF3 files cannot refer outside."""
    path = check_regular(path, field=field)
    with open(path, "rb") as fh:
        head = fh.read(8)
        if head != _HDF5_SIGNATURE:  # HDF5 may also start after a user block of 512 * 2**k bytes
            offsets = [512 * 2**k for k in range(12)]
            found = False
            for off in offsets:
                fh.seek(off)
                if fh.read(8) == _HDF5_SIGNATURE:
                    found = True
                    break
            if not found:
                return path
    try:
        import h5py
    except ImportError:
        raise InputError("is an HDF5 file and h5py is not installed to check it", file=str(path), field=field) from None
    problems: list[str] = []

    def walk(group, prefix=""):
        for name in group:
            link = group.get(name, getlink=True)
            where = f"{prefix}/{name}"
            if isinstance(link, h5py.ExternalLink):
                problems.append(f"{where} is an external link")
                continue
            if isinstance(link, h5py.SoftLink):
                continue
            obj = group[name]
            if isinstance(obj, h5py.Group):
                walk(obj, where)
            elif isinstance(obj, h5py.Dataset):
                if obj.external:
                    problems.append(f"{where} stores its data in another file")
                elif obj.is_virtual:
                    problems.append(f"{where} is a virtual dataset")

    try:
        with h5py.File(path, "r") as f:
            walk(f)
    except OSError as exc:
        raise InputError(f"cannot read as HDF5 ({exc.__class__.__name__})", file=str(path), field=field) from None
    if problems:
        raise InputError(f"refers to data outside the file ({problems[0]})", file=str(path), field=field)
    return path


# ----------------------------------------------------------------------------- replacing


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux renameat2 RENAME_EXCHANGE); False where unsupported."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    if fn(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EPERM):
        return False
    raise OSError(err, os.strerror(err), str(b))


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


class Transaction:
    """Replace one or more files and folders together; nothing changes until :meth:`commit`.

    >>> with Transaction() as tx:                      # doctest: +SKIP
    ...     ds.to_netcdf(tx.file("f.nc"))
    ...     draws.to_netcdf(tx.file("f_draws.nc"))
    ...     tx.commit()

    Leaving the block without a commit (an exception) removes the temporaries. ``remove``
    drops a target in the same commit (a partner the new run no longer has).
    """

    def __init__(self):
        self.token = secrets.token_hex(6)
        self.entries: list[tuple[Path, Path | None, str]] = []  # (target, temporary, kind)
        self.done = False
        self.count = 0

    def _add(self, target, kind: str, tmp: Path | None = None, first: bool = False) -> Path | None:
        target = Path(target).absolute()
        if any(t == target for t, _, _ in self.entries):
            raise ValueError(f"{target} is already part of this transaction")
        if tmp is None and kind != "remove":
            tmp = temp_path(target, "tmp", f"{self.token}{self.count:02x}")
        self.count += 1
        self.entries.insert(0 if first else len(self.entries), (target, tmp, kind))
        return tmp

    def file(self, target: str | Path, first: bool = False) -> Path:
        """The temporary path to write ``target``'s new content to. ``first``: the target
        that readers look at first (a summary): moved aside first and into place last."""
        return self._add(target, "file", first=first)

    def folder(self, target: str | Path, tmp: str | Path | None = None) -> Path:
        """A new empty temporary folder that will replace the folder ``target`` (or ``tmp``, a
        temporary folder from :func:`temp_folder`, already filled)."""
        if tmp is not None:
            return self._add(target, "folder", Path(tmp).absolute())
        tmp = self._add(target, "folder")
        os.mkdir(tmp, 0o700)
        return tmp

    def remove(self, target: str | Path) -> None:
        """Remove ``target`` (if present) in the same commit."""
        self._add(target, "remove")

    def __enter__(self) -> "Transaction":
        return self

    def __exit__(self, *exc) -> None:
        if not self.done:
            self.abort()

    def abort(self) -> None:
        """Remove the temporaries; the targets stay as they were."""
        for _, tmp, _ in self.entries:
            if tmp is not None:
                _remove(tmp)
        self.done = True

    def commit(self) -> None:
        """Make every new version durable, then move all of them into place together."""
        try:
            self._commit()
        except OSError as exc:
            self.abort()
            raise InputError(f"cannot write ({exc.strerror or exc})", file=exc.filename, field="out") from None
        finally:
            self.done = True

    def _commit(self) -> None:
        for target, tmp, kind in self.entries:
            if tmp is None:
                continue
            if not tmp.exists():
                raise FileNotFoundError(errno.ENOENT, "the writer produced nothing", str(tmp))
            os.chmod(tmp, new_mode(target, folder=kind == "folder"))
            fsync_tree(tmp)
        folders = sorted({t.parent for t, _, _ in self.entries})
        for f in folders:
            _fsync_path(f, directory=True)
        if len(self.entries) == 1:
            target, tmp, kind = self.entries[0]
            if kind == "file":
                os.replace(tmp, target)
                _fsync_path(target.parent, directory=True)
                return
            if kind == "folder" and not os.path.lexists(target):
                os.rename(tmp, target)
                _fsync_path(target.parent, directory=True)
                return
            if kind == "folder" and target.is_dir() and _exchange(tmp, target):
                _fsync_path(target.parent, directory=True)
                _remove(tmp)  # now the old folder
                return
        journal = self._journal_path()
        plan = [
            {"target": str(t), "tmp": None if tmp is None else str(tmp), "old": str(temp_path(t, "old", f"{self.token}{i:02x}"))}
            for i, (t, tmp, _) in enumerate(self.entries)
        ]
        body = json.dumps({"version": 1, "entries": plan}).encode()
        jtmp = temp_path(journal, "tmp")
        with open(jtmp, "wb") as fh:
            fh.write(body)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(jtmp, journal)
        _fsync_path(journal.parent, directory=True)
        _roll_forward(plan)
        for f in folders:
            _fsync_path(f, directory=True)
        os.unlink(journal)
        _fsync_path(journal.parent, directory=True)
        for p in plan:
            _remove(Path(p["old"]))

    def _journal_path(self) -> Path:
        first = self.entries[0][0]
        return first.with_name(f".{first.name}{MARK}{HOST}-{os.getpid()}-{self.token}.journal")


def _roll_forward(plan: list[dict]) -> None:
    """Move every old target aside (in order), then every new version in (in reverse order:
    the first target, the summary, comes last). Safe to repeat after a crash at any step."""
    for p in plan:
        target, old = Path(p["target"]), Path(p["old"])
        tmp = Path(p["tmp"]) if p["tmp"] else None
        if os.path.lexists(target) and not os.path.lexists(old) and (tmp is None or os.path.lexists(tmp)):
            os.rename(target, old)
    for p in reversed(plan):
        target, tmp = Path(p["target"]), Path(p["tmp"]) if p["tmp"] else None
        if tmp is not None and os.path.lexists(tmp):
            os.rename(tmp, target)


@contextlib.contextmanager
def atomic_file(path: str | Path):
    """Yield a temporary path beside ``path``; on success it replaces ``path`` (fsynced, with
    the mode of the file it replaces or the umask's); on failure nothing changes."""
    with Transaction() as tx:
        tmp = tx.file(path)
        yield tmp
        tx.commit()


def temp_folder(target: str | Path) -> Path:
    """A new empty temporary folder beside ``target``, for :meth:`Transaction.folder`."""
    tmp = temp_path(Path(target).absolute())
    os.mkdir(tmp, 0o700)
    return tmp


def remove_temp(path: str | Path | None) -> None:
    """Remove a temporary file or folder made by this module (nothing else)."""
    if path is not None and _NAME.match(Path(path).name):
        _remove(Path(path))


def _alive(host: str, pid: int) -> bool:
    if host != HOST:
        return True  # another machine's process: never touched
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def recover(folder: str | Path) -> list[Path]:
    """Finish the commits that killed processes left in ``folder`` (journals are rolled
    forward: their temporaries were complete) and remove their other temporaries. Returns the
    targets restored. Files of live processes and of other machines are left alone."""
    folder = Path(folder)
    restored = []
    try:
        names = os.listdir(folder)
    except OSError:
        return restored
    found = [(n, _NAME.match(n)) for n in names]
    found = [(n, m) for n, m in found if m and not _alive(m["host"], int(m["pid"]))]
    for name, m in found:
        if m["kind"] != "journal":
            continue
        path = folder / name
        try:
            plan = json.loads(read_regular(path, 2**20))["entries"]
            _roll_forward(plan)
        except (InputError, ValueError, KeyError, TypeError, OSError):
            continue  # unreadable journal: leave it and its files for a person to look at
        os.unlink(path)
        _fsync_path(folder, directory=True)
        for p in plan:
            _remove(Path(p["old"]))
        restored += [Path(p["target"]) for p in plan]
    for name, m in found:
        path = folder / name
        if m["kind"] != "journal" and os.path.lexists(path):
            _remove(path)
    return restored
