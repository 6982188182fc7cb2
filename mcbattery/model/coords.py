"""Named dimensions and their coordinate labels, shared by priors, engine and outputs."""

from __future__ import annotations

REGIONS: tuple[str, ...] = ("CN", "US", "EU", "ROW")
CHEMISTRIES: tuple[str, ...] = ("LFP", "NMC", "Na-ion")
SEGMENTS: tuple[str, ...] = ("EV", "storage", "other")
STAGES: tuple[str, ...] = ("mining", "refining", "cells", "recycling")
# Stages whose capacity is measured in lithium (kt LCE/yr); cells are in GWh/yr.
LITHIUM_STAGES: tuple[str, ...] = ("mining", "refining", "recycling")
STAGE_UNITS: dict[str, str] = {
    "mining": "kt LCE/yr",
    "refining": "kt LCE/yr",
    "cells": "GWh/yr",
    "recycling": "kt LCE/yr",
}

COORDS: dict[str, tuple[str, ...]] = {
    "region": REGIONS,
    "chemistry": CHEMISTRIES,
    "segment": SEGMENTS,
    "stage": STAGES,
    "lithium_stage": LITHIUM_STAGES,
}

LONG_NAMES: dict[str, str] = {
    "region": "cell-making / demand region (CN China, US United States, EU Europe, ROW rest of world)",
    "chemistry": "cell chemistry (LFP; NMC = nickel/cobalt-based incl. NCA and LCO; Na-ion = sodium-ion)",
    "segment": "battery demand segment (EV all road modes; stationary storage; other uses)",
    "stage": "value-chain stage",
    "lithium_stage": "lithium supply stage",
}


def shape_of(dims: tuple[str, ...]) -> tuple[int, ...]:
    """Array shape for a tuple of dimension names."""
    return tuple(len(COORDS[d]) for d in dims)
