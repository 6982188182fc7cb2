"""Tests of the map from calibration variables to engine parameters
(mcbattery.calibration.engine_map)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats

from mcbattery.calibration import engine_map as E
from mcbattery.common.errors import InputError
from mcbattery.calibration.priors import MODELS, PRICE_MATERIALS, prior_distributions
from mcbattery.inputs.priors import load_priors, shipped_coords
from mcbattery.model.params import REGISTRY, SUPPORTS


def test_engine_map_names_registry_parameters_and_labels():
    """Every source is a site of a calibration model; labelled sources fill labels of the
    parameter's first dim (no label twice), unlabelled ones fill a scalar parameter."""
    for name, sources in E.ENGINE_MAP.items():
        assert name in REGISTRY and sources, name
        filled = []
        for model, var, labels in sources:
            assert model in MODELS and var in prior_distributions(model), (name, var)
            if labels is not None:
                assert set(labels) <= set(shipped_coords()[REGISTRY[name].dims[0]]), name
                filled += list(labels)
            else:
                assert REGISTRY[name].dims == () and len(sources) == 1, name
        assert len(filled) == len(set(filled)), name
    # each material's price model fills that material's element of the price parameters
    for param in ("price_anchor", "price_anchor_trend", "price_reversion", "price_volatility"):
        assert REGISTRY[param].dims == ("material",)
        site = param.removeprefix("price_")
        assert E.ENGINE_MAP[param] == [(f"price_{m}", f"price_{m}__{site}", (m,)) for m in PRICE_MATERIALS]


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
    # the same learning exponent drives materials cost learning
    np.testing.assert_array_equal(samples["materials_learning_exponent"][:, :2], b[:, :2])
    # prices: each material from its own model, graphite from the expert prior
    for param, site in (("price_anchor", "anchor"), ("price_reversion", "reversion"),
                        ("price_volatility", "volatility"), ("price_anchor_trend", "anchor_trend")):
        for m in PRICE_MATERIALS:
            fitted = small_idata.posterior[f"price_{m}__{site}"].values.reshape(-1)
            np.testing.assert_allclose(samples[param][:, shipped_coords().at("material", m)], fitted, rtol=1e-6)
        assert small_idata.posterior[param].attrs["from_expert_prior"] == "graphite"
    graphite = samples["price_anchor"][:, shipped_coords().at("material", "graphite")]
    assert abs(np.log(np.median(graphite) / 1500.0)) < 0.1  # the shipped lognormal median
    # chemistry: the EV cost sensitivity and the (scalar) adjustment rate from the chemistry model
    lam = samples["chemistry_cost_sensitivity"]
    ev = shipped_coords().at("segment", "EV")
    np.testing.assert_allclose(lam[:, ev], small_idata.posterior["chemistry__cost_sensitivity"].values.reshape(-1),
                               rtol=1e-6)
    assert not np.allclose(lam[:, shipped_coords().at("segment", "storage")], lam[:, ev])
    np.testing.assert_allclose(samples["chemistry_adjustment_rate"],
                               small_idata.posterior["chemistry__adjustment_rate"].values.reshape(-1), rtol=1e-6)
    assert samples["chemistry_adjustment_rate"].shape == (n,)


def test_engine_view_fills_unfitted_labels_and_models_from_the_fill():
    shape = (2, 3)
    fill = {k: np.full((6, *(len(shipped_coords()[d]) for d in REGISTRY[k].dims)), -1.0) for k in E.ENGINE_MAP}
    samples = {"learning__exponent": np.arange(6.0).reshape(shape), "price_nickel__anchor": np.full(shape, 9000.0),
               "price_cobalt__anchor": np.full(shape, 30000.0), "chemistry__adjustment_rate": np.full(shape, 0.3)}
    view = E.engine_view(samples, fill, shape)
    b = view["conversion_learning_exponent"]
    assert b.dims == ("chain", "draw", "chemistry")
    np.testing.assert_array_equal(b.sel(chemistry="LFP").values, samples["learning__exponent"])
    others = [c for c in shipped_coords()["chemistry"] if c not in ("LFP", "NMC")]
    assert np.all(b.sel(chemistry=others).values == -1.0)
    assert b.attrs["calibrated"] == "LFP,NMC" and b.attrs["from_expert_prior"] == ",".join(others)
    # one material per source: the fitted ones from their models, the others from the fill
    anchor = view["price_anchor"]
    assert np.all(anchor.sel(material="nickel").values == 9000.0)
    assert np.all(anchor.sel(material="cobalt").values == 30000.0)
    assert np.all(anchor.sel(material=["lithium", "graphite"]).values == -1.0)
    assert anchor.attrs["calibrated"] == "nickel,cobalt" and anchor.attrs["from_expert_prior"] == "lithium,graphite"
    assert anchor.attrs["model"] == "price_nickel,price_cobalt"
    assert anchor.attrs["model_variable"] == "price_nickel__anchor,price_cobalt__anchor"
    # a scalar parameter is the fitted site itself
    rate = view["chemistry_adjustment_rate"]
    assert rate.dims == ("chain", "draw") and np.all(rate.values == 0.3)
    assert rate.attrs["calibrated"] == "all" and rate.attrs["from_expert_prior"] == ""
    assert rate.attrs["model"] == "chemistry"
    demand = view["demand_saturation"]  # not fitted here: the whole array is the fill
    assert demand.attrs["calibrated"] == "none" and np.all(demand.values == -1.0) and demand.attrs["model"] == ""
    rho = view["cost_noise_autocorrelation"]  # a scalar not fitted here
    assert rho.attrs["calibrated"] == "none" and rho.attrs["from_expert_prior"] == "all" and np.all(rho.values == -1.0)


def test_expert_prior_draws_follow_the_toml_priors():
    pri = load_priors()
    names = ("price_reversion", "price_anchor", "demand_saturation", "chemistry_adjustment_rate",
             "chemistry_cost_sensitivity")
    draws = E.expert_prior_draws(20_000, seed=1, names=names)
    assert draws["demand_saturation"].shape == (20_000, len(shipped_coords()[REGISTRY["demand_saturation"].dims[0]]))
    assert draws["chemistry_adjustment_rate"].shape == (20_000,)
    for name, x in draws.items():
        p = pri[name]
        if p.dist == "lognormal":
            np.testing.assert_allclose(np.median(x, axis=0), np.broadcast_to(p.fields["median"], x.shape[1:]), rtol=0.03)
        if p.dist == "beta":
            assert x.mean() == pytest.approx(float(p.fields["mean"]), abs=0.01)
            assert x.var() == pytest.approx(float(p.fields["mean"]) * (1 - float(p.fields["mean"]))
                                            / (1 + float(p.fields["concentration"])), rel=0.05)
        if p.dist == "truncnormal":
            f = {k: np.broadcast_to(np.asarray(v, float), x.shape[1:]) for k, v in p.fields.items()}
            a, b = (f["low"] - f["mean"]) / f["sd"], (f["high"] - f["mean"]) / f["sd"]
            mean = scipy.stats.truncnorm.mean(a, b, loc=f["mean"], scale=f["sd"])
            np.testing.assert_allclose(x.mean(axis=0), mean, atol=0.03 * np.max(f["sd"]) + 1e-9)
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
