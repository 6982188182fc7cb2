"""Scenario discovery: which combinations of uncertain parameters lead to an outcome?

``discover(draws, "unmet_share[year=2030,material=lithium] > 0.1")`` takes a forecast's kept draws, which carry
each draw's sampled parameters beside its outputs, marks the draws where the outcome holds and
runs PRIM (the Patient Rule Induction Method of Friedman & Fisher, 1999, as implemented in the
EMA Workbench, Kwakkel 2017) to find boxes, ranges of a few parameters, inside which the
outcome is much more frequent than overall. Each box is reported with

* **coverage**: the share of all outcome draws that fall inside the box (how much of the
  outcome the box explains), and
* **density**: the share of draws inside the box that have the outcome (how reliably the box
  leads to it), beside the base rate over all draws;
* **mass**: the share of all draws inside the box,

and the whole peeling trajectory, the coverage/density trade-off from which the box was
chosen (:func:`mcbattery.research.plots.peeling_tradeoff`). The chosen box is the one with the
highest coverage among those whose density reaches ``density``, else the densest.

ema_workbench is an optional dependency (``pip install mcbattery[discovery]``).
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field
from itertools import product

import numpy as np
import pandas as pd
import xarray as xr

from mcbattery.common.errors import InputError

__all__ = ["Discovery", "Box", "discover", "parameter_table", "outcome_mask", "parse_outcome", "screen"]

_OUTCOME = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:\[([^\]]*)\])?\s*(>=|<=|>|<)\s*([-+0-9.eE_,]+)\s*$")


@dataclass
class Box:
    """One PRIM box: the restricted parameters' ranges (``limits``: parameter, low, high,
    sampled_low, sampled_high, qp_low, qp_high, units) and its coverage, density and mass."""

    limits: pd.DataFrame
    coverage: float
    density: float
    mass: float
    n: int
    index: int  # the point on the peeling trajectory


@dataclass
class Discovery:
    """What :func:`discover` found: the ``outcome`` as text, how many draws and the base rate,
    the chosen ``boxes`` and each box's peeling ``trajectories`` (coverage, density, mass,
    res_dim per step), and the provenance of the draws in ``attrs``."""

    outcome: str
    draws: int
    base_rate: float
    density_target: float
    boxes: list[Box]
    trajectories: list[pd.DataFrame]
    attrs: dict = field(default_factory=dict)
    prim: object = None  # the ema_workbench Prim object, for its own plots and inspection
    parameters: list = field(default_factory=list)  # the parameter elements PRIM looked at

    def table(self) -> pd.DataFrame:
        """Every box's limits in one table, with its coverage, density and mass."""
        rows = []
        for i, b in enumerate(self.boxes):
            lim = b.limits.copy()
            lim.insert(0, "box", i + 1)
            lim["coverage"], lim["density"], lim["mass"] = b.coverage, b.density, b.mass
            rows.append(lim)
        return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()

    def summary(self) -> str:
        """A few lines of text: base rate, then each box with its ranges."""
        lines = [f"outcome {self.outcome}: {self.base_rate:.1%} of {self.draws:,} draws"]
        for i, b in enumerate(self.boxes):
            lines.append(f"box {i + 1}: coverage {b.coverage:.1%}, density {b.density:.1%} "
                         f"(base rate {self.base_rate:.1%}), mass {b.mass:.1%}, {len(b.limits)} parameter(s)")
            for _, r in b.limits.iterrows():
                lines.append(f"  {r['parameter']:36s} {_num(r['low'])} to {_num(r['high'])}  "
                             f"(sampled {_num(r['sampled_low'])} to {_num(r['sampled_high'])}) {r['units']}")
        if self.boxes and self.boxes[0].density < self.density_target:
            lines.append(f"no box reaches a density of {self.density_target:.0%}; the densest is shown")
        return "\n".join(lines)


def _num(x: float) -> str:
    x = float(x)
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.4g}"


def parse_outcome(text: str) -> tuple[str, dict, str, float]:
    """``"cost_gap[year=2030,region=EU,chemistry=LFP] > 0"`` -> (name, selection, op, value)."""
    m = _OUTCOME.match(str(text))
    if not m:
        raise InputError(f"expected OUTPUT[DIM=LABEL,...] > VALUE (or <, >=, <=), e.g. 'unmet_share[year=2030,material=lithium] > 0.1'; "
                         f"got {text!r}", field="outcome")
    name, sel_text, op, value = m.groups()
    try:
        number = float(value.replace("_", "").replace(",", ""))
    except ValueError:
        raise InputError(f"expected a number after {op!r}; got {value!r}", field="outcome") from None
    sel = {}
    for part in filter(None, (p.strip() for p in (sel_text or "").split(","))):
        k, eq, v = part.partition("=")
        if not eq or not k.strip() or not v.strip():
            raise InputError(f"expected DIM=LABEL inside [...]; got {part!r}", field="outcome")
        sel[k.strip()] = int(v) if k.strip() == "year" and v.strip().isdigit() else v.strip()
    return name, sel, op, number


