"""Command-line interface: ``mcbattery forecast | scenarios | priors | calibrate | hindcast |
history | sensitivity | compare | card | discover``.

The group (:mod:`~mcbattery.cli.group`) turns bad input into one line and exit status 2; the
commands live in :mod:`~mcbattery.cli.forecast`, :mod:`~mcbattery.cli.calibration` and
:mod:`~mcbattery.cli.research`.
"""

from mcbattery.cli.calibration import calibrate, hindcast, history
from mcbattery.cli.forecast import forecast, scenarios
from mcbattery.cli.group import main
from mcbattery.cli.priors import show_priors
from mcbattery.cli.research import card, compare, discover, sensitivity

for _command in (forecast, scenarios, show_priors, calibrate, hindcast, history, sensitivity, compare, card, discover):
    main.add_command(_command)

__all__ = ["main"]
