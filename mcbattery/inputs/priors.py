"""Read, validate and edit priors and scenarios (TOML files under ``priors/``).

A prior file holds one table per parameter::

    [demand_growth_rate]
    dims = ["segment"]
    dist = "truncnormal"
    mean = { EV = 0.30, storage = 0.35, other = 0.08 }
    sd = 0.06
    low = 0.01
    high = 1.0
    units = "1/yr"
    source = "DOMAIN 2.5 ...; calibrated in docs/calibration.md"

A scenario file (``priors/scenarios/NAME.toml``) only *shifts* or *sets* parameters of the
priors; it never copies them. Every problem raises :class:`InputError` naming file and field.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import hashlib
import json
import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mcbattery.common import files
from mcbattery.common.checks import check_in_dtype
from mcbattery.model.coords import FILE as COORDS_FILE
from mcbattery.model.coords import Coords, load_coords
from mcbattery.common.errors import InputError
from mcbattery.model.params import REGISTRY, SUPPORTS
from mcbattery.inputs.locations import PRIORS_DIR


# distribution -> (required fields, location-like fields that a scenario shift moves)
DISTRIBUTIONS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "fixed": (("value",), ("value",)),
    "normal": (("mean", "sd"), ("mean",)),
    "truncnormal": (("mean", "sd", "low", "high"), ("mean", "low", "high")),
    "lognormal": (("median", "sigma"), ("median",)),
    "uniform": (("low", "high"), ("low", "high")),
    "triangular": (("low", "mode", "high"), ("low", "mode", "high")),
    "beta": (("mean", "concentration"), ("mean",)),
    "dirichlet": (("mean", "concentration"), ()),
}
META_FIELDS = ("dims", "dist", "units", "source", "note")
PRIORS_META = ("block", "title", "source", "note", "description")  # keys of a prior file's [meta]
SCENARIO_META = ("name", "description", "source", "note")  # keys of a scenario's [meta]
TOML_LIMIT = 16 * 2**20  # bytes: the largest priors or scenario file read
SCALE_FIELDS = ("sd", "sigma", "concentration")


@dataclass(frozen=True)
class Prior:
    """One parameter's resolved prior: distribution name and numeric fields as arrays."""

    name: str
    dims: tuple[str, ...]
    dist: str
    fields: dict[str, np.ndarray]
    units: str
    source: str
    file: str
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        if self.dist == "empirical":
            digest = hashlib.sha256(np.ascontiguousarray(self.fields["samples"], dtype=np.float64).tobytes()).hexdigest()
            return {"dims": list(self.dims), "dist": self.dist, "samples_sha256": digest, "units": self.units}
        return {
            "dims": list(self.dims),
            "dist": self.dist,
            "fields": {k: np.asarray(v).tolist() for k, v in sorted(self.fields.items())},
            "units": self.units,
        }


