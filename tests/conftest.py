"""Shared fixtures: small forecasts are computed once per session and reused."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from hypothesis import settings

import mcbattery
from mcbattery.inputs.priors import PRIORS_DIR


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


# Property tests run the same examples on every machine (a CI failure is reproducible); set
# HYPOTHESIS_PROFILE=explore to search new ones locally.
settings.register_profile("ci", derandomize=True, database=None)
settings.register_profile("explore")
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def pytest_configure(config):
    """Share compiled kernels between tests and xdist workers: many tests compile the same
    engine kernel (same prior structure, horizon and chunk shape)."""
    import tempfile

    cache = os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", os.path.join(tempfile.gettempdir(), "mcbattery-jax-cache"))
    import jax

    jax.config.update("jax_compilation_cache_dir", cache)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 1.0)
