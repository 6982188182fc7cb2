"""One year of the value chain: ``step(state, inputs, params, ctx) -> (state, outputs)``.

A pure function of the previous year's :class:`~mcbattery.model.state.State`, this year's
random numbers (:class:`~mcbattery.model.state.YearInputs`), the parameters grouped by
mechanism (:class:`~mcbattery.model.params.Params`) and the run's constants
(:class:`Context`: positions named in coords.toml, per-draw constants). The order of the year:

1. capacity arrivals from the project pipelines (mines, refineries, recycling, cell plants);
2. demand (responding to last year's pack price) and the chemistry of new cells (chosen by
   last year's costs, with inertia);
3. ramp-up (scrap) and the regional allocation of cell production (last year's costs);
4. the material markets clear (:mod:`~mcbattery.model.materials`); unmet material demand cuts
   the cells that need that material;
5. this year's cell costs (this year's material prices), the cell market's prices and margins;
6. investment orders into the pipelines; retirements and closures.

Every array is one draw's under JAX; with NumPy arrays the draws come last and the same code
runs many draws at once.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from mcbattery.model import cells, chemistry, costs, demand, materials, noise, ops, pipeline, policy, prices, ramp, recycling, trade
from mcbattery.model.coords import Coords
from mcbattery.model.state import (
    CellState,
    ChemistryState,
    CostState,
    DemandState,
    MaterialState,
    RecyclingState,
    ShortageState,
    State,
    YearInputs,
)

ANNOUNCED_UNTIL = 2030  # the announced cell capacity figures are for 2030 (source 003)
# Price signals scale orders by at most this factor either way, and orders never exceed the
# capacity gap: a boom cannot order more than the expected shortfall.
MAX_PRICE_FACTOR = 4.0
SHORTAGE_LEVEL = 0.1  # a material is "in shortage" in a year when more than this share of its demand is unmet
NO_SHORTAGE_YEAR = 2100.0  # shortage_first_year while no shortage has happened


class Context(NamedTuple):
    """Constants of a run: positions named in coords.toml (static) and per-draw constants."""

    start_year: int
    noise: noise.NoiseLayout
    exporter: int  # position of the exporting region
    n_materials: int
    n_regions: int
    mining: int  # positions along the stage axis
    refining: int
    cells: int
    recycling: int
    row_stage: np.ndarray  # [row] stage position of each pipeline row
    retirement_pmf: Any = None  # [HISTORY] probability of retiring a = 1..HISTORY years after deployment
    tranche: Any = None  # [region] announced cell capacity arriving per year until 2030: GWh/yr
    pack_price_start: Any = None  # [] world average pack price in the year before the start: USD(2024)/kWh
    cell_cost_start: Any = None  # [region, chemistry] cell cost in the year before the start: USD(2024)/kWh
    mining_start: Any = None  # [material] mine capacity at the start, from the start-year market balance: kt/yr


def context(coords: Coords, start_year: int) -> Context:
    """The static part of a run's context, from its coordinates and start year."""
    at = {s: coords.at("stage", s) for s in ("mining", "refining", "cells", "recycling")}
    n_mat, n_reg = coords.size("material"), coords.size("region")
    rows = [at["mining"]] * n_mat + [at["refining"]] * n_mat + [at["recycling"]] + [at["cells"]] * n_reg
    return Context(start_year=start_year, noise=noise.layout(coords), exporter=coords.exporter, n_materials=n_mat,
                   n_regions=n_reg, row_stage=np.asarray(rows), **at)


def row_lead_times(p, ctx: Context):
    """Median lead time (yr) of each pipeline row: mining scaled per material."""
    xp = ops.xp(p.supply.lead_time_median)
    lead = p.supply.lead_time_median
    batch = lead.shape[1:]
    return xp.concatenate([
        lead[ctx.mining] * p.materials.mining_lead_time_scale,
        lead[ctx.refining] * xp.ones((ctx.n_materials,) + batch, lead.dtype),
        lead[ctx.recycling][None],
        lead[ctx.cells] * xp.ones((ctx.n_regions,) + batch, lead.dtype),
    ])


