"""Which parameters make draws invalid (non-finite outputs).

The kernel only counts invalid draws; the run loop notes the chunks they fell in. Here the
first of them are found again on the host (same seed and draw indices, same random numbers:
:mod:`mcbattery.engine.direct`), and each parameter of each invalid draw is replaced in turn
by a reference value (the same draw's value under the unshifted priors of the same folder, or a
valid draw's): the parameters whose replacement makes the draw finite produced it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mcbattery.engine.direct import sample_draws, simulate_draws

BATCH = 512  # rows per host simulation (one compiled shape)
EXAMINE = 16  # invalid draws examined
SEARCH = 16 * BATCH  # draws re-simulated at most to find them


@dataclass
class Diagnosis:
    outputs: list[str] = field(default_factory=list)  # outputs with non-finite values, most frequent first
    parameters: list[tuple[str, int]] = field(default_factory=list)  # (name, draws it restores), most first
    examined: int = 0


def _batched(fn, rows: int, *arrays):
    """Call ``fn`` on BATCH-row slices (the last one padded) and join the results."""
    parts = []
    for s in range(0, rows, BATCH):
        sl = [{k: v[s : s + BATCH] for k, v in a.items()} if isinstance(a, dict) else a[s : s + BATCH] for a in arrays]
        m = min(BATCH, rows - s)
        pad = [_pad(a, BATCH - m) for a in sl]
        parts.append({k: v[:m] for k, v in fn(*pad).items()})
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def _pad(a, n):
    if isinstance(a, dict):
        return {k: _pad(v, n) for k, v in a.items()}
    return np.concatenate([a, np.repeat(a[-1:], n, axis=0)]) if n else a


def _bad_rows(outputs: dict[str, np.ndarray]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    per = {k: ~np.isfinite(v.reshape(v.shape[0], -1)).all(axis=1) for k, v in outputs.items()}
    return np.logical_or.reduce(list(per.values())), per


def diagnose_invalid(priors, result, dtype: str = "float32") -> Diagnosis:
    """Find up to EXAMINE invalid draws of ``result`` (a :class:`RunResult` whose
    ``extra["invalid_chunks"]`` lists ``(start, n)``) and the parameters that produced them."""
    from mcbattery.inputs.priors import load_priors

    start_year, end_year = int(result.layout.years[0]), int(result.layout.years[-1])
    seed = result.seed

    def simulate(params, idx):
        return simulate_draws(params, idx, seed, start_year, end_year, dtype)

    found, params, per_output, reference = [], None, {}, None
    searched = 0
    for start, n in result.extra.get("invalid_chunks", []):
        for s in range(start, start + n, BATCH):
            if len(found) >= EXAMINE or searched >= SEARCH:
                break
            idx = np.arange(s, min(s + BATCH, start + n))
            searched += len(idx)
            p = _batched(lambda i: sample_draws(priors, i, seed, dtype), len(idx), idx)
            bad, per = _bad_rows(_batched(simulate, len(idx), p, idx))
            if reference is None and (~bad).any():
                j = int(np.argmax(~bad))
                reference = {k: v[j] for k, v in p.items()}
            take = np.flatnonzero(bad)[: EXAMINE - len(found)]
            if take.size:
                found.extend(idx[take].tolist())
                sub = {k: v[take] for k, v in p.items()}
                params = sub if params is None else {k: np.concatenate([params[k], sub[k]]) for k in sub}
                for k, rows in per.items():
                    per_output[k] = per_output.get(k, 0) + int(rows[take].sum())
    if not found:
        return Diagnosis()
    idx = np.asarray(found)
    k = len(found)
    outputs = [name for name, c in sorted(per_output.items(), key=lambda t: -t[1]) if c]
    counts: dict[str, int] = {}
    for name, v in params.items():  # a parameter that is itself not finite needs no test
        rows = ~np.isfinite(v.reshape(k, -1)).all(axis=1)
        if rows.any():
            counts[name] = int(rows.sum())
    try:  # reference values: the same draws under the unshifted priors of the same folder
        base = load_priors(priors.directory)
        ref = _batched(lambda i: sample_draws(base, i, seed, dtype), k, idx)
    except Exception:  # noqa: BLE001 - a folder that no longer reads: fall back to a valid draw
        ref = None
    if ref is None and reference is not None:
        ref = {name: np.repeat(v[None], k, axis=0) for name, v in reference.items()}
    names = [n for n in params if n not in counts and ref is not None and n in ref and not np.array_equal(params[n], ref[n])]
    if names:
        trial = {n: np.concatenate([ref[n] if n == m else params[n] for m in names]) for n in params}
        bad, _ = _bad_rows(_batched(simulate, k * len(names), trial, np.tile(idx, len(names))))
        restored = (~bad).reshape(len(names), k).sum(axis=1)
        counts.update({n: int(c) for n, c in zip(names, restored) if c})
    ranked = sorted(counts.items(), key=lambda t: (-t[1], t[0]))
    return Diagnosis(outputs=outputs, parameters=ranked, examined=k)