@dataclass(frozen=True)
class Priors:
    """All parameters of the model plus provenance (which files, which scenario)."""

    params: dict[str, Prior]
    directory: str
    coords: Coords
    scenario: str = "baseline"
    scenario_description: str = ""
    scenario_file: str = ""
    shifted: tuple[str, ...] = field(default_factory=tuple)
    posterior: dict[str, str] = field(default_factory=dict)
    files_hash: str = ""

    def hash(self) -> str:
        """Short sha256 of the resolved priors, what the engine samples from (coordinates,
        distributions and numbers, not prose; posterior samples included). Recorded as
        ``resolved_hash``."""
        doc = {k: p.to_json() for k, p in sorted(self.params.items())}
        doc["coords"] = {d: list(labels) for d, labels in self.coords.dims} | {"roles": [list(r[:2]) + list(r[2]) for r in self.coords.roles]}
        blob = json.dumps(doc, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def priors_hash(self) -> str:
        """Short sha256 of the priors as the files give them, scenario applied, before posterior
        samples replaced any parameter (equal to :meth:`hash` without a posterior). Recorded as
        ``priors_hash``."""
        return self.files_hash or self.hash()

    def __getitem__(self, name: str) -> Prior:
        return self.params[name]

    @property
    def start_year(self) -> int:
        """The first simulated year: the fixed, whole-year ``start_year`` parameter."""
        p = self.params["start_year"]
        where = p.file if p.dist != "empirical" else f"posterior {self.posterior.get('file', '')}".strip()
        if p.dist != "fixed":
            raise InputError(f'must be dist = "fixed" (a whole year), got {p.dist!r}', file=where, field="start_year")
        value = float(p.fields["value"])
        if not value.is_integer() or not 1900 <= value <= 2200:
            raise InputError(f"expected a whole year between 1900 and 2200, got {value:g}", file=where, field="start_year")
        return int(value)

    def check_range(self, dtype: str = "float32") -> None:
        """Every number of every prior finite and inside ``dtype``'s range (the engine computes in it)."""
        for p in self.params.values():
            for k, v in p.fields.items():
                check_in_dtype(v, dtype, file=p.file, field=f"{p.name}.{k}")

    def with_posterior(self, samples: dict[str, np.ndarray], info: dict[str, str] | None = None) -> "Priors":
        """Replace priors by joint posterior samples (``name -> (S, *dims)``). All replaced
        parameters share one sample index per draw, so posterior correlations are kept."""
        params = dict(self.params)
        src = (info or {}).get("file", "posterior")
        n = {np.shape(v)[0] if np.ndim(v) else 0 for v in samples.values()}
        if len(n) != 1:
            raise InputError(f"posterior variables have different sample counts {sorted(n)}", file=src, field="posterior")
        if 0 in n:
            raise InputError("posterior has no samples; expected at least one", file=src, field="posterior")
        for name, arr in samples.items():
            if name not in REGISTRY:
                close = _close_names(name)
                raise InputError("posterior variable is not a model parameter" + (f"; did you mean {close}?" if close else ""),
                                 file=src, field=f"posterior.{name}")
            if REGISTRY[name].block == "horizon" or name == "start_year":
                raise InputError("the first simulated year cannot come from a posterior", file=src, field=f"posterior.{name}")
            try:
                arr = np.asarray(arr, dtype=np.float64)
            except (TypeError, ValueError):
                raise InputError("expected numbers", file=src, field=f"posterior.{name}") from None
            old = params[name]
            if arr.shape[1:] != self.coords.shape(old.dims):
                raise InputError(f"expected shape (samples, {self.coords.shape(old.dims)}), got {arr.shape}", field=f"posterior.{name}")
            if not np.all(np.isfinite(arr)):
                raise InputError("posterior samples must be finite", field=f"posterior.{name}")
            lo, hi = SUPPORTS[REGISTRY[name].support]
            if np.any(arr < lo) or np.any(arr > hi):
                raise InputError(f"posterior samples outside the parameter's {REGISTRY[name].support} range", field=f"posterior.{name}")
            params[name] = Prior(name, old.dims, "empirical", {"samples": arr}, old.units, f"posterior {src}; prior: {old.source}", src)
        return dataclasses.replace(self, params=params, posterior=dict(info or {}), files_hash=self.priors_hash())

    def table(self):
        """A pandas table of every parameter: dims, distribution, location, units, source."""
        import pandas as pd

        rows = []
        for p in self.params.values():
            rows.append(
                {
                    "parameter": p.name,
                    "block": REGISTRY[p.name].block,
                    "dims": ",".join(p.dims),
                    "dist": p.dist,
                    **{k: _short(v) for k, v in p.fields.items()},
                    "units": p.units,
                    "source": p.source,
                }
            )
        return pd.DataFrame(rows).set_index("parameter")


def _short(v: np.ndarray) -> str | float:
    v = np.asarray(v)
    return float(v) if v.ndim == 0 else np.array2string(v, precision=4, separator=",")


def shipped_coords() -> Coords:
    """The coordinates of the shipped priors (``priors/coords.toml``)."""
    return _shipped_coords(str(PRIORS_DIR))


@functools.lru_cache(maxsize=4)
def _shipped_coords(directory: str) -> Coords:
    return load_coords(directory)


# ----------------------------------------------------------------------------- parsing


def _read_toml(path: Path) -> dict[str, Any]:
    text = files.read_text(path, TOML_LIMIT)  # regular files only, size-capped
    if not text.strip():
        raise InputError("file is empty; expected TOML tables of parameters", file=str(path))
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"not valid TOML ({exc})", file=str(path)) from None
    except RecursionError:
        raise InputError("not valid TOML (nested too deeply)", file=str(path)) from None


