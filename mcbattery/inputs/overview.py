"""What every parameter's prior says, in numbers: one row per parameter element with its
distribution, its median and central 90 % interval, and whether a scenario changed it.

Quantiles are exact (scipy's distributions; a Dirichlet component's marginal is a beta), or
read from the samples where a calibrated posterior replaced the prior.
"""

from __future__ import annotations

from itertools import product

import numpy as np
import pandas as pd
from scipy import stats

from mcbattery.inputs.priors import DISTRIBUTIONS, Prior, Priors
from mcbattery.model.coords import Coords
from mcbattery.model.params import REGISTRY

__all__ = ["LEVELS", "prior_overview", "element_labels"]

LEVELS = (0.05, 0.5, 0.95)


def element_labels(dims: tuple[str, ...], coords: Coords) -> list[tuple[tuple[int, ...], str]]:
    """``(index, "CN,LFP")`` for every element of a parameter with ``dims`` (``((), "")`` for a scalar)."""
    axes = [list(enumerate(coords[d])) for d in dims]
    return [(tuple(i for i, _ in combo), ",".join(lab for _, lab in combo)) for combo in product(*axes)]


def _quantiles(prior: Prior, idx: tuple[int, ...]) -> np.ndarray:
    """The LEVELS quantiles of one element of a prior."""
    f = {k: np.asarray(v, dtype=np.float64) for k, v in prior.fields.items()}
    q = np.asarray(LEVELS)
    at = lambda k: float(np.broadcast_to(f[k], _shape(prior))[idx])  # noqa: E731
    dist = prior.dist
    if dist == "fixed":
        return np.full(q.size, at("value"))
    if dist == "empirical":
        return np.quantile(f["samples"][(slice(None), *idx)], q)
    if dist == "normal":
        return stats.norm.ppf(q, at("mean"), at("sd"))
    if dist == "truncnormal":
        m, s, lo, hi = at("mean"), at("sd"), at("low"), at("high")
        if lo == hi:
            return np.full(q.size, lo)
        return stats.truncnorm.ppf(q, (lo - m) / s, (hi - m) / s, loc=m, scale=s)
    if dist == "lognormal":
        return at("median") * np.exp(at("sigma") * stats.norm.ppf(q))
    if dist == "uniform":
        return at("low") + (at("high") - at("low")) * q
    if dist == "triangular":
        lo, mo, hi = at("low"), at("mode"), at("high")
        if lo == hi:
            return np.full(q.size, lo)
        return stats.triang.ppf(q, (mo - lo) / (hi - lo), loc=lo, scale=hi - lo)
    if dist == "beta":
        m, c = at("mean"), at("concentration")
        return stats.beta.ppf(q, m * c, (1 - m) * c)
    if dist == "dirichlet":  # component i of Dirichlet(alpha) is Beta(alpha_i, sum(alpha) - alpha_i)
        alpha = np.broadcast_to(f["mean"] * f["concentration"], _shape(prior))
        a_i = float(alpha[idx])
        total = float(alpha[idx[:-1]].sum())
        return stats.beta.ppf(q, a_i, total - a_i)
    raise ValueError(dist)  # pragma: no cover - validated when the priors were read


def _shape(prior: Prior) -> tuple[int, ...]:
    if prior.dist == "empirical":
        return np.shape(prior.fields["samples"])[1:]
    return np.broadcast_shapes(*(np.shape(v) for v in prior.fields.values()))


def _fields_of(prior: Prior, idx: tuple[int, ...]) -> dict[str, float]:
    if prior.dist == "empirical":
        return {}
    required, _ = DISTRIBUTIONS[prior.dist]
    return {k: float(np.broadcast_to(prior.fields[k], _shape(prior))[idx]) for k in required}


def _same(p: Prior, q: Prior, idx: tuple[int, ...]) -> bool:
    if p.dist != q.dist:
        return False
    if p.dist == "empirical":
        a, b = p.fields["samples"][(slice(None), *idx)], q.fields["samples"][(slice(None), *idx)]
        return a.shape == b.shape and np.array_equal(a, b)
    return _fields_of(p, idx) == _fields_of(q, idx)


def prior_overview(priors: Priors, reference: Priors | None = None) -> pd.DataFrame:
    """One row per parameter element (registry order): ``parameter``, ``element`` (labels,
    comma-separated; empty for a scalar), ``block``, ``dist``, its numeric fields as
    ``dist_<field>`` columns, ``median``, ``q05``, ``q95``, ``units``, ``changed`` (the element
    differs from ``reference``, e.g. the priors without the scenario) and ``source``.
    With a ``reference``, its ``ref_dist``, ``ref_median``, ``ref_q05`` and ``ref_q95`` too."""
    rows = []
    for name in REGISTRY:
        if name not in priors.params:
            continue
        p = priors.params[name]
        ref = reference.params.get(name) if reference is not None else None
        for idx, label in element_labels(p.dims, priors.coords):
            q05, med, q95 = _quantiles(p, idx)
            row = {
                "parameter": name,
                "element": label,
                "block": REGISTRY[name].block,
                "dist": "posterior" if p.dist == "empirical" else p.dist,
                **{f"dist_{k}": v for k, v in _fields_of(p, idx).items()},
                "samples": int(p.fields["samples"].shape[0]) if p.dist == "empirical" else np.nan,
                "median": float(med),
                "q05": float(q05),
                "q95": float(q95),
                "units": p.units,
                "changed": bool(ref is not None and not _same(p, ref, idx)),
                "source": p.source,
            }
            if reference is not None and ref is not None:
                r05, rmed, r95 = _quantiles(ref, idx)
                row.update(ref_dist="posterior" if ref.dist == "empirical" else ref.dist,
                           ref_median=float(rmed), ref_q05=float(r05), ref_q95=float(r95))
            rows.append(row)
    frame = pd.DataFrame(rows)
    fields = sorted(c for c in frame.columns if c.startswith("dist_"))
    head = ["parameter", "element", "block", "dist", *fields, "samples", "median", "q05", "q95", "units", "changed"]
    rest = [c for c in frame.columns if c not in head]
    return frame[head + rest]
