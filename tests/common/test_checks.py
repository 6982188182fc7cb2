"""Argument checks: one InputError naming the field, for every kind of bad value."""

from __future__ import annotations

import numpy as np
import pytest

from mcbattery import InputError
from mcbattery.common.checks import check_dtype, check_in_dtype, check_int, check_quantiles, check_thresholds


def test_check_int():
    assert check_int("n", 5, 1) == 5 and check_int("n", 5.0, 1) == 5 and check_int("n", np.int64(3), 1, 3) == 3
    for bad in (True, "5", 5.5, None, 0, 10**400):
        with pytest.raises(InputError, match="n: expected an integer"):
            check_int("n", bad, 1, 10)
    with pytest.raises(InputError, match=r"characters\)"):  # a 400-digit number is shortened
        check_int("n", 10**400, 1, 10)


def test_check_dtype_and_quantiles():
    assert check_dtype("float32") == "float32" and check_dtype(np.float64) == "float64"
    for bad in ("float16", "int32", 5, None):
        with pytest.raises(InputError, match="dtype"):
            check_dtype(bad)
    assert check_quantiles([0.5, 0.9]) == (0.5, 0.9)
    for bad in ([], [0.0], [1.0], ["0.5"], 5, [True]):
        with pytest.raises(InputError, match="quantiles"):
            check_quantiles(bad)


def test_check_thresholds():
    assert check_thresholds({"a": 1, "b": [1, 2.5]}, ["a", "b"]) == {"a": (1.0,), "b": (1.0, 2.5)}
    assert check_thresholds(None, ["a"]) == {}
    with pytest.raises(InputError, match="unknown output 'c'"):
        check_thresholds({"c": 1}, ["a"])
    for bad in (float("nan"), float("inf"), "1", True):
        with pytest.raises(InputError, match="thresholds.a: thresholds must be finite"):
            check_thresholds({"a": [bad]}, ["a"])
    with pytest.raises(InputError, match="mapping"):
        check_thresholds([1], ["a"])


def test_check_in_dtype():
    check_in_dtype([0.0, 1e-30, 3e38], "float32")
    check_in_dtype([1e300, 1e-300], "float64")
    for bad in ([1e39], [1e-39], [np.inf], [np.nan]):
        with pytest.raises(InputError, match="f: x"):
            check_in_dtype(bad, "float32", file="f", field="x")
