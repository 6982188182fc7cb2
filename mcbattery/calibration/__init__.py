"""Calibration against history: numpyro models fitted with one NUTS driver, learning curves,
rolling hindcasts, diagnostics and the posterior store the engine reads.

Modules, bottom up: :mod:`~mcbattery.calibration.priors` (priors of the calibration models),
:mod:`~mcbattery.calibration.data` (the historical series up to ``until``),
:mod:`~mcbattery.calibration.models` (the numpyro models and their likelihoods),
:mod:`~mcbattery.calibration.simulate` (their simulators),
:mod:`~mcbattery.calibration.nuts` (the NUTS driver),
:mod:`~mcbattery.calibration.engine_map` (calibration variables -> engine parameters),
:mod:`~mcbattery.calibration.diagnostics` (R-hat, ESS, divergences, summaries; ArviZ),
:mod:`~mcbattery.calibration.store` (posterior files, hash, README),
:mod:`~mcbattery.calibration.fit` (:func:`calibrate`),
:mod:`~mcbattery.calibration.learning` (learning-curve fits and forecasts),
:mod:`~mcbattery.calibration.checks` (boom check, Moore comparison, the cell series),
:mod:`~mcbattery.calibration.hindcast` (rolling-origin hindcasts).

The names below are the documented calibration API (``from mcbattery import calibration as
cal; cal.calibrate(...)``).
"""

import sys
import types

from mcbattery.calibration import store as _store
from mcbattery.calibration.checks import PUBLISHED_LEARNING, boom_check, cell_series, moore_comparison
from mcbattery.calibration.data import demand_data, learning_data, price_data
from mcbattery.calibration.diagnostics import check_diagnostics, diagnostics_table, learning_rate_summary, summary_table
from mcbattery.calibration.engine_map import ENGINE_MAP, engine_dataset, engine_samples
from mcbattery.calibration.fit import calibrate
from mcbattery.calibration.models import (annual_price_parameters, demand_model, learning_model,
                                          monthly_price_parameters, price_log_likelihood, price_model)
from mcbattery.calibration.nuts import constrain, fit_model, initial_points, run_nuts
from mcbattery.calibration.priors import (MODELS, DemandPriors, LearningPriors, PricePriors, prior_distributions,
                                          sample_priors)
from mcbattery.calibration.simulate import simulate_demand, simulate_price_annual, simulate_price_monthly
from mcbattery.calibration.store import (engine_samples_path, load_posterior, posterior_hash, posterior_readme,
                                         save_posterior, shipped_posterior)

__all__ = [
    "LearningPriors",
    "PricePriors",
    "DemandPriors",
    "learning_data",
    "price_data",
    "demand_data",
    "learning_model",
    "price_model",
    "demand_model",
    "price_log_likelihood",
    "monthly_price_parameters",
    "annual_price_parameters",
    "simulate_price_monthly",
    "simulate_price_annual",
    "simulate_demand",
    "fit_model",
    "run_nuts",
    "initial_points",
    "constrain",
    "prior_distributions",
    "sample_priors",
    "calibrate",
    "engine_samples",
    "check_diagnostics",
    "diagnostics_table",
    "save_posterior",
    "load_posterior",
    "posterior_hash",
    "boom_check",
    "summary_table",
    "posterior_readme",
    "moore_comparison",
    "cell_series",
    "engine_dataset",
    "engine_samples_path",
    "learning_rate_summary",
    "shipped_posterior",
    "ENGINE_MAP",
    "MODELS",
    "SHIPPED_POSTERIOR",
    "PUBLISHED_LEARNING",
]


class _Calibration(types.ModuleType):
    """This package's module type: ``SHIPPED_POSTERIOR`` here is a view of
    :data:`mcbattery.calibration.store.SHIPPED_POSTERIOR`, the file ``calibrate --ship`` writes;
    reading or setting it here reads or sets the store's, so the two never disagree."""

    @property
    def SHIPPED_POSTERIOR(self):  # noqa: N802 - a module constant
        return _store.SHIPPED_POSTERIOR

    @SHIPPED_POSTERIOR.setter
    def SHIPPED_POSTERIOR(self, value):  # noqa: N802
        _store.SHIPPED_POSTERIOR = value


sys.modules[__name__].__class__ = _Calibration
