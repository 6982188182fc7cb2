"""The command line's contract, case by case and by generated input: every hostile file, field or
option ends in one line ``error: ...`` on stderr with exit status 2 (3 for too many invalid
draws), never a traceback, and nothing is created or changed on disk."""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import click
import numpy as np
import pytest
import xarray as xr
from click.testing import CliRunner

from mcbattery import __version__
from mcbattery.cli import main
from mcbattery.cli.group import Group
from mcbattery.common.errors import InputError
from mcbattery.inputs.priors import PRIORS_DIR

SHIPPED = PRIORS_DIR
UNWRITABLE = "/sys"  # refuses new files even to root; a read-only folder does not stop root


def snapshot(root: Path) -> dict:
    """Every path under ``root`` with its kind, mode and content hash."""
    out = {}
    for p in sorted(root.rglob("*")):
        st = p.lstat()
        if stat.S_ISREG(st.st_mode):
            out[str(p.relative_to(root))] = ("file", stat.S_IMODE(st.st_mode), hashlib.sha256(p.read_bytes()).hexdigest() if st.st_size < 2**24 else st.st_size)
        else:
            out[str(p.relative_to(root))] = (stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode))
    return out


def invoke(args, cwd: Path):
    old = os.getcwd()
    os.chdir(cwd)
    try:
        return CliRunner().invoke(main, [str(a) for a in args])
    finally:
        os.chdir(old)


def assert_refused(result, needle: str, status: int = 2):
    lines = result.stderr.strip().splitlines()
    assert result.exit_code == status, (result.exit_code, result.output, result.exception)
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.output
    assert needle in lines[0], lines[0]


# ----------------------------------------------------------------------------- corpus

SCENARIO = "[meta]\ndescription = 'hostile'\n"
DEEP = "x = " + "[" * 50_000 + "]" * 50_000 + "\n"
BIG_INT = "1" * 400

