"""Global sensitivity of model outputs to groups of parameters (Sobol' indices on the engine).

``model_sobol`` answers "which block of assumptions drives the spread of the 2030 lithium
price (or of 2030 cell utilisation, or any output element)?" It runs the value-chain model on
a Saltelli design built from the engine's own prior draws and hands the outputs to the public
estimator :func:`mcbattery.research.sobol.sobol_from_samples`.

Design. ``A`` holds the parameters of draws ``0 .. n-1``, ``B`` those of draws ``n .. 2n-1``
(same seed: two independent samples from the priors, with every prior's own distribution and
correlations inside a parameter, e.g. Dirichlet shares). For each group ``i``, ``AB_i`` is
``A`` with the parameters of group ``i`` taken from ``B``. Groups are blocks
(``mcbattery.model.params.REGISTRY[name].block``), single parameters or any named sets; parameters
with a fixed prior are constant and belong to no group. Cost: ``n * (d + 2)`` model runs.

Process noise (demand shocks, price innovations, lead times, delays, cancellations, supply
disruptions) is *not* a parameter. Two conventions:

* ``noise="common"`` (default): row ``j`` of ``A``, ``B`` and every ``AB_i`` uses the noise of
  draw index ``j`` — common random numbers. The noise is then an input that never changes
  inside a row, which removes its variance from the estimators' differences. With ``f`` the
  output, ``theta_i`` group ``i`` and ``omega`` the noise: ``ST_i = E[Var(f | theta_~i, omega)]
  / Var(f)`` is exactly the usual total index of group ``i`` among all inputs (noise
  included); ``S1_i = [Var(E[f | theta_i, omega]) - Var(E[f | omega])] / Var(f)`` is the first
  order index of group ``i`` *plus its interaction with the noise*. ``Var(f)`` is the full
  output variance, noise included, so the group indices need not sum to one; the variable
  ``noise_closed_S1`` (``Var(E[f | omega]) / Var(f)``, from ``Cov(f(A), f(B))``) tells how much
  the noise explains on its own.
* ``noise="group"``: ``A`` and ``B`` have independent noise (draws ``0..n-1`` and
  ``n..2n-1``), every ``AB_i`` keeps ``A``'s noise, and the noise is one more group named
  ``process_noise`` (``AB`` = ``A``'s parameters with ``B``'s noise). All indices then have
  their textbook meaning over the inputs (parameter groups + noise), at one extra run per row.

With a calibrated posterior, the parameters it covers are sampled jointly (one posterior
row per draw) and are dependent; with ``groups="block"`` they form one group named
``posterior`` so that no group splits them (splitting dependent inputs breaks the Sobol'
decomposition; a warning says so if explicit groups do).
"""

from __future__ import annotations

import json
import warnings
from itertools import product

import numpy as np
import xarray as xr

from mcbattery.common.checks import check_dtype, check_int
from mcbattery.common.errors import InputError
from mcbattery.engine.direct import sample_rows, simulate_rows
from mcbattery.inputs.scenarios import resolve_scenario
from mcbattery.results import provenance
from mcbattery.model.outputs import OUTPUTS
from mcbattery.model.params import REGISTRY

__all__ = ["model_sobol", "one_at_a_time", "parameter_groups", "parse_outputs"]

NOISE_MODES = ("common", "group")
NOISE_GROUP = "process_noise"
MIN_BASE_SAMPLES = 32  # below this the estimators' variance swamps any index
IMPRECISE_WIDTH = 0.2  # a bootstrap interval wider than this (on a 0-1 index) earns a warning


def interval_widths(ds: xr.Dataset) -> dict[str, float]:
    """The widest bootstrap interval of ``S1`` and of ``ST`` over inputs and outputs (NaN
    without bootstrap)."""
    out = {}
    for v in ("S1", "ST"):
        w = (ds[f"{v}_high"] - ds[f"{v}_low"]).values
        out[v] = float(np.nanmax(w)) if np.isfinite(w).any() else float("nan")
    return out


# ----------------------------------------------------------------------------- outputs


