"""Tests of the ``mcbattery`` command group (mcbattery.cli.group)."""

from __future__ import annotations

import click
from click.testing import CliRunner

from mcbattery import __version__
from mcbattery.cli.group import Group, main
from mcbattery.common.errors import InputError


def _group_with(callback):
    g = Group(name="g")
    g.add_command(click.Command("go", callback=callback))
    return g


def test_input_errors_become_one_line_and_exit_2():
    def fail():
        raise InputError("expected a number", file="x.toml", field="draws")

    r = CliRunner().invoke(_group_with(fail), ["go"])
    assert r.exit_code == 2
    assert r.output.strip() == "error: x.toml: draws: expected a number"


def test_other_errors_are_not_swallowed():
    def crash():
        raise RuntimeError("bug")

    r = CliRunner().invoke(_group_with(crash), ["go"])
    assert r.exit_code == 1 and isinstance(r.exception, RuntimeError)


def test_version_and_help():
    r = CliRunner().invoke(main, ["--version"])
    assert r.exit_code == 0 and __version__ in r.output
    r = CliRunner().invoke(main, ["-h"])
    assert r.exit_code == 0 and "lithium-ion battery value chain" in r.output
