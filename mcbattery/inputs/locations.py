"""Where the shipped inputs live: the priors folder (parameters, scenarios) and, inside it, the
calibrated posterior."""

from __future__ import annotations

from pathlib import Path

#: The shipped priors folder (``priors/`` of the source tree, packaged under ``inputs/data``).
PRIORS_DIR = Path(__file__).resolve().parent / "data" / "priors"
#: The shipped calibrated posterior: ``posterior.nc`` (ArviZ), ``engine_samples.nc`` (engine).
POSTERIOR_DIR = PRIORS_DIR / "posterior"