def _orders(desired, installed, pipe_rows, response):
    """Orders that close ``response`` of the gap to ``desired`` capacity (GWh/yr or kt/yr)."""
    return response * ops.xp(desired).maximum(desired - (installed + ops.total(pipe_rows, 1)), 0.0)


def project_lead_times(p, ctx: Context, lead):
    """Median lead time (yr) of each project (row x project): a material's first mining
    project is an expansion or restart of an existing mine, built in a refinery's lead time;
    the others are new mines."""
    xp = ops.xp(lead)
    M, P = ctx.n_materials, pipeline.PROJECTS_PER_ORDER
    batch = lead.shape[1:]
    proj = lead[:, None] * xp.ones((1, P) + batch, lead.dtype)
    brown = p.supply.lead_time_median[ctx.refining] * xp.ones((M,) + batch, lead.dtype)
    return xp.concatenate([xp.concatenate([brown[:, None], proj[:M, 1:]], axis=1), proj[M:]])


def project_weights(p, ctx: Context):
    """Each project's share of its row's order (row x project): mining orders put
    ``brownfield_share`` into the expansion project, the rest of every order is split evenly."""
    xp = ops.xp(p.materials.brownfield_share)
    M, P = ctx.n_materials, pipeline.PROJECTS_PER_ORDER
    b = p.materials.brownfield_share
    batch = b.shape[1:]
    even = xp.full((len(ctx.row_stage) - M, P) + batch, 1.0 / P, b.dtype)
    green = ((1.0 - b) / (P - 1))[:, None] * xp.ones((1, P - 1) + batch, b.dtype)
    return xp.concatenate([xp.concatenate([b[:, None], green], axis=1), even])


def _price_factor(ratio, sensitivity):
    return ops.xp(ratio).clip(ratio**sensitivity, 1.0 / MAX_PRICE_FACTOR, MAX_PRICE_FACTOR)