def _number(x: Any, file: str, where: str) -> float:
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        raise InputError(f"expected a number, got {x!r}", file=file, field=where)
    try:
        value = float(x)
    except OverflowError:
        raise InputError(f"expected a number within the float64 range, got an integer of {len(str(x))} digits", file=file, field=where) from None
    if not math.isfinite(value):
        raise InputError(f"expected a finite number, got {x!r}", file=file, field=where)
    return value


def _array(value: Any, dims: tuple[str, ...], coords: Coords, file: str, where: str) -> np.ndarray:
    """A scalar broadcasts; a table keyed by coordinate labels gives one value per label."""
    if not isinstance(value, dict):
        return np.full(coords.shape(dims), _number(value, file, where), dtype=np.float64)
    if not dims:
        raise InputError("expected a number for a parameter without dims", file=file, field=where)
    labels = coords[dims[0]]
    unknown = sorted(set(value) - set(labels))
    missing = [lab for lab in labels if lab not in value]
    if unknown:
        raise InputError(
            f"unknown {dims[0]} label(s) {unknown}; expected {list(labels)}", file=file, field=where
        )
    if missing:
        raise InputError(f"missing {dims[0]} label(s) {missing}", file=file, field=where)
    return np.stack([_array(value[lab], dims[1:], coords, file, f"{where}.{lab}") for lab in labels])


def _check_fields(name: str, dist: str, fields: dict[str, np.ndarray], support: str, file: str):
    """Scale > 0, bounds ordered, and the distribution's support inside the parameter's."""
    for k in SCALE_FIELDS:
        if k in fields and np.any(fields[k] <= 0):
            raise InputError(f"must be > 0 (use dist = \"fixed\" for no uncertainty)", file=file, field=f"{name}.{k}")
    lo_s, hi_s = SUPPORTS[support]
    if dist in ("truncnormal", "uniform", "triangular"):
        low, high = fields["low"], fields["high"]
        if np.any(low > high):
            raise InputError("bounds inverted: low must be <= high (equal bounds fix the value)", file=file, field=f"{name}.low")
        if dist == "triangular" and np.any((fields["mode"] < low) | (fields["mode"] > high)):
            raise InputError("mode must lie within [low, high]", file=file, field=f"{name}.mode")
        if dist == "truncnormal" and np.any((fields["mean"] < low) | (fields["mean"] > high)):
            raise InputError("mean must lie within [low, high]", file=file, field=f"{name}.mean")
        lo, hi = low, high
    elif dist == "fixed":
        lo = hi = fields["value"]
    elif dist == "normal":
        lo, hi = -np.inf, np.inf
    elif dist == "lognormal":
        if np.any(fields["median"] <= 0):
            raise InputError("median must be > 0", file=file, field=f"{name}.median")
        lo, hi = 0.0, np.inf
    else:  # beta, dirichlet
        m = fields["mean"]
        if np.any((m <= 0) | (m >= 1)):
            raise InputError("mean must lie strictly between 0 and 1", file=file, field=f"{name}.mean")
        lo, hi = 0.0, 1.0
    if support == "positive" and dist in ("fixed", "uniform", "truncnormal", "triangular"):
        if np.any(np.asarray(lo) <= 0):
            raise InputError("must be > 0 (parameter is positive)", file=file, field=name)
    if np.any(np.asarray(lo) < lo_s) or np.any(np.asarray(hi) > hi_s):
        raise InputError(
            f"{dist} support exceeds the parameter's {support} range [{lo_s}, {hi_s}]"
            + ("; use truncnormal or lognormal" if dist == "normal" else ""),
            file=file,
            field=name,
        )
    if support == "simplex":
        if dist == "dirichlet":
            total = fields["mean"].sum(axis=-1)
        elif dist == "fixed":
            total = fields["value"].sum(axis=-1)
        else:
            raise InputError("a share vector needs dist = \"dirichlet\" or \"fixed\"", file=file, field=name)
        if np.any(np.abs(total - 1.0) > 1e-6):
            raise InputError("shares must sum to 1 over the last dimension", file=file, field=name)


