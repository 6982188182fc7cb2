"""``mcbattery.forecast``: kept draws carry the sampled parameters beside the outputs, and every
file names the command that repeats it."""

from __future__ import annotations

import numpy as np

from mcbattery.engine import sample_params, simulate_params


def test_kept_draws_carry_their_parameters(baseline_small):
    d = baseline_small.draws
    roles = {k: v.attrs.get("role") for k, v in d.data_vars.items()}
    params = [k for k, r in roles.items() if r == "parameter"]
    outputs = [k for k, r in roles.items() if r == "output"]
    assert set(roles.values()) == {"parameter", "output"} and len(params) > 40 and "lithium_price" in outputs
    pri = baseline_small.priors
    assert all(pri[k].dist != "fixed" for k in params)  # constants are left out
    assert d["announced_completion"].dims == ("draw", "region") and d["announced_completion"].attrs["units"]
    want = sample_params(pri, d.sizes["draw"], seed=baseline_small.summary.attrs["seed"])
    for k in params:
        np.testing.assert_array_equal(d[k].values, want[k], err_msg=k)
    # the parameters are those behind the kept outputs: simulating them gives the same draws
    out = simulate_params(pri, want, seed=baseline_small.summary.attrs["seed"])
    np.testing.assert_allclose(out["lithium_price"], d["lithium_price"].values, rtol=1e-4)


def test_summary_records_the_command(baseline_small):
    a = baseline_small.summary.attrs
    assert a["command"] == "mcbattery forecast --scenario baseline --draws 2048 --seed 7 --keep-draws 512"
    assert a["history"].endswith(a["command"]) and a["history"].startswith(a["created_at"])
