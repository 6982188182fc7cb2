"""Former home of the Sobol' estimators, kept so that ``mcbattery.sensitivity.sobol_indices``
keeps working; they live in :mod:`mcbattery.research.sobol`."""

from mcbattery.research.sobol import *  # noqa: F401,F403
from mcbattery.research.sobol import __all__  # noqa: F401
