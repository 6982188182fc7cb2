"""The cell market: prices over cost that follow utilisation, and who loses money.

The exporter's makers set the world price of each chemistry: full cost times (1 + margin),
where the margin rises with world cell utilisation (scarcity lifts prices, overcapacity
pushes them down to cash cost: a price war), never below cash cost. Elsewhere imports land
at that price plus tariff and transport; domestic makers price like the exporter's makers
but must meet the landed import price, even below their own cash cost. A region's buyers pay
the import-weighted mix. Makers whose revenue (with production credits) does not cover full
cost, capital charge included, accumulate losses, and losses close plants (:func:`closure`):
in a price war the exporter's weaker makers, and the high-cost regions first.
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
    domestic = ops.set_row(xp.minimum(asked, landed), exporter, world)
    return world, landed, domestic, cash


def operating_margin(domestic_price, full_cost, credit, mix):
    """Domestic makers' margin over full cost (capital charge included) per region (share of
    full cost), chemistry-mix weighted, production credits counted as revenue."""
    revenue = ops.total((domestic_price + credit[:, None]) * mix, 1)
    cost = ops.total(full_cost * mix, 1)
    return revenue / ops.xp(cost).maximum(cost, 1e-9) - 1.0


def closure(p, losses, margin_now):
    """Remembered losses (shortfall of revenue below full cost, share of full cost) and the
    share of cell capacity closed this year per region, beyond normal retirement:
    ``cell_closure_rate`` x remembered losses."""
    xp = ops.xp(losses)
    losses = p.loss_memory * losses + xp.maximum(-margin_now, 0.0)
    return losses, xp.clip(p.cell_closure_rate * losses, 0.0, 0.5)
