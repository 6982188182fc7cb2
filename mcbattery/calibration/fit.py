""":func:`calibrate`: fit the calibration models on data up to ``until`` with the same
(chain, draw) counts and return one ArviZ ``InferenceData``.

Variables that map onto engine parameters carry the engine name and dims of
:data:`mcbattery.model.params.REGISTRY` (:mod:`~mcbattery.calibration.engine_map`; elements
the data do not inform are drawn from their expert prior in ``priors/*.toml``); model latents
are prefixed with their model's name (``learning__``, ``demand__``, ``chemistry__``,
``price_lithium__``...). See docs/calibration.md.
"""

from __future__ import annotations


import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr

from mcbattery.results import provenance
from mcbattery.calibration.data import (DEMAND_FIRST_YEAR, check_until, chemistry_data, data_vintage, demand_data,
                                        learning_data, observed, price_data)
from mcbattery.calibration.engine_map import ENGINE_MAP, check_support, engine_samples, engine_view, expert_prior_draws
from mcbattery.calibration.models import model_inputs, monthly_price_parameters, predictive_fn
from mcbattery.calibration.nuts import fit_model
from mcbattery.calibration.priors import DEFAULT_PRIORS, MODELS, prior_distributions, sample_priors
from mcbattery.calibration.store import posterior_hash
from mcbattery.common.errors import InputError
from mcbattery.model.demand import logistic_growth

__all__ = ["calibrate"]

#: The likelihood terms of each model: (observed variable, its coordinate).
OBSERVED = {
    "learning": ("learning__log_cost_increment", "learning__year"),
    "demand": ("demand__log_demand", "demand__year"),
    "chemistry": ("chemistry__lfp_share", "chemistry__year"),
    **{m: (f"{m}__log_price", f"{m}__month") for m in MODELS if m.startswith("price_")},
}


def derived(model: str, s: dict, data: dict) -> dict:
    """Derived variables of a model's site values ``s`` (same leading shape): the learning
    rate, the price model's monthly and engine-scale values, the demand model's last growth shock and expected growth the year after the data."""
    out = {}
    if model == "learning":
        out["learning__learning_rate"] = 1.0 - 2.0 ** (-s["learning__exponent"])
        out["learning__cumulative_production_last"] = s["learning__q0"] + s["learning__nonev_scale"] * data["cum_ev"][-1]
        out["learning__q0_ratio"] = s["learning__q0"] / s["learning__nonev_scale"]
    elif model.startswith("price_"):
        k_m, s_m = monthly_price_parameters(jnp.asarray(s[f"{model}__reversion"]), jnp.asarray(s[f"{model}__volatility"]))
        out[f"{model}__reversion_monthly"] = np.asarray(k_m, np.float64)
        out[f"{model}__volatility_monthly"] = np.asarray(s_m, np.float64)
    elif model == "chemistry":
        out["chemistry__half_life_years"] = np.log(0.5) / np.log1p(-np.asarray(s["chemistry__adjustment_rate"]))
    else:
        K, r = s["demand__saturation"], s["demand__growth_rate"]
        log_d = np.asarray(data["log_demand"], np.float64)
        out["demand__growth_shock_last"] = (log_d[-1] - log_d[-2]) - logistic_growth(np.exp(log_d[-2]), K, r)
        out["demand__growth_next"] = logistic_growth(np.exp(log_d[-1]), K, r)
    return out


def predictive(model: str, s: dict, data: dict, seed: int, priors=None) -> tuple[np.ndarray, np.ndarray]:
    """(pointwise log-likelihood, posterior-predictive replicate) arrays (chain, draw, n), float32."""
    names = tuple(prior_distributions(model, priors))
    shape = s[names[0]].shape
    flat = [jnp.asarray(s[k].reshape(-1), jnp.float32) for k in names]
    key = jax.random.fold_in(jax.random.PRNGKey(seed + 2), MODELS.index(model))
    keys = jax.random.split(key, flat[0].shape[0])
    ll, rep = predictive_fn(model, names)(*flat, keys, *model_inputs(model, data))
    return np.asarray(ll, np.float32).reshape(*shape, -1), np.asarray(rep, np.float32).reshape(*shape, -1)


