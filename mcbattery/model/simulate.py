"""The value-chain model: one draw, one ``lax.scan`` over years, composed of the blocks.

``simulate(params, normals, uniforms, history, start_year)`` is pure: all randomness comes in
as arrays (years x k), so a draw's path depends only on its key. Outputs are a dict of arrays
with a leading year axis; their dims and units are listed in :mod:`mcbattery.outputs`.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from mcbattery.model import chemistry
from mcbattery.model import costs
from mcbattery.model import demand
from mcbattery.model import pipeline
from mcbattery.model import prices
from mcbattery.model import ramp
from mcbattery.model import recycling
from mcbattery.model import trade
from mcbattery.model.coords import REGIONS, STAGES

MINING, REFINING, CELLS, RECYCLING = (STAGES.index(s) for s in ("mining", "refining", "cells", "recycling"))
# Pipeline rows: mining, refining, recycling, then cells per region.
ROW_STAGE = jnp.array([MINING, REFINING, RECYCLING] + [CELLS] * len(REGIONS))
N_ROWS = 3 + len(REGIONS)
P = pipeline.PROJECTS_PER_ORDER
ANNOUNCED_UNTIL = 2030  # the announced cell capacity figures are for 2030 (source 003)
# Price signals scale orders by at most this factor either way, and orders never exceed the
# capacity gap: a boom cannot order more than the expected shortfall.
MAX_PRICE_FACTOR = 4.0

# Random numbers consumed per year: (name, count) in slot order.
# The lithium price runs monthly inside the year (mcbattery.prices): 12 normals and 12 uniforms.
NORMAL_SLOTS = (("demand", 3), ("price", prices.MONTHS), ("cost", 3), ("lead", N_ROWS * P), ("drift", 3))
UNIFORM_SLOTS = (
    ("regime", prices.MONTHS),
    ("delay", N_ROWS * P),
    ("extra", N_ROWS * P),
    ("cancel", N_ROWS * P),
    ("announced", len(REGIONS)),
)


def _offsets(slots):
    out, k = {}, 0
    for name, n in slots:
        out[name] = (k, k + n)
        k += n
    return out, k


NORMAL_OFFSETS, N_NORMALS = _offsets(NORMAL_SLOTS)
UNIFORM_OFFSETS, N_UNIFORMS = _offsets(UNIFORM_SLOTS)


def _take(x, offsets, name):
    a, b = offsets[name]
    return x[a:b]


def initial_pipeline(p):
    """Committed lithium-stage projects at the start: capacity growth already under way,
    ``committed_growth`` of start capacity per year for ``lead_time_median`` years."""
    cap = jnp.stack([p["mining_capacity_start"], p["refining_capacity_start"], p["recycling_capacity_start"]])
    stage = ROW_STAGE[:3]
    g = p["committed_growth"][stage]
    horizon = jnp.round(p["lead_time_median"][stage])
    k = jnp.arange(pipeline.LENGTH)
    rows = cap[:, None] * g[:, None] * (1.0 + g[:, None]) ** k * (k < horizon[:, None])
    return jnp.concatenate([rows, jnp.zeros((len(REGIONS), pipeline.LENGTH), cap.dtype)])


def announced_tranche(p, start_year):
    """Per-region cell capacity added each year up to 2030 if the announcements hold (GWh/yr)."""
    n = max(ANNOUNCED_UNTIL - start_year + 1, 1)
    return jnp.maximum(p["cell_capacity_announced_2030"] - p["cell_capacity_start"], 0.0) / n


def simulate(p, normals, uniforms, history, start_year: int):
    """Run one draw. normals: (years, N_NORMALS); uniforms: (years, N_UNIFORMS);
    history: deployments (GWh) 1..HISTORY years before ``start_year``."""
    dtype = normals.dtype
    n_years = normals.shape[0]
    pmf = recycling.retirement_pmf(p)
    tranche = announced_tranche(p, start_year) * p["announced_completion"]
    d0 = p["demand_start"]
    g0 = jnp.sum(d0 * demand.initial_growth(d0, p["demand_saturation"], p["demand_growth_rate"])) / d0.sum()
    d0_total = (d0[:, None] * p["demand_region_share"] * p["demand_multiplier"]).sum()
    cap0 = p["cell_capacity_start"]
    gross0 = d0_total / (1.0 - jnp.dot(cap0, p["scrap_start"]) / cap0.sum())  # cells made, incl. scrap
    li_start = gross0 * jnp.dot(
        jnp.einsum("s,sc->c", d0, p["chemistry_share_start"]) / d0.sum(), p["lithium_intensity"]
    ) / 1e3 + p["non_battery_lithium_demand"]
    carry0 = dict(
        shock=jnp.zeros(3, dtype),
        log_price=jnp.log(p["lithium_price_start"]),  # last month's log price
        boom=jnp.zeros((), dtype),  # last month's regime
        log_price_year=jnp.log(p["lithium_price_start"]),  # log of last year's mean price
        q=p["cumulative_production_start"],
        nu=jnp.zeros(3, dtype),
        u_prev=jnp.zeros(3, dtype),
        b_dev=jnp.zeros(3, dtype),  # drift of the conversion learning exponent so far
        log_dev=jnp.zeros(3, dtype),  # its effect on log conversion cost so far
        cap_li=jnp.stack([p["mining_capacity_start"], p["refining_capacity_start"], p["recycling_capacity_start"]]),
        cap_cells=p["cell_capacity_start"],
        pipe=initial_pipeline(p),
        scrap=p["scrap_start"],
        util_cells=p["target_utilization"][CELLS] * jnp.ones(len(REGIONS), dtype),
        hist=history.astype(dtype) * p["deployment_history_scale"],
        g_cells=g0,
        g_li=g0,
        d_prev=d0_total,
        li_prev=li_start,
    )

    def step(c, xs):
        t, z, u = xs
        tf = t.astype(dtype)
        year = start_year + tf
        maxu, tgt = p["max_utilization"], p["target_utilization"]

        # capacity arrivals: announced cell tranches (with delays) and pipeline projects
        u_ann = _take(u, UNIFORM_OFFSETS, "announced")
        d_ann = jnp.clip(jnp.floor(-p["announced_delay_mean"] * jnp.log(u_ann)), 0, pipeline.LENGTH - 1)
        due = jnp.where(year <= ANNOUNCED_UNTIL, tranche, 0.0)
        pipe = c["pipe"].at[3:].add(due[:, None] * jax.nn.one_hot(d_ann.astype(jnp.int32), pipeline.LENGTH, dtype=dtype))
        arrival, pipe = pipeline.advance(pipe)
        cap_cells_before = c["cap_cells"]
        cap_cells = cap_cells_before + arrival[3:]
        cap_li = c["cap_li"] + arrival[:3]
        shock_on = (year >= p["supply_shock_year"]) & (year < p["supply_shock_year"] + p["supply_shock_duration"])
        mine_cap = cap_li[0] * (1.0 - p["supply_shock_fraction"] * shock_on)

        # demand and chemistry, reacting to last year's lithium price
        lpr = c["log_price_year"] - jnp.log(prices.anchor(p, tf - 1.0))
        dem, shock = demand.step(p, tf, c["shock"], _take(z, NORMAL_OFFSETS, "demand"), lpr)
        seg_total = dem.sum(axis=1)
        d_region = dem.sum(axis=0)
        d_total = seg_total.sum()
        mix = seg_total @ chemistry.shares(p, tf, lpr) / d_total
        intensity = chemistry.intensity(p, tf)
        li_per_gwh = intensity @ mix

        # ramp-up: scrap and yields
        scrap = ramp.step(p, c["scrap"], cap_cells_before, arrival[3:], c["util_cells"])
        yld = 1.0 - scrap

        # costs and regional supply
        nu, u_now = costs.noise_step(p, c["nu"], c["u_prev"], _take(z, NORMAL_OFFSETS, "cost"))
        b_dev = costs.exponent_drift_step(p, c["b_dev"], _take(z, NORMAL_OFFSETS, "drift"))
        cell = costs.cell_costs(p, c["q"], nu + c["log_dev"], jnp.exp(c["log_price_year"]), intensity, yld)
        pack = costs.pack_costs(p, cell, c["q"])
        credit = trade.credit(p, year)
        landed = trade.import_cost(p, cell)
        domestic_avg = (cell - credit[:, None]) @ mix
        landed_avg = landed @ mix
        prod, import_share, cell_gap = trade.allocate(p, d_region, cap_cells, yld, domestic_avg, landed_avg)

        # lithium balance
        gross = prod / yld
        li_dem = gross.sum() * li_per_gwh / 1e3 + chemistry.non_battery_demand(p, tf)
        recov, retired = recycling.recoverable(p, tf, c["hist"], pmf, (gross - prod).sum(), li_per_gwh)
        rec_cap = cap_li[2] * maxu[RECYCLING]
        recycled = jnp.minimum(recov, rec_cap)
        need = jnp.maximum(li_dem - recycled, 0.0)
        mine_out = jnp.clip(need, p["min_mine_utilization"] * mine_cap, maxu[MINING] * mine_cap)
        refined = jnp.minimum(mine_out, cap_li[1] * maxu[REFINING])
        supply = refined + recycled
        shortage = jnp.clip(1.0 - supply / li_dem, 0.0, 1.0)
        prod = prod * (1.0 - shortage)
        gross = prod / yld
        capability = jnp.minimum(mine_cap * maxu[MINING], cap_li[1] * maxu[REFINING]) + recycled
        tight = jnp.clip(jnp.log(li_dem / jnp.maximum(capability, 1e-6)), -1.0, 1.0)
        log_price, boom, price_year, boom_share = prices.step(
            p, tf, c["log_price"], c["boom"], tight, _take(z, NORMAL_OFFSETS, "price"), _take(u, UNIFORM_OFFSETS, "regime")
        )
        log_price_year = jnp.log(price_year)
        q = c["q"] + prod.sum() * mix
        util_cells = gross / jnp.maximum(cap_cells, 1e-9)

        # investment: expectations, desired capacity, orders into the pipeline
        m = p["growth_memory"]
        g_cells = m * c["g_cells"] + (1 - m) * jnp.log(d_total / c["d_prev"])
        g_li = m * c["g_li"] + (1 - m) * jnp.log(li_dem / c["li_prev"])
        horizon = p["lead_time_median"]
        bias = p["expected_growth_bias"]
        price_ratio = jnp.exp(log_price_year - jnp.log(prices.anchor(p, tf)))
        sens = p["investment_price_sensitivity"]
        resp = p["investment_response"]
        remaining = tranche * jnp.clip(ANNOUNCED_UNTIL - year, 0.0, None)
        # each region builds for the demand it expects to win; China also for the imports of others
        served = d_region * (1.0 - import_share)
        served = served.at[0].add((d_region * import_share).sum() - d_region[0] * import_share[0])
        desired_cells = served * jnp.exp(g_cells * bias[CELLS] * horizon[CELLS]) / (tgt[CELLS] * yld)
        committed = cap_cells + pipe[3:].sum(axis=-1) + remaining
        advantage = jnp.exp(sens[CELLS] * jnp.log(landed_avg / jnp.maximum(domestic_avg, 1e-6)))
        orders_cells = resp[CELLS] * jnp.maximum(desired_cells - committed, 0.0) * advantage
        primary_frac = refined / jnp.maximum(supply, 1e-9)

        def lithium_orders(stage, row, base):
            desired = base * jnp.exp(g_li * bias[stage] * horizon[stage]) / tgt[stage]
            gap = jnp.maximum(desired - (cap_li[row] + pipe[row].sum()), 0.0)
            factor = jnp.clip(price_ratio ** sens[stage], 1.0 / MAX_PRICE_FACTOR, MAX_PRICE_FACTOR)
            return jnp.minimum(resp[stage] * gap * factor, gap)

        orders = jnp.concatenate(
            [
                jnp.stack(
                    [
                        lithium_orders(MINING, 0, li_dem * primary_frac),
                        lithium_orders(REFINING, 1, li_dem * primary_frac),
                        lithium_orders(RECYCLING, 2, recov),
                    ]
                ),
                orders_cells,
            ]
        )
        st = ROW_STAGE[:, None]
        years = pipeline.project_delays(
            p["lead_time_median"][st],
            p["lead_time_sigma"][st],
            p["lead_time_max"][st],
            p["delay_probability"][st],
            p["delay_mean"][st],
            _take(z, NORMAL_OFFSETS, "lead").reshape(N_ROWS, P),
            _take(u, UNIFORM_OFFSETS, "delay").reshape(N_ROWS, P),
            _take(u, UNIFORM_OFFSETS, "extra").reshape(N_ROWS, P),
        )
        keep = (_take(u, UNIFORM_OFFSETS, "cancel").reshape(N_ROWS, P) >= p["cancel_probability"][st]).astype(dtype)
        pipe = pipeline.schedule(pipe, orders, years, keep)

        out = dict(
            demand=dem,
            chemistry_share=mix,
            capacity=jnp.stack([cap_li[0], cap_li[1], cap_cells.sum(), cap_li[2]]),
            production=jnp.stack([mine_out, refined, prod.sum(), recycled]),
            utilization=jnp.stack(
                [
                    mine_out / jnp.maximum(cap_li[0], 1e-9),
                    refined / jnp.maximum(cap_li[1], 1e-9),
                    gross.sum() / jnp.maximum(cap_cells.sum(), 1e-9),
                    recycled / jnp.maximum(cap_li[2], 1e-9),
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
            cell_cost_average=(prod @ (cell @ mix)) / jnp.maximum(prod.sum(), 1e-9),
            pack_cost_average=(prod @ (pack @ mix)) / jnp.maximum(prod.sum(), 1e-9),
            scrap_rate=scrap,
            recycled_share=recycled / jnp.maximum(supply, 1e-9),
            retired_batteries=retired,
        )

        # end of year: retirements and closures, then remember this year
        cap_li = cap_li * (1.0 - p["capacity_retirement"][jnp.array([MINING, REFINING, RECYCLING])])
        closure = p["capacity_retirement"][CELLS] + p["cell_closure_rate"] * jnp.maximum(tgt[CELLS] - util_cells, 0.0)
        cap_cells = cap_cells * (1.0 - jnp.clip(closure, 0.0, 0.5))
        new = dict(
            shock=shock,
            log_price=log_price,
            boom=boom,
            log_price_year=log_price_year,
            q=q,
            nu=nu,
            u_prev=u_now,
            b_dev=b_dev,
            log_dev=c["log_dev"] - b_dev * jnp.log(q / c["q"]),
            cap_li=cap_li,
            cap_cells=cap_cells,
            pipe=pipe,
            scrap=scrap,
            util_cells=util_cells,
            hist=recycling.push_history(c["hist"], prod.sum()),
            g_cells=g_cells,
            g_li=g_li,
            d_prev=d_total,
            li_prev=li_dem,
        )
        return new, out

    ts = jnp.arange(n_years)
    _, outputs = jax.lax.scan(step, carry0, (ts, normals, uniforms))
    return outputs
