"""Prior sampling: each distribution's moments within tolerances derived from the sample size."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats as st

import mcbattery
from mcbattery.engine import sample_params
from mcbattery.engine.sampling import gamma_variates

N = 20000


@pytest.mark.parametrize("shape", [0.3, 1.0, 4.0, 60.0, 400.0])
def test_gamma_variates_match_gamma_distribution(shape):
    x = np.asarray(gamma_variates(jax.random.PRNGKey(3), jnp.full((N,), shape, jnp.float32)), dtype=np.float64)
    assert st.kstest(x, st.gamma(shape).cdf).pvalue > 1e-3
    assert abs(x.mean() - shape) < 5 * np.sqrt(shape / N)


@pytest.fixture(scope="module")
def draws():
    return sample_params(mcbattery.load_scenario("baseline"), N, seed=11)


def _z(x, mean, var):
    return abs(np.mean(x) - mean) / np.sqrt(var / x.size)


def test_distribution_moments(draws):
    pri = mcbattery.load_scenario("baseline")
    # lognormal: median
    med = pri["stock_cover_target"].fields["median"]
    assert np.all(np.abs(np.mean(np.log(draws["stock_cover_target"]) - np.log(med), axis=0)) < 5 * 0.3 / np.sqrt(N))
    # beta: mean and variance
    m, k = float(pri["growth_memory"].fields["mean"]), float(pri["growth_memory"].fields["concentration"])
    assert _z(draws["growth_memory"], m, m * (1 - m) / (k + 1)) < 5
    # truncated normal stays in bounds
    f = pri["lead_time_median"].fields
    x = draws["lead_time_median"]
    assert np.all(x >= f["low"] - 1e-4) and np.all(x <= f["high"] + 1e-4)
    a, b = (f["low"] - f["mean"]) / f["sd"], (f["high"] - f["mean"]) / f["sd"]
    tm = st.truncnorm(a, b, loc=f["mean"], scale=f["sd"])
    assert np.all(np.abs(x.mean(axis=0) - tm.mean()) < 5 * tm.std() / np.sqrt(N))
    # uniform with equal bounds is a fixed value; otherwise uniform mean
    t = draws["import_tariff"]
    assert np.all(t[:, 0] == 0) and abs(t[:, 1].mean() - 0.5) < 5 * (0.5 / np.sqrt(12)) / np.sqrt(N)
    # dirichlet: rows sum to one, means match
    s = draws["demand_region_share"]
    np.testing.assert_allclose(s.sum(axis=-1), 1.0, atol=1e-5)
    mean = pri["demand_region_share"].fields["mean"]
    assert np.all(np.abs(s.mean(axis=0) - mean) < 5 * np.sqrt(mean * (1 - mean) / 51) / np.sqrt(N) + 1e-4)
    # fixed values are exact
    assert np.all(draws["second_life_years"] == 5.0)


def test_beta_and_dirichlet_normalise_their_own_gamma_variates():
    """The sampler's grouped normalisation (two 0/1 matrix products) equals normalising each
    parameter's gamma variates directly: beta G_a / (G_a + G_b), Dirichlet G_i / sum."""
    from mcbattery.engine.sampling import make_sampler, prior_fields, structure

    pri = mcbattery.load_scenario("baseline")
    struct, fields = structure(pri), prior_fields(pri)
    sample = make_sampler(struct)
    keys = jax.vmap(lambda i: jax.random.fold_in(jax.random.PRNGKey(5), i))(jnp.arange(64))
    got = jax.jit(jax.vmap(sample, in_axes=(0, None)))(keys, fields)
    g = jax.vmap(lambda k: gamma_variates(jax.random.split(k, 3)[2], sample.gamma_shapes(fields)))(keys)
    g = np.asarray(g, np.float64)  # recomputed outside the sampler: equal to float32 rounding
    at, seen = 0, set()
    for name, dist, shape in struct:
        if dist not in ("beta", "dirichlet"):
            continue
        size = int(np.prod(shape))
        ga = g[:, at : at + size].reshape(-1, *shape)
        if dist == "beta":
            gb = g[:, at + size : at + 2 * size].reshape(-1, *shape)
            np.testing.assert_allclose(got[name], ga / (ga + gb), rtol=2e-6)
            at += 2 * size
        else:
            np.testing.assert_allclose(got[name], ga / ga.sum(axis=-1, keepdims=True), rtol=2e-6)
            at += size
        seen.add(dist)
    assert at == sample.n_gamma and seen == {"beta", "dirichlet"}