def outcome_mask(draws: xr.Dataset, outcome) -> tuple[np.ndarray, str]:
    """Boolean per draw and a description: ``outcome`` is text (:func:`parse_outcome`), a boolean
    DataArray on dim ``draw``, or a boolean array of one value per draw."""
    if isinstance(outcome, str):
        name, sel, op, value = parse_outcome(outcome)
        if name not in draws or draws[name].attrs.get("role", "output") != "output":
            outs = sorted(k for k, v in draws.data_vars.items() if v.attrs.get("role", "output") == "output")
            raise InputError(f"unknown output {name!r} in the draws; expected one of {outs}", field="outcome")
        da = draws[name]
        for d, v in sel.items():
            if d not in da.dims or d == "draw":
                raise InputError(f"{name} has no dim {d!r}; dims are {[x for x in da.dims if x != 'draw']}", field="outcome")
            if v not in da[d].values.tolist():
                raise InputError(f"{name}: {d}={v!r} not available; expected one of {da[d].values.tolist()}", field="outcome")
        da = da.sel(sel)
        left = [d for d in da.dims if d != "draw"]
        if left:
            raise InputError(f"select one label of {left} in the outcome, e.g. {name}[{left[0]}=...]", field="outcome")
        x = da.values
        mask = {">": x > value, ">=": x >= value, "<": x < value, "<=": x <= value}[op]
        return np.asarray(mask & np.isfinite(x), bool), re.sub(r"\s+", " ", outcome.strip())
    arr = np.asarray(outcome.values if isinstance(outcome, xr.DataArray) else outcome)
    if arr.dtype != bool or arr.shape != (draws.sizes["draw"],):
        raise InputError(f"expected a boolean per draw ({draws.sizes['draw']}), got {arr.dtype} {arr.shape}", field="outcome")
    return arr, str(getattr(outcome, "name", None) or "outcome")


def parameter_table(draws: xr.Dataset) -> tuple[pd.DataFrame, dict[str, str]]:
    """The kept draws' sampled parameters as one float64 column per element, named
    ``name`` or ``name[label,...]`` (constant columns left out), and each column's units."""
    params = [k for k, v in draws.data_vars.items() if v.attrs.get("role") == "parameter"]
    if not params:
        raise InputError("the draws carry no sampled parameters; use kept draws of this version "
                         "(mcbattery forecast --keep-draws N)", field="draws")
    cols, units = {}, {}
    for name in params:
        da = draws[name]
        other = [d for d in da.dims if d != "draw"]
        labels = [da[d].values.tolist() for d in other]
        for combo in product(*labels):
            col = name + (f"[{','.join(str(c) for c in combo)}]" if combo else "")
            x = np.asarray(da.sel(dict(zip(other, combo))).values, np.float64)
            if np.nanmax(x) > np.nanmin(x):
                cols[col] = x
                units[col] = str(da.attrs.get("units", ""))
    return pd.DataFrame(cols), units


def _prim():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ema_workbench warns about optional parallel back ends on import
        from ema_workbench.analysis import prim
    return prim


