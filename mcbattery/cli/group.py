"""The ``mcbattery`` command group: one-line errors (exit status 2) for bad input anywhere below.

Input problems print one line ``error: <file>: <field>: <what was expected>`` and exit 2;
nothing is written.
"""

from __future__ import annotations

import click

from mcbattery import __version__
from mcbattery.common.errors import InputError


class Group(click.Group):
    """Turn InputError anywhere below into a one-line message and exit status 2."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except InputError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(2)


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mcbattery")
def main():
    """Probabilistic Monte Carlo forecasts of the lithium-ion battery value chain.

    Compiled programs are cached in ~/.cache/mcbattery/jax (MCBATTERY_CACHE_DIR to move it, empty
    to turn it off), so repeated runs of the same model shape skip compilation.
    """
    from mcbattery.engine.devices import use_compilation_cache

    use_compilation_cache()
