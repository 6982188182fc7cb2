"""From calibration variables to engine parameters.

:data:`ENGINE_MAP` names, for every engine parameter the calibration informs, the model and
site it comes from and which labels of its first dim are fitted; the other labels (e.g.
Na-ion, storage demand) are drawn from their expert prior in ``priors/*.toml``. Engine-named
variables carry the dims of :data:`mcbattery.model.params.REGISTRY`; :func:`engine_samples`
flattens them to ``(samples, *dims)``, the arrays the engine reads.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from mcbattery.common.errors import InputError
from mcbattery.inputs.priors import shipped_coords
from mcbattery.model.params import REGISTRY, SUPPORTS

__all__ = ["ENGINE_MAP", "engine_view", "engine_samples", "engine_dataset", "expert_prior_draws", "check_support"]

#: engine parameter -> [(model, model variable, calibrated labels of the first dim or None for
#: scalars), ...]. Labels not listed are drawn from the parameter's expert prior (priors/*.toml).
ENGINE_MAP: dict[str, list[tuple[str, str, tuple[str, ...] | None]]] = {
    "conversion_learning_exponent": [("learning", "learning__exponent", ("LFP", "NMC"))],
    "materials_learning_exponent": [("learning", "learning__exponent", ("LFP", "NMC"))],
    "cost_noise_sd": [("learning", "learning__noise_scale", ("LFP", "NMC"))],
    "cost_noise_autocorrelation": [("learning", "learning__noise_autocorrelation", None)],
    "demand_saturation": [("demand", "demand__saturation", ("EV",))],
    "demand_growth_rate": [("demand", "demand__growth_rate", ("EV",))],
    "demand_noise_sd": [("demand", "demand__noise_sd", ("EV",))],
    "demand_growth_persistence": [("demand", "demand__growth_persistence", ("EV",))],
    "chemistry_cost_sensitivity": [("chemistry", "chemistry__cost_sensitivity", ("EV",))],
    "chemistry_adjustment_rate": [("chemistry", "chemistry__adjustment_rate", None)],
    **{param: [(f"price_{m}", f"price_{m}__{site}", (m,)) for m in ("lithium", "nickel", "cobalt")]
       for param, site in (("price_anchor", "anchor"), ("price_anchor_trend", "anchor_trend"),
                           ("price_reversion", "reversion"), ("price_volatility", "volatility"))},
}


def expert_prior_draws(n: int, seed: int, names: tuple[str, ...] = tuple(ENGINE_MAP)) -> dict[str, np.ndarray]:
    """``n`` draws ``(n, *dims)`` of engine parameters ``names`` from the shipped expert priors
    (priors/*.toml; the engine's distributions, drawn with numpy)."""
    import scipy.stats

    from mcbattery.inputs.priors import load_priors

    pri = load_priors()
    rng = np.random.default_rng([seed, 7919])
    out = {}
    for name in names:
        p = pri[name]
        f = {k: np.asarray(v, float) for k, v in p.fields.items()}
        shape = np.broadcast_shapes(*(v.shape for v in f.values()))
        f = {k: np.broadcast_to(v, shape) for k, v in f.items()}
        size = (n, *shape)
        if p.dist == "fixed":
            x = np.broadcast_to(f["value"], size).copy()
        elif p.dist == "normal":
            x = f["mean"] + f["sd"] * rng.standard_normal(size)
        elif p.dist == "lognormal":
            x = f["median"] * np.exp(f["sigma"] * rng.standard_normal(size))
        elif p.dist == "truncnormal":
            a, b = (f["low"] - f["mean"]) / f["sd"], (f["high"] - f["mean"]) / f["sd"]
            x = scipy.stats.truncnorm.rvs(a, b, loc=f["mean"], scale=f["sd"], size=size, random_state=rng)
        elif p.dist == "uniform":
            x = f["low"] + (f["high"] - f["low"]) * rng.random(size)
        elif p.dist == "triangular":
            x = rng.triangular(f["low"], f["mode"], np.maximum(f["high"], f["low"] + 1e-12), size)
        elif p.dist == "beta":
            x = rng.beta(f["mean"] * f["concentration"], (1 - f["mean"]) * f["concentration"], size)
        else:  # pragma: no cover - no mapped parameter has another distribution
            raise InputError(f"cannot draw a {p.dist} prior here", field=name)
        out[name] = np.asarray(x, np.float64)
    return out


def engine_view(samples: dict, fill: dict, shape: tuple[int, int]) -> dict[str, xr.DataArray]:
    """Engine-named variables (chain, draw, *dims): mapped elements from the model ``samples``
    {site: (chain, draw)}, the rest from ``fill`` (expert-prior draws (chain·draw, *dims))."""
    coords_all = shipped_coords()
    out = {}
    for name, sources in ENGINE_MAP.items():
        dims = REGISTRY[name].dims
        arr = fill[name].reshape(*shape, *fill[name].shape[1:]).copy()
        calibrated, models, variables = [], [], []
        for model, var, labels in sources:
            if var not in samples:  # not fitted (e.g. a model left out): expert prior
                continue
            if labels is None:
                arr = np.asarray(samples[var], arr.dtype).reshape(arr.shape)
                calibrated = list(coords_all[dims[0]]) if dims else ["all"]
            else:
                for lab in labels:
                    arr[..., coords_all.at(dims[0], lab)] = samples[var]
                calibrated += list(labels)
            models.append(model)
            variables.append(var)
        if dims:
            from_prior = ",".join(c for c in coords_all[dims[0]] if c not in calibrated)
            calibrated_text = ",".join(calibrated) if calibrated else "none"
        else:
            from_prior, calibrated_text = ("" if calibrated else "all"), ("all" if calibrated else "none")
        out[name] = xr.DataArray(arr, dims=("chain", "draw", *dims), coords={d: list(coords_all[d]) for d in dims},
                                 attrs={"model": ",".join(models), "model_variable": ",".join(variables),
                                        "calibrated": calibrated_text, "from_expert_prior": from_prior})
    return out


def engine_samples(idata) -> dict[str, np.ndarray]:
    """Engine parameter arrays ``name -> (samples, *REGISTRY dims)``, samples = chain × draw
    (chain-major), for every engine-named variable in the posterior group."""
    post = idata.posterior
    out = {}
    for name in ENGINE_MAP:
        if name not in post:
            continue
        dims = REGISTRY[name].dims
        da = post[name].transpose("chain", "draw", *dims)
        out[name] = np.asarray(da.values, np.float64).reshape(-1, *da.shape[2:])
    return out


def engine_dataset(idata) -> xr.Dataset:
    """The engine samples as a Dataset: variables = engine parameter names, dims (sample, *dims)."""
    samples = engine_samples(idata)
    if not samples:
        raise InputError("no engine-named variables in the posterior", field="posterior")
    n = next(iter(samples.values())).shape[0]
    data, coords = {}, {"sample": np.arange(n, dtype=np.int32)}
    for name, arr in samples.items():
        dims = REGISTRY[name].dims
        src = idata.posterior[name].attrs
        data[name] = xr.DataArray(arr, dims=("sample", *dims),
                                  attrs={k: str(v) for k, v in src.items()})
        for d in dims:
            coords[d] = np.array(shipped_coords()[d], dtype=object)
    return xr.Dataset(data, coords=coords)


def check_support(samples: dict[str, np.ndarray]) -> None:
    """Every engine sample inside its REGISTRY support (the engine refuses others)."""
    for name, arr in samples.items():
        lo, hi = SUPPORTS[REGISTRY[name].support]
        bad = ~np.isfinite(arr) | (arr < lo) | (arr > hi)
        if bad.any():
            raise InputError(f"{int(bad.sum())} posterior samples outside the {REGISTRY[name].support} range "
                             f"[{lo}, {hi}]", field=name)
