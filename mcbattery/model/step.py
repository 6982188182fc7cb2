"""One year of the value chain: ``step(state, inputs, params, ctx) -> (state, outputs)``.

A pure function of the previous year's :class:`~mcbattery.model.state.State`, this year's
random numbers (:class:`~mcbattery.model.state.YearInputs`), the parameters grouped by
mechanism (:class:`~mcbattery.model.params.Params`) and the run's constants
(:class:`Context`: positions named in coords.toml, per-draw constants). The order of the year:
capacity arrivals, demand and chemistry, ramp-up, costs and regional cell supply, the lithium
balance and price, investment orders, then retirements and closures. Every array is one draw's
under JAX; with NumPy arrays the draws come last and the same code runs many draws at once.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from mcbattery.model import chemistry, costs, demand, noise, ops, pipeline, prices, ramp, recycling, trade
from mcbattery.model.coords import Coords
from mcbattery.model.state import (
    CostState,
    DemandState,
    ExpectationState,
    PriceState,
    State,
    SupplyState,
    YearInputs,
)

ANNOUNCED_UNTIL = 2030  # the announced cell capacity figures are for 2030 (source 003)
# Price signals scale orders by at most this factor either way, and orders never exceed the
# capacity gap: a boom cannot order more than the expected shortfall.
MAX_PRICE_FACTOR = 4.0


class Context(NamedTuple):
    """Constants of a run: positions named in coords.toml (static) and per-draw constants."""

    start_year: int
    noise: noise.NoiseLayout
    exporter: int  # position of the exporting region
    lithium_free: np.ndarray  # [chemistry] bool
    price_responsive: np.ndarray  # [segment] bool
    mining: int
    refining: int
    cells: int
    recycling: int
    row_stage: np.ndarray  # [row] stage position of each pipeline row
    retirement_pmf: Any = None  # [HISTORY] probability of retiring a = 1..HISTORY years after deployment
    tranche: Any = None  # [region] announced cell capacity arriving per year until 2030: GWh/yr


def context(coords: Coords, start_year: int) -> Context:
    """The static part of a run's context, from its coordinates and start year."""
    at = {s: coords.at("stage", s) for s in ("mining", "refining", "cells", "recycling")}
    rows = [at["mining"], at["refining"], at["recycling"]] + [at["cells"]] * coords.size("region")
    return Context(
        start_year=start_year,
        noise=noise.layout(coords),
        exporter=coords.exporter,
        lithium_free=coords.mask("chemistry", "lithium_free"),
        price_responsive=coords.mask("segment", "price_responsive"),
        row_stage=np.asarray(rows),
        **at,
    )


def _lithium_rows(ctx: Context):
    return np.asarray([ctx.mining, ctx.refining, ctx.recycling])


