"""The model over a horizon: the initial state, then :func:`~mcbattery.model.step.step`
scanned over years.

``simulate(params, normals, uniforms, history, coords, start_year)`` is pure: all randomness
comes in as arrays (years x slots), so a draw's path depends only on its key. Under JAX it
runs one draw (``jax.lax.scan``; the engine vmaps it); with NumPy arrays whose draws come
last it runs many draws in a plain loop over years. Outputs are a dict of arrays with a
leading year axis; their dims and units are in :mod:`mcbattery.model.outputs`.
"""

from __future__ import annotations

from mcbattery.model import demand, ops, pipeline, recycling
from mcbattery.model.coords import Coords
from mcbattery.model.params import Params, group
from mcbattery.model.state import CostState, DemandState, ExpectationState, PriceState, State, SupplyState, YearInputs
from mcbattery.model.step import ANNOUNCED_UNTIL, Context, context, step


def initial_pipeline(p: Params, ctx: Context):
    """Committed lithium-stage projects at the start: capacity growth already under way,
    ``committed_growth`` of start capacity per year for ``lead_time_median`` years."""
    sp = p.supply
    xp = ops.xp(sp.mining_capacity_start)
    nb = ops.batch_ndim(sp.mining_capacity_start)
    cap = xp.stack([sp.mining_capacity_start, sp.refining_capacity_start, sp.recycling_capacity_start])
    stage = ctx.row_stage[:3]
    g = sp.committed_growth[stage]
    horizon = xp.round(sp.lead_time_median[stage])
    k = ops.expand(xp.arange(pipeline.LENGTH), nb)
    rows = cap[:, None] * g[:, None] * (1.0 + g[:, None]) ** k * (k < horizon[:, None])
    cells = xp.zeros((len(ctx.row_stage) - 3, pipeline.LENGTH) + cap.shape[1:], cap.dtype)
    return xp.concatenate([rows, cells])


def announced_tranche(p: Params, start_year: int):
    """Per-region cell capacity added each year up to 2030 if the announcements hold (GWh/yr)."""
    sp = p.supply
    n = max(ANNOUNCED_UNTIL - start_year + 1, 1)
    return ops.xp(sp.cell_capacity_start).maximum(sp.cell_capacity_announced_2030 - sp.cell_capacity_start, 0.0) / n


def initial_state(p: Params, history, ctx: Context) -> State:
    """The state at the end of ``start_year - 1``. history: deployments (GWh) 1..HISTORY
    years before the start (draws last for NumPy: shape (HISTORY, 1))."""
    sp, dp = p.supply, p.demand
    xp = ops.xp(dp.demand_start)
    dtype = dp.demand_start.dtype
    batch = dp.demand_noise_persistence.shape
    d0 = dp.demand_start
    g0 = (d0 * demand.initial_growth(d0, dp.demand_saturation, dp.demand_growth_rate)).sum(axis=0) / d0.sum(axis=0)
    d0_total = (d0[:, None] * dp.demand_region_share * dp.demand_multiplier).sum(axis=(0, 1))
    cap0 = sp.cell_capacity_start
    gross0 = d0_total / (1.0 - ops.dot(cap0, p.ramp.scrap_start) / cap0.sum(axis=0))  # cells made, incl. scrap
    start_mix = ops.vecmat(d0, p.chemistry.chemistry_share_start) / d0.sum(axis=0)
    li_start = gross0 * ops.dot(start_mix, p.chemistry.lithium_intensity) / 1e3 + p.chemistry.non_battery_lithium_demand
    n_chem = p.costs.cumulative_production_start.shape[0]
    zeros_chem = xp.zeros((n_chem,) + batch, dtype)
    log_p0 = xp.log(p.prices.lithium_price_start)
    return State(
        demand=DemandState(xp.zeros((d0.shape[0],) + batch, dtype)),
        price=PriceState(log_p0, xp.zeros(batch, dtype), log_p0),
        costs=CostState(p.costs.cumulative_production_start, zeros_chem, zeros_chem, zeros_chem, zeros_chem),
        supply=SupplyState(
            lithium_capacity=xp.stack([sp.mining_capacity_start, sp.refining_capacity_start, sp.recycling_capacity_start]),
            cell_capacity=cap0,
            pipeline=initial_pipeline(p, ctx),
            cell_utilization=sp.target_utilization[ctx.cells] * xp.ones((cap0.shape[0],) + batch, dtype),
            scrap=p.ramp.scrap_start,
        ),
        expectations=ExpectationState(g0, g0, d0_total, li_start),
        deployments=history.astype(dtype) * p.recycling.deployment_history_scale,
    )


def simulate(params, normals, uniforms, history, coords: Coords, start_year: int) -> dict:
    """Run the model. params: ``{name: array}`` or :class:`Params`; normals, uniforms:
    (years, slots) random numbers (:mod:`mcbattery.model.noise`); history: deployments (GWh)
    1..HISTORY years before ``start_year``. Returns outputs name -> (years, *dims)."""
    p = params if isinstance(params, Params) else group(params)
    ctx = context(coords, start_year)
    ctx = ctx._replace(
        retirement_pmf=recycling.retirement_pmf(p.recycling),
        tranche=announced_tranche(p, start_year) * p.supply.announced_completion,
    )
    state = initial_state(p, history, ctx)
    xp = ops.xp(normals)
    ts = xp.arange(normals.shape[0])
    _, outputs = ops.scan(lambda s, x: step(s, YearInputs(*x), p, ctx), state, (ts, normals, uniforms))
    return outputs