# name -> (scenario file text or None, extra CLI args, expected text in the one line)
FORECAST_SCENARIOS = {
    "empty file": ("", "empty"),
    "blank file": ("   \n\n", "empty"),
    "invalid toml": ("[meta\n", "not valid TOML"),
    "nested 50,000 deep": (SCENARIO + DEEP, "nested too deeply"),
    "400-digit integer": (SCENARIO + f"[shift.price_volatility]\nscale = {BIG_INT}\n", "float64 range"),
    "no meta": ("[shift.price_volatility]\nscale = 2\n", "meta"),
    "meta = 5": ("meta = 5\n", "meta"),
    "blank description": ("[meta]\ndescription = '  '\n", "non-blank"),
    "description = 5": ("[meta]\ndescription = 5\n", "description"),
    "misspelt meta key": (SCENARIO + "descripton = 'x'\n", "did you mean"),
    "meta name = 5": ("[meta]\ndescription = 'x'\nname = 5\n", "meta.name"),
    "set = 5": (SCENARIO + "set = 5\n", "set"),
    "shift = [1, 2]": (SCENARIO + "shift = [1, 2]\n", "shift"),
    "unknown table": (SCENARIO + "[sett.price_volatility]\nmean = 1\n", "did you mean ['set']"),
    "set unknown parameter": (SCENARIO + "[set.price_volatilty]\ndist = 'fixed'\nvalue = 1\n", "did you mean"),
    "shift unknown parameter": (SCENARIO + "[shift.price_volatilty]\nscale = 2\n", "did you mean"),
    "set not a table": (SCENARIO + "[set]\nprice_volatility = 5\n", "expected a table"),
    "shift empty table": (SCENARIO + "[shift.price_volatility]\n", "scale"),
    "shift unknown key": (SCENARIO + "[shift.price_volatility]\nscal = 2\n", "did you mean ['scale']"),
    "shift scale nan": (SCENARIO + "[shift.price_volatility]\nscale = nan\n", "finite"),
    "shift scale inf": (SCENARIO + "[shift.price_volatility]\nscale = inf\n", "finite"),
    "shift scale overflows": (SCENARIO + "[shift.demand_start]\nscale = 1e308\n", "not a finite number"),
    "shift scale string": (SCENARIO + "[shift.price_volatility]\nscale = '2'\n", "expected a number"),
    "shift add bool": (SCENARIO + "[shift.price_volatility]\nadd = true\n", "expected a number"),
    "shift unknown label": (SCENARIO + "[shift.demand_growth_rate]\nadd = { XX = 0.1 }\n", "unknown segment label"),
    "shift dirichlet": (SCENARIO + "[shift.chemistry_share_start]\nscale = 2\n", "cannot be shifted"),
    "set unknown dist": (SCENARIO + "[set.price_volatility]\ndist = 'gamma'\n", "unknown distribution"),
    "set dist = 5": (SCENARIO + "[set.price_volatility]\ndist = 5\n", "unknown distribution"),
    "set dist = list": (SCENARIO + "[set.price_volatility]\ndist = ['fixed']\n", "unknown distribution"),
    "set dims = 5": (SCENARIO + "[set.price_volatility]\ndims = 5\n", "dims"),
    "set dims wrong": (SCENARIO + "[set.price_volatility]\ndims = ['bogus']\n", "dims must be"),
    "set misspelt field": (SCENARIO + "[set.price_volatility]\ndist = 'fixed'\nvalu = 1\n", "did you mean ['value']"),
    "set start_year normal": (SCENARIO + "[set.start_year]\ndist = 'normal'\nmean = 2025\nsd = 1\n", "start_year"),
    "set start_year fraction": (SCENARIO + "[set.start_year]\ndist = 'fixed'\nvalue = 2025.5\n", "whole year"),
    "set start_year huge": (SCENARIO + "[set.start_year]\ndist = 'fixed'\nvalue = 1e9\n", "start_year"),
    "median beyond float32": (SCENARIO + "[set.price_volatility]\ndist = 'lognormal'\nmedian = 1e300\nsigma = 0.1\n", "float32 range"),
    "value below float32": (SCENARIO + "[set.price_volatility]\ndist = 'fixed'\nvalue = 1e-50\n", "float32 range"),
    "sd zero": (SCENARIO + "[set.demand_growth_rate]\ndist = 'truncnormal'\nmean = 0.1\nsd = 0\nlow = 0.01\nhigh = 1\n", "> 0"),
    "bounds inverted": (SCENARIO + "[set.demand_growth_rate]\ndist = 'uniform'\nlow = 0.5\nhigh = 0.1\n", "inverted"),
    "triangular mode outside": (SCENARIO + "[set.demand_growth_rate]\ndist = 'triangular'\nlow = 0.1\nmode = 0.9\nhigh = 0.5\n", "mode"),
    "shares do not sum to 1": (SCENARIO + "[set.chemistry_share_start]\ndist = 'fixed'\nvalue = 0.5\n", "sum to 1"),
    "units blank": (SCENARIO + "[set.price_volatility]\nunits = ''\n", "units"),
    "note = 5": (SCENARIO + "[set.price_volatility]\nnote = 5\n", "note"),
    "label table for scalar": (SCENARIO + "[set.cell_margin_slope]\ndist = 'fixed'\nvalue = { a = 1 }\n", "without dims"),
    "value string": (SCENARIO + "[set.price_volatility]\ndist = 'fixed'\nvalue = 'high'\n", "expected a number"),
    "value array": (SCENARIO + "[set.price_volatility]\ndist = 'fixed'\nvalue = [1, 2]\n", "expected a number"),
    "missing label": (SCENARIO + "[set.demand_growth_rate]\ndist = 'fixed'\nvalue = { EV = 0.1 }\n", "missing segment label"),
    "not utf-8": (b"[meta]\ndescription = '\xff\xfe'\n", "UTF-8"),
}

