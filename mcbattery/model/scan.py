"""The model over a horizon: the initial state, then :func:`~mcbattery.model.step.step`
scanned over years.

``simulate(params, normals, uniforms, history, coords, start_year)`` is pure: all randomness
comes in as arrays (years x slots), so a draw's path depends only on its key. It runs one
draw, or many with the draws last (:func:`simulate_batch` arranges them), as a ``jax.lax.scan``
over years on JAX arrays and a plain loop on NumPy ones. Outputs are a dict of arrays with a
leading year axis; their dims and units are in :mod:`mcbattery.model.outputs`.
"""

from __future__ import annotations

import numpy as np

from mcbattery.model import cells, chemistry, costs, demand, materials, ops, pipeline, policy, recycling
from mcbattery.model.coords import Coords
from mcbattery.model.params import Params, group
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
from mcbattery.model.step import ANNOUNCED_UNTIL, NO_SHORTAGE_YEAR, Context, context, row_lead_times, step


def initial_pipeline(p: Params, ctx: Context):
    """Committed mine and refinery projects at the start: capacity growth already under way,
    ``*_committed_growth`` of start capacity per year for one lead time."""
    mp = p.materials
    xp = ops.xp(mp.refining_headroom)
    nb = ops.batch_ndim(p.supply.growth_memory)
    M = ctx.n_materials
    cap = xp.concatenate([ctx.mining_start, ctx.mining_start * mp.refining_headroom])
    g = xp.concatenate([mp.mining_committed_growth, mp.refining_committed_growth])
    horizon = xp.round(row_lead_times(p, ctx)[: 2 * M])
    k = ops.expand(xp.arange(pipeline.LENGTH), nb)
    rows = cap[:, None] * g[:, None] * (1.0 + g[:, None]) ** k * (k < horizon[:, None])
    rest = xp.zeros((len(ctx.row_stage) - 2 * M, pipeline.LENGTH) + cap.shape[1:], cap.dtype)
    return xp.concatenate([rows, rest])


def announced_tranche(p: Params, start_year: int):
    """Per-region cell capacity added each year up to 2030 if the announcements hold (GWh/yr)."""
    sp = p.supply
    n = max(ANNOUNCED_UNTIL - start_year + 1, 1)
    return ops.xp(sp.cell_capacity_start).maximum(sp.cell_capacity_announced_2030 - sp.cell_capacity_start, 0.0) / n


def start_conditions(p: Params, ctx: Context):
    """The year before the start, as the priors describe it: demand by segment and region,
    chemistry mix, cells made, material demand, cell costs and prices at the start prices.
    Returns a dict of arrays (one draw, or draws last)."""
    dp, mp, pp = p.demand, p.materials, p.policy
    xp = ops.xp(dp.demand_start)
    ex, R = ctx.exporter, ctx.n_regions
    nb = ops.batch_ndim(p.supply.growth_memory)
    year = ctx.start_year - 1.0
    d0 = dp.demand_start[:, None] * dp.demand_region_share * dp.demand_multiplier  # segment x region
    d_region = ops.total(d0, 0)
    mix = chemistry.regional_mix(d0, p.chemistry.chemistry_share_start)
    yld = 1.0 - p.ramp.scrap_start
    gross = d_region / yld
    battery, other = materials.reference_demand(mp, ops.vecmat(gross, mix), -1.0, 0.0 * mp.other_demand_start)
    # the market cleared at the observed start price: mine capacity follows (draws whose
    # capacity and demand priors disagree would otherwise start in a deficit or glut)
    x0 = xp.log(mp.price_start / materials.anchor(mp, year))
    produced = (battery + other) * xp.exp(-mp.demand_elasticity * x0)
    utilization = xp.minimum(mp.reference_utilization * xp.exp(mp.supply_elasticity * x0), p.supply.max_utilization[ctx.mining])
    critical = costs.critical_materials(ops.expand(np.ones((R, 1)), nb) * mp.price_start[None], mp.material_intensity)
    cost, capital = costs.cell_costs(p.costs, p.costs.cumulative_production_start, 0.0 * p.costs.cumulative_production_start,
                                     critical, yld, p.cells.capital_share, ex)
    mu = cells.margin(p.cells, p.supply.target_utilization[ctx.cells])
    _, landed, domestic_price, _ = cells.prices(cost, capital, mu, policy.tariff(pp, year), pp.transport_cost, ex)
    credit = policy.credit(pp, year)
    overhead = costs.pack_overhead(p.costs, p.costs.cumulative_production_start)
    pack = ops.dot(d_region, ops.total((domestic_price + overhead[:, None]) * mix, 1)) / ops.total(d_region, 0)
    return dict(d0=d0, d_region=d_region, material_demand=battery + other, mining=produced / utilization, cost=cost,
                pack_price=pack,
                domestic_cost=ops.total((cost - credit[:, None]) * mix, 1), landed_cost=ops.total(landed * mix, 1))