def _parse_param(name: str, table: Any, file: str, coords: Coords) -> Prior:
    if name not in REGISTRY:
        close = _close_names(name)
        raise InputError(
            "unknown parameter" + (f"; did you mean {close}?" if close else ""), file=file, field=name
        )
    if not isinstance(table, dict):
        raise InputError("expected a table of fields", file=file, field=name)
    spec = REGISTRY[name]
    dist = table.get("dist")
    if dist is None:
        raise InputError("missing field 'dist'", file=file, field=name)
    if not isinstance(dist, str) or dist not in DISTRIBUTIONS:
        raise InputError(f"unknown distribution {dist!r}; expected one of {sorted(DISTRIBUTIONS)}", file=file, field=f"{name}.dist")
    required, _ = DISTRIBUTIONS[dist]
    allowed = set(required) | set(META_FIELDS)
    _check_keys(table, allowed, file, name, f"for dist {dist!r}")
    for k in ("units", "source"):
        if not isinstance(table.get(k), str) or not table[k].strip():
            raise InputError(f"missing field {k!r} (every parameter states its {k})", file=file, field=name)
    if not isinstance(table.get("note", ""), str):
        raise InputError("expected a string", file=file, field=f"{name}.note")
    dims = table.get("dims", [])
    if not isinstance(dims, list) or not all(isinstance(d, str) for d in dims):
        raise InputError(f"expected a list of dimension names like {list(spec.dims)}", file=file, field=f"{name}.dims")
    dims = tuple(dims)
    if dims != spec.dims:
        raise InputError(f"dims must be {list(spec.dims)}, got {list(dims)}", file=file, field=f"{name}.dims")
    if dist == "dirichlet" and not dims:
        raise InputError("dirichlet needs at least one dim", file=file, field=name)
    fields = {}
    for k in required:
        if k not in table:
            raise InputError(f"missing field {k!r} for dist {dist!r}", file=file, field=name)
        fields[k] = _array(table[k], dims, coords, file, f"{name}.{k}")
    _check_fields(name, dist, fields, spec.support, file)
    return Prior(name, dims, dist, fields, table["units"], table["source"], file, table.get("note", ""))


def _close_names(name: str, known=REGISTRY) -> list[str]:
    import difflib

    return difflib.get_close_matches(str(name), list(known), n=2)


def _check_keys(table: dict, allowed, file: str, where: str | None, what: str = "") -> None:
    """Refuse a key that is not ``allowed``, suggesting the closest allowed ones."""
    for k in table:
        if k not in allowed:
            close = _close_names(k, allowed)
            hint = f"did you mean {close}? " if close else ""
            raise InputError(f"unknown field {k!r}{' ' + what if what else ''}; {hint}expected one of {sorted(allowed)}",
                             file=file, field=f"{where}.{k}" if where else k)


def _scenario_meta(doc: dict, file: str) -> dict:
    """A scenario's [meta] table: a non-blank ``description``, optional name/source/note strings."""
    meta = doc.get("meta")
    if not isinstance(meta, dict) or not isinstance(meta.get("description"), str) or not meta["description"].strip():
        raise InputError("missing [meta] table with a non-blank 'description' string", file=file, field="meta")
    _check_keys(meta, SCENARIO_META, file, "meta")
    for k, v in meta.items():
        if not isinstance(v, str):
            raise InputError("expected a string", file=file, field=f"meta.{k}")
    return meta