FORECAST_OPTIONS = {
    "draws 0": (["--draws", "0"], "--draws"),
    "draws negative": (["--draws", "-5"], "--draws"),
    "draws text": (["--draws", "ten"], "--draws"),
    "draws float": (["--draws", "1e6"], "--draws"),
    "draws 2^31": (["--draws", str(2**31)], "<= 2147479552"),
    "draws 2^31 - 1": (["--draws", str(2**31 - 1)], "<= 2147479552"),
    "draws 400 digits": (["--draws", BIG_INT], "<= 2147479552"),
    "seed negative": (["--seed", "-1"], "--seed"),
    "seed too big": (["--seed", str(2**31)], "--seed"),
    "chunk size 0": (["--chunk-size", "0"], "--chunk-size"),
    "keep draws negative": (["--keep-draws", "-1"], "--keep-draws"),
    "keep draws beyond memory": (["--draws", "2000000000", "--keep-draws", "2000000000"], "keep_draws"),
    "end year 1800": (["--end-year", "1800"], "--end-year"),
    "end year before start": (["--end-year", "2020"], "start_year"),
    "end year 3000": (["--end-year", "3000"], "--end-year"),
    "out xls": (["--out", "x.xls"], "unknown output format"),
    "out no suffix": (["--out", "x"], "unknown output format"),
    "out missing folder": (["--out", "missing/x.nc"], "does not exist"),
    "out is a folder": (["--out", "adir.nc"], "is a folder"),
    "out unwritable": (["--out", f"{UNWRITABLE}/x.nc"], "not writable"),
    "draws file is a folder": (["--out", "pair.nc", "--keep-draws", "5"], "kept draws"),
    "store not zarr": (["--draws-store", "x.txt"], ".zarr"),
    "store is a file": (["--draws-store", "file.zarr"], "is a file"),
    "store not ours": (["--draws-store", "mydata.zarr"], "not a store mcbattery wrote"),
    "store missing folder": (["--draws-store", "missing/s.zarr"], "does not exist"),
    "store unwritable": (["--draws-store", f"{UNWRITABLE}/s.zarr"], "not writable"),
    "threshold no value": (["--threshold", "material_price"], "NAME=NUMBER"),
    "threshold text": (["--threshold", "material_price=abc"], "NAME=NUMBER"),
    "threshold unknown output": (["--threshold", "nonsense=3"], "unknown output"),
    "threshold inf": (["--threshold", "material_price=inf"], "NAME=NUMBER"),
    "threshold nan": (["--threshold", "material_price=nan"], "NAME=NUMBER"),
    "target unknown statistic": (["--target-mcse", "material_price_median=3"], "target_mcse"),
    "target negative": (["--target-mcse", "unmet_share_exceedance=-1"], "positive"),
    "target zero": (["--target-mcse", "unmet_share_exceedance=0"], "positive"),
    "max invalid 2": (["--max-invalid", "2"], "--max-invalid"),
    "max invalid negative": (["--max-invalid", "-0.1"], "--max-invalid"),
    "unknown option": (["--bogus"], "No such option"),
    "unknown scenario": (["--scenario", "nope"], "unknown scenario"),
    "missing priors folder": (["--priors", "no_such"], "priors folder not found"),
    "missing posterior": (["--posterior", "missing.nc"], "not found"),
    "cpu devices negative": (["--cpu-devices", "-1"], "--cpu-devices"),
    "scenario is a folder": (["--scenario", "adir.toml"], "folder"),
    "scenario too big": (["--scenario", "big.toml"], "expected at most"),
}


def _posterior(path: Path, **variables) -> Path:
    xr.Dataset(variables).to_netcdf(path, engine="scipy")
    return path


POSTERIORS = {
    "no samples": (lambda d: _posterior(d / "p.nc", chemistry_adjustment_rate=("sample", np.zeros(0))), "no samples"),
    "string variable": (lambda d: _posterior(d / "p.nc", chemistry_adjustment_rate=("sample", np.array(["a", "b"]))), "expected numbers"),
    "start_year from posterior": (lambda d: _posterior(d / "p.nc", start_year=("sample", [2025.0, 2026.0])), "start_year"),
    "unknown variable": (lambda d: _posterior(d / "p.nc", price_reversoin=("sample", [0.1, 0.2])), "did you mean"),
    "wrong dims": (lambda d: _posterior(d / "p.nc", chemistry_adjustment_rate=("draw", [0.1, 0.2])), "expected dims"),
    "nan samples": (lambda d: _posterior(d / "p.nc", chemistry_adjustment_rate=("sample", [0.1, np.nan])), "finite"),
    "outside support": (lambda d: _posterior(d / "p.nc", chemistry_adjustment_rate=("sample", [-1.0, 0.2])), "range"),
    "text file": (lambda d: (d / "p.nc").write_text("not netcdf") and d / "p.nc", "cannot read posterior"),
    "external storage": (lambda d: _external_hdf5(d / "p.nc"), "outside the file"),
    "external link": (lambda d: _external_link(d / "p.nc"), "external link"),
    "virtual dataset": (lambda d: _virtual(d / "p.nc"), "virtual dataset"),
}


