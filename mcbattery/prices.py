"""Lithium carbonate price (real 2024 USD per t LCE): mean reversion in logs towards a cost
anchor, a premium that rises with supply tightness, and a two-state boom regime whose entry
probability rises with tightness; exit lets mean reversion produce the bust."""

from __future__ import annotations

import jax
import jax.numpy as jnp


def anchor(p, t):
    """Cost anchor (USD/t LCE) in year index ``t``."""
    return p["lithium_cost_anchor"] * jnp.exp(p["lithium_cost_anchor_trend"] * (t + 1.0))


def step(p, t, log_price, boom, tightness, eps, u_regime):
    """Advance one year.

    log_price: last year's log price; boom: last year's regime (0 or 1); tightness:
    log(demand / supply capacity) this year, clipped to [-1, 1]; eps ~ N(0, 1); u_regime ~ U(0, 1).
    Returns (log price, boom regime) for this year.
    """
    enter = jax.nn.sigmoid(p["boom_entry_logit"] + p["boom_entry_tightness"] * tightness)
    stay = 1.0 - p["boom_exit_probability"]
    boom = jnp.where(boom > 0.5, u_regime < stay, u_regime < enter).astype(log_price.dtype)
    log_a = jnp.log(anchor(p, t))
    log_price = (
        log_price
        + p["price_reversion"] * (log_a - log_price)
        + p["tightness_premium"] * tightness
        + p["boom_drift"] * boom
        + p["price_volatility"] * eps
    )
    return log_price, boom
