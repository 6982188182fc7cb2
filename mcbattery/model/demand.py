"""Battery demand (GWh/yr) by segment and region: logistic growth from the last observed
year with persistent growth shocks, and a response to the pack price.

Each year the segment's log demand grows by ``r (1 - D/K)`` (the logistic S-curve's growth at
the current level, saturation ``K``) plus a growth shock that follows an AR(1) process, so a
surprise in one year's growth carries into the level for good and partly into the next
year's growth (Way et al. 2022 forecast deployment with noisy growth rates). The growth
shock starts from its stationary distribution.

The diffusion path assumes pack prices keep falling at ``pack_price_expected_decline`` a year
from their level in the year before the start; when the model's pack price sits above that
path demand falls (by the segment's ``pack_price_elasticity``), below it demand rises
(mechanism 8: higher costs raise EV prices and slow adoption).
"""

from __future__ import annotations

from mcbattery.model import ops

#: The pack-price response acts on log(P / expected path) clipped to this range.
MAX_LOG_PRICE_GAP = 1.0
#: Floor of 1 - persistence² in the first growth shock's stationary scale (a cap of 10 sigma).
MIN_STATIONARY_VARIANCE = 0.01


def logistic_growth(demand, saturation, rate):
    """Expected log growth (1/yr) of the logistic S-curve at level ``demand`` (GWh/yr)."""
    return rate * (1.0 - demand / saturation)


def expected_pack_price(p, pack_price_start, t):
    """The pack price (USD(2024)/kWh) the diffusion path assumes in year index ``t``, from
    ``pack_price_start`` in the year before the start (t = -1)."""
    return pack_price_start * ops.xp(pack_price_start).exp(-p.pack_price_expected_decline * (t + 1.0))


def step(p, t, base_prev, shock_prev, eps, log_pack_gap):
    """One year of demand.

    p: the demand parameters; t: year index (0 = the start year); base_prev: last year's demand
    before the pack-price response (GWh/yr per segment; ``demand_start`` before the start);
    shock_prev: last year's growth shock; eps: standard normals per segment; log_pack_gap:
    log(last year's pack price / the price the path expected).
    Returns (segment x region demand GWh/yr, base demand, growth shock).
    """
    xp = ops.xp(shock_prev)
    phi = p.demand_growth_persistence
    # the first shock is stationary (its scale capped at 10 sigma for persistence near 1)
    stationary = xp.where(t < 0.5, 1.0 / xp.sqrt(xp.maximum(1.0 - phi * phi, MIN_STATIONARY_VARIANCE)), 1.0)
    shock = phi * shock_prev + p.demand_noise_sd * stationary * eps
    base = base_prev * xp.exp(logistic_growth(base_prev, p.demand_saturation, p.demand_growth_rate) + shock)
    gap = xp.clip(log_pack_gap, -MAX_LOG_PRICE_GAP, MAX_LOG_PRICE_GAP)
    total = base * xp.exp(-p.pack_price_elasticity * gap)
    by_region = total[:, None] * p.demand_region_share * p.demand_multiplier
    return by_region, base, shock