def _secret(d: Path) -> Path:
    s = d / "secret.bin"
    s.write_bytes(np.arange(4, dtype="<f8").tobytes())
    return s


def _external_hdf5(path: Path) -> Path:
    import h5py

    secret = _secret(path.parent)
    with h5py.File(path, "w") as f:
        f.create_dataset("chemistry_adjustment_rate", shape=(4,), dtype="<f8", external=[(str(secret), 0, 32)])
    return path


def _external_link(path: Path) -> Path:
    import h5py

    other = path.parent / "other.h5"
    with h5py.File(other, "w") as f:
        f["chemistry_adjustment_rate"] = np.arange(4.0)
    with h5py.File(path, "w") as f:
        f["posterior"] = h5py.ExternalLink(str(other), "/")
    return path


def _virtual(path: Path) -> Path:
    import h5py

    other = path.parent / "other.h5"
    with h5py.File(other, "w") as f:
        f["x"] = np.arange(4.0)
    layout = h5py.VirtualLayout(shape=(4,), dtype="f8")
    layout[:] = h5py.VirtualSource(str(other), "x", shape=(4,))
    with h5py.File(path, "w") as f:
        f.create_virtual_dataset("chemistry_adjustment_rate", layout)
    return path


def _priors_edit(transform):
    def make(d: Path) -> Path:
        dst = d / "priors"
        shutil.copytree(SHIPPED, dst, ignore=shutil.ignore_patterns("posterior"))
        transform(dst)
        return dst

    return make


def _replace(file: str, old: str, new: str):
    def go(dst: Path):
        p = dst / file
        text = p.read_text()
        assert old in text, old
        p.write_text(text.replace(old, new, 1))

    return go


PRIORS_FOLDERS = {
    "dims = 5": (_replace("supply.toml", 'dims = ["stage"]', "dims = 5"), "dims"),
    "meta = 5": (_replace("horizon.toml", "[meta]\nblock", "meta = 5\n[xmeta]\nblock"), "meta"),
    "misspelt meta key": (_replace("horizon.toml", "block =", "blok ="), "did you mean ['block']"),
    "misspelt parameter": (_replace("horizon.toml", "[start_year]", "[start_yaer]"), "did you mean ['start_year', "),
    "start_year normal": (_replace("horizon.toml", 'dist = "fixed"\nvalue = 2025', 'dist = "normal"\nmean = 2025\nsd = 1'), "start_year"),
    "400-digit value": (_replace("horizon.toml", "value = 2025", f"value = {BIG_INT}"), "float64 range"),
    "deep nesting": (lambda dst: (dst / "deep.toml").write_text(DEEP), "nested too deeply"),
    "defined twice": (lambda dst: (dst / "twice.toml").write_text((dst / "horizon.toml").read_text().replace("[meta]", "[meta]", 1)), "defined twice"),
    "parameter missing": (lambda dst: (dst / "horizon.toml").unlink(), "missing parameter"),
    "no prior files": (lambda dst: [p.unlink() for p in dst.glob("*.toml") if p.name != "coords.toml"], "no prior files"),
    "no coordinates file": (lambda dst: (dst / "coords.toml").unlink(), "coords.toml"),
    "prior file is a fifo": (lambda dst: os.mkfifo(dst / "zz.toml"), "not a regular file"),
    "prior file is a folder": (lambda dst: (dst / "zz.toml").mkdir(), "folder"),
    "unknown field in meta-less table": (_replace("horizon.toml", 'units = "year"', 'units = "year"\nsauce = "x"'), "did you mean ['source'"),
}

