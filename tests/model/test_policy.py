"""Analytic limits of :mod:`mcbattery.model.policy`: every lever in force only inside its window."""

from __future__ import annotations

import jax.numpy as jnp
import pytest

from mcbattery.model import policy
from mcbattery.model.params import block


def test_tariffs_quotas_and_export_controls_follow_their_windows():
    p = block("policy", {
        "import_tariff": jnp.array([0.0, 0.3]), "tariff_start_year": jnp.array([2000.0, 2026.0]),
        "tariff_end_year": jnp.array([2100.0, 2030.0]),
        "import_quota": jnp.array([1.0, 0.4]), "quota_start_year": jnp.array([2000.0, 2027.0]),
        "quota_end_year": jnp.array([2100.0, 2029.0]),
        "export_control_share": jnp.array([0.5]), "export_control_start_year": jnp.array([2026.0]),
        "export_control_end_year": jnp.array([2031.0]),
    })
    assert [float(policy.tariff(p, float(y))[1]) for y in (2025, 2026, 2029, 2030)] == [0.0, pytest.approx(0.3), pytest.approx(0.3), 0.0]
    assert [float(policy.quota(p, float(y))[1]) for y in (2026, 2027, 2028, 2029)] == [1.0, pytest.approx(0.4), pytest.approx(0.4), 1.0]
    assert [float(policy.export_control(p, float(y))[0]) for y in (2025, 2026, 2030, 2031)] == [0.0, 0.5, 0.5, 0.0]


def test_production_credit_starts_and_phases_out():
    p = block("policy", {"production_credit": jnp.array([0.0, 35.0]), "production_credit_start_year": jnp.array([2000.0, 2023.0]),
                         "production_credit_end_year": jnp.array([2040.0, 2033.0]),
                         "production_credit_phase_out": jnp.array([0.0, 4.0])})
    got = [float(policy.credit(p, float(y))[1]) for y in (2022, 2023, 2029, 2030, 2031, 2032, 2033)]
    assert got == pytest.approx([0.0, 35.0, 35.0, 26.25, 17.5, 8.75, 0.0])
