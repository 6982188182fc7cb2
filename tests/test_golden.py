"""Golden numbers: every shipped scenario at a fixed seed reproduces tests/golden/*.npz bit for bit.

The files were written by ``tests/golden/generate.py``; a change that alters the model's
numbers on purpose regenerates them and says why in its commit.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

GOLDEN = Path(__file__).resolve().parent / "golden"
spec = importlib.util.spec_from_file_location("golden_generate", GOLDEN / "generate.py")
generate = importlib.util.module_from_spec(spec)
spec.loader.exec_module(generate)


@pytest.mark.parametrize("scenario", sorted(p.stem for p in GOLDEN.glob("*.npz")))
def test_scenario_reproduces_golden_numbers(scenario):
    want = dict(np.load(GOLDEN / f"{scenario}.npz"))
    got = generate.golden_arrays(scenario)
    assert sorted(got) == sorted(want)
    for name, value in want.items():
        np.testing.assert_array_equal(got[name], value, err_msg=f"{scenario}: {name}")


def test_every_shipped_scenario_has_a_golden_file():
    import mcbattery

    assert sorted(p.stem for p in GOLDEN.glob("*.npz")) == sorted(mcbattery.list_scenarios())
