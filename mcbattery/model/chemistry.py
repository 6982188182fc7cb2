"""Chemistry mix of new cells and lithium intensity (t LCE per GWh of cells).

Shares evolve as a multinomial logit: the start shares, a per-segment logit trend, and a
response of the lithium-free chemistries that opens when lithium trades above its cost anchor
(mechanism 13).
"""

from __future__ import annotations

from mcbattery.model import ops


def shares(p, t, log_price_ratio, lithium_free):
    """Chemistry shares (segment x chemistry) in year index ``t`` given last year's
    log(P/anchor); ``lithium_free`` is a boolean mask over chemistries."""
    xp = ops.xp(p.chemistry_share_start)
    nb = ops.batch_ndim(p.sodium_price_response)
    logit = xp.log(xp.maximum(p.chemistry_share_start, 1e-6)) + p.chemistry_logit_trend * (t + 1.0)
    response = p.sodium_price_response * xp.maximum(log_price_ratio, 0.0)
    logit = xp.where(ops.expand(lithium_free, nb), logit + response, logit)
    return ops.softmax(logit, axis=1)


def intensity(p, t):
    """Lithium intensity per chemistry in t LCE per GWh of cells, falling slowly with time."""
    return p.lithium_intensity * ops.xp(p.lithium_intensity).exp(-p.lithium_intensity_decline * (t + 1.0))


def non_battery_demand(p, t):
    """Lithium demand outside batteries (glass, ceramics, greases...), kt LCE/yr."""
    return p.non_battery_lithium_demand * ops.xp(p.non_battery_lithium_demand).exp(p.non_battery_lithium_growth * (t + 1.0))
