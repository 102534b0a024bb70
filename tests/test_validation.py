"""Every validation message: what was expected, what came, how to fix it."""

from __future__ import annotations

import numpy as np
import pytest

from core import DataError, Dataset
from core.validation import check_box

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


# -- numbers at the edges -------------------------------------------------------------------


@pytest.mark.parametrize("y", [1e308, -1e16, 1.0000001e15])
def test_y_beyond_max_y_is_refused_at_the_boundary(y):
    """y = 1e308 made L = inf everywhere, and the report both ERROR and OK about it."""
    with pytest.raises(DataError, match=r"within ±1e\+15 \(MAX_Y\)"):
        Dataset(GOOD, GOOD, y)
    assert Dataset(GOOD, GOOD, 1e15).y == 1e15


@pytest.mark.parametrize("y", [np.inf, -np.inf, np.nan])
def test_non_finite_y_is_refused(y):
    with pytest.raises(DataError, match="y must be a finite real number"):
        Dataset(GOOD, GOOD, y)


def test_parameters_are_bounded_where_x_stays_finite():
    """(1e308, -1e308) gave α·I = inf, β·D = -inf, and NaN everywhere after."""
    import core

    ds = Dataset(np.array([[2.0], [1.0]]), np.array([[2.0], [1.0]]), 1.0)
    with pytest.raises(DataError, match=r"alpha is 1e\+308; .* ±1e\+200 \(MAX_PARAM\)"):
        core.evaluate(ds, 1e308, -1e308)
    with pytest.raises(DataError, match=r"alphas\[1\] is 1e\+300; .*MAX_PARAM"):
        core.landscape(ds, [0.0, 1e300], [0.0])
    with pytest.raises(DataError, match="expected values within ±1e\\+200"):
        check_box((0, 1e300, 0, 1))


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_any_parameter_within_max_param_gives_finite_numbers(backend):
    import core
    from core.validation import MAX_ABS, MAX_PARAM

    I = np.array([[MAX_ABS, -MAX_ABS, 2.0], [-1.0, MAX_ABS, np.nan]])
    D = np.array([[MAX_ABS, MAX_ABS, -3.0], [MAX_ABS, -0.5, np.nan]])
    ds = Dataset(I, D, 1.0)
    for alpha in (MAX_PARAM, -MAX_PARAM, 1.0):
        for beta in (MAX_PARAM, -MAX_PARAM, -1.0):
            ev = core.evaluate(ds, alpha, beta, backend=backend)
            values = [ev.s, ev.loss, *np.ravel(ev.grad), *np.ravel(ev.hessian)]
            assert np.isfinite(values).all(), (alpha, beta, values)


def test_a_start_past_the_bound_is_named_not_an_optimizer_default():
    """It surfaced as "adam: eps must be in (0, inf) ... got nan" or "alpha ... nan"."""
    import core

    ds = core.make_preset("balanced")
    for start in [(1e308, -1e308), (0.0, -1e250)]:
        with pytest.raises(DataError, match=r"^the start is -?1e\+\d+; .*MAX_PARAM"):
            core.default_hyperparams("adam", ds, start)
        with pytest.raises(DataError, match=r"^the start is"):
            core.descend(ds, "adam", start=start, steps=2)
    with pytest.raises(DataError, match="the start must hold finite numbers"):
        core.default_hyperparams("adam", ds, (np.nan, 0.0))
