"""The cell market: prices over cost that follow utilisation, and who loses money.

The exporter's makers set the world price of each chemistry: full cost times (1 + margin),
where the margin rises with world cell utilisation (scarcity lifts prices, overcapacity
pushes them toward cash cost), never below cash cost. Elsewhere imports land at that price
plus tariff and transport; domestic makers price like the exporter's makers but never above
the landed import price, and never below their own cash cost. A region's buyers pay the
import-weighted mix. Makers whose price does not cover cash cost (after production credits)
accumulate losses, and losses close plants (:func:`closure`), the highest-cost regions first.
"""

from __future__ import annotations

from mcbattery.model import ops


def margin(p, utilization):
    """Markup over full cost at a world cell utilisation (1); at least -1 (price floored at
    cash cost separately)."""
    xp = ops.xp(utilization)
    mu = p.cell_margin_reference + p.cell_margin_slope * (utilization - p.reference_cell_utilization)
    return xp.clip(mu, -1.0, p.cell_margin_max)


def prices(cost, capital, mu, tariff, transport, exporter: int):
    """Cell prices (region x chemistry, USD/kWh): (exporter's price per chemistry, landed
    import price, domestic makers' price, cash cost)."""
    xp = ops.xp(cost)
    cash = cost - capital
    asked = xp.maximum(cash, cost * (1.0 + mu))
    world = asked[exporter]
    landed = ops.set_row(world[None] * (1.0 + tariff[:, None]) + transport, exporter, world)
    domestic = ops.set_row(xp.maximum(cash, xp.minimum(asked, landed)), exporter, world)
    return world, landed, domestic, cash


def cash_margin(domestic_price, cash_cost, credit, mix):
    """Domestic makers' cash margin per region (share of cash cost), chemistry-mix weighted."""
    revenue = ((domestic_price + credit[:, None]) * mix).sum(axis=1)
    cash = (cash_cost * mix).sum(axis=1)
    return revenue / ops.xp(cash).maximum(cash, 1e-9) - 1.0


def closure(p, losses, margin_now):
    """Remembered losses and the share of cell capacity closed this year per region, beyond
    normal retirement: ``cell_closure_rate`` x remembered losses."""
    xp = ops.xp(losses)
    losses = p.loss_memory * losses + xp.maximum(-margin_now, 0.0)
    return losses, xp.clip(p.cell_closure_rate * losses, 0.0, 0.5)
