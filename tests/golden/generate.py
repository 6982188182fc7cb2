"""Write the golden numbers: summaries and kept draws of every shipped scenario at a fixed seed.

Run only when the model's numbers change on purpose (and say why in the commit):

    python tests/golden/generate.py

``tests/test_golden.py`` checks that today's code reproduces these files bit for bit.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
DRAWS = 4096  # one group of blocks on one device
KEEP = 64
SEED = 20240601
CHUNK = 4096


def golden_arrays(scenario: str) -> dict[str, np.ndarray]:
    """Every summary variable and kept-draw output of ``scenario`` as ``summary/NAME`` and ``draws/NAME``
    (the kept draws' sampled parameters are checked against the sampler in tests/test_api.py)."""
    import mcbattery

    f = mcbattery.forecast(scenario, draws=DRAWS, seed=SEED, keep_draws=KEEP, chunk_size=CHUNK)
    out = {f"summary/{k}": np.asarray(v.values) for k, v in f.summary.data_vars.items()}
    out.update({f"draws/{k}": np.asarray(v.values) for k, v in f.draws.data_vars.items() if v.attrs.get("role") == "output"})
    return out


def main(argv: list[str]) -> int:
    import mcbattery

    names = argv or sorted(mcbattery.list_scenarios())
    for name in names:
        arrays = golden_arrays(name)
        np.savez_compressed(HERE / f"{name}.npz", **arrays)
        print(f"{name}: {len(arrays)} arrays")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
