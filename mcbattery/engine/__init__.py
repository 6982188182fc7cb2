"""The Monte Carlo engine: sampling, the jitted kernel, the chunked run loop with streaming
statistics, devices and hosts.

A draw's randomness is ``fold_in(PRNGKey(seed), draw_index)`` and draws are always computed
in blocks of :data:`BLOCK` merged along one fixed binary tree, so summaries are bit-identical
for any chunk size and device count.

Modules: :mod:`~mcbattery.engine.sampling` (priors -> parameters per draw),
:mod:`~mcbattery.engine.layout` (outputs -> flat columns), :mod:`~mcbattery.engine.kernel`
(simulate and reduce blocks on a device), :mod:`~mcbattery.engine.runner` (chunks, devices,
host merge), :mod:`~mcbattery.engine.streaming` (Chan's moment merge, the accumulator),
:mod:`~mcbattery.engine.precision` (Monte Carlo errors, stopping rules),
:mod:`~mcbattery.engine.direct` (the model on given parameters and draw indices, in batches),
:mod:`~mcbattery.engine.devices` and :mod:`~mcbattery.engine.hosts` (multi-host runs).
"""

import importlib

# Loaded on first use, so that ``mcbattery.engine.devices`` can configure JAX before it starts.
_LAZY = {
    "BLOCK": "kernel",
    "GROUP": "kernel",
    "RunResult": "runner",
    "chunk_draws": "runner",
    "run": "runner",
    "sample_draws": "direct",
    "sample_params": "direct",
    "sample_rows": "direct",
    "simulate_draws": "direct",
    "simulate_params": "direct",
    "simulate_rows": "direct",
    "x64": "direct",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(f"mcbattery.engine.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'mcbattery.engine' has no attribute {name!r}")