def step(state: State, inputs: YearInputs, params, ctx: Context):
    """Advance one year. Returns the next state and this year's outputs (name -> array)."""
    s, p = state, params
    z, u = inputs.normals, inputs.uniforms
    xp = ops.xp(z)
    dtype = z.dtype
    nb = z.ndim - 1  # draw axes (NumPy path)
    tf = xp.asarray(inputs.t).astype(dtype)
    year = ctx.start_year + tf
    sp = p.supply
    maxu, tgt = sp.max_utilization, sp.target_utilization
    M, R, C, REC, ex = ctx.mining, ctx.refining, ctx.cells, ctx.recycling, ctx.exporter
    n_rows, n_proj = len(ctx.row_stage), pipeline.PROJECTS_PER_ORDER
    N, U = ctx.noise.normal, ctx.noise.uniform

    # capacity arrivals: announced cell tranches (with delays) and pipeline projects
    u_ann = noise.take(u, U, "announced")
    d_ann = xp.clip(xp.floor(-sp.announced_delay_mean * xp.log(u_ann)), 0, pipeline.LENGTH - 1)
    due = xp.where(year <= ANNOUNCED_UNTIL, ctx.tranche, 0.0)
    pipe = s.supply.pipeline
    pipe = ops.add_rows_from(pipe, 3, due[:, None] * ops.one_hot(d_ann.astype(xp.int32), pipeline.LENGTH, dtype))
    arrival, pipe = pipeline.advance(pipe)
    cap_cells_before = s.supply.cell_capacity
    cap_cells = cap_cells_before + arrival[3:]
    cap_li = s.supply.lithium_capacity + arrival[:3]
    shock_on = (year >= sp.supply_shock_year) & (year < sp.supply_shock_year + sp.supply_shock_duration)
    mine_cap = cap_li[0] * (1.0 - sp.supply_shock_fraction * shock_on)

    # demand and chemistry, reacting to last year's lithium price
    lpr = s.price.log_price_year - xp.log(prices.anchor(p.prices, tf - 1.0))
    dem, shock = demand.step(p.demand, tf, s.demand.shock, noise.take(z, N, "demand"), lpr, ctx.price_responsive)
    seg_total = dem.sum(axis=1)
    d_region = dem.sum(axis=0)
    d_total = seg_total.sum(axis=0)
    mix = ops.vecmat(seg_total, chemistry.shares(p.chemistry, tf, lpr, ctx.lithium_free)) / d_total
    intensity = chemistry.intensity(p.chemistry, tf)
    li_per_gwh = ops.dot(intensity, mix)

    # ramp-up: scrap and yields
    scrap = ramp.step(p.ramp, s.supply.scrap, cap_cells_before, arrival[3:], s.supply.cell_utilization)
    yld = 1.0 - scrap

    # costs and regional supply
    nu, u_now = costs.noise_step(p.costs, s.costs.noise, s.costs.innovation, noise.take(z, N, "cost"))
    b_dev = costs.exponent_drift_step(p.costs, s.costs.exponent_drift, noise.take(z, N, "drift"))
    q_prev = s.costs.cumulative
    cell = costs.cell_costs(p.costs, q_prev, nu + s.costs.log_drift_effect, xp.exp(s.price.log_price_year), intensity, yld, ex)
    pack = costs.pack_costs(p.costs, cell, q_prev)
    credit = trade.credit(p.policy, year)
    landed = trade.import_cost(p.policy, cell, ex)
    domestic_avg = ops.matvec(cell - credit[:, None], mix)
    landed_avg = ops.matvec(landed, mix)
    prod, import_share, cell_gap = trade.allocate(p.policy, d_region, cap_cells, yld, domestic_avg, landed_avg, maxu[C], ex)

    # lithium balance
    gross = prod / yld
    li_dem = gross.sum(axis=0) * li_per_gwh / 1e3 + chemistry.non_battery_demand(p.chemistry, tf)
    recov, retired = recycling.recoverable(p.recycling, tf, s.deployments, ctx.retirement_pmf, (gross - prod).sum(axis=0), li_per_gwh)
    rec_cap = cap_li[2] * maxu[REC]
    recycled = xp.minimum(recov, rec_cap)
    need = xp.maximum(li_dem - recycled, 0.0)
    mine_out = xp.clip(need, sp.min_mine_utilization * mine_cap, maxu[M] * mine_cap)
    refined = xp.minimum(mine_out, cap_li[1] * maxu[R])
    supply = refined + recycled
    shortage = xp.clip(1.0 - supply / li_dem, 0.0, 1.0)
    prod = prod * (1.0 - shortage)
    gross = prod / yld
    capability = xp.minimum(mine_cap * maxu[M], cap_li[1] * maxu[R]) + recycled
    tight = xp.clip(xp.log(li_dem / xp.maximum(capability, 1e-6)), -1.0, 1.0)
    log_price, boom, price_year, boom_share = prices.step(
        p.prices, tf, s.price.log_price, s.price.boom, tight, noise.take(z, N, "price"), noise.take(u, U, "regime")
    )
    log_price_year = xp.log(price_year)
    q = q_prev + prod.sum(axis=0) * mix
    util_cells = gross / xp.maximum(cap_cells, 1e-9)

    # investment: expectations, desired capacity, orders into the pipeline
    m = sp.growth_memory
    g_cells = m * s.expectations.cell_growth + (1 - m) * xp.log(d_total / s.expectations.cell_demand)
    g_li = m * s.expectations.lithium_growth + (1 - m) * xp.log(li_dem / s.expectations.lithium_demand)
    horizon = sp.lead_time_median
    bias = sp.expected_growth_bias
    price_ratio = xp.exp(log_price_year - xp.log(prices.anchor(p.prices, tf)))
    sens = sp.investment_price_sensitivity
    resp = sp.investment_response
    remaining = ctx.tranche * xp.clip(ANNOUNCED_UNTIL - year, 0.0, None)
    # each region builds for the demand it expects to win; the exporter also for the imports of others
    served = d_region * (1.0 - import_share)
    served = ops.add_row(served, ex, (d_region * import_share).sum(axis=0) - d_region[ex] * import_share[ex])
    desired_cells = served * xp.exp(g_cells * bias[C] * horizon[C]) / (tgt[C] * yld)
    committed = cap_cells + pipe[3:].sum(axis=1) + remaining
    advantage = xp.exp(sens[C] * xp.log(landed_avg / xp.maximum(domestic_avg, 1e-6)))
    orders_cells = resp[C] * xp.maximum(desired_cells - committed, 0.0) * advantage
    primary_frac = refined / xp.maximum(supply, 1e-9)

    def lithium_orders(stage, row, base):
        desired = base * xp.exp(g_li * bias[stage] * horizon[stage]) / tgt[stage]
        gap = xp.maximum(desired - (cap_li[row] + pipe[row].sum(axis=0)), 0.0)
        factor = xp.clip(price_ratio ** sens[stage], 1.0 / MAX_PRICE_FACTOR, MAX_PRICE_FACTOR)
        return xp.minimum(resp[stage] * gap * factor, gap)

    li_orders = xp.stack([lithium_orders(M, 0, li_dem * primary_frac), lithium_orders(R, 1, li_dem * primary_frac),
                          lithium_orders(REC, 2, recov)])
    orders = xp.concatenate([li_orders, orders_cells])
    st = ctx.row_stage[:, None]

    def projects(x):
        return x.reshape((n_rows, n_proj) + x.shape[1:])

    years = pipeline.project_delays(
        sp.lead_time_median[st], sp.lead_time_sigma[st], sp.lead_time_max[st], sp.delay_probability[st], sp.delay_mean[st],
        projects(noise.take(z, N, "lead")), projects(noise.take(u, U, "delay")), projects(noise.take(u, U, "extra")),
    )
    keep = (projects(noise.take(u, U, "cancel")) >= sp.cancel_probability[st]).astype(dtype)
    pipe = pipeline.schedule(pipe, orders, years, keep)

    out = dict(
        demand=dem,
        chemistry_share=mix,
        capacity=xp.stack([cap_li[0], cap_li[1], cap_cells.sum(axis=0), cap_li[2]]),
        production=xp.stack([mine_out, refined, prod.sum(axis=0), recycled]),
        utilization=xp.stack(
            [
                mine_out / xp.maximum(cap_li[0], 1e-9),
                refined / xp.maximum(cap_li[1], 1e-9),
                gross.sum(axis=0) / xp.maximum(cap_cells.sum(axis=0), 1e-9),
                recycled / xp.maximum(cap_li[2], 1e-9),
            ]
        ),
        cell_capacity=cap_cells,
        cell_production=prod,
        cell_utilization=util_cells,
        import_share=import_share,
        shortage=shortage,
        cell_supply_gap=cell_gap,
        lithium_demand=li_dem,
        lithium_supply=supply,
        lithium_price=price_year,
        price_boom=boom_share,
        cell_cost=cell,
        pack_cost=pack,
        cost_gap=cell - credit[:, None] - landed,
        cell_cost_average=ops.dot(prod, ops.matvec(cell, mix)) / xp.maximum(prod.sum(axis=0), 1e-9),
        pack_cost_average=ops.dot(prod, ops.matvec(pack, mix)) / xp.maximum(prod.sum(axis=0), 1e-9),
        scrap_rate=scrap,
        recycled_share=recycled / xp.maximum(supply, 1e-9),
        retired_batteries=retired,
    )

    # end of year: retirements and closures, then remember this year
    cap_li = cap_li * (1.0 - sp.capacity_retirement[_lithium_rows(ctx)])
    closure = sp.capacity_retirement[C] + sp.cell_closure_rate * xp.maximum(tgt[C] - util_cells, 0.0)
    cap_cells = cap_cells * (1.0 - xp.clip(closure, 0.0, 0.5))
    new = State(
        demand=DemandState(shock),
        price=PriceState(log_price, boom, log_price_year),
        costs=CostState(q, nu, u_now, b_dev, s.costs.log_drift_effect - b_dev * xp.log(q / q_prev)),
        supply=SupplyState(cap_li, cap_cells, pipe, util_cells, scrap),
        expectations=ExpectationState(g_cells, g_li, d_total, li_dem),
        deployments=recycling.push_history(s.deployments, prod.sum(axis=0)),
    )
    return new, out
