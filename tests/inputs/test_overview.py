"""The prior overview: exact quantiles agree with the engine's own draws; changed elements are marked."""

from __future__ import annotations

import numpy as np

import mcbattery
from mcbattery.engine import sample_params
from mcbattery.inputs.overview import prior_overview


def test_quantiles_match_the_engine_sampler():
    pri = mcbattery.load_scenario("baseline")
    frame = prior_overview(pri).set_index(["parameter", "element"])
    draws = sample_params(pri, 8192, seed=5)
    checked = 0
    for (name, element), row in frame.iterrows():
        if row["dist"] == "fixed":
            continue
        p = pri[name]
        idx = tuple(pri.coords.at(d, lab) for d, lab in zip(p.dims, element.split(",")) if element)
        x = np.asarray(draws[name])[(slice(None), *idx)]
        got = np.quantile(x, [0.05, 0.5, 0.95])
        spread = max(row["q95"] - row["q05"], 1e-12)
        # 8,192 draws: sampling error of these quantiles is a few per cent of the 90 % width
        np.testing.assert_allclose(got, [row["q05"], row["median"], row["q95"]], atol=0.06 * spread, err_msg=f"{name}[{element}]")
        checked += 1
    assert checked > 100  # every distribution type is among them
    assert set(frame["dist"]) >= {"normal", "truncnormal", "lognormal", "uniform", "beta", "dirichlet", "fixed"}


def test_changed_elements_are_those_the_scenario_touches():
    base = mcbattery.load_scenario("baseline")
    uni = mcbattery.load_scenario("unipolar")
    frame = prior_overview(uni, base)
    changed = frame[frame["changed"]]
    assert set(changed["parameter"]) <= set(uni.shifted)
    assert ("production_credit", "US") in set(zip(changed["parameter"], changed["element"]))
    assert ("production_credit", "CN") not in set(zip(changed["parameter"], changed["element"]))
    assert not prior_overview(base, base)["changed"].any()


def test_posterior_parameters_show_their_samples():
    from mcbattery.inputs.posterior import default_posterior

    pri = mcbattery.load_scenario("baseline", posterior=default_posterior())
    frame = prior_overview(pri)
    post = frame[frame["dist"] == "posterior"]
    assert len(post) and (post["samples"] > 0).all()
    row = post.iloc[0]
    samples = pri[row["parameter"]].fields["samples"]
    assert row["q05"] <= row["median"] <= row["q95"] and row["q05"] >= samples.min()
