"""Tests of the error types (mcbattery.common.errors): what a user sees of each."""

from __future__ import annotations

from mcbattery.common.errors import HostsError, InputError, InvalidDrawsError, RunError


def test_input_error_message_names_file_and_field():
    e = InputError("expected a number", file="priors/prices.toml", field="price_reversion.mean")
    assert str(e) == "priors/prices.toml: price_reversion.mean: expected a number"
    assert (e.file, e.field) == ("priors/prices.toml", "price_reversion.mean")
    assert str(InputError("bad", field="draws")) == "draws: bad"
    assert str(InputError("bad")) == "bad" and InputError("bad").file is None
    assert isinstance(e, ValueError)  # callers may catch ValueError
    assert str(InputError("line one\nline two", field="x")) == "x: line one line two"  # always one line


def test_run_errors_are_runtime_errors_with_their_own_types():
    for cls in (InvalidDrawsError, HostsError):
        assert issubclass(cls, RunError) and issubclass(cls, RuntimeError)
        assert not issubclass(cls, InputError)
    assert (RunError.exit_status, InvalidDrawsError.exit_status, HostsError.exit_status) == (1, 3, 4)
