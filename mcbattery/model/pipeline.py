"""Lead-timed project pipelines shared by every supply stage.

A pipeline row is a vector of capacity due to come online 1, 2, ... years ahead. Each year's
orders are split into projects; every project draws its own lead time (lognormal, rounded,
at least 1 year), may be delayed (probability, then ceil of an exponential number of years)
or cancelled. Arrays are (rows, slots) for one draw, draws last for many.
"""

from __future__ import annotations

from mcbattery.model import ops

PROJECTS_PER_ORDER = 3
LENGTH = 16  # years of pipeline held; later arrivals land in the last slot


def advance(pipe):
    """Pop this year's arrivals (first slot) and shift the rest one year closer."""
    xp = ops.xp(pipe)
    arrival = pipe[:, 0]
    pipe = xp.concatenate([pipe[:, 1:], xp.zeros_like(pipe[:, :1])], axis=1)
    return arrival, pipe


def project_delays(median, sigma, lmax, p_delay, delay_mean, z, u_delay, u_extra):
    """Years until each project is online: rounded lognormal lead time plus optional delay.

    median, sigma, lmax, p_delay, delay_mean broadcast against the project arrays (years).
    """
    xp = ops.xp(z)
    lead = xp.clip(xp.round(median * xp.exp(sigma * z)), 1.0, xp.maximum(lmax, 1.0))
    extra = xp.where(u_delay < p_delay, xp.ceil(-delay_mean * xp.log(u_extra)), 0.0)
    return xp.clip(lead + extra, 1.0, LENGTH)


def schedule(pipe, amount, years, keep):
    """Add ``amount`` (per row) split evenly over projects arriving ``years`` from now.

    pipe: (rows, LENGTH); amount: (rows,); years, keep: (rows, projects), keep in {0, 1}.
    A project due in 1 year goes in slot 0 of the already-advanced pipeline.
    """
    xp = ops.xp(pipe)
    nb = pipe.ndim - 2
    share = (amount[:, None] / years.shape[1]) * keep
    slot = ops.expand(xp.arange(1, LENGTH + 1, dtype=years.dtype), nb)
    # one elementwise term per project (no one_hot, dot or reduction): XLA fuses it into one loop
    for k in range(years.shape[1]):
        pipe = pipe + xp.where(years[:, k][:, None] == slot, share[:, k][:, None], 0.0)
    return pipe
