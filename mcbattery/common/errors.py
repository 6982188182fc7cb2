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
        super().__init__(f"{where}: {message}" if where else message)


def check_int(name: str, value, low: int, high: int | None = None) -> int:
    """An integer argument within [low, high] (a float with an integer value is accepted)."""
    import numpy as np

    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise InputError(f"expected an integer, got {value!r}", field=name)
    value = int(value)
    if value < low or (high is not None and value > high):
        bound = f">= {low}" + (f" and <= {high}" if high is not None else "")
        raise InputError(f"expected an integer {bound}, got {value}", field=name)
    return value
