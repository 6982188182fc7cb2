"""Recycling: retirements of past deployments, collection and recovery, and secondary
lithium supply limited by lead-timed recycling capacity (mechanism 17)."""

from __future__ import annotations

from mcbattery.model import ops

HISTORY = 32  # years of deployments remembered


def retirement_pmf(p):
    """Probability that a battery deployed in year y retires in year y + a, a = 1..HISTORY.

    Lifetime ~ Weibull(shape, mean); a fraction goes to second life first, which delays its
    retirement by ``second_life_years`` (rounded).
    """
    xp = ops.xp(p.battery_lifetime_shape)
    nb = ops.batch_ndim(p.battery_lifetime_shape)
    k = p.battery_lifetime_shape
    scale = p.battery_lifetime_mean / xp.exp(ops.gammaln(1.0 + 1.0 / k))
    ages = ops.expand(xp.arange(HISTORY + 1, dtype=k.dtype), nb)
    cdf = 1.0 - xp.exp(-((ages / scale) ** k))
    pmf = xp.diff(cdf, axis=0)
    shift = xp.round(p.second_life_years).astype(xp.int32)
    idx = ops.expand(xp.arange(HISTORY), nb)
    lag = xp.clip(idx - shift, 0, HISTORY - 1)
    delayed = xp.where(idx >= shift, pmf[lag] if nb == 0 else xp.take_along_axis(pmf, lag, axis=0), 0.0)
    f = p.second_life_fraction
    return (1.0 - f) * pmf + f * delayed


def collection_rate(p, t):
    """Share of retired batteries entering formal recycling in year index ``t``."""
    c0, c1 = p.collection_rate_start, p.collection_rate_long_run
    return c1 + (c0 - c1) * ops.xp(c0).exp(-(t + 1.0) / p.collection_rate_timescale)


def recoverable(p, t, history, pmf, scrap_gwh, intensity_avg):
    """Lithium recoverable this year, kt LCE: end-of-life batteries plus factory scrap.

    history: deployments (GWh) 1, 2, ... years ago; scrap_gwh: cells scrapped this year (GWh);
    intensity_avg: t LCE per GWh of this year's cells.
    """
    retired_gwh = ops.dot(history, pmf)
    eol = retired_gwh * p.retired_lithium_intensity * collection_rate(p, t)
    scrap = scrap_gwh * intensity_avg * p.scrap_collection_rate
    return (eol + scrap) * p.recovery_rate / 1e3, retired_gwh


def push_history(history, deployed):
    """Shift the deployment buffer one year and put this year's deployments first."""
    return ops.xp(history).concatenate([deployed[None], history[:-1]])