def calibrate(until: int | None = None, seed: int = 0, num_warmup: int = 1000, num_samples: int = 1000,
              num_chains: int = 4, *, priors: dict | None = None, target_accept: float = 0.995,
              dense_mass: bool = True, max_tree_depth: int = 10, chain_method: str = "sequential", models=MODELS,
              demand_first_year: int = DEMAND_FIRST_YEAR, progress: bool | None = None):
    """Fit the models (:data:`MODELS`) on data up to ``until`` (inclusive; None = all) and return an
    ArviZ ``InferenceData`` with groups posterior, sample_stats, log_likelihood,
    posterior_predictive, observed_data, constant_data and prior.

    All models share (chain, draw) = (``num_chains``, ``num_samples``); every random number
    follows from ``seed``. ``priors``: optional {"learning": LearningPriors(...), "price_nickel":
    PricePriors.for_material("nickel"), ...} keyed by model name (:data:`MODELS`). ``models``: a subset to fit
    (engine variables of models left out are absent). ``demand_first_year``: first year of the
    demand fit (2010: the whole IEA series). ``until`` must leave at least 12 months of
    each fitted material's prices. ``progress``: a bar over the models, naming the one being
    fitted (as in :func:`mcbattery.forecast`). ``target_accept`` 0.995 with a dense mass matrix
    (``dense_mass``): each model has a handful of correlated parameters and few data points; the
    learning-curve and demand fits on data to 2019 diverged at 0.95 with a diagonal one (and
    once in 40,000 transitions at 0.99).
    """
    from mcbattery.common.progress import Progress

    import arviz as az

    until = check_until(until)
    for name, v, lo in (("num_warmup", num_warmup, 1), ("num_samples", num_samples, 4), ("num_chains", num_chains, 1)):
        if int(v) != v or v < lo:
            raise InputError(f"expected a whole number >= {lo}; got {v!r}", field=name)
    models = tuple(models)
    if not models or set(models) - set(MODELS):
        raise InputError(f"expected a subset of {list(MODELS)}; got {list(models)}", field="models")
    if chain_method not in ("vectorized", "sequential"):
        raise InputError(f"expected 'vectorized' or 'sequential'; got {chain_method!r}", field="chain_method")
    priors = dict(priors or {})
    unknown = set(priors) - set(MODELS)
    if unknown:
        raise InputError(f"unknown models {sorted(unknown)}", field="priors")
    priors = {m: priors[m] if m in priors else DEFAULT_PRIORS[m]() for m in MODELS}
    datas = {"learning": learning_data(until), "demand": demand_data(until, first_year=int(demand_first_year)),
             "chemistry": chemistry_data(until),
             **{m: price_data(m.removeprefix("price_"), until) for m in MODELS if m.startswith("price_")}}
    datas = {m: d for m, d in datas.items() if m in models}
    shape = (int(num_chains), int(num_samples))
    n = shape[0] * shape[1]

    post, prior, stats, loglik, ppc, obs, const = {}, {}, {}, {}, {}, {}, {}
    seconds = {}
    fitted_post, fitted_prior = {}, {}
    bar = Progress(len(models), unit="model", desc="calibrating", enabled=progress, compiling=False)
    for m in models:
        bar.stage(f"fitting {m} (compile + NUTS)")
        s, st, sec = fit_model(m, datas[m], seed, priors=priors[m], num_warmup=int(num_warmup),
                               num_samples=int(num_samples), num_chains=int(num_chains), target_accept=target_accept,
                               dense_mass=dense_mass, max_tree_depth=max_tree_depth, chain_method=chain_method)
        seconds[m] = sec
        s.update(derived(m, s, datas[m]))
        draws = sample_priors(m, priors[m], n, seed=seed * 31 + 1 + MODELS.index(m))
        pr = {k: v.reshape(shape) for k, v in draws.items()}
        pr.update(derived(m, pr, datas[m]))
        fitted_post.update(s)
        fitted_prior.update(pr)
        for k, v in s.items():
            post[k] = (("chain", "draw"), v)
        for k, v in pr.items():
            prior[k] = (("chain", "draw"), v)
        for k, v in st.items():
            stats[f"{m}__{k}"] = (("chain", "draw"), v)
        var, dim = OBSERVED[m]
        ll, rep = predictive(m, s, datas[m], seed, priors[m])
        values, coord = observed(m, datas[m])
        loglik[var] = (("chain", "draw", dim), ll)
        ppc[var] = (("chain", "draw", dim), rep)
        obs[var] = ((dim,), values)
        if m == "learning":
            const["learning__cum_ev"] = (("learning__year_all",), datas[m]["cum_ev"])
        if m.startswith("price_"):
            const[f"{m}__tau"] = ((f"{m}__month_all",), datas[m]["tau"])
        if m == "chemistry":
            const["chemistry__cost_gap"] = (("chemistry__year_all",), datas[m]["cost_gap"])
        if m == "demand":
            const["demand__demand"] = (("demand__year_all",), datas[m]["demand"])
        bar.update(1)
    bar.close()
    coords_for = {}
    for m, d in datas.items():
        if m == "learning":
            coords_for.update({"learning__year": d["year"][1:], "learning__year_all": d["year"]})
        elif m == "demand":
            coords_for.update({"demand__year": d["year"][1:], "demand__year_all": d["year"]})
        elif m == "chemistry":
            coords_for.update({"chemistry__year": d["year"][1:], "chemistry__year_all": d["year"]})
        else:
            coords_for.update({f"{m}__month": d["month"][1:], f"{m}__month_all": d["month"]})
    base = {"chain": np.arange(shape[0]), "draw": np.arange(shape[1])}

    def ds(vars_: dict, with_chain=True) -> xr.Dataset:
        d = xr.Dataset(vars_)
        extra = {k: v for k, v in coords_for.items() if k in d.dims}
        return d.assign_coords({**(base if with_chain else {}), **extra})

    fill_post = expert_prior_draws(n, seed)
    fill_prior = expert_prior_draws(n, seed + 1)
    eng_post = {k: v for k, v in engine_view(fitted_post, fill_post, shape).items() if any(src[0] in models for src in ENGINE_MAP[k])}
    eng_prior = {k: v for k, v in engine_view(fitted_prior, fill_prior, shape).items() if any(src[0] in models for src in ENGINE_MAP[k])}
    # Stored in float32: the samplers run in float32, so nothing is lost and the file stays small.
    posterior = (xr.merge([ds(post), xr.Dataset(eng_post)]) if eng_post else ds(post)).astype(np.float32, keep_attrs=True)
    prior_ds = (xr.merge([ds(prior), xr.Dataset(eng_prior)]) if eng_prior else ds(prior)).astype(np.float32, keep_attrs=True)
    stats_ds = ds(stats)
    stats_ds["diverging"] = sum(stats_ds[f"{m}__diverging"].astype(int) for m in models) > 0
    vintage = data_vintage(datas)
    attrs = {
        **provenance.software(),
        "data_vintage": "; ".join(f"{k} {v}" for k, v in vintage.items()),
        **{f"data_vintage_{k}": v for k, v in vintage.items()},
        "until": "none" if until is None else str(until),
        "seed": int(seed),
        "num_warmup": int(num_warmup),
        "num_samples": int(num_samples),
        "num_chains": int(num_chains),
        "models": ",".join(models),
        "demand_first_year": int(demand_first_year),
        "sampler": f"numpyro NUTS (target_accept {target_accept}, {'dense' if dense_mass else 'diagonal'} mass matrix, "
                   f"max_tree_depth {max_tree_depth}, {chain_method})",
        **{f"seconds_{m}": round(seconds[m], 2) for m in models},
        "engine_convention": "engine-named variables carry REGISTRY dims; labels listed in 'from_expert_prior' "
                             "are draws from priors/*.toml",
    }
    posterior.attrs.update(attrs)
    stats_ds.attrs.update({f"seconds_{m}": round(seconds[m], 2) for m in models})
    idata = az.InferenceData(
        posterior=posterior,
        sample_stats=stats_ds,
        log_likelihood=ds(loglik),
        posterior_predictive=ds(ppc),
        observed_data=ds(obs, with_chain=False),
        constant_data=ds(const, with_chain=False),
        prior=prior_ds,
    )
    check_support(engine_samples(idata))
    idata.posterior.attrs["posterior_sha256"] = posterior_hash(idata)
    return idata
