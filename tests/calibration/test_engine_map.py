"""Tests of the map from calibration variables to engine parameters
(mcbattery.calibration.engine_map)."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest
import scipy.special

from mcbattery.calibration import engine_map as E
from mcbattery.common.errors import InputError
from mcbattery.inputs.priors import load_priors
from mcbattery.model import prices
from mcbattery.model.params import block as params_block
from mcbattery.inputs.priors import shipped_coords
from mcbattery.model.params import REGISTRY, SUPPORTS


def test_engine_map_names_registry_parameters_and_labels():
    for name, (model, var, labels) in E.ENGINE_MAP.items():
        assert name in REGISTRY and var.startswith(f"{model}__"), name
        if labels is not None:
            assert set(labels) <= set(shipped_coords()[REGISTRY[name].dims[0]]), name
        else:
            assert REGISTRY[name].dims == (), name


def test_engine_samples_match_registry(small_idata):
    samples = E.engine_samples(small_idata)
    assert set(samples) == set(E.ENGINE_MAP)
    n = small_idata.posterior.sizes["chain"] * small_idata.posterior.sizes["draw"]
    for name, arr in samples.items():
        spec = REGISTRY[name]
        assert arr.shape == (n, *(len(shipped_coords()[d]) for d in spec.dims)), name
        lo, hi = SUPPORTS[spec.support]
        assert np.all(np.isfinite(arr)) and np.all(arr >= lo) and np.all(arr <= hi), name
        da = small_idata.posterior[name]
        assert da.dims == ("chain", "draw", *spec.dims)
        for d in spec.dims:
            assert list(da[d].values) == list(shipped_coords()[d])
    # cell-level exponent on LFP and NMC (same draw), Na-ion from its expert prior
    b = samples["conversion_learning_exponent"]
    np.testing.assert_array_equal(b[:, 0], b[:, 1])
    np.testing.assert_allclose(b[:, 0], small_idata.posterior["learning__exponent"].values.reshape(-1), rtol=1e-6)
    assert abs(b[:, 2].mean() - 0.421) < 0.02 and not np.allclose(b[:, 2], b[:, 0])
    # EV demand from the fit, storage from the expert prior (truncnormal mean 0.35)
    g = samples["demand_growth_rate"]
    np.testing.assert_allclose(g[:, 0], small_idata.posterior["demand__growth_rate"].values.reshape(-1), rtol=1e-6)
    assert abs(g[:, 1].mean() - 0.35) < 0.03
    # annual boom probabilities: the switch within a year, 1 - (1 - p)^12; the engine's monthly
    # hazards give back the fitted monthly probabilities
    e = small_idata.posterior["price__entry_monthly"].values.reshape(-1)
    x = small_idata.posterior["price__exit_monthly"].values.reshape(-1)
    np.testing.assert_allclose(samples["boom_exit_probability"], 1 - (1 - x.astype(float)) ** 12, rtol=1e-4)
    np.testing.assert_allclose(samples["boom_entry_logit"], scipy.special.logit(1 - (1 - e.astype(float)) ** 12),
                               rtol=1e-3, atol=1e-4)
    eng = {k: jnp.asarray(v) for k, v in samples.items()}
    np.testing.assert_allclose(prices.entry_hazard(params_block("prices", dict(eng, boom_entry_tightness=jnp.zeros_like(eng["boom_entry_logit"]))),
                                                   0.0), e, rtol=1e-4)
    np.testing.assert_allclose(prices.monthly_hazard(eng["boom_exit_probability"]), x, rtol=1e-4)


def test_engine_view_fills_unfitted_labels_and_models_from_the_fill():
    shape = (2, 3)
    fill = {k: np.full((6, *(len(shipped_coords()[d]) for d in REGISTRY[k].dims)), -1.0) for k in E.ENGINE_MAP}
    samples = {"learning__exponent": np.arange(6.0).reshape(shape), "price__anchor": np.full(shape, 9000.0)}
    view = E.engine_view(samples, fill, shape)
    b = view["conversion_learning_exponent"]
    assert b.dims == ("chain", "draw", "chemistry")
    np.testing.assert_array_equal(b.sel(chemistry="LFP").values, samples["learning__exponent"])
    others = [c for c in shipped_coords()["chemistry"] if c not in ("LFP", "NMC")]
    assert np.all(b.sel(chemistry=others).values == -1.0)
    assert b.attrs["calibrated"] == "LFP,NMC" and b.attrs["from_expert_prior"] == ",".join(others)
    assert np.all(view["lithium_cost_anchor"].values == 9000.0) and view["lithium_cost_anchor"].attrs["calibrated"] == "all"
    demand = view["demand_saturation"]  # not fitted here: the whole array is the fill
    assert demand.attrs["calibrated"] == "none" and np.all(demand.values == -1.0)


def test_expert_prior_draws_follow_the_toml_priors():
    pri = load_priors()
    draws = E.expert_prior_draws(20_000, seed=1, names=("price_reversion", "demand_saturation", "boom_ceiling"))
    assert draws["demand_saturation"].shape == (20_000, len(shipped_coords()[REGISTRY["demand_saturation"].dims[0]]))
    for name, x in draws.items():
        p = pri[name]
        if p.dist == "lognormal":
            np.testing.assert_allclose(np.median(x, axis=0), np.broadcast_to(p.fields["median"], x.shape[1:]), rtol=0.03)
        lo, hi = SUPPORTS[REGISTRY[name].support]
        assert np.all((x >= lo) & (x <= hi)), name
    again = E.expert_prior_draws(20_000, seed=1, names=("price_reversion",))
    np.testing.assert_array_equal(again["price_reversion"], draws["price_reversion"])


def test_check_support_names_the_parameter():
    E.check_support({"price_reversion": np.array([0.2, 0.5])})
    with pytest.raises(InputError, match="price_reversion") as err:
        E.check_support({"price_reversion": np.array([0.2, np.nan, 1.5])})
    assert "2 posterior samples" in str(err.value)


def test_engine_dataset_is_flat_samples_with_coords(small_idata):
    ds = E.engine_dataset(small_idata)
    assert set(ds.data_vars) == set(E.ENGINE_MAP)
    n = small_idata.posterior.sizes["chain"] * small_idata.posterior.sizes["draw"]
    assert ds.sizes["sample"] == n and list(ds["segment"].values) == list(shipped_coords()["segment"])
    np.testing.assert_array_equal(ds["price_reversion"].values, E.engine_samples(small_idata)["price_reversion"])
    assert ds["conversion_learning_exponent"].attrs["calibrated"] == "LFP,NMC"
    with pytest.raises(InputError, match="no engine-named"):
        E.engine_dataset(small_idata.map(lambda d: d.drop_vars([k for k in E.ENGINE_MAP if k in d]),
                                         groups="posterior"))
