"""Tests of the former learning-curve path (mcbattery.learning): the names documented there
are the ones of mcbattery.calibration.learning."""

from __future__ import annotations

import mcbattery.calibration.learning as home
import mcbattery.learning as old


def test_every_public_name_is_the_same_object():
    for name in home.__all__:
        assert getattr(old, name) is getattr(home, name), name
    assert set(old.__all__) == set(home.__all__)


def test_the_former_priors_name_still_works():
    assert old.Priors is home.LearningCurvePriors
    assert old.Priors.default("moore") == home.LearningCurvePriors.default("moore")
