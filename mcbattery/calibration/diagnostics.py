"""Convergence diagnostics and posterior summaries, from ArviZ only: rank-normalised split
R-hat (max of bulk and folded) and bulk ESS (Vehtari et al. 2021), divergent transitions per
model, the fitted learning rate and a posterior-against-prior table of the engine parameters."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mcbattery.calibration.engine_map import ENGINE_MAP, expert_prior_draws
from mcbattery.calibration.priors import MODELS
from mcbattery.inputs.priors import shipped_coords
from mcbattery.model.params import REGISTRY

__all__ = ["rhat_ess", "diagnostics_table", "check_diagnostics", "learning_rate_summary", "summary_table"]


def rhat_ess(draws) -> tuple[float, float]:
    """(rank-normalised split R-hat, bulk ESS) of draws shaped (chain, draw), from ArviZ;
    NaN R-hat for constant draws or fewer than 4 draws per chain."""
    import arviz as az

    x = np.asarray(draws, float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return float(az.rhat(x)), float(az.ess(x, method="bulk"))


def _model_vars(idata, model: str) -> list[str]:
    return [k for k in idata.posterior.data_vars if k.startswith(f"{model}__")]


def diagnostics_table(idata) -> pd.DataFrame:
    """Per model: r_hat_max, ess_bulk_min, divergences, the worst variables and fit seconds.

    Rank-normalised split R-hat and bulk ESS (ArviZ) over the model's ``<model>__`` variables
    (every engine-named variable is one of them, re-labelled).
    """
    import arviz as az

    rows = {}
    for m in MODELS:
        names = _model_vars(idata, m)
        if not names:
            continue
        sub = idata.posterior[names]
        rhat = az.rhat(sub)
        ess = az.ess(sub, method="bulk")
        r = {k: float(rhat[k].max()) for k in names}
        e = {k: float(ess[k].min()) for k in names}
        r = {k: v for k, v in r.items() if np.isfinite(v)}
        e = {k: v for k, v in e.items() if np.isfinite(v)}
        worst_r = max(r, key=r.get) if r else ""
        worst_e = min(e, key=e.get) if e else ""
        div = int(np.asarray(idata.sample_stats[f"{m}__diverging"].values).sum())
        rows[m] = {
            "r_hat_max": r.get(worst_r, float("nan")),
            "r_hat_worst": worst_r,
            "ess_bulk_min": e.get(worst_e, float("nan")),
            "ess_worst": worst_e,
            "divergences": div,
            "draws": int(idata.posterior.sizes["chain"] * idata.posterior.sizes["draw"]),
            "seconds": float(idata.posterior.attrs.get(f"seconds_{m}", float("nan"))),
        }
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "model"
    return table


def check_diagnostics(idata, max_rhat: float = 1.01, min_ess: float = 400.0, max_divergences: int = 0) -> list[str]:
    """Failures of the convergence checks, one line each (empty list: all passed)."""
    failures = []
    table = diagnostics_table(idata)
    for m, row in table.iterrows():
        if not np.isfinite(row.r_hat_max) or row.r_hat_max > max_rhat:
            failures.append(f"{m}: R-hat {row.r_hat_max:.3f} > {max_rhat} ({row.r_hat_worst})")
        if not np.isfinite(row.ess_bulk_min) or row.ess_bulk_min < min_ess:
            failures.append(f"{m}: bulk ESS {row.ess_bulk_min:.0f} < {min_ess:g} ({row.ess_worst})")
        if row.divergences > max_divergences:
            failures.append(f"{m}: {row.divergences} divergent transitions > {max_divergences}")
    return failures


def learning_rate_summary(idata, level: float = 0.9) -> dict[str, float]:
    """Li-ion cell learning rate per doubling 1 − 2^−b: mean, median, lower, upper (central ``level``)."""
    lr = np.asarray(idata.posterior["learning__learning_rate"].values).reshape(-1)
    b = np.asarray(idata.posterior["learning__exponent"].values).reshape(-1)
    lo, hi = np.quantile(lr, [(1 - level) / 2, (1 + level) / 2])
    blo, bhi = np.quantile(b, [(1 - level) / 2, (1 + level) / 2])
    return {"mean": float(lr.mean()), "median": float(np.median(lr)), "lower": float(lo), "upper": float(hi),
            "exponent_mean": float(b.mean()), "exponent_lower": float(blo), "exponent_upper": float(bhi),
            "level": level}


def summary_table(idata, level: float = 0.9) -> pd.DataFrame:
    """Engine parameters the calibration informs: posterior median and central ``level``
    interval, the same for the calibration prior and for the engine's expert prior
    (priors/*.toml), and the posterior/prior sd ratio (small: the data inform it; near 1:
    the prior dominates). One row per calibrated element (e.g. conversion_learning_exponent[LFP])."""
    q = [(1 - level) / 2, 0.5, (1 + level) / 2]
    post, prior = idata.posterior, idata.prior
    names = [k for k in ENGINE_MAP if k in post]
    expert = expert_prior_draws(4000, 0, tuple(names))
    rows = []
    for name in names:
        da_post, da_prior = post[name], prior[name]
        labels = [x for x in da_post.attrs.get("calibrated", "all").split(",") if x and x not in ("all", "none")]
        dims = REGISTRY[name].dims
        elements = [(f"{name}[{lab}]", {dims[0]: lab}, list(shipped_coords()[dims[0]]).index(lab)) for lab in labels] or [(name, {}, None)]
        if da_post.attrs.get("calibrated") == "none":
            continue
        for label, sel, idx in elements:
            x = np.asarray(da_post.sel(sel).values, float).reshape(-1)
            pr = np.asarray(da_prior.sel(sel).values, float).reshape(-1)
            ex = expert[name] if idx is None else expert[name][:, idx]
            a, b, c = np.quantile(x, q)
            pa, pb, pc = np.quantile(pr, q)
            ea, eb, ec = np.quantile(ex, q)
            rows.append({"parameter": label, "model": ENGINE_MAP[name][0], "posterior_median": b,
                         "posterior_low": a, "posterior_high": c, "calibration_prior_median": pb,
                         "calibration_prior_low": pa, "calibration_prior_high": pc, "expert_prior_median": eb,
                         "expert_prior_low": ea, "expert_prior_high": ec,
                         "sd_ratio": float(x.std() / pr.std()) if pr.std() > 0 else float("nan")})
    return pd.DataFrame(rows).set_index("parameter")
