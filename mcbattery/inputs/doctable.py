"""Markdown tables of the priors (used for docs/model.md §5, and checked by the tests so the
document always shows the shipped numbers and sources)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mcbattery.model.coords import Coords
from mcbattery.model.params import REGISTRY
from mcbattery.inputs.priors import DISTRIBUTIONS, Priors, load_priors

SYMBOLS = {"sigma": "σ"}


def _num(x: float) -> str:
    x = float(x)
    if x == int(x) and 1900 <= x <= 2200:  # calendar years
        return str(int(x))
    if x == int(x) and abs(x) < 1e15:
        return f"{int(x):,}"
    return f"{x:,.6g}" if abs(x) >= 1000 else f"{x:.6g}"


def _value(arr: np.ndarray, dims: tuple[str, ...], coords: Coords) -> str:
    arr = np.asarray(arr)
    if arr.ndim == 0 or np.all(arr == arr.flat[0]):
        return _num(arr.flat[0])
    if len(dims) == 1:
        return "{" + ", ".join(f"{lab} {_num(v)}" for lab, v in zip(coords[dims[0]], arr)) + "}"
    rows = [f"{lab}: {_value(arr[i], dims[1:], coords)}" for i, lab in enumerate(coords[dims[0]])]
    return "; ".join(rows)


def describe(prior, coords: Coords) -> str:
    """``lognormal(median {EV 953, ...}; σ 0.03)`` style description of one prior."""
    if prior.dist == "fixed":
        return f"fixed {_value(prior.fields['value'], prior.dims, coords)}"
    if prior.dist == "empirical":
        return f"posterior samples ({prior.fields['samples'].shape[0]})"
    required, _ = DISTRIBUTIONS[prior.dist]
    parts = []
    for k in required:
        parts.append(f"{SYMBOLS.get(k, k)} {_value(prior.fields[k], prior.dims, coords)}")
    return f"{prior.dist}({'; '.join(parts)})"


def tables(priors: Priors | None = None) -> str:
    """One table per prior file, parameters in registry order."""
    priors = priors or load_priors()
    by_file: dict[str, list[str]] = {}
    for name in REGISTRY:
        by_file.setdefault(Path(priors[name].file).name, []).append(name)
    out = []
    for fname in sorted(by_file, key=lambda f: min(list(REGISTRY).index(n) for n in by_file[f])):
        block = REGISTRY[by_file[fname][0]].block
        out.append(f"### {block} (`priors/{fname}`)\n")
        out.append("| parameter | dims | distribution | units | source |")
        out.append("|---|---|---|---|---|")
        for name in by_file[fname]:
            p = priors[name]
            dims = " × ".join(p.dims) if p.dims else "—"
            out.append(f"| `{name}` | {dims} | {describe(p, priors.coords)} | {p.units} | {p.source} |")
        out.append("")
    return "\n".join(out)
