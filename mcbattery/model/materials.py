"""Material markets that clear: lithium, nickel, cobalt, graphite (one vector over the
``material`` axis).

Each year, at a price ``P = A_t · exp(x)`` (``A_t`` the long-run incentive price, the anchor):

* demand ``D(x) = D* · exp(-ε_d x)``: the reference demand ``D*`` (cells made times their
  material intensity, plus other uses) shrinks with price through thrifting, substitution and
  demand destruction (short-run elasticity ``ε_d``);
* primary supply ``S(x) = min(S_max, S_ref · exp(ε_s x))``: producers run at the reference
  utilisation at the anchor price, more when prices are high, never above capacity
  (``S_max`` = the smaller of mining and refining capacity at their ceiling utilisation);
* recycled supply ``R`` (inelastic this year);
* stocks: holders want a closing stock of ``τ · D* · exp(-γ x)`` (less when prices are high).

The clearing price solves ``I + S(x) + R - D(x) = τ D* exp(-γ x)`` for the opening stock
``I`` on ``[X_LO, X_HI]`` (a few bisections, then Newton steps kept inside the bracket). A
deficit therefore shows up first as a price spike (stocks drawn down, demand thrifted,
utilisation raised); physical unmet demand remains only when even the price ceiling cannot
close the gap. The realised price adds a mean-reverting
monthly noise ``ξ`` (calibrated on price history) to the clearing level.

Export controls withhold a share of the exporter's refined exports: buyers elsewhere face a
premium ``Δ`` on the world price, the linearised clearing response to the withheld tonnes.
"""

from __future__ import annotations

from mcbattery.model import ops, prices

#: The clearing price is searched between 0.14 and 8 times the anchor. The ceiling stands for
#: backstops beyond the short-run elasticities (destruction of marginal demand, substitutes,
#: supply-chain stocks): annual mean prices have reached 2-5 times their long-run level in the
#: record (lithium 2022, cobalt 2018, nickel 2007: data files); above it, demand goes unmet.
X_LO, X_HI = -2.0, 2.0794415416798357  # log(8)
BISECTIONS = 4  # narrow the bracket to (X_HI - X_LO) / 16 = 0.25 in log price ...
NEWTON_STEPS = 4  # ... then Newton steps kept inside it: as close as float32 allows (|error| < 3e-6)


def anchor(p, year):
    """Long-run incentive price per material (USD(2024)/t) in calendar ``year`` (fractional
    years give months): ``price_anchor`` is its 2024 level."""
    return p.price_anchor * ops.xp(p.price_anchor).exp(p.price_anchor_trend * (year - prices.ANCHOR_YEAR))


def reference_demand(p, gross_by_chemistry, t, other_shock):
    """Demand at the anchor price, kt/yr per material: cells made (GWh by chemistry, incl.
    scrap) times intensity (kg/kWh = kt/GWh), thrifted over time, plus other uses."""
    xp = ops.xp(p.material_intensity)
    thrift = xp.exp(-p.material_intensity_decline * (t + 1.0))
    battery = ops.matvec(p.material_intensity, gross_by_chemistry) * thrift
    other = p.other_demand_start * xp.exp(p.other_demand_growth * (t + 1.0) + other_shock)
    return battery, other


def clear(p, demand_ref, supply_ref, supply_max, recycled, stocks):
    """Solve the year's market per material.

    demand_ref: D* (kt/yr); supply_ref, supply_max: primary supply at the anchor price and at
    full capacity (kt/yr); recycled: R (kt/yr); stocks: opening stocks (kt).
    Returns (x = log(P / anchor), primary supply, demand, closing stocks, unmet demand), kt.
    """
    xp = ops.xp(demand_ref)
    tau, gamma = p.stock_cover_target, p.stock_price_sensitivity
    eps_d, eps_s = p.demand_elasticity, p.supply_elasticity

    def excess(x, slope: bool = False):
        """Stock left over the holders' wish (increasing in x); with ``slope``, also its
        derivative in x (the Newton steps need it, the bisections do not)."""
        s_free = supply_ref * xp.exp(eps_s * x)
        capped = s_free >= supply_max
        e_d, e_g = xp.exp(-eps_d * x), xp.exp(-gamma * x)
        f = stocks + xp.where(capped, supply_max, s_free) + recycled - demand_ref * (e_d + tau * e_g)
        if not slope:
            return f
        return f, xp.where(capped, 0.0, eps_s * s_free) + demand_ref * (eps_d * e_d + tau * gamma * e_g)

    lo = xp.full_like(demand_ref, X_LO)
    hi = xp.full_like(demand_ref, X_HI)
    for _ in range(BISECTIONS):
        mid = 0.5 * (lo + hi)
        up = excess(mid) >= 0.0
        hi = xp.where(up, mid, hi)
        lo = xp.where(up, lo, mid)
    x = 0.5 * (lo + hi)
    # Newton steps clipped to the bracket: from an end, Newton steps back in; a market that does
    # not clear inside the interval ends at its end (its excess keeps one sign)
    for _ in range(NEWTON_STEPS):
        f, df = excess(x, slope=True)
        up = f >= 0.0
        hi = xp.where(up, x, hi)
        lo = xp.where(up, lo, x)
        newton = x - f / xp.maximum(df, 1e-30)
        x = xp.clip(newton, lo, hi)
    supply = xp.minimum(supply_max, supply_ref * xp.exp(eps_s * x))
    demand = demand_ref * xp.exp(-eps_d * x)
    balance = stocks + supply + recycled - demand
    return x, supply, demand, xp.maximum(balance, 0.0), xp.maximum(-balance, 0.0)


def export_premium(p, x, supply, supply_max, demand, withheld_share, exporter_refining, exporter_use):
    """Log price premium outside the exporter when it withholds ``withheld_share`` of its
    refined exports: the withheld tonnes as a share of the others' demand, over the clearing
    response (demand, supply where below capacity, stocks). Capped at the price ceiling."""
    xp = ops.xp(x)
    exports = xp.maximum(supply * exporter_refining - demand * exporter_use, 0.0)
    others = xp.maximum(demand * (1.0 - exporter_use), 1e-9)
    short = withheld_share * exports / others
    slack = (supply < supply_max).astype(x.dtype)
    response = p.demand_elasticity + p.supply_elasticity * slack + p.stock_price_sensitivity * p.stock_cover_target + 1e-3
    return xp.minimum(short / response, X_HI - x)


def monthly_prices(p, x, noise_prev, eps, anchor_year):
    """Realised prices: twelve months of ``log A + x + ξ`` with ξ an AR(1) in log price
    (annual reversion and volatility converted exactly to monthly values).

    x: clearing level per material; noise_prev: last month's ξ; eps: (12, material) normals;
    anchor_year: the year's anchor (USD/t). Returns (December ξ, annual mean price USD/t).
    """
    xp = ops.xp(x)
    k_m, s_m, _ = prices.monthly_parameters(p.price_reversion, p.price_volatility, 0.0 * p.price_reversion)
    phi = 1.0 - k_m

    def month(state, e):
        xi, total = state
        xi = phi * xi + s_m * e
        return (xi, total + xp.exp(xi)), None

    (noise, total), _ = ops.scan(month, (noise_prev, xp.zeros_like(x)), eps)
    return noise, anchor_year * xp.exp(x) * total / prices.MONTHS


def recovered(p, processed_gwh, intensity_avg):
    """Material recovered from recycled batteries and scrap, kt/yr: GWh processed times the
    average content (kt/GWh) times the recovery rate."""
    return processed_gwh * intensity_avg * p.recovery_rate
