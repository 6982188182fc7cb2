"""One draw of the baseline, as the engine would run it (for the step, scan and state tests)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest


@pytest.fixture(scope="session")
def one_draw():
    """(params {name: array}, normals, uniforms, history, coords, start_year) of draw 3, seed 1,
    for 6 years from the shipped baseline."""
    import mcbattery
    from mcbattery.engine.direct import sample_draws
    from mcbattery.engine.kernel import deployment_history, draw_randomness
    from mcbattery.model import noise

    pri = mcbattery.load_scenario("baseline")
    params = {k: jnp.asarray(v[0]) for k, v in sample_draws(pri, np.array([3]), seed=1).items()}
    _, normals, uniforms = draw_randomness(jax.random.PRNGKey(11), 6, noise.layout(pri.coords))
    history = jnp.asarray(deployment_history(pri.start_year), jnp.float32)
    return params, normals, uniforms, history, pri.coords, pri.start_year
