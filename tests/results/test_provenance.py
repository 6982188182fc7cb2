"""Provenance attributes: software, inputs, posterior and a run id per output."""

from __future__ import annotations

import mcbattery
from mcbattery.results import provenance


def test_stamp_names_inputs_software_and_a_fresh_run_id():
    p = mcbattery.load_scenario("unipolar")
    a, b = provenance.stamp(p, seed=3), provenance.stamp(p)
    assert a["scenario"] == "unipolar" and a["priors_hash"] == p.priors_hash() and a["resolved_hash"] == p.hash() and a["seed"] == 3
    assert a["mcbattery_version"] == mcbattery.__version__ and a["created_at"].endswith("+00:00")
    assert a["calibrated"] == 0 and a["posterior_file"] == "none (priors only)"
    assert len(a["run_id"]) == 32 and a["run_id"] != b["run_id"]
    assert provenance.stamp(p, run_id="x")["run_id"] == "x"
    assert provenance.inputs(p, "_b")["scenario_b"] == "unipolar"
