"""The JAX model against an independent NumPy re-implementation (benchmarks/numpy_model.py).

1. Draw by draw: identical parameters and random numbers (those the engine uses for draws
   0..N-1) through ``jax.vmap(model.simulate)`` (float32) and ``simulate_numpy`` (float64)
   give the same outputs to float32 accuracy.
2. In distribution: medians and 90 % quantiles of NumPy draws of one seed and JAX draws of
   another agree within Monte Carlo error.

Tolerance. |jax - numpy| <= RTOL * |numpy| + ATOL * max|numpy over the output|. Typical
differences are 1e-7..1e-5 relative; the widest seen (8,192 to 16,384 draws per scenario) is
2e-3 relative, in recycling capacity and utilisation of draws whose capacity orders are a small
difference of two large numbers (desired minus committed capacity) multiplied by a large
price-ratio factor. A float32 NumPy run differs from float64 there by the same order, so it is
float32 conditioning, not a modelling difference. RTOL = 1e-3 covers 64 draws with room.

Ties. Lead times are rounded, announcement and project delays floored / ceiled, and the boom
regime switches where a uniform crosses a computed probability. float32 and float64 can land on
opposite sides of such a branch point and then legitimately follow different paths.
``simulate_numpy`` reports, per draw and year, how close any live branch quantity came to its
branch point; a draw that disagrees is excused only if it came within 1e-5 of a branch point
and agrees in every year before that one, and at most two draws may be excused. (None needed
excusing in 8,192 draws per scenario when this was written, although about 1.5 % of draws
come within 1e-5 of a branch point.)
"""

from __future__ import annotations

import sys
from functools import lru_cache
from pathlib import Path

import jax
import numpy as np
import pytest

from mcbattery.model import simulate as model
from mcbattery.inputs.priors import load_scenario

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from numpy_model import OUTPUT_NAMES, sample_inputs, simulate_numpy, tie_years  # noqa: E402

SCENARIOS = ("baseline", "lithium_supply_shock")
N_DRAWWISE = 64
N_DIST = 512
RTOL = 1e-3
ATOL = 1e-5  # times the output's largest magnitude over the draws
TIE_TOL = 1e-5
MAX_EXCUSED = 2
Z = 4.5  # quantile check: ~2,800 correlated columns x 2 quantiles, so a wide per-column band


@lru_cache(maxsize=1)
def _vmapped():
    return jax.jit(jax.vmap(model.simulate, in_axes=(0, 0, 0, None, None)), static_argnums=4)


def _jax(inp):
    out = _vmapped()(inp.params, inp.normals, inp.uniforms, inp.history, inp.start_year)
    return {k: np.asarray(v) for k, v in out.items()}


def _subset(inp, n):
    return inp._replace(params={k: v[:n] for k, v in inp.params.items()}, normals=inp.normals[:n], uniforms=inp.uniforms[:n])


@lru_cache(maxsize=4)
def _runs(scenario):
    """NumPy and JAX on seed 0 and JAX on seed 1, N_DIST draws each (one compiled shape)."""
    priors = load_scenario(scenario)
    a = sample_inputs(priors, N_DIST, seed=0)
    b = sample_inputs(priors, N_DIST, seed=1)
    ref, margins = simulate_numpy(a.params, a.normals, a.uniforms, a.history, a.start_year, return_margins=True)
    return ref, margins, _jax(a), _jax(b)


def test_outputs_and_shapes_match_the_model():
    assert set(OUTPUT_NAMES) == set(_runs("baseline")[2])
    ref, _, got, _ = _runs("baseline")
    for name in OUTPUT_NAMES:
        assert ref[name].shape == got[name].shape, name


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_draw_by_draw_equal_to_float32_accuracy(scenario):
    ref_all, margins, got_all, _ = _runs(scenario)
    n = N_DRAWWISE
    ref = {k: v[:n] for k, v in ref_all.items()}
    got = {k: v[:n] for k, v in got_all.items()}
    n_years = ref["lithium_price"].shape[1]
    bad_year = np.full(n, n_years)  # first year with a disagreement, per draw
    report = []
    for name in OUTPUT_NAMES:
        a, b = got[name].astype(np.float64), ref[name]
        assert np.all(np.isfinite(a)) and np.all(np.isfinite(b)), name
        tol = RTOL * np.abs(b) + ATOL * np.max(np.abs(b))
        off = (np.abs(a - b) > tol).reshape(n, n_years, -1).any(axis=2)
        for d in np.nonzero(off.any(axis=1))[0]:
            y = int(off[d].argmax())
            bad_year[d] = min(bad_year[d], y)
            i = np.unravel_index(np.argmax(np.abs(a[d, y] - b[d, y]) - tol[d, y]), a.shape[2:])
            report.append(f"{name} draw {d} year {y} {i}: jax {a[d, y][i]:.7g} numpy {b[d, y][i]:.7g}")
    bad = np.nonzero(bad_year < n_years)[0]
    tie = tie_years(margins[:n], TIE_TOL)
    excused = [d for d in bad if tie[d] < n_years and bad_year[d] >= tie[d]]
    unexplained = sorted(set(bad) - set(excused))
    assert not unexplained, "JAX and NumPy disagree:\n" + "\n".join(report[:20])
    assert len(excused) <= MAX_EXCUSED, f"too many draws diverging at a rounding tie: {excused}"


def _quantile_agreement(ref, other, q):
    """Per column: is ``q`` inside [F_ref(x_q) - tol, F_ref(x_q) + tol], x_q the other sample's
    q-quantile, F_ref the reference's empirical CDF taken with and without ties? Values within
    float32 accuracy of x_q count as ties (point masses such as utilisation at its cap sit one
    float32 rounding apart in the two implementations)."""
    n_ref, n_other = ref.shape[0], other.shape[0]
    x = np.quantile(other, q, axis=0, method="inverted_cdf")
    eps = RTOL * np.abs(x) + ATOL * np.max(np.abs(ref), axis=0)
    below = (ref < x - eps).mean(axis=0)
    at_or_below = (ref <= x + eps).mean(axis=0)
    tol = Z * np.sqrt(q * (1 - q) * (1 / n_ref + 1 / n_other)) + 1 / n_ref + 1 / n_other
    return (below - tol <= q) & (q <= at_or_below + tol), below, at_or_below


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_medians_and_90pct_quantiles_agree_across_seeds(scenario):
    ref_all, _, _, other_all = _runs(scenario)
    failures, total = [], 0
    for name in OUTPUT_NAMES:
        r = ref_all[name].reshape(N_DIST, -1).astype(np.float64)
        o = other_all[name].reshape(N_DIST, -1).astype(np.float64)
        for q in (0.5, 0.9):
            ok, lo, hi = _quantile_agreement(r, o, q)
            total += ok.size
            for c in np.nonzero(~ok)[0][:3]:
                failures.append(f"{name} column {c} q={q}: reference CDF at the other's quantile in [{lo[c]:.3f}, {hi[c]:.3f}]")
    assert not failures, f"{len(failures)} of {total} quantiles disagree:\n" + "\n".join(failures[:20])
    # ... and it has power at this sample size: shifts of 10 % (pack cost average) and 25 %
    # (cell costs, lithium demand) are flagged in nearly every column
    for name, factor in (("pack_cost_average", 1.1), ("cell_cost", 1.25), ("lithium_demand", 1.25)):
        r = ref_all[name].reshape(N_DIST, -1)
        o = other_all[name].reshape(N_DIST, -1) * factor
        assert (~_quantile_agreement(r, o, 0.5)[0]).mean() >= 0.9, name
