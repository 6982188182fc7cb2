"""Tests of the error type and argument checks (mcbattery.common.errors)."""

from __future__ import annotations

import numpy as np
import pytest

from mcbattery.common.errors import InputError, check_int


def test_input_error_message_names_file_and_field():
    e = InputError("expected a number", file="priors/prices.toml", field="price_reversion.mean")
    assert str(e) == "priors/prices.toml: price_reversion.mean: expected a number"
    assert (e.file, e.field) == ("priors/prices.toml", "price_reversion.mean")
    assert str(InputError("bad", field="draws")) == "draws: bad"
    assert str(InputError("bad")) == "bad" and InputError("bad").file is None
    assert isinstance(e, ValueError)  # callers may catch ValueError


@pytest.mark.parametrize("value, expected", [(5, 5), (np.int64(7), 7), (3.0, 3), (0, 0)])
def test_check_int_accepts_whole_numbers(value, expected):
    got = check_int("n", value, 0, 10)
    assert got == expected and type(got) is int


@pytest.mark.parametrize("value, message", [
    (True, "expected an integer"), (2.5, "expected an integer"), ("3", "expected an integer"),
    (None, "expected an integer"), (-1, ">= 0"), (11, "<= 10")])
def test_check_int_refuses_the_rest(value, message):
    with pytest.raises(InputError, match=message) as err:
        check_int("n", value, 0, 10)
    assert err.value.field == "n"


def test_check_int_without_upper_bound():
    assert check_int("draws", 10**12, 1) == 10**12
    with pytest.raises(InputError, match=">= 1, got 0"):
        check_int("draws", 0, 1)