def parse_outputs(outputs, start_year: int, end_year: int, coords=None) -> list[tuple[str, list[tuple], str]]:
    """Normalise output requests to ``(name, [index tuple per element], [label per element])``.

    An output is a name (every year and element) or ``(name, {dim: label or [labels]})`` with
    dims ``year`` and the output's own dims (``material``, ``region``, ...); dims left out are
    kept whole. Element labels read like ``material_price[year=2030,material=lithium]``.
    ``coords``: the scenario's coordinates (default: the shipped ones).
    """
    if coords is None:
        from mcbattery.inputs.priors import shipped_coords

        coords = shipped_coords()
    outputs = as_requests(outputs)
    if not outputs:
        raise InputError("expected at least one output, e.g. ('material_price', {'year': 2030, 'material': 'lithium'})", field="outputs")
    years = list(range(start_year, end_year + 1))
    parsed = []
    for item in outputs:
        if isinstance(item, str):
            name, sel = item, {}
        elif isinstance(item, (tuple, list)) and len(item) == 2 and isinstance(item[0], str) and isinstance(item[1], dict):
            name, sel = item
        else:
            raise InputError(f"expected a name or (name, {{dim: label}}), got {item!r}", field="outputs")
        if name not in OUTPUTS:
            raise InputError(f"unknown output {name!r}; expected one of {sorted(OUTPUTS)}", field="outputs")
        dims = ("year", *OUTPUTS[name].dims)
        unknown = set(sel) - set(dims)
        if unknown:
            raise InputError(f"{name} has no dim(s) {sorted(unknown)}; expected some of {list(dims)}", field="outputs")
        axes = []
        for d in dims:
            labels = years if d == "year" else list(coords[d])
            if d in sel:
                want = sel[d] if isinstance(sel[d], (list, tuple, np.ndarray)) else [sel[d]]
                idx = []
                for w in want:
                    key = int(w) if d == "year" and isinstance(w, (int, float, np.integer, np.floating)) else w
                    if key not in labels:
                        raise InputError(
                            f"{name}: {d}={w!r} not available; expected one of {labels}", field="outputs"
                        )
                    idx.append(labels.index(key))
                axes.append([(i, labels[i]) for i in idx])
            else:
                axes.append(list(enumerate(labels)))
        elements, names = [], []
        for combo in product(*axes):
            elements.append(tuple(i for i, _ in combo))
            names.append(f"{name}[" + ",".join(f"{d}={lab}" for d, (_, lab) in zip(dims, combo)) + "]")
        parsed.append((name, elements, names))
    return parsed


def _is_single(outputs) -> bool:
    """A bare ``(name, {sel})`` pair (one request) rather than a sequence of requests."""
    return isinstance(outputs, (tuple, list)) and len(outputs) == 2 and isinstance(outputs[0], str) and isinstance(outputs[1], dict)


def as_requests(outputs) -> list:
    """A list of output requests from a name, one ``(name, sel)`` pair or a sequence of them."""
    if outputs is None:
        return []
    if isinstance(outputs, str) or _is_single(outputs):
        return [outputs]
    if isinstance(outputs, (list, tuple)):
        return list(outputs)
    raise InputError(f"expected output requests, got {outputs!r}", field="outputs")


def _max_year(outputs, start_year: int) -> int | None:
    """The last year named in the requests, or None if some request keeps every year."""
    last = start_year
    for item in as_requests(outputs):
        if isinstance(item, (tuple, list)) and len(item) == 2 and isinstance(item[1], dict) and "year" in item[1]:
            y = item[1]["year"]
            last = max([last, *(int(v) for v in (y if isinstance(y, (list, tuple, np.ndarray)) else [y]))])
        else:
            return None
    return last


def _reduce(out: dict[str, np.ndarray], parsed) -> np.ndarray:
    cols = []
    for name, elements, _ in parsed:
        arr = out[name]
        for e in elements:
            cols.append(arr[(slice(None), *e)])
    return np.stack(cols, axis=1).astype(np.float64)


# ----------------------------------------------------------------------------- groups


def _random_params(priors) -> list[str]:
    """Parameters that vary between draws (not ``fixed``), in registry order."""
    return [k for k in REGISTRY if k in priors.params and priors.params[k].dist != "fixed"]


