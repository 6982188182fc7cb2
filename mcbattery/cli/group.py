"""The ``mcbattery`` command group: one line on stderr for every refusal, anywhere below.

Bad input (a file, field or option) prints ``error: <file or option>: <field>: <what was
expected>`` and exits 2, click's usage errors included; a run whose draws are too often
invalid exits 3, a multi-host run whose other processes stopped exits 4. Nothing is written.
"""

from __future__ import annotations

import sys

import click

from mcbattery import __version__
from mcbattery.common.errors import InputError, RunError


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


class Group(click.Group):
    """Turn InputError, RunError and click's usage errors into one line."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        try:
            status = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.UsageError as exc:
            where = f"{exc.ctx.info_name}: " if exc.ctx is not None and exc.ctx.info_name and exc.ctx.parent else ""
            click.echo(f"error: {where}{_one_line(exc.format_message())}", err=True)
            sys.exit(2)
        except click.ClickException as exc:
            click.echo(f"error: {_one_line(exc.format_message())}", err=True)
            sys.exit(exc.exit_code)
        except click.Abort:
            click.echo("error: aborted", err=True)
            sys.exit(1)
        sys.exit(status or 0)

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except InputError as exc:
            click.echo(f"error: {_one_line(exc)}", err=True)
            ctx.exit(2)
        except RunError as exc:
            click.echo(f"error: {_one_line(exc)}", err=True)
            ctx.exit(exc.exit_status)


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mcbattery")
def main():
    """Probabilistic Monte Carlo forecasts of the lithium-ion battery value chain.

    Compiled programs are cached in ~/.cache/mcbattery/jax (MCBATTERY_CACHE_DIR to move it, empty
    to turn it off), so repeated runs of the same model shape skip compilation.
    """
    from mcbattery.engine.devices import use_compilation_cache

    use_compilation_cache()
