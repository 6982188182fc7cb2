"""Shared helpers at the bottom of the house: errors (:mod:`~mcbattery.common.errors`), argument
checks (:mod:`~mcbattery.common.checks`) and file mechanics (:mod:`~mcbattery.common.files`).
Imports nothing else from mcbattery."""