def parameter_groups(priors, groups="block") -> dict[str, list[str]]:
    """Resolve a grouping to ``{group name: [parameter names]}``.

    ``"block"``: one group per block of the parameter registry (demand, chemistry, materials,
    supply, cells, costs, ramp, recycling, policy); posterior-covered parameters form one group
    ``posterior``. ``"parameter"``: one group per random parameter. A list of parameter or
    block names: one group each. A dict ``{name: [parameter or block names]}``: as given.
    Random parameters not named anywhere form a group ``other``; fixed ones are left out.
    """
    rand = _random_params(priors)
    empirical = [k for k in rand if priors.params[k].dist == "empirical"]
    blocks: dict[str, list[str]] = {}
    for k in rand:
        blocks.setdefault(REGISTRY[k].block, []).append(k)

    def expand(item: str) -> list[str]:
        if item in blocks:
            return list(blocks[item])
        if item in REGISTRY:
            return [item] if item in rand else []
        import difflib

        close = difflib.get_close_matches(item, list(REGISTRY) + list(blocks), n=2)
        raise InputError(
            f"unknown parameter or block {item!r}" + (f"; did you mean {close}?" if close else ""), field="groups"
        )

    if isinstance(groups, str) and groups == "block":
        out = {}
        for k in rand:
            g = "posterior" if k in empirical else REGISTRY[k].block
            out.setdefault(g, []).append(k)
    elif isinstance(groups, str) and groups == "parameter":
        out = {k: [k] for k in rand}
    elif isinstance(groups, dict):
        out = {}
        for g, members in groups.items():
            members = [members] if isinstance(members, str) else list(members)
            out[str(g)] = [p for m in members for p in expand(m)]
    elif isinstance(groups, (list, tuple)):
        out = {str(g): expand(g) for g in groups}
    else:
        raise InputError(f"expected 'block', 'parameter', a list or a dict, got {groups!r}", field="groups")
    seen: dict[str, str] = {}
    for g, members in out.items():
        for m in members:
            if m in seen and seen[m] != g:
                raise InputError(f"parameter {m!r} is in groups {seen[m]!r} and {g!r}", field="groups")
            seen[m] = g
    empty = [g for g, m in out.items() if not m]
    if empty:
        raise InputError(f"group(s) {empty} have no random parameter (fixed priors do not vary)", field="groups")
    rest = [k for k in rand if k not in seen]
    if rest:
        if "other" in out:
            raise InputError("a group may not be named 'other' while parameters are left ungrouped", field="groups")
        out["other"] = rest
    if empirical:
        homes = {seen.get(k, "other") for k in empirical}
        if len(homes) > 1:
            warnings.warn(
                f"posterior-covered parameters are split across groups {sorted(homes)}; they are dependent, "
                "so Sobol' indices of those groups are not well defined (group them together)",
                UserWarning,
                stacklevel=3,
            )
    if NOISE_GROUP in out:
        raise InputError(f"{NOISE_GROUP!r} is reserved for the process noise", field="groups")
    return out


# ----------------------------------------------------------------------------- Sobol'


