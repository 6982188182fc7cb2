"""Provenance attributes stamped on every output: what produced it, from which inputs, when,
and a run id shared by the files one run writes together (summary and kept draws)."""

from __future__ import annotations

import datetime as _dt
import uuid
from pathlib import Path

from mcbattery import __version__


def now() -> str:
    """UTC creation time, to the second (ISO 8601)."""
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def new_run_id() -> str:
    """A fresh run id (32 hex digits)."""
    return uuid.uuid4().hex


def software() -> dict:
    """Package versions and creation time."""
    import jax

    return {"Conventions": "CF-1.10", "source": f"mcbattery {__version__}", "mcbattery_version": __version__,
            "jax_version": jax.__version__, "created_at": now()}


def inputs(priors, suffix: str = "") -> dict:
    """Which scenario, priors and posterior a result came from (``suffix`` tells the scenarios
    of a comparison apart, e.g. ``"_a"``)."""
    return {
        f"scenario{suffix}": priors.scenario,
        f"scenario{suffix}_description": priors.scenario_description,
        f"scenario{suffix}_file": Path(priors.scenario_file).name,
        f"priors_hash{suffix}": priors.priors_hash(),
        f"resolved_hash{suffix}": priors.hash(),
        f"priors_directory{suffix}": Path(priors.directory).name,
    }


def posterior(priors) -> dict:
    """Whether the priors were replaced by calibrated samples, and which."""
    return {
        "calibrated": int(bool(priors.posterior)),
        "posterior_file": priors.posterior.get("file", "none (priors only)"),
        "posterior_hash": priors.posterior.get("hash", ""),
        "data_vintage": priors.posterior.get("data_vintage", ""),
    }


def stamp(priors=None, run_id: str | None = None, **extra) -> dict:
    """The attributes of one output: software, inputs (when ``priors`` are given), run id and
    ``extra``."""
    attrs = {**software(), "run_id": run_id or new_run_id()}
    if priors is not None:
        attrs |= inputs(priors) | posterior(priors)
    return attrs | extra