def initial_state(p: Params, history, ctx: Context, start) -> State:
    """The state at the end of ``start_year - 1``. history: deployments (GWh) 1..HISTORY
    years before the start (draws last for NumPy: shape (HISTORY, 1)); start: the
    :func:`start_conditions`."""
    dp, mp, sp = p.demand, p.materials, p.supply
    xp = ops.xp(dp.demand_start)
    dtype = dp.demand_start.dtype
    batch = sp.growth_memory.shape
    d0 = dp.demand_start
    g0 = ops.total(d0 * demand.logistic_growth(d0, dp.demand_saturation, dp.demand_growth_rate), 0) / ops.total(d0, 0)
    n_mat, n_chem, n_reg = ctx.n_materials, p.costs.cumulative_production_start.shape[0], ctx.n_regions
    zeros_mat = xp.zeros((n_mat,) + batch, dtype)
    zeros_chem = xp.zeros((n_chem,) + batch, dtype)
    zeros_reg = xp.zeros((n_reg,) + batch, dtype)
    return State(
        demand=DemandState(d0, xp.zeros((d0.shape[0],) + batch, dtype), zeros_mat, start["pack_price"]),
        chemistry=ChemistryState(p.chemistry.chemistry_share_start, start["cost"]),
        materials=MaterialState(
            mining=start["mining"],
            refining=start["mining"] * mp.refining_headroom,
            exporter_share=mp.exporter_refining_share_start,
            stocks=mp.stock_cover_start * start["material_demand"],
            noise=zeros_mat,
            price=mp.price_start,
            premium=zeros_mat,
            growth=g0 * xp.ones((n_mat,) + batch, dtype),
            demand=start["material_demand"],
        ),
        costs=CostState(p.costs.cumulative_production_start, zeros_chem, zeros_chem, zeros_chem, zeros_chem),
        cells=CellState(
            capacity=sp.cell_capacity_start,
            utilization=sp.target_utilization[ctx.cells] * xp.ones((n_reg,) + batch, dtype),
            scrap=p.ramp.scrap_start,
            losses=zeros_reg,
            domestic_cost=start["domestic_cost"],
            landed_cost=start["landed_cost"],
            growth=g0,
            demand=ops.total(start["d_region"], 0),
        ),
        recycling=RecyclingState(sp.recycling_capacity_start, history.astype(dtype) * p.recycling.deployment_history_scale),
        shortage=ShortageState(zeros_mat, zeros_mat + NO_SHORTAGE_YEAR),
        pipeline=initial_pipeline(p, ctx),
    )


def prepare(p: Params, history, coords: Coords, start_year: int) -> tuple[Context, State]:
    """The run's full context (static positions and per-draw constants) and its initial state."""
    ctx = context(coords, start_year)
    start = start_conditions(p, ctx)
    ctx = ctx._replace(
        retirement_pmf=recycling.retirement_pmf(p.recycling),
        tranche=announced_tranche(p, start_year) * p.supply.announced_completion,
        pack_price_start=start["pack_price"],
        cell_cost_start=start["cost"],
        mining_start=start["mining"],
    )
    return ctx, initial_state(p, history, ctx, start)


def simulate_batch(params, normals, uniforms, history, coords: Coords, start_year: int, draws_first: bool = True) -> dict:
    """:func:`simulate` for many draws given with the draws first: params
    ``{name: (draws, *dims)}``, normals and uniforms (draws, years, slots), history (HISTORY,).
    The model runs with the draws last, so under JAX every fused loop runs along the draws
    (vectorised on CPUs, coalesced on GPUs). Returns outputs name -> (draws, years, *dims), or
    (years, *dims, draws) with ``draws_first=False``."""
    xp = ops.xp(normals)
    last = {k: xp.moveaxis(xp.asarray(v), 0, -1) for k, v in params.items()}
    out = simulate(last, xp.moveaxis(normals, 0, -1), xp.moveaxis(uniforms, 0, -1), history[:, None], coords, start_year)
    return {k: xp.moveaxis(v, -1, 0) for k, v in out.items()} if draws_first else out


def simulate(params, normals, uniforms, history, coords: Coords, start_year: int) -> dict:
    """Run the model. params: ``{name: array}`` or :class:`Params`; normals, uniforms:
    (years, slots) random numbers (:mod:`mcbattery.model.noise`); history: deployments (GWh)
    1..HISTORY years before ``start_year``. Returns outputs name -> (years, *dims)."""
    p = params if isinstance(params, Params) else group(params)
    ctx, state = prepare(p, history, coords, start_year)
    xp = ops.xp(normals)
    ts = xp.arange(normals.shape[0])
    _, outputs = ops.scan(lambda s, x: step(s, YearInputs(*x), p, ctx), state, (ts, normals, uniforms))
    return outputs
