"""Former home of the learning-curve API, kept so that ``mcbattery.learning.fit`` and
``mcbattery.learning.forecast`` keep working; it lives in :mod:`mcbattery.calibration.learning`."""

from mcbattery.calibration.learning import *  # noqa: F401,F403
from mcbattery.calibration.learning import Priors, __all__  # noqa: F401  (Priors: LearningCurvePriors' former name)
