"""Every validation message: what was expected, what came, how to fix it."""

from __future__ import annotations

import numpy as np
import pytest

from core import DataError, Dataset

GOOD = np.array([[1.0, 2.0], [3.0, np.nan]])


@pytest.mark.parametrize(
    "I, D, y, match",
    [
        (
            np.ones(3),
            np.ones(3),
            1.0,
            r"I must be 2-D .* got 1-D with shape \(3,\).*reshape\(-1, 1\)",
        ),
        (np.ones((2, 2, 2)), np.ones((2, 2, 2)), 1.0, r"I must be 2-D .* got 3-D"),
        (
            np.ones((2, 3)),
            np.ones((2, 4)),
            1.0,
            r"I and D must have the same shape \(N, E\); got I \(2, 3\) and D \(2, 4\)",
        ),
        (np.ones((0, 3)), np.ones((0, 3)), 1.0, r"I has shape \(0, 3\); need at least one row"),
        (np.ones((3, 0)), np.ones((3, 0)), 1.0, r"one\s+event column \(E >= 1\)"),
        (
            np.ones((2, 2), dtype=bool),
            np.ones((2, 2)),
            1.0,
            r"I must hold real numbers; got booleans",
        ),
        (np.ones((2, 2)), np.ones((2, 2)) * 1j, 1.0, r"D must hold real numbers; got complex"),
        (
            [["1", "2"], ["3", "x"]],
            GOOD,
            1.0,
            r"I must hold real numbers; got text .* I\[1, 1\] \(row 1, column 1\) holds 'x'",
        ),
        (
            np.array([[1.0, None]], dtype=object),
            np.ones((1, 2)),
            1.0,
            r"I\[0, 1\] \(row 0, column 1\) holds None",
        ),
        ([[1.0, 2.0], [3.0]], GOOD, 1.0, r"Every row must have the same length: pad"),
        (
            np.array([[1.0, 2.0], [3.0, np.inf]]),
            GOOD,
            1.0,
            r"I\[1, 1\] \(row 1, column 1\) is inf; expected a finite number",
        ),
        (GOOD, np.array([[1.0, -np.inf], [3.0, np.nan]]), 1.0, r"D\[0, 1\] .* is -inf"),
        (
            np.array([[1.0, 1e308], [3.0, np.nan]]),
            GOOD,
            1.0,
            r"I\[0, 1\] \(row 0, column 1\) is 1e\+308; values beyond ±1e\+100 are refused",
        ),
        (
            GOOD,
            np.array([[1.0, 2.0], [3.0, 4.0]]),
            1.0,
            r"same positions in I and D; first mismatch at row 1, column 1: I is nan, D is 4.0",
        ),
        (GOOD, GOOD, float("nan"), r"y must be a finite real number .* got nan"),
        (GOOD, GOOD, float("inf"), r"y must be a finite real number"),
        (GOOD, GOOD, "3", r"y must be a finite real number .* got '3' of type str"),
        (GOOD, GOOD, True, r"y must be a finite real number"),
        (GOOD, GOOD, np.array([1.0, 2.0]), r"single finite real number .* shape \(2,\)"),
        ("abc", GOOD, 1.0, r"I must be a 2-D array .* got a str"),
    ],
)
def test_bad_input_is_a_data_error_with_a_message(I, D, y, match):
    with pytest.raises(DataError, match=match):
        Dataset(I, D, y)


def test_data_error_is_a_value_error():
    assert issubclass(DataError, ValueError)


def test_accepted_inputs_become_read_only_float64():
    ds = Dataset([[1, 2], [3, 4]], np.array([[1, 2], [3, 4]], dtype=np.float32), np.int64(2))
    assert ds.I.dtype == ds.D.dtype == np.float64
    assert (ds.N, ds.E, ds.y) == (2, 2, 2.0)
    assert isinstance(ds.N, int) and isinstance(ds.y, float)
    with pytest.raises(ValueError):
        ds.I[0, 0] = 5.0


def test_y_outside_the_attainable_range_is_allowed():
    ds = Dataset(GOOD, GOOD, 10.0)  # only 2 rows: the loss has no zero, worth seeing
    assert ds.y == 10.0 and ds.n_nonempty == 2


def test_float64_arrays_are_shared_read_only_unless_copied():
    I = np.ones((2, 2))
    ds = Dataset(I, I, 1.0)  # no copy: gigabytes of data stay one copy
    assert np.shares_memory(ds.I, I) and not ds.I.flags.writeable and I.flags.writeable
    with pytest.raises(ValueError, match="read-only"):
        ds.I[0, 0] = 9.0
    copied = Dataset(I, I, 1.0, copy=True)
    I[0, 0] = 9.0
    assert copied.I[0, 0] == 1.0 and ds.I[0, 0] == 9.0
    ints = np.ones((2, 2), dtype=np.int64)  # converted, so never shared
    assert not np.shares_memory(Dataset(ints, ints, 1.0).I, ints)
