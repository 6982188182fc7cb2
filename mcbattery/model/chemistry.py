"""Chemistry mix of new cells and lithium intensity (t LCE per GWh of cells).

Shares evolve as a multinomial logit: the start shares, a per-segment logit trend, and a
sodium-ion response that opens when lithium trades above its cost anchor (mechanism 13).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from mcbattery.model.coords import CHEMISTRIES

NA = CHEMISTRIES.index("Na-ion")


def shares(p, t, log_price_ratio):
    """Chemistry shares (segment x chemistry) in year index ``t`` given last year's log(P/anchor)."""
    logit = jnp.log(jnp.maximum(p["chemistry_share_start"], 1e-6)) + p["chemistry_logit_trend"] * (t + 1.0)
    sodium = p["sodium_price_response"] * jnp.maximum(log_price_ratio, 0.0)
    logit = logit.at[:, NA].add(sodium)
    return jax.nn.softmax(logit, axis=-1)


def intensity(p, t):
    """Lithium intensity per chemistry in t LCE per GWh of cells, falling slowly with time."""
    return p["lithium_intensity"] * jnp.exp(-p["lithium_intensity_decline"] * (t + 1.0))


def non_battery_demand(p, t):
    """Lithium demand outside batteries (glass, ceramics, greases...), kt LCE/yr."""
    return p["non_battery_lithium_demand"] * jnp.exp(p["non_battery_lithium_growth"] * (t + 1.0))
