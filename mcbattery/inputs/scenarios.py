"""What a user names as a scenario, resolved into :class:`~mcbattery.inputs.priors.Priors`: the
one place where a scenario name or file, a priors folder and the posterior choice ("default",
None or a file) become the priors a run samples from."""

from __future__ import annotations

from pathlib import Path

from mcbattery.inputs.posterior import default_posterior
from mcbattery.inputs.priors import Priors, load_scenario

__all__ = ["resolve_scenario"]


def resolve_scenario(scenario: str | Path | Priors, priors: str | Path | Priors | None = None,
                     posterior: str | Path | None = "default") -> Priors:
    """Resolved priors for a scenario name, a scenario .toml path, or :class:`Priors` (used as
    given; ``priors`` and ``posterior`` are then ignored).

    ``priors``: a priors folder laid out like the shipped one, or :class:`Priors` to apply the
    scenario to (default: the shipped priors). ``posterior``: "default" (the shipped calibrated
    posterior when present), None (priors only) or a posterior samples file.
    """
    if isinstance(scenario, Priors):
        return scenario
    if isinstance(posterior, str) and posterior == "default":
        posterior = default_posterior()
    return load_scenario(scenario, priors, posterior)
