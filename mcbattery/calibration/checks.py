"""Companions of a calibration: how does the time-trend (Moore) variant compare with Wright's
law (:func:`moore_comparison`), published learning rates to print beside ours, and the
built-in Li-ion cell series for hindcasts (:func:`cell_series`)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

from mcbattery.calibration import learning
from mcbattery.calibration.data import LEARNING_FIRST_YEAR, learning_data
from mcbattery.calibration.models import learning_pointwise
from mcbattery.calibration.priors import LearningPriors
from mcbattery.calibration.store import load_posterior
from mcbattery.common.errors import InputError
from mcbattery.inputs import datasets

__all__ = ["moore_comparison", "cell_series", "PUBLISHED_LEARNING"]

#: Published Li-ion learning estimates to print beside ours.
PUBLISHED_LEARNING = {
    "Ziegler & Trancik (2021), cells, per doubling": (0.20, 0.24),
    "Way et al. (2022), exponent 0.421 +/- 0.063": (1 - 2 ** -(0.421 - 0.063), 1 - 2 ** -(0.421 + 0.063)),
}


def moore_comparison(until: int | None = None, seed: int = 0, idata=None, **fit_options) -> dict[str, Any]:
    """Moore's-law (time trend) fit of the same cell prices (2010 on) with
    :func:`mcbattery.calibration.learning.fit` and a fixed trend (``drift=False``, like the
    calibration's Wright model, so the two laws are compared on equal terms): posterior summary,
    annual decline (mean and 90% interval) and, with a calibrated ``idata``, PSIS-LOO of the
    one-step-ahead increments for both laws (``elpd_moore``, ``elpd_wright``: (estimate, se))."""
    import arviz as az

    d = learning_data(until)
    frame = pd.DataFrame({"year": d["year"], "unit_cost": d["cell_price"]})
    fit = learning.fit(frame, seed=seed, model="moore", **{"drift": False, **fit_options})
    mu = fit.posterior["progress_rate"].values
    out = {
        "summary": fit.summary(),
        "diagnostics": fit.diagnostics,
        "annual_decline_mean": float(1 - np.exp(-mu).mean()),
        "annual_decline_90": tuple(float(x) for x in 1 - np.exp(-np.quantile(mu, [0.05, 0.95]))),
        "fit": fit,
    }
    if idata is not None:
        dy = jnp.asarray(np.diff(d["log_cost"]), jnp.float32)
        ll = jax.vmap(lambda a, b, c: learning_pointwise(a, b, c, jnp.ones_like(dy), dy))(
            *(jnp.asarray(fit.posterior[k].values.reshape(-1), jnp.float32)
              for k in ("progress_rate", "noise_scale", "noise_autocorrelation")))
        ll = np.asarray(ll, float).reshape(*mu.shape, -1)
        with np.errstate(all="ignore"):
            moore = az.loo(az.from_dict(posterior={"mu": mu}, log_likelihood={"y": ll}))
            wright = az.loo(idata, var_name="learning__log_cost_increment")
        out["elpd_moore"] = (float(moore.elpd_loo), float(moore.se))
        out["elpd_wright"] = (float(wright.elpd_loo), float(wright.se))
    return out


def cell_series(q0: float | None = None, nonev_scale: float | None = None, posterior: str | Path | None = None,
                until: int | None = None, first_year: int = 1991, early_growth: float | None = None) -> pd.DataFrame:
    """The built-in Li-ion cell series for hindcasts: columns series, year,
    cumulative_production [GWh], unit_cost [USD2024/kWh].

    From 2010: ``q0 + nonev_scale · cumulative IEA EV demand``. Before 2010 (years from
    ``first_year``, cell prices from 1991) no production series ships, so cumulative
    production follows the prior path of the calibration: exponential growth at
    ``early_growth`` per year reaching ``q0`` at the end of 2009, i.e.
    ``Q_t = q0 · exp(−early_growth · (2009 − t))``. ``q0``, ``nonev_scale`` and
    ``early_growth`` default to the prior medians of :class:`LearningPriors`, so a hindcast
    uses nothing fitted to the outcomes it scores; ``posterior`` takes ``q0`` and
    ``nonev_scale`` from that posterior's means instead.
    """
    pri = LearningPriors()
    if posterior is not None:
        path = Path(posterior)
        post = load_posterior(path).posterior
        if "learning__q0" not in post:
            raise InputError("posterior has no learning__q0", file=str(path), field="posterior")
        q0 = float(post["learning__q0"].mean()) if q0 is None else q0
        nonev_scale = float(post["learning__nonev_scale"].mean()) if nonev_scale is None else nonev_scale
    q0 = pri.q0_median if q0 is None else float(q0)
    nonev_scale = pri.nonev_scale_median if nonev_scale is None else float(nonev_scale)
    g = pri.early_growth_median if early_growth is None else float(early_growth)
    if not (q0 > 0 and nonev_scale > 0 and g > 0):
        raise InputError("expected positive q0, nonev_scale and early_growth", field="cell_series")
    d = learning_data(until)
    frame = pd.DataFrame({"series": "li_ion_cell", "year": d["year"],
                          "cumulative_production": q0 + nonev_scale * d["cum_ev"], "unit_cost": d["cell_price"]})
    if first_year < LEARNING_FIRST_YEAR:
        price = datasets.cell_price().set_index("year")["cell_price_usd2024_per_kwh"]
        years = np.array([int(y) for y in price.index if first_year <= y < LEARNING_FIRST_YEAR])
        early = pd.DataFrame({"series": "li_ion_cell", "year": years,
                              "cumulative_production": q0 * np.exp(-g * (LEARNING_FIRST_YEAR - 1 - years)),
                              "unit_cost": price.loc[years].to_numpy(float)})
        frame = pd.concat([early, frame], ignore_index=True)
    return frame