def load_priors(directory: str | Path | None = None) -> Priors:
    """Read every ``*.toml`` in a priors folder (not ``scenarios/``); check all model parameters are there."""
    root = Path(directory) if directory is not None else PRIORS_DIR
    if not root.is_dir():
        raise InputError("priors folder not found", file=str(root))
    params: dict[str, Prior] = {}
    coords = load_coords(root)
    files = sorted(p for p in root.glob("*.toml") if p.name != COORDS_FILE)
    if not files:
        raise InputError("no prior files (*.toml) in folder", file=str(root))
    for path in files:
        doc = _read_toml(path)
        for name, table in doc.items():
            if name == "meta":
                if not isinstance(table, dict):
                    raise InputError("expected a table", file=str(path), field="meta")
                _check_keys(table, PRIORS_META, str(path), "meta")
                continue
            if name in params:
                raise InputError(f"defined twice (also in {params[name].file})", file=str(path), field=name)
            params[name] = _parse_param(name, table, str(path), coords)
    missing = sorted(set(REGISTRY) - set(params))
    if missing:
        raise InputError(f"missing parameter(s) {missing}", file=str(root))
    priors = Priors(params=params, directory=str(root), coords=coords)
    priors.start_year  # noqa: B018  (validates it)
    return priors


# ----------------------------------------------------------------------------- scenarios


def list_scenarios(directory: str | Path | None = None) -> dict[str, str]:
    """Scenario name -> one-line description for every file in ``<priors>/scenarios``."""
    root = (Path(directory) if directory is not None else PRIORS_DIR) / "scenarios"
    out = {}
    for path in sorted(root.glob("*.toml")):
        meta = _scenario_meta(_read_toml(path), str(path))
        out[path.stem] = meta["description"].strip().splitlines()[0]
    return out


def _resolve_scenario_path(scenario: str | Path, directory: Path) -> Path:
    s = str(scenario)
    if s.endswith(".toml") or "/" in s or Path(s).is_file():
        return Path(s)
    path = directory / "scenarios" / f"{s}.toml"
    if not path.is_file():
        names = sorted(list_scenarios(directory))
        raise InputError(f"unknown scenario {s!r}; expected one of {names} or a .toml file", field="scenario")
    return path


def load_scenario(
    scenario: str | Path = "baseline",
    priors: str | Path | Priors | None = None,
    posterior: str | Path | None = None,
) -> Priors:
    """Priors (optionally replaced by posterior samples) with a scenario's shifts and sets
    applied on top. ``scenario`` is a name or a file path; ``posterior`` a samples file."""
    base = priors if isinstance(priors, Priors) else load_priors(priors)
    path = _resolve_scenario_path(scenario, Path(base.directory))
    if posterior is None:
        return _apply_scenario(base, path)
    from mcbattery.inputs.posterior import load_engine_samples

    samples, info = load_engine_samples(posterior, base.coords)
    resolved = _apply_scenario(base.with_posterior(samples, info), path)
    try:
        files_hash = _apply_scenario(base, path).priors_hash()
    except InputError:  # a shift valid on the posterior samples only: hash the inputs as given
        blob = (base.priors_hash() + path.read_text(encoding="utf-8")).encode()
        files_hash = hashlib.sha256(blob).hexdigest()[:16]
    return dataclasses.replace(resolved, files_hash=files_hash)


def _apply_scenario(base: Priors, path: Path) -> Priors:
    """``base`` with the scenario file at ``path`` applied (sets, then shifts)."""
    file = str(path)
    doc = _read_toml(path)
    meta = _scenario_meta(doc, file)
    _check_keys(doc, ("meta", "shift", "set"), file, None, "(a table)")
    for kind in ("set", "shift"):
        if not isinstance(doc.get(kind, {}), dict):
            raise InputError(f"expected tables [{kind}.<parameter>]", file=file, field=kind)
    params = dict(base.params)
    touched = []
    for name, table in doc.get("set", {}).items():
        params[name] = _apply_set(params, name, table, file, base.coords)
        touched.append(name)
    for name, table in doc.get("shift", {}).items():
        params[name] = _apply_shift(params, name, table, file, base.coords)
        touched.append(name)
    resolved = Priors(
        params=params,
        directory=base.directory,
        coords=base.coords,
        scenario=str(meta.get("name", path.stem)),
        scenario_description=meta["description"].strip(),
        scenario_file=file,
        shifted=tuple(touched),
        posterior=base.posterior,
    )
    resolved.start_year  # noqa: B018  (validates it)
    return resolved


