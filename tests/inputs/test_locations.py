"""Tests of the shipped input locations (mcbattery.inputs.locations)."""

from __future__ import annotations

from mcbattery.inputs import locations


def test_priors_folder_holds_the_parameters_scenarios_and_posterior():
    assert locations.PRIORS_DIR.is_dir()
    assert (locations.PRIORS_DIR / "materials.toml").is_file()
    assert sorted(p.stem for p in (locations.PRIORS_DIR / "scenarios").glob("*.toml"))
    assert locations.POSTERIOR_DIR == locations.PRIORS_DIR / "posterior"
    assert (locations.POSTERIOR_DIR / "engine_samples.nc").is_file()


def test_one_definition_for_every_reader():
    """The priors loader, the posterior reader and the calibration store read these paths."""
    from mcbattery.calibration import store
    from mcbattery.inputs import posterior, priors

    assert priors.PRIORS_DIR is locations.PRIORS_DIR
    assert posterior.DEFAULT_POSTERIOR.parent == locations.POSTERIOR_DIR
    assert store.SHIPPED_POSTERIOR.parent == locations.POSTERIOR_DIR
