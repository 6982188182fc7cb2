"""Chemistry of new cells, chosen by cost with inertia, per segment and region.

The target mix is a multinomial logit: the start shares, a per-segment trend (technology,
e.g. next-generation chemistries maturing), and the change in each chemistry's cell cost
since the start in the region (a chemistry that got relatively cheaper gains share, with the
segment's ``chemistry_cost_sensitivity``). Shares of new production close a fraction
``chemistry_adjustment_rate`` of the gap to the target each year (lines, qualification and
supply contracts take time). So a lithium spike helps sodium-ion, a nickel or cobalt spike
hurts NMC, and a chemistry whose costs learn fast gains share.
"""

from __future__ import annotations

from mcbattery.model import ops


def target(p, t, log_cost_change):
    """Target shares (segment x region x chemistry) in year index ``t`` given the change of
    log cell cost since the start (region x chemistry)."""
    xp = ops.xp(p.chemistry_share_start)
    logit = (
        xp.log(xp.maximum(p.chemistry_share_start, 1e-6))
        + p.chemistry_logit_trend[:, None] * (t + 1.0)
        - p.chemistry_cost_sensitivity[:, None, None] * log_cost_change[None]
    )
    return ops.softmax(logit, axis=2)


def step(p, share, t, log_cost_change):
    """Shares of new cells (segment x region x chemistry) after one year of adjustment."""
    return share + p.chemistry_adjustment_rate * (target(p, t, log_cost_change) - share)


def regional_mix(demand, share):
    """Chemistry mix of each region's cells (region x chemistry) from segment x region demand
    (GWh/yr) and the segment x region x chemistry shares."""
    return ops.total(demand[:, :, None] * share, 0) / ops.total(demand, 0)[:, None]
