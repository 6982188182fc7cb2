"""Battery demand (GWh/yr) by segment and region: a logistic (S-curve) diffusion path
anchored on the last observed year, with AR(1) log shocks and a lithium-price response."""

from __future__ import annotations

from mcbattery.model import ops


def logistic_path(d0, saturation, rate, t):
    """Logistic demand ``t+1`` years after the anchor year, passing through ``d0`` at t = -1.

    d0, saturation: GWh/yr; rate: 1/yr. ``saturation`` is kept above ``d0``.
    """
    xp = ops.xp(d0)
    k = xp.maximum(saturation, 1.05 * d0)
    return k / (1.0 + (k / d0 - 1.0) * xp.exp(-rate * (t + 1.0)))


def initial_growth(d0, saturation, rate):
    """Instantaneous log growth (1/yr) of the logistic path at the anchor year."""
    k = ops.xp(d0).maximum(saturation, 1.05 * d0)
    return rate * (1.0 - d0 / k)


def step(p, t, shock_prev, eps, log_price_ratio, responsive):
    """One year of demand.

    p: the demand parameters; shock_prev, eps: AR(1) log shock and standard normals per
    segment; log_price_ratio: log(P/anchor) of last year's lithium carbonate price (higher
    prices slow adoption of the ``responsive`` segments, a boolean mask, mechanism 8).
    Returns (segment x region demand GWh/yr, new log shock per segment).
    """
    xp = ops.xp(shock_prev)
    nb = ops.batch_ndim(p.demand_noise_persistence)
    shock = p.demand_noise_persistence * shock_prev + p.demand_noise_sd * eps
    base = logistic_path(p.demand_start, p.demand_saturation, p.demand_growth_rate, t)
    price_effect = xp.exp(-p.demand_lithium_price_elasticity * xp.maximum(log_price_ratio, 0.0))
    total = base * xp.exp(shock) * xp.where(ops.expand(responsive, nb), price_effect, 1.0)
    by_region = total[:, None] * p.demand_region_share * p.demand_multiplier
    return by_region, shock