SCENARIO_FOLDERS = {  # mcbattery scenarios --priors <folder>
    "blank description": (lambda dst: (dst / "scenarios" / "zz.toml").write_text("[meta]\ndescription = ''\n"), "non-blank"),
    "meta = 5": (lambda dst: (dst / "scenarios" / "zz.toml").write_text("meta = 5\n"), "meta"),
    "scenario is a fifo": (lambda dst: os.mkfifo(dst / "scenarios" / "zz.toml"), "not a regular file"),
}

OTHER_COMMANDS = {
    "card missing file": (["card", "missing.nc", "--out", "c.md"], "not found"),
    "card text file": (["card", "text.nc", "--out", "c.md"], "cannot read"),
    "card external storage": (["card", "ext.nc", "--out", "c.md"], "outside the file"),
    "card out folder": (["card", "text.nc", "--out", "adir.md"], "is a directory"),
    "card out unwritable": (["card", "text.nc", "--out", f"{UNWRITABLE}/c.md"], "not writable"),
    "card out format": (["card", "text.nc", "--out", "c.pdf"], "unknown output format"),
    "card hindcast folder": (["card", "text.nc", "--out", "c.md", "--hindcast", "adir.nc"], "folder"),
    "compare out format": (["compare", "baseline", "unipolar", "--out", "x.xls"], "unknown output format"),
    "compare out unwritable": (["compare", "baseline", "unipolar", "--out", f"{UNWRITABLE}/x.nc"], "not writable"),
    "compare one draw": (["compare", "baseline", "unipolar", "--draws", "1", "--out", "x.nc"], "--draws"),
    "compare unknown scenario": (["compare", "baseline", "nope", "--out", "x.nc"], "unknown scenario"),
    "sensitivity out unwritable": (["sensitivity", "--output", "material_price", "--year", "2030", "--out", f"{UNWRITABLE}/s.csv"], "not writable"),
    "sensitivity bad select": (["sensitivity", "--output", "material_price", "--year", "2030", "--select", "x", "--out", "s.csv"], "DIM=LABEL"),
    "hindcast out unwritable": (["hindcast", "--out", f"{UNWRITABLE}/h.csv"], "not writable"),
    "hindcast out format": (["hindcast", "--out", "h.txt"], ".csv"),
    "hindcast data missing": (["hindcast", "--data", "missing.csv", "--out", "h.csv"], "not found"),
    "hindcast bad origins": (["hindcast", "--origins", "20x2", "--out", "h.csv"], "origins"),
    "calibrate out unwritable": (["calibrate", "--out", f"{UNWRITABLE}/p.nc"], "not writable"),
    "calibrate out format": (["calibrate", "--out", "p.txt"], ".nc"),
    "calibrate out and ship": (["calibrate", "--out", "p.nc", "--ship"], "either"),
    "priors unknown scenario": (["priors", "--scenario", "nope"], "unknown scenario"),
    "scenarios missing folder": (["scenarios", "--priors", "nope"], "not found"),
    "unknown command": (["nope"], "No such command"),
}


@pytest.fixture
def work(tmp_path) -> Path:
    """A folder with the things the cases point at."""
    (tmp_path / "adir.nc").mkdir()
    (tmp_path / "adir.md").mkdir()
    (tmp_path / "adir.toml").mkdir()
    (tmp_path / "pair_draws.nc").mkdir()
    (tmp_path / "file.zarr").write_text("not a store")
    (tmp_path / "mydata.zarr").mkdir()
    (tmp_path / "mydata.zarr" / "thesis.txt").write_text("keep")
    (tmp_path / "text.nc").write_text("not netcdf")
    with open(tmp_path / "big.toml", "wb") as fh:  # sparse: 17 MiB, no disk used
        fh.truncate(17 * 2**20)
    _external_hdf5(tmp_path / "ext.nc")
    return tmp_path


def _check(work: Path, args, needle: str, status: int = 2):
    before = snapshot(work)
    assert_refused(invoke(args, work), needle, status)
    assert snapshot(work) == before


@pytest.mark.parametrize("name", sorted(FORECAST_SCENARIOS))
def test_hostile_scenario_file(work, name):
    text, needle = FORECAST_SCENARIOS[name]
    path = work / "s.toml"
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    _check(work, ["forecast", "--scenario", path, "--draws", "10", "--out", "f.nc", "-q", "--no-posterior"], needle)