def discover(
    draws,
    outcome,
    *,
    density: float = 0.8,
    boxes: int = 1,
    peel_alpha: float = 0.05,
    paste_alpha: float = 0.05,
    mass_min: float = 0.05,
    max_parameters: int | None = 30,
) -> Discovery:
    """Find parameter boxes where ``outcome`` is frequent, with PRIM.

    draws: kept draws with their sampled parameters (``Forecast.draws``, a Forecast, or a
    ``*_draws.nc``/``.zarr`` opened with xarray); outcome: ``"OUTPUT[DIM=LABEL,...] > VALUE"``
    (``<``, ``>=``, ``<=`` too), e.g. ``"unmet_share[year=2030,material=lithium] > 0.1"`` or
    ``"cost_gap[year=2030,region=EU,chemistry=LFP] > 0"`` (EU LFP cells not at parity), or a
    boolean per draw; density: the target density of the chosen box; boxes: how many boxes
    to find one after another (each on the draws the earlier ones left); peel_alpha,
    paste_alpha, mass_min: PRIM's peeling and pasting steps and the smallest box mass;
    max_parameters: PRIM looks at this many parameter elements, those whose distributions differ
    most between draws with and without the outcome (two-sample Kolmogorov-Smirnov statistic;
    None: all of them). Peeling time grows with their number, and the screen keeps the boxes
    to parameters that matter.
    """
    if hasattr(draws, "draws") and not isinstance(draws, xr.Dataset):
        draws = draws.draws
    if not isinstance(draws, xr.Dataset) or "draw" not in draws.dims:
        raise InputError("expected kept draws (a Dataset with dim 'draw'); run the forecast with keep_draws", field="draws")
    for name, v, lo, hi in (("density", density, 0.0, 1.0), ("peel_alpha", peel_alpha, 0.0, 0.5),
                            ("paste_alpha", paste_alpha, 0.0, 0.5), ("mass_min", mass_min, 0.0, 1.0)):
        if not isinstance(v, (int, float)) or not lo < float(v) <= hi:
            raise InputError(f"expected a number in ({lo}, {hi}]; got {v!r}", field=name)
    if not isinstance(boxes, int) or boxes < 1:
        raise InputError(f"expected a whole number >= 1; got {boxes!r}", field="boxes")
    y, text = outcome_mask(draws, outcome)
    x, units = parameter_table(draws)
    n_yes = int(y.sum())
    if n_yes == 0 or n_yes == y.size:
        raise InputError(f"the outcome holds in {n_yes} of {y.size} draws; scenario discovery needs draws with and "
                         "without it (change the threshold or keep more draws)", field="outcome")
    if max_parameters is not None:
        if not isinstance(max_parameters, int) or max_parameters < 1:
            raise InputError(f"expected a whole number >= 1 or None; got {max_parameters!r}", field="max_parameters")
        x = x[screen(x, y)[:max_parameters]]
    prim = _prim()
    # a threshold just above 0: the cases of interest are the draws with the outcome (y = 1), and every
    # box PRIM peels is kept with its whole trajectory (our own rule picks the point on it)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The inplace keyword")  # inside ema_workbench, pandas >= 3
        finder = prim.Prim(x, y.astype(int), threshold=1e-9, peel_alpha=peel_alpha, paste_alpha=paste_alpha,
                           mass_min=mass_min)
    found, trajectories = [], []
    for _ in range(boxes):
        box = finder.find_box()
        if box is None:
            break
        traj = box.peeling_trajectory.copy()
        ok = traj[traj["density"] >= density]
        i = int(ok["coverage"].idxmax()) if len(ok) else int(traj["density"].idxmax())
        box.select(i)
        found.append(_box(box, i, units, x))
        trajectories.append(traj.assign(selected=traj.index == i))
        if box.coverage >= 1.0 or len(box.yi) == 0:
            break
    return Discovery(outcome=text, draws=int(y.size), base_rate=n_yes / y.size, density_target=float(density),
                     boxes=found, trajectories=trajectories, attrs=dict(draws.attrs), prim=finder,
                     parameters=list(x.columns))


def screen(x: pd.DataFrame, y: np.ndarray) -> list[str]:
    """Columns of ``x`` ordered by how much their distribution differs between draws with and
    without the outcome (two-sample Kolmogorov-Smirnov statistic), largest first."""
    from scipy.stats import ks_2samp

    stat = {c: ks_2samp(x[c].values[y], x[c].values[~y]).statistic for c in x.columns}
    return sorted(stat, key=lambda c: -stat[c])


def _box(box, i: int, units: dict, x: pd.DataFrame) -> Box:
    lims = box.box_lims[i]
    init = box.prim.box_init
    qp = box.qp[i] if i < len(box.qp) else {}
    rows = []
    for col in lims.columns:
        lo, hi = float(lims[col].iloc[0]), float(lims[col].iloc[1])
        lo0, hi0 = float(init[col].iloc[0]), float(init[col].iloc[1])
        if lo == lo0 and hi == hi0:
            continue
        q = qp.get(col, (np.nan, np.nan))
        rows.append({"parameter": col, "low": lo, "high": hi, "sampled_low": float(x[col].min()),
                     "sampled_high": float(x[col].max()), "restricted": ("low" if lo > lo0 else "") + ("high" if hi < hi0 else ""),
                     "qp_low": float(q[0]) if q[0] is not None else np.nan,
                     "qp_high": float(q[1]) if q[1] is not None else np.nan, "units": units.get(col, "")})
    limits = pd.DataFrame(rows, columns=["parameter", "low", "high", "sampled_low", "sampled_high", "restricted",
                                         "qp_low", "qp_high", "units"])
    return Box(limits=limits, coverage=float(box.coverage), density=float(box.density), mass=float(box.mass),
               n=int(len(box.yi)), index=i)
