"""Error types. A user-facing input problem is an :class:`InputError` (CLI exit status 2)."""

from __future__ import annotations


class InputError(ValueError):
    """Invalid user input: a prior/scenario file, a data file or an argument.

    The message is one line naming the file (if any), the field and what was expected.
    """

    def __init__(self, message: str, *, file: str | None = None, field: str | None = None):
        self.file = None if file is None else str(file)
        self.field = field
        where = ": ".join(p for p in (self.file, field) if p)
        text = f"{where}: {message}" if where else str(message)
        super().__init__(" ".join(text.split("\n")))  # always one line


class RunError(RuntimeError):
    """A run that cannot give a trustworthy result; the CLI prints one line and exits with
    ``exit_status``. Nothing is written."""

    exit_status = 1


class InvalidDrawsError(RunError):
    """Too many Monte Carlo draws had non-finite outputs (CLI exit status 3)."""

    exit_status = 3


class HostsError(RunError):
    """A process of a multi-host run stopped or did not answer in time (CLI exit status 4)."""

    exit_status = 4
