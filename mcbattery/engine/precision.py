"""Stop-when-precise: Monte Carlo standard errors of running summaries, and a stopping rule.

Targets name summary statistics: ``"<output>_mean"`` (MCSE = sd / sqrt(n)),
``"<output>_exceedance"`` (sqrt(p (1 - p) / n) for each threshold) and
``"<output>_quantile"`` (sqrt(q (1 - q) / n) / f(x_q) at q = 0.05, 0.5, 0.95, with the density
f read from the fixed-grid histogram). The worst element over years and coordinates counts.
"""

from __future__ import annotations

import numpy as np

from mcbattery.common.errors import InputError
from mcbattery.model.outputs import BINS, OUTPUTS, edges

QUANTILE_LEVELS = (0.05, 0.5, 0.95)
STATS = ("mean", "exceedance", "quantile")


def parse_targets(targets: dict[str, float] | None) -> dict[tuple[str, str], float]:
    """Validate ``{"material_price_mean": 50.0, ...}`` into ``{(output, stat): target}``."""
    out = {}
    for key, value in (targets or {}).items():
        stat = next((s for s in STATS if key.endswith("_" + s)), None)
        name = key[: -len(stat) - 1] if stat else key
        if stat is None or name not in OUTPUTS:
            raise InputError(f"expected '<output>_mean', '<output>_exceedance' or '<output>_quantile' with an output of {sorted(OUTPUTS)}", field=f"target_mcse.{key}")
        if stat == "exceedance" and not OUTPUTS[name].thresholds:
            raise InputError("this output has no exceedance thresholds", field=f"target_mcse.{key}")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value) or value <= 0:
            raise InputError(f"expected a positive number, got {value!r}", field=f"target_mcse.{key}")
        out[(name, stat)] = float(value)
    return out


def achieved(acc, layout, targets: dict[tuple[str, str], float]) -> dict[str, float]:
    """Worst-element Monte Carlo standard error of each targeted statistic so far."""
    n = max(acc.count, 1)
    res = {}
    exceed_start = _exceed_offsets(layout)
    for (name, stat), _ in targets.items():
        sl = layout.slices[name]
        if stat == "mean":
            sd = np.sqrt(np.maximum(acc.m2[sl], 0.0) / max(acc.count - 1, 1))
            res[f"{name}_mean"] = float(np.max(sd) / np.sqrt(n))
        elif stat == "exceedance":
            a, b = exceed_start[name]
            p = acc.exceed[a:b] / n
            res[f"{name}_exceedance"] = float(np.max(np.sqrt(p * (1 - p) / n)))
        else:
            res[f"{name}_quantile"] = float(np.max(_quantile_mcse(acc, sl, OUTPUTS[name], n)))
    return res


def _quantile_mcse(acc, sl, spec, n):
    hist = acc.hist[sl][:, 1:-1].astype(np.float64)
    e = edges(spec)
    width = np.diff(e)
    cum = np.cumsum(acc.hist[sl], axis=1)[:, :-2] / n
    worst = np.zeros(hist.shape[0])
    for q in QUANTILE_LEVELS:
        b = np.clip((cum < q).sum(axis=1), 0, BINS - 1)
        density = hist[np.arange(hist.shape[0]), b] / (n * width[b])
        # a spike (all mass in one bin) has no sampling error beyond the bin
        se = np.where(density > 0, np.sqrt(q * (1 - q) / n) / np.maximum(density, 1e-300), 0.0)
        worst = np.maximum(worst, np.minimum(se, e[-1] - e[0]))
    return worst


def _exceed_offsets(layout) -> dict[str, tuple[int, int]]:
    out, k = {}, 0
    thresholds = dict(layout.thresholds)
    for name in layout.names:  # the engine lays threshold columns out in output order
        thr = thresholds.get(name, ())
        size = layout.slices[name].stop - layout.slices[name].start
        out[name] = (k, k + size * len(thr))
        k += size * len(thr)
    return out


def stopping_rule(targets: dict[tuple[str, str], float], min_draws: int = 4096):
    """``stop(acc, layout)`` for :func:`mcbattery.engine.run`: True once every target is met."""

    def stop(acc, layout) -> bool:
        if acc.count < min_draws:
            return False
        got = achieved(acc, layout, targets)
        return all(got[f"{name}_{stat}"] <= t for (name, stat), t in targets.items())

    return stop