def model_sobol(
    scenario="baseline",
    outputs=(("material_price", {"year": 2030, "material": "lithium"}),),
    groups="block",
    n: int = 1024,
    seed: int = 0,
    posterior="default",
    *,
    priors=None,
    noise: str = "common",
    transform: str | None = None,
    bootstrap: int = 200,
    level: float = 0.95,
    end_year: int | None = None,
    batch_size: int = 4096,
    dtype: str = "float32",
    progress: bool | None = None,
) -> xr.Dataset:
    """First- and total-order Sobol' indices of model outputs to groups of parameters.

    scenario: name, .toml file or resolved ``Priors``; outputs: a list of output requests,
    each a name or ``(name, {dim: label})``, e.g. ``[("material_price", {"year": 2030, "material": "lithium"}),
    ("utilization_world", {"year": 2030})]``; groups: see
    :func:`parameter_groups`; n: base samples (a power of two is customary; cost is
    ``n * (groups + 2)`` model runs; at least :data:`MIN_BASE_SAMPLES`, and a warning says
    when the widest bootstrap interval exceeds :data:`IMPRECISE_WIDTH`); seed: the engine seed
    (A = draws 0..n-1, B = draws n..2n-1) and the bootstrap seed; posterior: "default" (the
    shipped calibrated posterior, as :func:`mcbattery.forecast` uses), None (priors only) or a
    samples file; noise: "common" or "group" (see the module docstring); transform: None or
    "log" (indices of log output: shares of the variance of log price rather than of price,
    steadier for heavy-tailed outputs such as prices in boom years); bootstrap, level:
    percentile intervals; end_year: last simulated year (default 2040, the forecast horizon;
    results do not depend on it as long as it covers the requested years); progress: as in
    :func:`mcbattery.forecast`.

    Returns the dataset of :func:`mcbattery.research.sobol.sobol_from_samples` (``S1``, ``ST``
    and ``*_low``/``*_high`` on dims ``input`` x ``output``) plus ``n_parameters`` on
    ``input``, ``noise_closed_S1`` on ``output`` (common noise only), and attributes recording
    scenario, posterior, seed, groups (JSON) and the noise convention.
    """
    from mcbattery.research.sobol import sobol_from_samples

    n = check_int("n", n, 2)
    seed = check_int("seed", seed, 0, 2**31 - 1)
    batch_size = check_int("batch_size", batch_size, 1)
    if noise not in NOISE_MODES:
        raise InputError(f"expected one of {list(NOISE_MODES)}, got {noise!r}", field="noise")
    if transform not in (None, "log"):
        raise InputError(f"expected None or 'log', got {transform!r}", field="transform")
    dtype = check_dtype(dtype)
    pri = resolve_scenario(scenario, priors, posterior)
    pri.check_range(dtype)
    start_year = pri.start_year
    if end_year is None:
        end_year = max(2040, _max_year(outputs, start_year) or 2040)
    end_year = check_int("end_year", end_year, start_year, 2200)
    parsed = parse_outputs(outputs, start_year, end_year, pri.coords)
    labels = [lab for _, _, labs in parsed for lab in labs]
    if len(set(labels)) != len(labels):
        raise InputError("the same output element is requested twice", field="outputs")
    grp = parameter_groups(pri, groups)
    if n < MIN_BASE_SAMPLES:
        raise InputError(f"{n} base samples cannot estimate Sobol' indices; use at least {MIN_BASE_SAMPLES} "
                         "(the bootstrap intervals then say whether more are needed)", field="n")
    names = list(grp)
    if noise == "group":
        names.append(NOISE_GROUP)
    d = len(names)

    idx_a = np.arange(n)
    idx_b = np.arange(n, 2 * n)
    A = sample_rows(pri, idx_a, seed, batch_size, dtype)
    B = sample_rows(pri, idx_b, seed, batch_size, dtype)
    mats, noise_idx = [A, B], [idx_a, idx_b if noise == "group" else idx_a]
    for g in grp:
        m = dict(A)
        for k in grp[g]:
            m[k] = B[k]
        mats.append(m)
        noise_idx.append(idx_a)
    if noise == "group":
        mats.append(A)
        noise_idx.append(idx_b)
    keep = {name for name, _, _ in parsed}
    from mcbattery.common.progress import Progress

    bar = Progress(n * (d + 2), unit="run", desc="Sobol' design", enabled=progress)
    # one design matrix at a time: n rows per call, so compiled shapes depend on n only
    Y = np.stack([
        _reduce(simulate_rows(m, ni, seed, start_year, end_year, batch_size, dtype, keep, bar), parsed)
        for m, ni in zip(mats, noise_idx)
    ])
    bar.close()
    ok = np.isfinite(Y).all(axis=(0, 2))
    if ok.sum() < 2:
        raise InputError("fewer than 2 base samples with finite outputs", field="n")
    Y = Y[:, ok]
    if transform == "log":
        if np.any(Y <= 0):
            raise InputError("log transform needs positive outputs", field="transform")
        Y = np.log(Y)
    fA, fB, fAB = Y[0], Y[1], Y[2:]
    ds = sobol_from_samples(fA, fB, fAB, bootstrap=bootstrap, level=level, seed=seed, names=names, output_names=labels)
    widths = interval_widths(ds)
    if max(widths.values()) > IMPRECISE_WIDTH:
        warnings.warn(
            f"Sobol' indices are imprecise at n = {n}: the widest {level:.0%} bootstrap interval is "
            f"{max(widths.values()):.2f} wide (S1 {widths['S1']:.2f}, ST {widths['ST']:.2f}); "
            "quadruple n to halve it", UserWarning, stacklevel=2)
    sizes = [len(grp[g]) for g in grp] + ([0] if noise == "group" else [])
    ds["n_parameters"] = xr.DataArray(np.asarray(sizes), dims=("input",), attrs={"long_name": "parameters in the group (0: process noise)", "units": "1"})
    if noise == "common":
        pooled = np.concatenate([fA, fB])
        centre = pooled.mean(axis=0)
        var = pooled.var(axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            s_noise = np.mean((fA - centre) * (fB - centre), axis=0) / var
        ds["noise_closed_S1"] = xr.DataArray(
            np.where(var > 0, s_noise, np.nan), dims=("output",),
            attrs={"long_name": "closed first-order index of the process noise, Var(E[f | noise]) / Var(f)", "units": "1"},
        )
    units = {lab: OUTPUTS[name].units for name, _, labs in parsed for lab in labs}
    ds = ds.assign_coords(output_units=("output", [units[lab] for lab in labels]))
    for v in ("S1", "ST", "S1_low", "S1_high", "ST_low", "ST_high"):
        ds[v].attrs.setdefault("units", "1")
    ds["S1"].attrs["long_name"] = "first-order Sobol' index" + (" (incl. interaction with process noise)" if noise == "common" else "")
    ds["ST"].attrs["long_name"] = "total-order Sobol' index"
    ds.attrs.update(
        {
            **provenance.stamp(pri),
            "title": "mcbattery global sensitivity (Sobol' indices by parameter group)",
            "engine_seed": seed,
            "n": n,
            "transform": transform or "none",
            "noise": noise,
            "noise_convention": (
                "common: process noise of draw j shared by rows j of A, B and every AB_i; ST = total index "
                "with the noise as an input; S1 = first order plus interaction with the noise"
                if noise == "common"
                else "group: process noise is the input group 'process_noise'; A and B have independent noise"
            ),
            "design": "A = params of draws 0..n-1, B = draws n..2n-1 (same seed); AB_i = A with group i from B",
            "groups": json.dumps(grp),
            "widest_interval_S1": widths["S1"],
            "widest_interval_ST": widths["ST"],
            "n_base_samples_valid": int(ok.sum()),
            "n_base_samples_invalid": int((~ok).sum()),
            "start_year": start_year,
            "end_year": end_year,
        }
    )
    return ds


# ----------------------------------------------------------------------------- one at a time


def one_at_a_time(
    scenario="baseline",
    outputs=(("material_price", {"year": 2030, "material": "lithium"}),),
    groups="block",
    n: int = 512,
    seed: int = 0,
    posterior="default",
    *,
    levels: tuple[float, float] = (0.1, 0.9),
    priors=None,
    end_year: int | None = None,
    batch_size: int = 4096,
    dtype: str = "float32",
) -> xr.Dataset:
    """One-at-a-time swings for a tornado chart: the mean output over ``n`` draws with every
    parameter of one group pinned at its ``levels[0]`` (``low``) or ``levels[1]`` (``high``)
    quantile (taken over the ``n`` sampled values, element by element), everything else
    random and the process noise common. ``base`` is the unpinned mean.

    Unlike Sobol' indices this ignores interactions and, for a group of several parameters,
    moves them all in the same quantile direction; read it as a quick, local complement.
    Returns ``low``, ``high``, ``base`` and ``swing = high - low`` on dims ``input`` x
    ``output``.
    """
    n = check_int("n", n, 2)
    seed = check_int("seed", seed, 0, 2**31 - 1)
    lo_q, hi_q = (float(x) for x in levels)
    if not 0 <= lo_q < hi_q <= 1:
        raise InputError("expected two quantile levels 0 <= low < high <= 1", field="levels")
    pri = resolve_scenario(scenario, priors, posterior)
    start_year = pri.start_year
    if end_year is None:
        end_year = max(2040, _max_year(outputs, start_year) or 2040)
    end_year = check_int("end_year", end_year, start_year, 2200)
    parsed = parse_outputs(outputs, start_year, end_year, pri.coords)
    labels = [lab for _, _, labs in parsed for lab in labs]
    grp = parameter_groups(pri, groups)
    idx = np.arange(n)
    A = sample_rows(pri, idx, seed, batch_size, dtype)
    mats = [A]
    for g in grp:
        for q in (lo_q, hi_q):
            m = dict(A)
            for k in grp[g]:
                pinned = np.quantile(A[k].astype(np.float64), q, axis=0, method="nearest" if pri.params[k].dist == "empirical" else "linear")
                m[k] = np.broadcast_to(pinned.astype(A[k].dtype), A[k].shape)
            mats.append(m)
    keep = {name for name, _, _ in parsed}
    Y = np.stack([_reduce(simulate_rows(m, idx, seed, start_year, end_year, batch_size, dtype, keep), parsed) for m in mats])
    ok = np.isfinite(Y).all(axis=(0, 2))
    Y = Y[:, ok].mean(axis=1)
    base = Y[0]
    low = Y[1::2]
    high = Y[2::2]
    coords = {"input": list(grp), "output": labels}
    ds = xr.Dataset(
        {
            "low": (("input", "output"), low, {"long_name": f"mean output, group at its {lo_q:g} quantile"}),
            "high": (("input", "output"), high, {"long_name": f"mean output, group at its {hi_q:g} quantile"}),
            "swing": (("input", "output"), high - low, {"long_name": "high minus low"}),
            "base": (("output",), base, {"long_name": "mean output, nothing pinned"}),
        },
        coords=coords,
    )
    units = {lab: OUTPUTS[name].units for name, _, labs in parsed for lab in labs}
    ds = ds.assign_coords(output_units=("output", [units[lab] for lab in labels]))
    ds.attrs.update(
        {
            **provenance.stamp(pri),
            "title": "mcbattery one-at-a-time swings",
            "engine_seed": seed,
            "n": n,
            "n_valid": int(ok.sum()),
            "levels": f"{lo_q:g}, {hi_q:g}",
            "groups": json.dumps(grp),
        }
    )
    return ds
