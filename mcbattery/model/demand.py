"""Battery demand (GWh/yr) by segment and region: a logistic (S-curve) diffusion path
anchored on the last observed year, AR(1) log shocks, and a response to the pack price.

The diffusion path assumes pack prices keep falling at ``pack_price_expected_decline`` a year
from their level in the year before the start; when the model's pack price sits above that
path demand falls (by the segment's ``pack_price_elasticity``), below it demand rises
(mechanism 8: higher costs raise EV prices and slow adoption).
"""

from __future__ import annotations

from mcbattery.model import ops

#: The pack-price response acts on log(P / expected path) clipped to this range.
MAX_LOG_PRICE_GAP = 1.0


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


def expected_pack_price(p, pack_price_start, t):
    """The pack price (USD(2024)/kWh) the diffusion path assumes in year index ``t``, from
    ``pack_price_start`` in the year before the start (t = -1)."""
    return pack_price_start * ops.xp(pack_price_start).exp(-p.pack_price_expected_decline * (t + 1.0))


def step(p, t, shock_prev, eps, log_pack_gap):
    """One year of demand.

    p: the demand parameters; shock_prev, eps: AR(1) log shock and standard normals per
    segment; log_pack_gap: log(last year's pack price / the price the path expected).
    Returns (segment x region demand GWh/yr, new log shock per segment).
    """
    xp = ops.xp(shock_prev)
    shock = p.demand_noise_persistence * shock_prev + p.demand_noise_sd * eps
    base = logistic_path(p.demand_start, p.demand_saturation, p.demand_growth_rate, t)
    gap = xp.clip(log_pack_gap, -MAX_LOG_PRICE_GAP, MAX_LOG_PRICE_GAP)
    total = base * xp.exp(shock - p.pack_price_elasticity * gap)
    by_region = total[:, None] * p.demand_region_share * p.demand_multiplier
    return by_region, shock