@pytest.mark.parametrize("name", sorted(FORECAST_OPTIONS))
def test_hostile_forecast_option(work, name):
    args, needle = FORECAST_OPTIONS[name]
    _check(work, ["forecast", "--draws", "10", "--out", "f.nc", "-q", *args], needle)


@pytest.mark.parametrize("name", sorted(POSTERIORS))
def test_hostile_posterior(work, name):
    make, needle = POSTERIORS[name]
    path = make(work)
    _check(work, ["forecast", "--posterior", path, "--draws", "10", "--out", "f.nc", "-q"], needle)


@pytest.mark.parametrize("name", sorted(PRIORS_FOLDERS))
def test_hostile_priors_folder(work, name):
    transform, needle = PRIORS_FOLDERS[name]
    folder = _priors_edit(transform)(work)
    _check(work, ["forecast", "--priors", folder, "--draws", "10", "--out", "f.nc", "-q", "--no-posterior"], needle)
    _check(work, ["priors", "--priors", folder], needle)


@pytest.mark.parametrize("name", sorted(SCENARIO_FOLDERS))
def test_hostile_scenarios_folder(work, name):
    transform, needle = SCENARIO_FOLDERS[name]
    folder = _priors_edit(transform)(work)
    _check(work, ["scenarios", "--priors", folder], needle)


@pytest.mark.parametrize("name", sorted(OTHER_COMMANDS))
def test_hostile_other_commands(work, name):
    args, needle = OTHER_COMMANDS[name]
    _check(work, args, needle)


def test_corpus_size():
    cases = [FORECAST_SCENARIOS, FORECAST_OPTIONS, POSTERIORS, PRIORS_FOLDERS, SCENARIO_FOLDERS, OTHER_COMMANDS]
    assert sum(len(c) for c in cases) + len(SPECIAL_FILES) >= 100


# Files that would hang or exhaust a reader: run as real processes with a time limit.
SPECIAL_FILES = {
    "scenario fifo": (["forecast", "--scenario", "{fifo}", "--draws", "10", "--out", "f.nc", "-q"], "not a regular file"),
    "scenario /dev/zero": (["forecast", "--scenario", "/dev/zero", "--draws", "10", "--out", "f.nc", "-q"], "not a regular file"),
    "posterior fifo": (["forecast", "--posterior", "{fifo}", "--draws", "10", "--out", "f.nc", "-q"], "not a regular file"),
    "posterior /dev/zero": (["forecast", "--posterior", "/dev/zero", "--draws", "10", "--out", "f.nc", "-q"], "not a regular file"),
    "card fifo": (["card", "{fifo}", "--out", "c.md"], "not a regular file"),
    "card /dev/zero": (["card", "/dev/zero", "--out", "c.md"], "not a regular file"),
    "hindcast data fifo": (["hindcast", "--data", "{fifo}", "--out", "h.csv"], "not a regular file"),
    "card hindcast fifo": (["card", "text.nc", "--out", "c.md", "--hindcast", "{fifo}"], "not a regular file"),
}


@pytest.mark.parametrize("name", sorted(SPECIAL_FILES))
def test_special_files_are_refused_without_reading(work, name):
    args, needle = SPECIAL_FILES[name]
    fifo = work / "pipe.toml"
    os.mkfifo(fifo)
    before = snapshot(work)
    proc = subprocess.run([sys.executable, "-m", "mcbattery", *(a.format(fifo=fifo) for a in args)], cwd=work,
                          capture_output=True, text=True, timeout=120)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1 and needle in lines[0], proc.stderr
    assert snapshot(work) == before


# ----------------------------------------------------------------------------- generated input

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from mcbattery.model.params import REGISTRY  # noqa: E402

NUMBERS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, 1.0, 0.5, 2.0, -1.0, 1e-50, 1e39, 1e300, 1e308]),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.just(10**400),
)
VALUES = st.one_of(NUMBERS, st.booleans(), st.text(max_size=5), st.lists(st.integers(0, 3), max_size=2),
                   st.dictionaries(st.sampled_from(["CN", "EU", "EV", "LFP", "XX", "cells"]), NUMBERS, max_size=2))
NAMES = st.one_of(st.sampled_from(sorted(REGISTRY)), st.sampled_from(["price_volatilty", "x", "start_yaer"]))


