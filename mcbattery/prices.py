"""Lithium carbonate price (real 2024 USD per t LCE): mean reversion in logs towards a target
(the cost anchor times a premium that rises with supply tightness: below the anchor in a
glut, above it when demand outruns supply capability) plus a two-state boom regime whose
entry probability rises with tightness; exit lets mean reversion produce the bust."""

from __future__ import annotations

import jax
import jax.numpy as jnp


def anchor(p, t):
    """Cost anchor (USD/t LCE) in year index ``t``."""
    return p["lithium_cost_anchor"] * jnp.exp(p["lithium_cost_anchor_trend"] * (t + 1.0))


def step(p, t, log_price, boom, tightness, eps, u_regime):
    """Advance one year.

    log_price: last year's log price; boom: last year's regime (0 or 1); tightness:
    log(demand / supply capability) this year, clipped to [-1, 1]; eps ~ N(0, 1); u_regime ~ U(0, 1).
    The log price reverts towards log(anchor) + tightness_premium x tightness; gluts do not push
    boom entry below its base rate (booms start from demand surprises). The boom drift fades
    linearly in log price to zero at ``boom_ceiling`` x anchor.
    Returns (log price, boom regime) for this year.
    """
    enter = jax.nn.sigmoid(p["boom_entry_logit"] + p["boom_entry_tightness"] * jnp.maximum(tightness, 0.0))
    stay = 1.0 - p["boom_exit_probability"]
    boom = jnp.where(boom > 0.5, u_regime < stay, u_regime < enter).astype(log_price.dtype)
    log_a = jnp.log(anchor(p, t))
    target = log_a + p["tightness_premium"] * tightness
    # the boom's push fades as the price nears boom_ceiling x anchor
    room = jnp.clip(1.0 - (log_price - log_a) / jnp.log(p["boom_ceiling"]), 0.0, 1.0)
    log_price = log_price + p["price_reversion"] * (target - log_price) + p["boom_drift"] * boom * room + p["price_volatility"] * eps
    return log_price, boom
