"""Shared fixtures: small forecasts are computed once per session and reused."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import mcbattery
from mcbattery.priors import PRIORS_DIR


@pytest.fixture(scope="session")
def baseline_small():
    """A 2,048-draw baseline forecast with 512 kept draws (shared by several tests)."""
    return mcbattery.forecast("baseline", draws=2048, seed=7, keep_draws=512, chunk_size=1024)


@pytest.fixture
def priors_copy(tmp_path) -> Path:
    """A writable copy of the shipped priors folder."""
    dst = tmp_path / "priors"
    shutil.copytree(PRIORS_DIR, dst)
    return dst
