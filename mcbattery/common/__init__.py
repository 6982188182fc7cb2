"""Shared helpers at the bottom of the house: errors and argument checks. Imports nothing else
from mcbattery."""
