"""A plain NumPy re-implementation of :func:`mcbattery.model.simulate`, for cross-checks
and as the throughput baseline.

``simulate_numpy`` runs the same equations as the JAX model, block by block, vectorised over
draws (every array has a leading draw axis ``n``) with a Python loop over years only. No JAX
and no package function is used inside the simulation; only constants (slot offsets, pipeline
length, history length, coordinate labels) are imported, so a change to the model's arithmetic
shows up as a disagreement here.

``sample_inputs`` reproduces, with ``jax.random``, exactly the parameters and random numbers the
engine feeds ``model.simulate`` for draws ``first .. first + n - 1`` of a seed, so the two
implementations can be compared draw by draw.

Discrete branch points (rounded lead times, floored announcement delays, ceiled project delays,
boom regime switches) are computed from float arithmetic, so float32 (JAX) and float64 (here)
can fall on different sides of a tie. ``simulate_numpy(..., return_margins=True)`` also
returns, per draw and year, the smallest distance of any such quantity to its branch point;
see :func:`tie_years`.
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

import numpy as np
from scipy.special import expit, gammaln

from mcbattery.model import simulate as _model
from mcbattery.model import pipeline as _pipeline
from mcbattery.model import recycling as _recycling
from mcbattery.model.coords import CHEMISTRIES, REGIONS, STAGES

NORMAL_OFFSETS = _model.NORMAL_OFFSETS
UNIFORM_OFFSETS = _model.UNIFORM_OFFSETS
N_NORMALS = _model.N_NORMALS
N_UNIFORMS = _model.N_UNIFORMS
LENGTH = _pipeline.LENGTH
P = _pipeline.PROJECTS_PER_ORDER
HISTORY = _recycling.HISTORY
ANNOUNCED_UNTIL = _model.ANNOUNCED_UNTIL
MAX_PRICE_FACTOR = _model.MAX_PRICE_FACTOR

MINING, REFINING, CELLS, RECYCLING = (STAGES.index(s) for s in ("mining", "refining", "cells", "recycling"))
LI_STAGES = np.array([MINING, REFINING, RECYCLING])
ROW_STAGE = np.array([MINING, REFINING, RECYCLING] + [CELLS] * len(REGIONS))
N_ROWS = ROW_STAGE.size
NA = CHEMISTRIES.index("Na-ion")
CN = REGIONS.index("CN")

OUTPUT_NAMES = (
    "demand",
    "chemistry_share",
    "capacity",
    "production",
    "utilization",
    "cell_capacity",
    "cell_production",
    "cell_utilization",
    "import_share",
    "shortage",
    "cell_supply_gap",
    "lithium_demand",
    "lithium_supply",
    "lithium_price",
    "price_boom",
    "cell_cost",
    "pack_cost",
    "cost_gap",
    "cell_cost_average",
    "pack_cost_average",
    "scrap_rate",
    "recycled_share",
    "retired_batteries",
)


def _slot(x, offsets, name):
    a, b = offsets[name]
    return x[:, a:b]


def _softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _one_hot(index, length, dtype):
    return (index[..., None] == np.arange(length)).astype(dtype)


def _half_margin(x):
    """Distance of x to the nearest rounding tie (k + 1/2), relative to max(1, |x|)."""
    return np.abs(x - np.floor(x) - 0.5) / np.maximum(1.0, np.abs(x))


def _int_margin(x):
    """Distance of x to the nearest integer (a floor / ceil step), relative to max(1, |x|)."""
    return np.abs(x - np.round(x)) / np.maximum(1.0, np.abs(x))


# --------------------------------------------------------------------------- blocks


def _anchor(p, t):
    return p["lithium_cost_anchor"] * np.exp(p["lithium_cost_anchor_trend"] * (t + 1.0))


def _retirement_pmf(p):
    k = p["battery_lifetime_shape"]
    scale = p["battery_lifetime_mean"] / np.exp(gammaln(1.0 + 1.0 / k))
    ages = np.arange(HISTORY + 1, dtype=k.dtype)
    cdf = 1.0 - np.exp(-((ages / scale[:, None]) ** k[:, None]))
    pmf = np.diff(cdf, axis=1)
    shift = np.round(p["second_life_years"]).astype(np.int64)
    idx = np.arange(HISTORY)
    src = np.clip(idx - shift[:, None], 0, HISTORY - 1)
    delayed = np.where(idx >= shift[:, None], np.take_along_axis(pmf, src, axis=1), 0.0)
    f = p["second_life_fraction"][:, None]
    return (1.0 - f) * pmf + f * delayed


def _initial_pipeline(p):
    n = p["mining_capacity_start"].shape[0]
    cap = np.stack([p["mining_capacity_start"], p["refining_capacity_start"], p["recycling_capacity_start"]], axis=1)
    g = p["committed_growth"][:, LI_STAGES]
    horizon = np.round(p["lead_time_median"][:, LI_STAGES])
    k = np.arange(LENGTH)
    rows = cap[..., None] * g[..., None] * (1.0 + g[..., None]) ** k * (k < horizon[..., None])
    return np.concatenate([rows, np.zeros((n, len(REGIONS), LENGTH), cap.dtype)], axis=1)


def _learning_factor(q, q0, exponent):
    return np.exp(-exponent * np.log(np.maximum(q, 1e-9) / q0))


def _demand(p, t, shock_prev, eps, lpr):
    shock = p["demand_noise_persistence"][:, None] * shock_prev + p["demand_noise_sd"] * eps
    d0 = p["demand_start"]
    k = np.maximum(p["demand_saturation"], 1.05 * d0)
    base = k / (1.0 + (k / d0 - 1.0) * np.exp(-p["demand_growth_rate"] * (t + 1.0)))
    price_effect = np.exp(-p["demand_lithium_price_elasticity"] * np.maximum(lpr, 0.0))
    seg = np.ones_like(base)
    seg[:, 0] = price_effect
    total = base * np.exp(shock) * seg
    return total[:, :, None] * p["demand_region_share"] * p["demand_multiplier"], shock


def _chemistry_shares(p, t, lpr):
    logit = np.log(np.maximum(p["chemistry_share_start"], 1e-6)) + p["chemistry_logit_trend"] * (t + 1.0)
    logit[:, :, NA] += p["sodium_price_response"][:, None] * np.maximum(lpr, 0.0)[:, None]
    return _softmax(logit)


def _cell_costs(p, q, nu, price, intensity, yld):
    q0 = p["cumulative_production_start"]
    mat = p["materials_cost_multiplier"]
    mat_mult = mat / mat[:, :1]
    conv = p["conversion_cost_multiplier"]
    conv_mult = conv / conv[:, :1, :]
    lithium = price[:, None] * intensity / 1e6
    materials = p["other_materials_cost_start"] * _learning_factor(q, q0, p["materials_learning_exponent"])
    conversion = p["conversion_cost_start"] * _learning_factor(q, q0, p["conversion_learning_exponent"]) * np.exp(nu)
    before = lithium[:, None, :] + materials[:, None, :] * mat_mult[:, :, None] + conversion[:, None, :] * conv_mult
    return before / yld[:, :, None]


def _allocate(p, demand, capacity, yld, domestic_cost, landed_cost):
    good_cap = capacity * p["max_utilization"][:, CELLS][:, None] * yld
    advantage = (landed_cost - domestic_cost) / (p["cost_dispersion"][:, None] * landed_cost)
    bias = p["home_bias"]
    phi = bias + (1.0 - bias) * expit(advantage)
    phi[:, CN] = 1.0
    domestic = np.minimum(phi * demand, good_cap)
    short = demand - domestic
    imports = short.sum(axis=1) - short[:, CN]
    cn_spare = good_cap[:, CN] - domestic[:, CN]
    exports = np.minimum(imports, cn_spare)
    unmet = imports - exports + short[:, CN]
    spare = good_cap - domestic
    spare[:, CN] = 0.0
    spare_total = spare.sum(axis=1)
    extra = spare / np.maximum(spare_total, 1e-9)[:, None] * np.minimum(unmet, spare_total)[:, None]
    production = domestic + extra
    production[:, CN] += exports
    import_share = short / np.maximum(demand, 1e-9)
    gap = (unmet - extra.sum(axis=1)) / np.maximum(demand.sum(axis=1), 1e-9)
    return production, import_share, gap


# --------------------------------------------------------------------------- simulation


def simulate_numpy(params, normals, uniforms, history, start_year: int, *, dtype=np.float64, return_margins=False):
    """Simulate ``n`` draws with NumPy; the model of :func:`mcbattery.model.simulate`.

    params: {name: (n, *dims)}; normals: (n, years, N_NORMALS); uniforms: (n, years,
    N_UNIFORMS); history: (HISTORY,) deployments 1..HISTORY years before ``start_year``.
    Returns {output name: (n, years, *dims)} in ``dtype`` (inputs are cast to it). With
    ``return_margins`` also returns (n, years) margins: the smallest relative distance of a
    rounded / floored / ceiled / compared quantity to its branch point in that year (only
    over quantities that matter: projects with a non-zero order, tranches still due).
    """
    dt = np.dtype(dtype)
    p = {k: np.asarray(v, dt) for k, v in params.items()}
    z_all = np.asarray(normals, dt)
    u_all = np.asarray(uniforms, dt)
    n, n_years = z_all.shape[:2]
    if z_all.shape[2] != N_NORMALS or u_all.shape[2] != N_UNIFORMS:
        raise ValueError(f"expected {N_NORMALS} normals and {N_UNIFORMS} uniforms per year")

    maxu, tgt = p["max_utilization"], p["target_utilization"]
    pmf = _retirement_pmf(p)
    n_tranches = max(ANNOUNCED_UNTIL - start_year + 1, 1)
    tranche = np.maximum(p["cell_capacity_announced_2030"] - p["cell_capacity_start"], 0.0) / n_tranches
    tranche = tranche * p["announced_completion"]
    d0 = p["demand_start"]
    k0 = np.maximum(p["demand_saturation"], 1.05 * d0)
    g0 = (d0 * p["demand_growth_rate"] * (1.0 - d0 / k0)).sum(axis=1) / d0.sum(axis=1)
    mix0 = np.einsum("ns,nsc->nc", d0, p["chemistry_share_start"]) / d0.sum(axis=1)[:, None]
    d0_total = (d0[:, :, None] * p["demand_region_share"] * p["demand_multiplier"]).sum(axis=(1, 2))
    cap0 = p["cell_capacity_start"]
    gross0 = d0_total / (1.0 - (cap0 * p["scrap_start"]).sum(axis=1) / cap0.sum(axis=1))  # cells made, incl. scrap
    li_start = gross0 * (mix0 * p["lithium_intensity"]).sum(axis=1) / 1e3 + p["non_battery_lithium_demand"]

    shock = np.zeros((n, 3), dt)
    log_price = np.log(p["lithium_price_start"])  # last month's log price
    boom = np.zeros(n, dt)  # last month's regime
    price_prev = p["lithium_price_start"].copy()  # last year's mean price
    q = p["cumulative_production_start"].copy()
    nu = np.zeros((n, 3), dt)
    u_prev = np.zeros((n, 3), dt)
    b_dev = np.zeros((n, 3), dt)  # drift of the conversion learning exponent
    log_dev = np.zeros((n, 3), dt)  # its accumulated effect on log conversion cost
    cap_li = np.stack([p["mining_capacity_start"], p["refining_capacity_start"], p["recycling_capacity_start"]], axis=1)
    cap_cells = p["cell_capacity_start"].copy()
    pipe = _initial_pipeline(p)
    scrap = p["scrap_start"].copy()
    util_cells = tgt[:, CELLS][:, None] * np.ones((n, len(REGIONS)), dt)
    hist = np.asarray(history, dt)[None, :] * p["deployment_history_scale"][:, None]
    g_cells = g0
    g_li = g0.copy()
    d_prev = d0_total
    li_prev = li_start

    out = {name: [] for name in OUTPUT_NAMES}
    margins = np.full((n, n_years), np.inf)
    st = ROW_STAGE
    for t in range(n_years):
        tf = dt.type(t)
        year = start_year + tf
        z = z_all[:, t]
        u = u_all[:, t]

        # capacity arrivals: announced cell tranches (with delays), then pipeline projects
        x_ann = -p["announced_delay_mean"] * np.log(_slot(u, UNIFORM_OFFSETS, "announced"))
        d_ann = np.clip(np.floor(x_ann), 0, LENGTH - 1)
        due = tranche if year <= ANNOUNCED_UNTIL else np.zeros_like(tranche)
        if year <= ANNOUNCED_UNTIL:
            m_ann = np.where((tranche > 0) & (x_ann < LENGTH), _int_margin(x_ann), np.inf)
            margins[:, t] = np.minimum(margins[:, t], m_ann.min(axis=1))
        pipe = pipe.copy()
        pipe[:, 3:] += due[:, :, None] * _one_hot(d_ann.astype(np.int64), LENGTH, dt)
        arrival = pipe[:, :, 0]
        pipe = np.concatenate([pipe[:, :, 1:], np.zeros((n, N_ROWS, 1), dt)], axis=2)
        cap_cells_before = cap_cells
        cap_cells = cap_cells_before + arrival[:, 3:]
        cap_li = cap_li + arrival[:, :3]
        shock_on = (year >= p["supply_shock_year"]) & (year < p["supply_shock_year"] + p["supply_shock_duration"])
        mine_cap = cap_li[:, 0] * (1.0 - p["supply_shock_fraction"] * shock_on)

        # demand and chemistry, reacting to last year's lithium price
        lpr = np.log(price_prev) - np.log(_anchor(p, tf - 1.0))
        dem, shock = _demand(p, tf, shock, _slot(z, NORMAL_OFFSETS, "demand"), lpr)
        seg_total = dem.sum(axis=2)
        d_region = dem.sum(axis=1)
        d_total = seg_total.sum(axis=1)
        mix = np.einsum("ns,nsc->nc", seg_total, _chemistry_shares(p, tf, lpr)) / d_total[:, None]
        intensity = p["lithium_intensity"] * np.exp(-p["lithium_intensity_decline"] * (tf + 1.0))[:, None]
        li_per_gwh = (intensity * mix).sum(axis=1)

        # ramp-up: scrap and yields
        floor = p["scrap_floor"]
        learned = floor + (scrap - floor) * np.exp(-p["scrap_learning_rate"] * util_cells)
        new_cap = arrival[:, 3:]
        mixed = (cap_cells_before * learned + new_cap * p["scrap_new_plant"]) / np.maximum(cap_cells_before + new_cap, 1e-9)
        scrap = np.clip(mixed, 0.0, 0.99)
        yld = 1.0 - scrap

        # costs and regional supply
        u_now = p["cost_noise_sd"] * _slot(z, NORMAL_OFFSETS, "cost")
        nu = nu + u_now + p["cost_noise_autocorrelation"][:, None] * u_prev
        b_dev = b_dev + p["conversion_learning_drift"] * _slot(z, NORMAL_OFFSETS, "drift")
        cell = _cell_costs(p, q, nu + log_dev, price_prev, intensity, yld)
        q0 = p["cumulative_production_start"]
        pack_factor = _learning_factor(q.sum(axis=1), q0.sum(axis=1), p["pack_learning_exponent"])
        pack = cell + (p["pack_overhead_start"] * pack_factor[:, None])[:, :, None]
        end, span = p["production_credit_end_year"], p["production_credit_phase_out"]
        frac = np.clip((end - year) / np.maximum(span, 1.0), 0.0, 1.0)
        frac = np.where(span <= 0, (year < end).astype(dt), frac)
        credit = p["production_credit"] * frac
        landed = cell[:, CN : CN + 1, :] * (1.0 + p["import_tariff"][:, :, None]) + p["transport_cost"][:, None, None]
        landed[:, CN] = cell[:, CN]
        domestic_avg = np.einsum("nrc,nc->nr", cell - credit[:, :, None], mix)
        landed_avg = np.einsum("nrc,nc->nr", landed, mix)
        prod, import_share, cell_gap = _allocate(p, d_region, cap_cells, yld, domestic_avg, landed_avg)

        # lithium balance
        gross = prod / yld
        li_dem = gross.sum(axis=1) * li_per_gwh / 1e3 + p["non_battery_lithium_demand"] * np.exp(
            p["non_battery_lithium_growth"] * (tf + 1.0)
        )
        retired = (hist * pmf).sum(axis=1)
        c0, c1 = p["collection_rate_start"], p["collection_rate_long_run"]
        collection = c1 + (c0 - c1) * np.exp(-(tf + 1.0) / p["collection_rate_timescale"])
        eol = retired * p["retired_lithium_intensity"] * collection
        scrap_li = (gross - prod).sum(axis=1) * li_per_gwh * p["scrap_collection_rate"]
        recov = (eol + scrap_li) * p["recovery_rate"] / 1e3
        rec_cap = cap_li[:, 2] * maxu[:, RECYCLING]
        recycled = np.minimum(recov, rec_cap)
        need = np.maximum(li_dem - recycled, 0.0)
        mine_out = np.minimum(np.maximum(need, p["min_mine_utilization"] * mine_cap), maxu[:, MINING] * mine_cap)
        refined = np.minimum(mine_out, cap_li[:, 1] * maxu[:, REFINING])
        supply = refined + recycled
        shortage = np.clip(1.0 - supply / li_dem, 0.0, 1.0)
        prod = prod * (1.0 - shortage)[:, None]
        gross = prod / yld
        capability = np.minimum(mine_cap * maxu[:, MINING], cap_li[:, 1] * maxu[:, REFINING]) + recycled
        tight = np.clip(np.log(li_dem / np.maximum(capability, 1e-6)), -1.0, 1.0)

        # lithium price and boom regime: twelve monthly steps; annual parameters -> monthly
        k = np.maximum(p["price_reversion"], 1e-6)
        phi = (1.0 - k) ** (1.0 / 12.0)
        k_m = 1.0 - phi
        s_m = p["price_volatility"] * np.sqrt((1.0 - phi**2) / (1.0 - phi**24))
        d_m = p["boom_drift"] * k_m / k
        enter = 1.0 - (1.0 - expit(p["boom_entry_logit"] + p["boom_entry_tightness"] * np.maximum(tight, 0.0))) ** (1.0 / 12.0)
        stay = (1.0 - p["boom_exit_probability"]) ** (1.0 / 12.0)
        target_premium = p["tightness_premium"] * tight
        u_reg = _slot(u, UNIFORM_OFFSETS, "regime")
        z_price = _slot(z, NORMAL_OFFSETS, "price")
        price_sum = np.zeros(n, dt)
        boom_months = np.zeros(n, dt)
        for j in range(12):
            in_boom = boom > 0.5
            threshold = np.where(in_boom, stay, enter)
            margins[:, t] = np.minimum(margins[:, t], np.abs(u_reg[:, j] - threshold))
            boom = np.where(in_boom, u_reg[:, j] < stay, u_reg[:, j] < enter).astype(dt)
            log_a = np.log(_anchor(p, tf + (j - 5.5) / 12.0))
            room = np.clip(1.0 - (log_price - log_a) / np.log(p["boom_ceiling"]), 0.0, 1.0)
            log_price = (
                log_price
                + k_m * (log_a + target_premium - log_price)
                + d_m * boom * room
                + s_m * z_price[:, j]
            )
            price_sum = price_sum + np.exp(log_price)
            boom_months = boom_months + boom
        price_year = price_sum / 12.0
        boom_share = boom_months / 12.0
        q_new = q + prod.sum(axis=1)[:, None] * mix
        log_dev = log_dev - b_dev * np.log(q_new / q)
        q = q_new
        util_cells = gross / np.maximum(cap_cells, 1e-9)

        # investment: expectations, desired capacity, orders into the pipeline
        m = p["growth_memory"]
        g_cells = m * g_cells + (1 - m) * np.log(d_total / d_prev)
        g_li = m * g_li + (1 - m) * np.log(li_dem / li_prev)
        horizon = p["lead_time_median"]
        bias = p["expected_growth_bias"]
        price_ratio = price_year / _anchor(p, tf)
        sens = p["investment_price_sensitivity"]
        resp = p["investment_response"]
        remaining = tranche * max(ANNOUNCED_UNTIL - year, 0.0)
        served = d_region * (1.0 - import_share)
        served[:, CN] += (d_region * import_share).sum(axis=1) - d_region[:, CN] * import_share[:, CN]
        desired_cells = (
            served * np.exp(g_cells * bias[:, CELLS] * horizon[:, CELLS])[:, None] / (tgt[:, CELLS][:, None] * yld)
        )
        committed = cap_cells + pipe[:, 3:].sum(axis=2) + remaining
        advantage = np.exp(sens[:, CELLS][:, None] * np.log(landed_avg / np.maximum(domestic_avg, 1e-6)))
        orders_cells = resp[:, CELLS][:, None] * np.maximum(desired_cells - committed, 0.0) * advantage
        primary_frac = refined / np.maximum(supply, 1e-9)

        def lithium_orders(stage, row, base):
            desired = base * np.exp(g_li * bias[:, stage] * horizon[:, stage]) / tgt[:, stage]
            gap = np.maximum(desired - (cap_li[:, row] + pipe[:, row].sum(axis=1)), 0.0)
            factor = np.clip(price_ratio ** sens[:, stage], 1.0 / MAX_PRICE_FACTOR, MAX_PRICE_FACTOR)
            return np.minimum(resp[:, stage] * gap * factor, gap)

        orders = np.concatenate(
            [
                np.stack(
                    [
                        lithium_orders(MINING, 0, li_dem * primary_frac),
                        lithium_orders(REFINING, 1, li_dem * primary_frac),
                        lithium_orders(RECYCLING, 2, recov),
                    ],
                    axis=1,
                ),
                orders_cells,
            ],
            axis=1,
        )
        median = p["lead_time_median"][:, st, None]
        sigma = p["lead_time_sigma"][:, st, None]
        lmax = p["lead_time_max"][:, st, None]
        z_lead = _slot(z, NORMAL_OFFSETS, "lead").reshape(n, N_ROWS, P)
        u_delay = _slot(u, UNIFORM_OFFSETS, "delay").reshape(n, N_ROWS, P)
        u_extra = _slot(u, UNIFORM_OFFSETS, "extra").reshape(n, N_ROWS, P)
        u_cancel = _slot(u, UNIFORM_OFFSETS, "cancel").reshape(n, N_ROWS, P)
        x_lead = median * np.exp(sigma * z_lead)
        lead = np.clip(np.round(x_lead), 1.0, np.maximum(lmax, 1.0))
        delayed = u_delay < p["delay_probability"][:, st, None]
        x_extra = -p["delay_mean"][:, st, None] * np.log(u_extra)
        extra = np.where(delayed, np.ceil(x_extra), 0.0)
        years = np.clip(lead + extra, 1.0, LENGTH)
        keep = (u_cancel >= p["cancel_probability"][:, st, None]).astype(dt)
        share = (orders[:, :, None] / P) * keep
        pipe = pipe + np.einsum("nrp,nrpl->nrl", share, _one_hot(years.astype(np.int64) - 1, LENGTH, dt))
        if return_margins:
            live = share > 0
            in_range = (x_lead > 0.5) & (x_lead < np.maximum(lmax, 1.0) + 0.5)
            m_lead = np.where(live & in_range, _half_margin(x_lead), np.inf)
            m_extra = np.where(live & delayed & (lead + x_extra < LENGTH + 1), _int_margin(x_extra), np.inf)
            mm = np.minimum(m_lead, m_extra).reshape(n, -1).min(axis=1)
            margins[:, t] = np.minimum(margins[:, t], mm)

        cap_sum = cap_cells.sum(axis=1)
        step_out = dict(
            demand=dem,
            chemistry_share=mix,
            capacity=np.stack([cap_li[:, 0], cap_li[:, 1], cap_sum, cap_li[:, 2]], axis=1),
            production=np.stack([mine_out, refined, prod.sum(axis=1), recycled], axis=1),
            utilization=np.stack(
                [
                    mine_out / np.maximum(cap_li[:, 0], 1e-9),
                    refined / np.maximum(cap_li[:, 1], 1e-9),
                    gross.sum(axis=1) / np.maximum(cap_sum, 1e-9),
                    recycled / np.maximum(cap_li[:, 2], 1e-9),
                ],
                axis=1,
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
            cost_gap=cell - credit[:, :, None] - landed,
            cell_cost_average=(prod * np.einsum("nrc,nc->nr", cell, mix)).sum(axis=1) / np.maximum(prod.sum(axis=1), 1e-9),
            pack_cost_average=(prod * np.einsum("nrc,nc->nr", pack, mix)).sum(axis=1) / np.maximum(prod.sum(axis=1), 1e-9),
            scrap_rate=scrap,
            recycled_share=recycled / np.maximum(supply, 1e-9),
            retired_batteries=retired,
        )
        for name in OUTPUT_NAMES:
            out[name].append(step_out[name])

        # end of year: retirements and closures, then remember this year
        cap_li = cap_li * (1.0 - p["capacity_retirement"][:, LI_STAGES])
        closure = p["capacity_retirement"][:, CELLS][:, None] + p["cell_closure_rate"][:, None] * np.maximum(
            tgt[:, CELLS][:, None] - util_cells, 0.0
        )
        cap_cells = cap_cells * (1.0 - np.clip(closure, 0.0, 0.5))
        u_prev = u_now
        hist = np.concatenate([prod.sum(axis=1)[:, None], hist[:, :-1]], axis=1)
        d_prev = d_total
        li_prev = li_dem
        price_prev = price_year

    result = {name: np.stack(v, axis=1) for name, v in out.items()}
    if return_margins:
        return result, margins
    return result


def tie_years(margins, tol=1e-5):
    """First year index per draw whose margin is below ``tol`` (n_years where none is):
    from that year on, float32 and float64 may take different discrete branches."""
    near = margins < tol
    return np.where(near.any(axis=1), near.argmax(axis=1), margins.shape[1])


# --------------------------------------------------------------------------- inputs


class Inputs(NamedTuple):
    params: dict
    normals: np.ndarray
    uniforms: np.ndarray
    history: np.ndarray
    start_year: int


@lru_cache(maxsize=8)
def _input_generator(struct: tuple, n_years: int, dtype_name: str):
    """One jitted generator per (prior structure, horizon, dtype); seed and draw indices are
    arguments, so new seeds or scenarios with the same structure do not recompile."""
    import jax
    import jax.numpy as jnp

    from mcbattery.engine.sampling import make_sampler

    dt = jnp.dtype(dtype_name)
    sampler = make_sampler(struct, dt)

    @jax.jit
    def gen(base_key, indices, fields):
        def one(i):
            kp, kn, ku = jax.random.split(jax.random.fold_in(base_key, i), 3)
            params = sampler(kp, fields)
            normals = jax.random.normal(kn, (n_years, N_NORMALS), dt)
            uniforms = jax.random.uniform(ku, (n_years, N_UNIFORMS), dt, minval=1e-7, maxval=1.0)
            return params, normals, uniforms

        return jax.vmap(one)(indices)

    return gen


def sample_inputs(priors, n: int, seed: int, *, first: int = 0, end_year: int = 2040, dtype="float32") -> Inputs:
    """The parameters and random numbers the engine uses for draws ``first .. first+n-1``.

    Mirrors ``engine.make_kernel``'s ``one``: key = fold_in(PRNGKey(seed), i); (kp, kn, ku) =
    split(key, 3); params = make_sampler(structure(priors))(kp, prior_fields(priors));
    normals ~ N(0, 1) (years, N_NORMALS); uniforms ~ U[1e-7, 1) (years, N_UNIFORMS).
    Uses ``jax.random`` for this input generation only; returns NumPy arrays.
    """
    import jax
    import jax.numpy as jnp

    from mcbattery.engine.kernel import deployment_history
    from mcbattery.engine.sampling import prior_fields, structure

    dt = jnp.dtype(dtype)
    start_year = int(round(float(priors["start_year"].fields["value"])))
    n_years = end_year - start_year + 1
    gen = _input_generator(structure(priors), n_years, dt.name)
    indices = jnp.arange(first, first + n, dtype=jnp.int32)
    params, normals, uniforms = gen(jax.random.PRNGKey(seed), indices, prior_fields(priors, dt))
    params = {k: np.asarray(v) for k, v in params.items()}
    history = np.asarray(jnp.asarray(deployment_history(start_year), dt))
    return Inputs(params, np.asarray(normals), np.asarray(uniforms), history, start_year)


def _sampler_draw_counts(struct, dtype):
    """How many uniforms ("u") and gamma variates ("g") one draw of ``make_sampler(struct)``
    consumes and the gamma shape function, as the sampler declares them; and whether it draws
    the posterior-row uniform."""
    from mcbattery.engine.sampling import make_sampler

    sample = make_sampler(struct, dtype)
    counts = {"u": sample.n_uniform, "g": sample.n_gamma}
    gamma_shapes = sample.gamma_shapes
    row_uniform = any(dist == "empirical" for _, dist, _ in struct)
    return counts, gamma_shapes, row_uniform


def rng_bound_fn(priors, n_years: int, dtype="float32", block: int = 256):
    """A jitted ``f(base_key, first, n_blocks, fields) -> scalar`` that generates exactly the
    random numbers draws ``first .. first + n_blocks * block - 1`` consume: the sampler's
    uniform (and, in older layouts, normal) block, its gamma variates (with the sampler's own
    gamma generator, ``sampling.gamma_variates`` when it has one), the posterior-row uniform if
    any, and the per-year normals and uniforms. Laid out like the engine (a loop over blocks of
    ``block`` draws, vmapped inside) and reduced to one number so nothing can be skipped."""
    import jax
    import jax.numpy as jnp

    from mcbattery.engine import sampling
    from mcbattery.engine.sampling import structure

    dt = jnp.dtype(dtype)
    counts, gamma_shapes, row_uniform = _sampler_draw_counts(structure(priors), dt)
    gamma = getattr(sampling, "gamma_variates", None)
    if gamma is None:

        def gamma(key, alpha):
            return jax.random.gamma(key, alpha, dtype=dt)

    def one(i, base_key, fields):
        kp, kn, ku = jax.random.split(jax.random.fold_in(base_key, i), 3)
        kz, kuu, kg = jax.random.split(kp, 3)
        s = jnp.zeros((), dt)
        if counts.get("z", 0):
            s += jax.random.normal(kz, (counts["z"],), dt).sum()
        s += jax.random.uniform(kuu, (max(counts.get("u", 0), 1),), dt, minval=1e-7, maxval=1 - 1e-7).sum()
        if counts.get("g", 0):
            s += gamma(kg, gamma_shapes(fields).astype(dt)).sum()
        if row_uniform:
            s += jax.random.uniform(jax.random.fold_in(kp, 0x5EED), (), dt)
        s += jax.random.normal(kn, (n_years, N_NORMALS), dt).sum()
        s += jax.random.uniform(ku, (n_years, N_UNIFORMS), dt, minval=1e-7, maxval=1.0).sum()
        return s

    @jax.jit
    def f(base_key, first, n_blocks, fields):
        def body(b, acc):
            idx = first + b * block + jnp.arange(block, dtype=jnp.int32)
            return acc + jax.vmap(one, in_axes=(0, None, None))(idx, base_key, fields).sum()

        return jax.lax.fori_loop(0, n_blocks, body, jnp.zeros((), dt))

    return f


__all__ = ["simulate_numpy", "sample_inputs", "tie_years", "rng_bound_fn", "Inputs", "OUTPUT_NAMES"]