def step(state: State, inputs: YearInputs, params, ctx: Context):
    """Advance one year. Returns the next state and this year's outputs (name -> array)."""
    s, p = state, params
    sp, mp, pp = p.supply, p.materials, p.policy
    z, u = inputs.normals, inputs.uniforms
    xp = ops.xp(z)
    dtype = z.dtype
    nb = z.ndim - 1  # draw axes (NumPy path)
    batch = z.shape[1:]
    tf = xp.asarray(inputs.t).astype(dtype)
    year = ctx.start_year + tf
    maxu, tgt = sp.max_utilization, sp.target_utilization
    MI, RF, C, RC, ex = ctx.mining, ctx.refining, ctx.cells, ctx.recycling, ctx.exporter
    M, R = ctx.n_materials, ctx.n_regions
    cell_rows = 2 * M + 1
    N, U = ctx.noise.normal, ctx.noise.uniform
    n_rows, n_proj = len(ctx.row_stage), pipeline.PROJECTS_PER_ORDER

    # 1. capacity arrivals: announced cell tranches (with delays) and pipeline projects
    u_ann = noise.take(u, U, "announced")
    d_ann = xp.clip(xp.floor(-sp.announced_delay_mean * xp.log(u_ann)), 0, pipeline.LENGTH - 1)
    due = xp.where(year <= ANNOUNCED_UNTIL, ctx.tranche, 0.0)
    pipe = ops.add_rows_from(s.pipeline, cell_rows, due[:, None] * ops.one_hot(d_ann.astype(xp.int32), pipeline.LENGTH, dtype))
    arrival, pipe = pipeline.advance(pipe)
    mining = s.materials.mining + arrival[:M]
    new_refining = arrival[M : 2 * M]
    refining = s.materials.refining + new_refining
    exporter_share = (s.materials.exporter_share * s.materials.refining + mp.exporter_refining_share_new * new_refining) / xp.maximum(refining, 1e-9)
    rec_cap = s.recycling.capacity + arrival[2 * M]
    cap_before = s.cells.capacity
    cell_cap = cap_before + arrival[cell_rows:]
    shock_on = (year >= sp.supply_shock_year) & (year < sp.supply_shock_year + sp.supply_shock_duration)
    mining_now = mining * (1.0 - sp.supply_shock_fraction * shock_on)

    # 2. demand (last year's pack price against the path the diffusion assumed) and chemistry
    gap = xp.log(s.demand.pack_price / demand.expected_pack_price(p.demand, ctx.pack_price_start, tf - 1.0))
    dem, base, growth_shock = demand.step(p.demand, tf, s.demand.base, s.demand.growth_shock, noise.take(z, N, "demand"), gap)
    d_region = ops.total(dem, 0)
    d_total = ops.total(d_region, 0)
    share = chemistry.step(p.chemistry, s.chemistry.share, tf, xp.log(s.chemistry.cell_cost / ctx.cell_cost_start))
    mix = chemistry.regional_mix(dem, share)  # region x chemistry

    # 3. ramp-up and who makes the cells (decided on last year's costs)
    scrap = ramp.step(p.ramp, s.cells.scrap, cap_before, arrival[cell_rows:], s.cells.utilization)
    yld = 1.0 - scrap
    tariff = policy.tariff(pp, year)
    prod, import_share, cell_gap = trade.allocate(pp, d_region, cell_cap, yld, s.cells.domestic_cost, s.cells.landed_cost,
                                                  maxu[C], policy.quota(pp, year), ex)
    gross = prod / yld

    # 4. material markets
    other_shock = p.demand.demand_noise_persistence * s.demand.other_shock + mp.other_demand_noise_sd * noise.take(z, N, "other_demand")
    battery_ref, other_ref = materials.reference_demand(mp, ops.vecmat(gross, mix), tf, other_shock)
    demand_ref = battery_ref + other_ref
    retired, collected = recycling.collected(p.recycling, tf, s.recycling.deployments, ctx.retirement_pmf, ops.total(gross - prod, 0))
    processed = xp.minimum(collected, rec_cap * maxu[RC])
    recovered = materials.recovered(mp, processed, battery_ref / xp.maximum(ops.total(gross, 0), 1e-9))
    sd = mp.supply_disruption_sd
    disruption = xp.exp(sd * noise.take(z, N, "disruption") - 0.5 * sd * sd)
    supply_max = xp.minimum(mining_now * maxu[MI], refining * maxu[RF]) * disruption
    supply_ref = xp.minimum(mining_now, refining) * mp.reference_utilization * disruption
    x, supply, mat_demand, stocks, unmet = materials.clear(mp, demand_ref, supply_ref, supply_max, recovered, s.materials.stocks)
    unmet_share = unmet / xp.maximum(mat_demand, 1e-9)
    exporter_use = (battery_ref * gross[ex] / xp.maximum(ops.total(gross, 0), 1e-9) + other_ref * mp.exporter_other_demand_share) / demand_ref
    premium = materials.export_premium(mp, x, supply, supply_max, mat_demand, policy.export_control(pp, year), exporter_share, exporter_use)
    anchor = materials.anchor(mp, year)
    eps = noise.take(z, N, "price").reshape((prices.MONTHS, M) + batch)
    price_noise, price = materials.monthly_prices(mp, x, s.materials.noise, eps, anchor)
    # cells that need a material in shortage are not made
    uses = (mp.material_intensity > 0).astype(dtype)  # material x chemistry
    cut = ops.matvec(mix, ops.largest(unmet_share[:, None] * uses, 0))
    prod = prod * (1.0 - cut)
    gross = prod / yld

    # 5. this year's costs and the cell market
    not_exporter = ops.expand((np.arange(R) != ex)[:, None], nb)
    paid = price[None] * xp.exp(premium[None] * not_exporter)  # region x material
    thrift = xp.exp(-mp.material_intensity_decline * (tf + 1.0))
    critical = costs.critical_materials(paid, mp.material_intensity * thrift[:, None])
    nu, u_now = costs.noise_step(p.costs, s.costs.noise, s.costs.innovation, noise.take(z, N, "cost"))
    b_dev = costs.exponent_drift_step(p.costs, s.costs.exponent_drift, noise.take(z, N, "drift"))
    q_prev = s.costs.cumulative
    cost, capital = costs.cell_costs(p.costs, q_prev, nu + s.costs.log_drift_effect, critical, yld, p.cells.capital_share, ex)
    overhead = costs.pack_overhead(p.costs, q_prev)
    made = xp.maximum(ops.total(prod, 0), 1e-9)
    world_util = ops.total(gross, 0) / xp.maximum(ops.total(cell_cap, 0), 1e-9)
    mu = cells.margin(p.cells, world_util)
    _, landed, domestic_price, cash = cells.prices(cost, capital, mu, tariff, pp.transport_cost, ex)
    credit = policy.credit(pp, year)
    market_price = import_share[:, None] * landed + (1.0 - import_share[:, None]) * domestic_price
    cell_margin = cells.operating_margin(domestic_price, cost, credit, mix)
    losses, closed = cells.closure(p.cells, s.cells.losses, cell_margin)

    def average(x_rc):  # production-weighted world average of a region x chemistry cost (where made)
        return ops.dot(prod, ops.total(x_rc * mix, 1)) / made

    def paid_average(x_rc):  # demand-weighted world average of a region x chemistry price (what buyers pay)
        return ops.dot(d_region, ops.total(x_rc * mix, 1)) / d_total

    pack_price = paid_average(market_price + overhead[:, None])
    q = q_prev + ops.vecmat(prod, mix)
    util_cells = gross / xp.maximum(cell_cap, 1e-9)

    # 6. investment: expectations, desired capacity, orders into the pipelines
    m = sp.growth_memory
    g_cells = m * s.cells.growth + (1 - m) * xp.log(d_total / s.cells.demand)
    g_mat = m * s.materials.growth + (1 - m) * xp.log(demand_ref / s.materials.demand)
    horizon, bias, sens, resp = sp.lead_time_median, sp.expected_growth_bias, sp.investment_price_sensitivity, sp.investment_response
    lead = row_lead_times(p, ctx)
    # announced tranches still to come within the planning horizon count as committed
    remaining = ctx.tranche * xp.clip(xp.minimum(ANNOUNCED_UNTIL - year, horizon[C]), 0.0, None)
    # each region builds for the demand it expects to win; the exporter also for the imports of others
    served = ops.add_row(d_region * (1.0 - import_share), ex, ops.total(d_region * import_share, 0) - d_region[ex] * import_share[ex])
    # cell makers plan for the demand they expect a planning horizon ahead (mechanism 3)
    desired_cells = served * xp.exp(g_cells * bias[C] * sp.cell_planning_horizon) / (tgt[C] * yld)
    domestic_cost = ops.total((cost - credit[:, None]) * mix, 1)
    landed_cost = ops.total(landed * mix, 1)
    advantage = xp.exp(sens[C] * xp.log(landed_cost / xp.maximum(domestic_cost, 1e-6)))
    committed = cell_cap + ops.total(pipe[cell_rows:], 1) + remaining
    orders_cells = resp[C] * xp.maximum(desired_cells - committed, 0.0) * advantage
    primary_need = xp.maximum(demand_ref - recovered, 0.0)
    ratio = price / anchor
    # investors size capacity for the demand they expect over the lead time, more when prices
    # are high (boom-time orders overshoot: mechanism 4)
    orders_mining = _orders(primary_need * xp.exp(g_mat * bias[MI] * lead[:M]) / tgt[MI] * _price_factor(ratio, sens[MI]),
                            mining, pipe[:M], resp[MI])
    orders_refining = _orders(primary_need * xp.exp(g_mat * bias[RF] * horizon[RF]) / tgt[RF] * _price_factor(ratio, sens[RF]),
                              refining, pipe[M : 2 * M], resp[RF])
    value_ratio = ops.dot(recovered, price) / xp.maximum(ops.dot(recovered, anchor), 1e-9)
    desired_recycling = collected * xp.exp(g_cells * bias[RC] * horizon[RC]) / tgt[RC] * _price_factor(value_ratio, sens[RC])
    orders_recycling = _orders(desired_recycling[None], rec_cap[None], pipe[2 * M : 2 * M + 1], resp[RC])
    orders = xp.concatenate([orders_mining, orders_refining, orders_recycling, orders_cells])
    st = ctx.row_stage[:, None]

    def projects(x):
        return x.reshape((n_rows, n_proj) + x.shape[1:])

    years = pipeline.project_delays(
        project_lead_times(p, ctx, lead), sp.lead_time_sigma[st], sp.lead_time_max[st], sp.delay_probability[st],
        sp.delay_mean[st], projects(noise.take(z, N, "lead")), projects(noise.take(u, U, "delay")),
        projects(noise.take(u, U, "extra")),
    )
    keep = (projects(noise.take(u, U, "cancel")) >= sp.cancel_probability[st]).astype(dtype)
    pipe = pipeline.schedule(pipe, orders, years, keep, project_weights(p, ctx))

    short = (unmet_share > SHORTAGE_LEVEL).astype(dtype)
    shortage_years = s.shortage.years + short
    first = xp.where((short > 0) & (s.shortage.first >= NO_SHORTAGE_YEAR), year, s.shortage.first)
    out = dict(
        demand=dem,
        demand_world=ops.total(dem, 1),
        chemistry_share=mix,
        chemistry_share_world=ops.vecmat(prod, mix) / made,
        cell_capacity=cell_cap,
        cell_production=prod,
        cell_utilization=util_cells,
        utilization_world=world_util,
        import_share=import_share,
        cell_supply_gap=cell_gap,
        cell_cost=cost,
        cell_price=market_price,
        cell_margin=cell_margin,
        cost_gap=cost - credit[:, None] - landed,
        pack_cost=cost + overhead[:, None],
        cell_cost_average=average(cost),
        cell_price_average=paid_average(market_price),
        pack_cost_average=average(cost + overhead[:, None]),
        pack_price_average=pack_price,
        scrap_rate=scrap,
        material_price=price,
        price_ratio=ratio,
        material_demand=mat_demand,
        material_supply=supply + recovered,
        mining_capacity=mining,
        refining_capacity=refining,
        exporter_refining_share=exporter_share,
        stock_cover=12.0 * stocks / xp.maximum(mat_demand, 1e-9),
        unmet_share=unmet_share,
        shortage_years=shortage_years,
        shortage_ever=(shortage_years > 0).astype(dtype),
        shortage_first_year=first,
        recycled_share=recovered / xp.maximum(supply + recovered, 1e-9),
        retired_batteries=retired,
        recycling_capacity=rec_cap,
    )

    # end of year: retirements and closures, then remember this year
    retire = sp.capacity_retirement
    new = State(
        demand=DemandState(base, growth_shock, other_shock, pack_price),
        chemistry=ChemistryState(share, cost),
        materials=MaterialState(mining * (1.0 - retire[MI]), refining * (1.0 - retire[RF]), exporter_share, stocks,
                                price_noise, price, premium, g_mat, demand_ref),
        costs=CostState(q, nu, u_now, b_dev, s.costs.log_drift_effect - b_dev * xp.log(costs.experience(p.costs, q) / costs.experience(p.costs, q_prev))),
        cells=CellState(cell_cap * (1.0 - xp.clip(retire[C] + closed, 0.0, 0.5)), util_cells, scrap, losses,
                        domestic_cost, landed_cost, g_cells, d_total),
        recycling=RecyclingState(rec_cap * (1.0 - retire[RC]), recycling.push_history(s.recycling.deployments, ops.total(prod, 0))),
        shortage=ShortageState(shortage_years, first),
        pipeline=pipe,
    )
    return new, out