def _toml(value) -> str:
    """A TOML literal (an inline table for a dict) for a generated value."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "nan" if value != value else ("inf" if value == float("inf") else "-inf" if value == float("-inf") else repr(value))
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return "{ " + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + " }"


@st.composite
def scenarios(draw) -> str:
    lines = ["[meta]", f"description = {_toml(draw(st.sampled_from(['a generated scenario', '', '  ', 'x'])))}"]
    for _ in range(draw(st.integers(0, 3))):
        kind = draw(st.sampled_from(["shift", "set", "sett"]))
        name = draw(NAMES)
        lines.append(f"[{kind}.{name}]")
        if kind == "shift":
            keys = draw(st.lists(st.sampled_from(["scale", "add", "mul"]), min_size=0, max_size=2, unique=True))
        else:
            keys = draw(st.lists(st.sampled_from(["dist", "value", "mean", "sd", "median", "sigma", "dims", "valu"]),
                                 max_size=3, unique=True))
        for key in keys:
            if key == "dist":
                lines.append(f"dist = {_toml(draw(st.sampled_from(['fixed', 'normal', 'lognormal', 'gamma'])))}")
            else:
                lines.append(f"{key} = {_toml(draw(VALUES))}")
    return "\n".join(lines) + "\n"


ARGS = st.fixed_dictionaries({
    "--draws": st.one_of(st.integers(1, 600), st.sampled_from([0, -3, 2**31, 2**31 - 1, 10**400])),
    "--seed": st.one_of(st.integers(0, 2**31 - 1), st.sampled_from([-1, 2**31])),
    "--keep-draws": st.sampled_from([0, 3, -1]),
    "--out": st.sampled_from(["f.nc", "f.csv", "f.xlsx", "f", "missing/f.nc"]),
})


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(text=scenarios(), args=ARGS)
def test_generated_scenarios_and_arguments_keep_the_contract(tmp_path_factory, text, args):
    """A valid result, or one line with exit status 2 (3: too many invalid draws) and nothing
    changed on disk; never a traceback."""
    work = tmp_path_factory.mktemp("gen")
    (work / "s.toml").write_text(text)
    before = snapshot(work)
    cli = ["forecast", "--scenario", "s.toml", "--end-year", "2027", "--chunk-size", "256", "-q", "--no-posterior"]
    for k, v in args.items():
        cli += [k, str(v)]
    r = invoke(cli, work)
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    assert "Traceback" not in r.output
    if r.exit_code == 0:
        out = work / args["--out"]
        made = {p.name for p in work.iterdir()} - set(before)
        sidecars = {f"{out.stem}_draws{out.suffix}", f"{out.stem}_provenance.json", f"{out.stem}_draws_provenance.json"}
        assert out.is_file() and made <= {out.name} | sidecars, made
        if out.suffix == ".nc":
            with xr.open_dataset(out) as ds:
                assert ds.attrs["draws"] == args["--draws"]
    else:
        lines = r.stderr.strip().splitlines()
        assert r.exit_code in (2, 3) and len(lines) == 1 and lines[0].startswith("error: "), r.output
        assert snapshot(work) == before


# ----------------------------------------------------------------------------- the group itself


def _group_with(callback):
    g = Group(name="g")
    g.add_command(click.Command("go", callback=callback))
    return g


def test_input_errors_become_one_line_and_exit_2():
    def fail():
        raise InputError("expected a number", file="x.toml", field="draws")

    r = CliRunner().invoke(_group_with(fail), ["go"])
    assert r.exit_code == 2
    assert r.output.strip() == "error: x.toml: draws: expected a number"


def test_other_errors_are_not_swallowed():
    def crash():
        raise RuntimeError("bug")

    r = CliRunner().invoke(_group_with(crash), ["go"])
    assert r.exit_code == 1 and isinstance(r.exception, RuntimeError)


def test_version_and_help():
    r = CliRunner().invoke(main, ["--version"])
    assert r.exit_code == 0 and __version__ in r.output
    r = CliRunner().invoke(main, ["-h"])
    assert r.exit_code == 0 and "lithium-ion battery value chain" in r.output
