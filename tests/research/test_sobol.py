"""Tests of mcbattery.sensitivity (Sobol' indices)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import xarray as xr

from mcbattery.research.sobol import saltelli_design, sobol_from_samples, sobol_indices

# --------------------------------------------------------------------------------------
# Ishigami function and its analytic indices
# --------------------------------------------------------------------------------------
#
# f(x) = sin x1 + a sin^2 x2 + b x3^4 sin x1,  x1, x2, x3 iid U(-pi, pi).
#
# Moments of X ~ U(-pi, pi): E[sin X] = 0, E[sin^2 X] = 1/2, E[sin^4 X] = 3/8,
# E[X^4] = pi^4/5, E[X^8] = pi^8/9.
#
# ANOVA (Hoeffding) decomposition, with f0 = E[f] = a/2:
#   f1(x1)     = E[f | x1] - f0 = (1 + b pi^4/5) sin x1
#   f2(x2)     = a (sin^2 x2 - 1/2)
#   f3(x3)     = 0                                     (E[sin x1] = 0)
#   f13(x1,x3) = b (x3^4 - pi^4/5) sin x1                (all other terms vanish)
# Partial variances:
#   V1  = (1 + b pi^4/5)^2 E[sin^2] = (1 + b pi^4/5)^2 / 2
#   V2  = a^2 Var(sin^2 X) = a^2 (3/8 - 1/4) = a^2 / 8
#   V13 = b^2 Var(X^4) E[sin^2] = b^2 (pi^8/9 - pi^8/25) / 2 = 8 b^2 pi^8 / 225
#   V   = V1 + V2 + V13 = 1/2 + a^2/8 + b pi^4/5 + b^2 pi^8/18
# Indices: S = (V1, V2, 0) / V,  ST = (V1 + V13, V2, V13) / V.

A_ISH, B_ISH = 7.0, 0.1
ISH_BOUNDS = [(-np.pi, np.pi)] * 3


def ishigami(X, a=A_ISH, b=B_ISH):
    X = np.asarray(X)
    return np.sin(X[:, 0]) + a * np.sin(X[:, 1]) ** 2 + b * X[:, 2] ** 4 * np.sin(X[:, 0])


def ishigami_analytic(a=A_ISH, b=B_ISH):
    pi4 = np.pi**4
    V1 = 0.5 * (1.0 + b * pi4 / 5.0) ** 2
    V2 = a**2 / 8.0
    V13 = 8.0 * b**2 * pi4**2 / 225.0
    V = 0.5 + a**2 / 8.0 + b * pi4 / 5.0 + b**2 * pi4**2 / 18.0
    assert V == pytest.approx(V1 + V2 + V13, rel=1e-14)
    return np.array([V1, V2, 0.0]) / V, np.array([V1 + V13, V2, V13]) / V


def test_ishigami_closed_forms_by_quadrature():
    # Check the derivation above numerically: Var(E[f|x1]), Var(f) by quadrature.
    a, b = A_ISH, B_ISH
    x, wts = np.polynomial.legendre.leggauss(64)
    x, wts = np.pi * x, wts / 2.0  # nodes/weights of the U(-pi, pi) expectation
    g1 = (1.0 + b * np.sum(wts * x**4)) * np.sin(x)  # E[f | x1] - a/2
    V1 = np.sum(wts * g1**2)
    X1, X2, X3 = np.meshgrid(x, x, x, indexing="ij")
    W = wts[:, None, None] * wts[None, :, None] * wts[None, None, :]
    F = ishigami(np.stack([X1.ravel(), X2.ravel(), X3.ravel()], axis=1)).reshape(X1.shape)
    V = np.sum(W * F**2) - np.sum(W * F) ** 2
    S1, _ = ishigami_analytic()
    assert V1 / V == pytest.approx(S1[0], rel=1e-10)


@pytest.mark.parametrize("log2n, tol", [(10, 0.06), (13, 0.025)])
def test_ishigami_against_analytic(log2n, tol):
    S1, ST = ishigami_analytic()
    ds = sobol_indices(ishigami, ISH_BOUNDS, 2**log2n, seed=0, names=["x1", "x2", "x3"])
    assert isinstance(ds, xr.Dataset)
    assert list(ds.input.values) == ["x1", "x2", "x3"]
    np.testing.assert_allclose(ds.S1.values, S1, atol=tol)
    np.testing.assert_allclose(ds.ST.values, ST, atol=tol)
    # the 95% bootstrap intervals cover the true values
    assert np.all(ds.S1_low.values <= S1) and np.all(S1 <= ds.S1_high.values)
    assert np.all(ds.ST_low.values <= ST) and np.all(ST <= ds.ST_high.values)
    assert np.all(ds.S1_low <= ds.S1) and np.all(ds.S1 <= ds.S1_high)
    assert ds.attrs["n"] == 2**log2n
    assert ds.attrs["n_evaluations"] == 2**log2n * (3 + 2)
    assert ds.attrs["seed"] == 0 and ds.attrs["level"] == 0.95


def test_intervals_shrink_with_n():
    width = []
    for log2n in (9, 13):
        ds = sobol_indices(ishigami, ISH_BOUNDS, 2**log2n, seed=3)
        width.append(float((ds.ST_high - ds.ST_low).max()))
    assert width[1] < width[0] / 2


def test_ishigami_second_order():
    # the only interaction is x1-x3: S13 = V13 / V, S12 = S23 = 0
    S1, ST = ishigami_analytic()
    ds = sobol_indices(ishigami, ISH_BOUNDS, 2**13, seed=0, second_order=True)
    assert ds.attrs["n_evaluations"] == 2**13 * (2 * 3 + 2)
    S2 = ds.S2.values
    assert np.all(np.isnan(np.diag(S2)))
    np.testing.assert_array_equal(S2, S2.T)
    assert S2[0, 2] == pytest.approx(ST[2], abs=0.05)
    assert abs(S2[0, 1]) < 0.05 and abs(S2[1, 2]) < 0.05
    assert ds.S2_low.values[0, 2] <= ST[2] <= ds.S2_high.values[0, 2]


# --------------------------------------------------------------------------------------
# SALib on the same samples
# --------------------------------------------------------------------------------------


def _salib_split(X, Y, d, second_order):
    """Split SALib's row layout into our (A, B, AB[, BA]) outputs.

    SALib stacks, for each base sample, the rows A, AB^(1..d), [BA^(1..d)], B.
    """
    step = 2 * d + 2 if second_order else d + 2
    Yr = Y.reshape(-1, step)
    Xr = X.reshape(-1, step, d)
    fA, fB = Yr[:, 0], Yr[:, -1]
    fAB = Yr[:, 1 : d + 1].T
    fBA = Yr[:, d + 1 : 2 * d + 1].T if second_order else None
    # sanity: the rows really are A_B^(i) (column i from B, the rest from A)
    A, B = Xr[:, 0], Xr[:, -1]
    for i in range(d):
        expect = A.copy()
        expect[:, i] = B[:, i]
        np.testing.assert_array_equal(Xr[:, 1 + i], expect)
    return fA, fB, fAB, fBA


@pytest.mark.parametrize("second_order", [False, True])
def test_matches_salib_on_same_samples(second_order):
    pytest.importorskip("SALib")
    from SALib.analyze import sobol as salib_sobol
    from SALib.sample import sobol as salib_sample

    problem = {"num_vars": 3, "names": ["x1", "x2", "x3"], "bounds": ISH_BOUNDS}
    X = salib_sample.sample(problem, 2**10, calc_second_order=second_order, seed=11)
    Y = ishigami(X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        Si = salib_sobol.analyze(
            problem, Y, calc_second_order=second_order, num_resamples=200, seed=5
        )
    fA, fB, fAB, fBA = _salib_split(X, Y, 3, second_order)
    ds = sobol_from_samples(fA, fB, fAB, fBA=fBA, names=problem["names"], seed=5)
    np.testing.assert_allclose(ds.S1.values, Si["S1"], rtol=0, atol=1e-10)
    np.testing.assert_allclose(ds.ST.values, Si["ST"], rtol=0, atol=1e-10)
    if second_order:
        iu = np.triu_indices(3, k=1)
        np.testing.assert_allclose(ds.S2.values[iu], Si["S2"][iu], rtol=0, atol=1e-10)
    # SALib reports a normal-approximation half-width; our percentile intervals
    # come from a different resampling and agree in size only loosely
    half = (ds.ST_high - ds.ST_low).values / 2
    assert np.all(half < 2.5 * Si["ST_conf"]) and np.all(half > Si["ST_conf"] / 2.5)


# --------------------------------------------------------------------------------------
# linear additive model
# --------------------------------------------------------------------------------------


def test_linear_additive_model():
    coef = np.array([1.0, -2.0, 0.5, 3.0])
    bounds = [(0.0, 1.0), (-1.0, 2.0), (10.0, 14.0), (5.0, 5.5)]
    var = np.array([(hi - lo) ** 2 / 12.0 for lo, hi in bounds])
    expected = coef**2 * var / np.sum(coef**2 * var)

    def linear(X):
        return X @ coef + 7.0

    ds = sobol_indices(linear, bounds, 2**12, seed=2)
    np.testing.assert_allclose(ds.S1.values, expected, atol=0.01)
    np.testing.assert_allclose(ds.ST.values, expected, atol=0.01)
    np.testing.assert_allclose(ds.S1.values, ds.ST.values, atol=0.01)
    assert ds.S1.sum() == pytest.approx(1.0, abs=0.01)
    assert np.all(ds.ST_low.values <= expected) and np.all(expected <= ds.ST_high.values)


# --------------------------------------------------------------------------------------
# design and lower-level API
# --------------------------------------------------------------------------------------


def test_saltelli_design_structure():
    bounds = [(0.0, 1.0), (-2.0, 2.0), (100.0, 101.0)]
    n, d = 256, 3
    A, B, AB = saltelli_design(bounds, n, seed=4)
    assert A.shape == B.shape == (n, d) and AB.shape == (d, n, d)
    lo, hi = np.array(bounds).T
    for M in (A, B):
        assert np.all(M >= lo) and np.all(M <= hi)
        # scrambled Sobol' points: each 1-D projection is stratified, one point per cell
        cells = np.floor((M - lo) / (hi - lo) * n).astype(int)
        for j in range(d):
            assert np.array_equal(np.sort(cells[:, j]), np.arange(n))
    for i in range(d):
        expect = A.copy()
        expect[:, i] = B[:, i]
        np.testing.assert_array_equal(AB[i], expect)
    A2, B2, AB2, BA2 = saltelli_design(bounds, n, seed=4, second_order=True)
    np.testing.assert_array_equal(A2, A)
    np.testing.assert_array_equal(AB2, AB)
    for i in range(d):
        expect = B.copy()
        expect[:, i] = A[:, i]
        np.testing.assert_array_equal(BA2[i], expect)


def test_sobol_indices_equals_design_plus_from_samples():
    A, B, AB = saltelli_design(ISH_BOUNDS, 512, seed=9)
    fAB = np.stack([ishigami(m) for m in AB])
    low = sobol_from_samples(ishigami(A), ishigami(B), fAB, seed=9)
    high = sobol_indices(ishigami, ISH_BOUNDS, 512, seed=9)
    for var in ("S1", "ST", "S1_low", "S1_high", "ST_low", "ST_high"):
        np.testing.assert_allclose(high[var].values, low[var].values, rtol=0, atol=1e-12)


def test_multi_output_matches_single_outputs():
    A, B, AB = saltelli_design(ISH_BOUNDS, 256, seed=1)

    def model(X):  # three outputs: Ishigami, a linear model, a year-like scaling
        f = ishigami(X)
        return np.stack([f, X @ np.array([1.0, 2.0, 3.0]), 2.0 * f + X[:, 2]], axis=-1)

    fA, fB = model(A), model(B)
    fAB = np.stack([model(m) for m in AB])
    ds = sobol_from_samples(fA, fB, fAB, output_names=["ish", "lin", "mix"], seed=3)
    assert ds.S1.dims == ("input", "output")
    assert list(ds.output.values) == ["ish", "lin", "mix"]
    for j, name in enumerate(["ish", "lin", "mix"]):
        single = sobol_from_samples(fA[:, j], fB[:, j], fAB[:, :, j])
        for var in ("S1", "ST"):
            np.testing.assert_allclose(
                ds[var].sel(output=name).values, single[var].values, rtol=0, atol=1e-12
            )
    # the same through the high-level function
    hi = sobol_indices(model, ISH_BOUNDS, 256, seed=1)
    assert hi.S1.dims == ("input", "output")


def test_constant_output_is_nan_with_warning():
    n, d = 64, 2
    rng = np.random.default_rng(0)
    fA = np.stack([rng.normal(size=n), np.full(n, 3.0)], axis=1)
    fB = np.stack([rng.normal(size=n), np.full(n, 3.0)], axis=1)
    fAB = np.stack([fA, fB])
    with pytest.warns(UserWarning, match="constant"):
        ds = sobol_from_samples(fA, fB, fAB)
    assert np.all(np.isnan(ds.S1.isel(output=1))) and np.all(np.isnan(ds.ST_high.isel(output=1)))
    assert np.all(np.isfinite(ds.S1.isel(output=0)))


def test_no_bootstrap_gives_nan_intervals():
    ds = sobol_indices(ishigami, ISH_BOUNDS, 128, bootstrap=0)
    assert np.all(np.isfinite(ds.S1)) and np.all(np.isnan(ds.S1_low))


# --------------------------------------------------------------------------------------
# bad inputs
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bounds, match",
    [
        ([(1.0, 0.0), (0.0, 1.0)], "low < high"),
        ([(0.0, 0.0)], "low < high"),
        ([(0.0, np.inf)], "finite"),
        ([(np.nan, 1.0)], "finite"),
        ([(0.0, 1.0, 2.0)], "pairs"),
        ([], "pairs"),
        ([(0.0, 1.0), (0.0,)], "pairs"),
        ("abc", "pairs"),
    ],
)
def test_bad_bounds(bounds, match):
    with pytest.raises(ValueError, match=match):
        sobol_indices(ishigami, bounds, 64)
    with pytest.raises(ValueError, match=match):
        saltelli_design(bounds, 64)


@pytest.mark.parametrize("n", [0, 1, -8, 64.0, "64", True, None])
def test_bad_n(n):
    with pytest.raises(ValueError, match="n"):
        sobol_indices(ishigami, ISH_BOUNDS, n)


def test_n_not_power_of_two_warns_but_works():
    with pytest.warns(UserWarning, match="power of two"):
        ds = sobol_indices(ishigami, ISH_BOUNDS, 100)
    assert ds.attrs["n"] == 100 and ds.attrs["n_evaluations"] == 500


def test_bad_func_output():
    calls = []

    def wrong_length(X):
        calls.append(X.shape)
        return np.zeros(X.shape[0] - 1)

    with pytest.raises(ValueError, match="shape"):
        sobol_indices(wrong_length, ISH_BOUNDS, 64)
    with pytest.raises(ValueError, match="shape"):
        sobol_indices(lambda X: np.zeros((X.shape[0], 2, 2)), ISH_BOUNDS, 64)
    with pytest.raises(ValueError, match="shape"):
        sobol_indices(lambda X: 1.0, ISH_BOUNDS, 64)
    with pytest.raises(ValueError, match="non-finite"):
        sobol_indices(lambda X: np.where(X[:, 0] > 2, np.nan, X[:, 0]), ISH_BOUNDS, 64)
    with pytest.raises(ValueError, match="numeric"):
        sobol_indices(lambda X: ["a"] * X.shape[0], ISH_BOUNDS, 64)
    with pytest.raises(ValueError, match="callable"):
        sobol_indices("ishigami", ISH_BOUNDS, 64)
    assert calls == [(64 * 5, 3)]  # evaluated once, on the whole stacked design


def test_bad_options_fail_before_evaluation():
    def never(X):
        raise AssertionError("func must not be called when the options are invalid")

    bad = [
        dict(bootstrap=-1),
        dict(bootstrap=2.5),
        dict(level=0.0),
        dict(level=1.0),
        dict(level=95),
        dict(names=["a", "b"]),
        dict(names=["a", "a", "b"]),
        dict(names="abc"),
        dict(names=[1, 2, 3]),
        dict(seed=-1),
        dict(seed=1.5),
        dict(batch_size=0),
    ]
    for kwargs in bad:
        with pytest.raises(ValueError):
            sobol_indices(never, ISH_BOUNDS, 64, **kwargs)


def test_bad_sample_shapes():
    n, d = 32, 3
    fA, fB, fAB = np.zeros(n), np.ones(n), np.zeros((d, n))
    with pytest.raises(ValueError, match="fB"):
        sobol_from_samples(fA, np.ones(n + 1), fAB)
    with pytest.raises(ValueError, match="fAB"):
        sobol_from_samples(fA, fB, np.zeros((d, n + 1)))
    with pytest.raises(ValueError, match="fAB"):
        sobol_from_samples(fA, fB, np.zeros(n))
    with pytest.raises(ValueError, match="fA"):
        sobol_from_samples(np.zeros((n, 2, 2)), np.zeros((n, 2, 2)), np.zeros((d, n, 2, 2)))
    with pytest.raises(ValueError, match="fBA"):
        sobol_from_samples(fA, fB, fAB, fBA=np.zeros((d, n - 1)))
    with pytest.raises(ValueError, match="non-finite"):
        sobol_from_samples(fA, np.full(n, np.nan), fAB)
    with pytest.raises(ValueError, match="output_names"):
        sobol_from_samples(fA, fB, fAB, output_names=["y"])


# --------------------------------------------------------------------------------------
# JAX, batching, reproducibility
# --------------------------------------------------------------------------------------


def test_jitted_jax_function():
    jax = pytest.importorskip("jax")
    jnp = jax.numpy

    @jax.jit
    def ishigami_jax(X):
        return (
            jnp.sin(X[:, 0])
            + A_ISH * jnp.sin(X[:, 1]) ** 2
            + B_ISH * X[:, 2] ** 4 * jnp.sin(X[:, 0])
        )

    ref = sobol_indices(ishigami, ISH_BOUNDS, 2**10, seed=0)
    ds = sobol_indices(ishigami_jax, ISH_BOUNDS, 2**10, seed=0)
    # JAX may compute in float32: agreement to single precision
    np.testing.assert_allclose(ds.S1.values, ref.S1.values, atol=1e-4)
    np.testing.assert_allclose(ds.ST.values, ref.ST.values, atol=1e-4)
    batched = sobol_indices(ishigami_jax, ISH_BOUNDS, 2**10, seed=0, batch_size=1000)
    np.testing.assert_allclose(batched.S1.values, ds.S1.values, atol=1e-6)


def test_batches_equal_single_call():
    sizes = []

    def f(X):
        sizes.append(X.shape[0])
        return ishigami(X)

    one = sobol_indices(ishigami, ISH_BOUNDS, 256, seed=6)
    many = sobol_indices(f, ISH_BOUNDS, 256, seed=6, batch_size=300)
    assert set(sizes) == {300} and len(sizes) == -(-256 * 5 // 300)
    xr.testing.assert_identical(one, many)


def test_same_seed_same_result():
    a = sobol_indices(ishigami, ISH_BOUNDS, 512, seed=42)
    b = sobol_indices(ishigami, ISH_BOUNDS, 512, seed=42)
    xr.testing.assert_identical(a, b)
    c = sobol_indices(ishigami, ISH_BOUNDS, 512, seed=43)
    assert not np.array_equal(a.S1.values, c.S1.values)
    assert not np.array_equal(a.S1_low.values, c.S1_low.values)
    d1 = saltelli_design(ISH_BOUNDS, 64, seed=42)
    d2 = saltelli_design(ISH_BOUNDS, 64, seed=42)
    for x, y in zip(d1, d2, strict=True):
        np.testing.assert_array_equal(x, y)
    s1 = sobol_from_samples(*[np.asarray(v) for v in _outputs(d1)], seed=1)
    s2 = sobol_from_samples(*[np.asarray(v) for v in _outputs(d1)], seed=1)
    xr.testing.assert_identical(s1, s2)


def _outputs(design):
    A, B, AB = design
    return ishigami(A), ishigami(B), np.stack([ishigami(m) for m in AB])
