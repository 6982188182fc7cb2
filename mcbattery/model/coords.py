"""Named dimensions and their labels, declared once in the priors folder (``coords.toml``).

:class:`Coords` is hashable (it is part of the compiled kernel's static structure) and gives
every position the model needs by name: ``coords.at("region", "CN")``, ``coords.exporter``. No block picks a
label by a bare integer.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

#: Axis whose labels the model's mechanics define (the kinds of pipeline rows).
STAGES: tuple[str, ...] = ("mining", "refining", "cells", "recycling")
#: Dimensions every coords.toml declares, with the label-valued roles each may carry.
DIMENSIONS: dict[str, dict[str, str]] = {
    "region": {"exporter": "one"},
    "chemistry": {},
    "segment": {},
    "material": {},
    "stage": {},
}
FILE = "coords.toml"


@dataclass(frozen=True)
class Coords:
    """Labels per dimension and the roles some labels play (hashable, immutable)."""

    dims: tuple[tuple[str, tuple[str, ...]], ...]
    long_names: tuple[tuple[str, str], ...]
    roles: tuple[tuple[str, str, tuple[str, ...]], ...]  # (dim, role, labels)

    def __getitem__(self, dim: str) -> tuple[str, ...]:
        for name, labels in self.dims:
            if name == dim:
                return labels
        raise KeyError(dim)

    def __contains__(self, dim: str) -> bool:
        return any(name == dim for name, _ in self.dims)

    def as_dict(self) -> dict[str, tuple[str, ...]]:
        return dict(self.dims)

    def long_name(self, dim: str) -> str:
        return dict(self.long_names).get(dim, dim)

    def size(self, dim: str) -> int:
        return len(self[dim])

    def shape(self, dims: tuple[str, ...]) -> tuple[int, ...]:
        """Array shape for a tuple of dimension names."""
        return tuple(len(self[d]) for d in dims)

    def at(self, dim: str, label: str) -> int:
        """Position of ``label`` along ``dim``."""
        return self[dim].index(label)

    def role(self, dim: str, role: str) -> tuple[str, ...]:
        for d, r, labels in self.roles:
            if d == dim and r == role:
                return labels
        raise KeyError(f"{dim}.{role}")

    def mask(self, dim: str, role: str) -> np.ndarray:
        """Boolean vector over ``dim``: True for the labels that play ``role``."""
        chosen = self.role(dim, role)
        return np.array([lab in chosen for lab in self[dim]])

    @property
    def exporter(self) -> int:
        """Position of the region that exports by choice."""
        return self.at("region", self.role("region", "exporter")[0])


def parse_coords(doc: dict, file: str) -> Coords:
    """Validate a parsed coords.toml; raises :class:`InputError` naming file and field."""
    from mcbattery.common.errors import InputError

    unknown = sorted(set(doc) - set(DIMENSIONS))
    if unknown:
        raise InputError(f"unknown dimension(s) {unknown}; expected {sorted(DIMENSIONS)}", file=file, field=unknown[0])
    dims, long_names, roles = [], [], []
    for dim, role_kinds in DIMENSIONS.items():
        table = doc.get(dim)
        if not isinstance(table, dict):
            raise InputError("missing table", file=file, field=dim)
        allowed = {"labels", "long_name", *role_kinds}
        extra = sorted(set(table) - allowed)
        if extra:
            raise InputError(f"unknown field(s) {extra}; expected {sorted(allowed)}", file=file, field=f"{dim}.{extra[0]}")
        labels = table.get("labels")
        if not isinstance(labels, list) or not labels or not all(isinstance(x, str) and x.strip() for x in labels):
            raise InputError("expected a non-empty list of label strings", file=file, field=f"{dim}.labels")
        if len(set(labels)) != len(labels):
            raise InputError("labels must be unique", file=file, field=f"{dim}.labels")
        if dim == "stage" and tuple(labels) != STAGES:
            raise InputError(f"the model's stages are {list(STAGES)}", file=file, field="stage.labels")
        long_name = table.get("long_name", dim)
        if not isinstance(long_name, str):
            raise InputError("expected a string", file=file, field=f"{dim}.long_name")
        for role, kind in role_kinds.items():
            value = table.get(role, [] if kind == "many" else None)
            chosen = [value] if kind == "one" and isinstance(value, str) else value
            if not isinstance(chosen, list) or (kind == "one" and len(chosen) != 1):
                raise InputError("expected a label" if kind == "one" else "expected a list of labels", file=file, field=f"{dim}.{role}")
            bad = [x for x in chosen if x not in labels]
            if bad:
                raise InputError(f"unknown label(s) {bad}; expected some of {labels}", file=file, field=f"{dim}.{role}")
            roles.append((dim, role, tuple(chosen)))
        dims.append((dim, tuple(labels)))
        long_names.append((dim, long_name))
    return Coords(tuple(dims), tuple(long_names), tuple(roles))


def load_coords(directory: str | Path) -> Coords:
    """Read ``coords.toml`` of a priors folder."""
    from mcbattery.common.errors import InputError
    from mcbattery.common.files import read_text

    path = Path(directory) / FILE
    if not path.exists():
        raise InputError("missing coordinates file; expected coords.toml in the priors folder", file=str(path))
    try:
        doc = tomllib.loads(read_text(path))  # a regular file of bounded size, UTF-8
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"cannot read coordinates ({exc.__class__.__name__}: {exc})", file=str(path)) from None
    return parse_coords(doc, str(path))