def _existing(params: dict[str, Prior], name: str, file: str, kind: str) -> Prior:
    if name not in params:
        close = _close_names(name)
        raise InputError(
            f"{kind} of unknown parameter" + (f"; did you mean {close}?" if close else ""), file=file, field=f"{kind}.{name}"
        )
    return params[name]


def _apply_set(params: dict[str, Prior], name: str, table: Any, file: str, coords: Coords) -> Prior:
    old = _existing(params, name, file, "set")
    if not isinstance(table, dict):
        raise InputError("expected a table", file=file, field=f"set.{name}")
    merged: dict[str, Any] = {"dims": list(old.dims), "units": old.units, "source": old.source}
    if old.dist == "empirical" and "dist" not in table:
        raise InputError("replacing a posterior parameter needs a full distribution with 'dist'", file=file, field=f"set.{name}")
    if "dist" not in table or table["dist"] == old.dist:
        merged["dist"] = old.dist
        merged.update({k: _to_toml_value(v, old.dims, coords) for k, v in old.fields.items()})
    merged.update(copy.deepcopy(table))
    if "source" not in table:
        merged["source"] = f"scenario {Path(file).stem}; base: {old.source}"
    return _parse_param(name, merged, file, coords)


def _to_toml_value(v: np.ndarray, dims: tuple[str, ...], coords: Coords):
    if not dims:
        return float(v)
    return {lab: _to_toml_value(v[i], dims[1:], coords) for i, lab in enumerate(coords[dims[0]])}


def _apply_shift(params: dict[str, Prior], name: str, table: Any, file: str, coords: Coords) -> Prior:
    old = _existing(params, name, file, "shift")
    where = f"shift.{name}"
    if not isinstance(table, dict) or not table:
        raise InputError("expected a table with 'scale' and/or 'add'", file=file, field=where)
    _check_keys(table, ("scale", "add"), file, where)
    locs = ("samples",) if old.dist == "empirical" else DISTRIBUTIONS[old.dist][1]
    if not locs:
        raise InputError(f"a {old.dist} prior cannot be shifted; use [set.{name}]", file=file, field=where)
    scale = _partial(table.get("scale", 1.0), old.dims, 1.0, coords, file, f"{where}.scale")
    add = _partial(table.get("add", 0.0), old.dims, 0.0, coords, file, f"{where}.add")
    fields = dict(old.fields)
    with np.errstate(over="ignore", invalid="ignore"):
        for k in locs:
            fields[k] = fields[k] * scale + add
            if not np.all(np.isfinite(fields[k])):
                raise InputError(f"the shifted {k} is not a finite number", file=file, field=where)
    spec = REGISTRY[name]
    if old.dist == "empirical":
        lo, hi = SUPPORTS[spec.support]
        if np.any(fields["samples"] < lo) or np.any(fields["samples"] > hi):
            raise InputError(f"shift moves posterior samples outside the {spec.support} range", file=file, field=where)
    else:
        _check_fields(name, old.dist, fields, spec.support, file)
    return Prior(name, old.dims, old.dist, fields, old.units, old.source, old.file, f"shifted by {Path(file).stem}")


def _partial(value: Any, dims: tuple[str, ...], default: float, coords: Coords, file: str, where: str) -> np.ndarray:
    """Like _array, but labels left out keep the neutral value (1 for scale, 0 for add)."""
    if not isinstance(value, dict):
        return np.full(coords.shape(dims), _number(value, file, where))
    if not dims:
        raise InputError("expected a number for a parameter without dims", file=file, field=where)
    labels = coords[dims[0]]
    unknown = sorted(set(value) - set(labels))
    if unknown:
        raise InputError(f"unknown {dims[0]} label(s) {unknown}; expected {list(labels)}", file=file, field=where)
    return np.stack(
        [_partial(value.get(lab, default), dims[1:], default, coords, file, f"{where}.{lab}") for lab in labels]
    )
