"""core.backprop (the Jacobian dm/dg, reverse mode) and core.teaching_point."""

from __future__ import annotations

import numpy as np
import pytest

from core import (
    PRESETS,
    DataError,
    Dataset,
    backprop,
    default_box,
    derive,
    evaluate,
    gradient_check,
    jacobian_slice,
    make_preset,
    suggest_start,
    teaching_point,
)
from tests.datasets import durations
from tests.numeric import assert_close


def _m(ds: Dataset, g: np.ndarray) -> np.ndarray:
    """m_i = Π_j (1 − g_ij) over present events, the question's row product."""
    return np.prod(np.where(ds.present, 1 - g, 1.0), axis=1)


def test_jacobian_is_block_diagonal_and_matches_finite_differences(rng):
    ds = Dataset(*durations(rng, 6, 5), 3.0)
    jac = jacobian_slice(ds, 0.4, -0.3, rows=4, events=5)
    g = np.where(ds.present, evaluate(ds, 0.4, -0.3, parts=True).parts.F, 0.0)
    h = 1e-7
    for i in range(4):
        for k in range(4):
            for l in range(5):
                if not ds.present[k, l]:
                    assert np.isnan(jac.J[i, k, l])
                    continue
                e = np.zeros_like(g)
                e[k, l] = h
                fd = (_m(ds, g + e)[i] - _m(ds, g - e)[i]) / (2 * h)
                if i != k:
                    assert jac.J[i, k, l] == 0.0  # row i of m does not see row k of g
                else:
                    assert_close(f"J[{i},{k},{l}]", jac.J[i, k, l], fd, rtol=1e-7)
    assert jac.full_shape == (ds.N, ds.N, ds.E) and jac.full_size == ds.N**2 * ds.E
    assert jac.nonzero == int(ds.present.sum())
    with pytest.raises(DataError, match="rows and events must be at least 1"):
        jacobian_slice(ds, 0.0, 0.0, rows=0)


@pytest.mark.parametrize("alpha, beta", [(0.4, -0.3), (40.0, 30.0), (-15.0, -14.0)])
def test_backprop_ends_at_the_trace_form(rng, alpha, beta):
    ds = Dataset(*durations(rng), 5.0)
    bp = backprop(ds, alpha, beta)
    assert [nd.name for nd in bp.nodes] == ["L", "s", "m", "g", "f"]
    ev = evaluate(ds, alpha, beta, parts=True)
    assert_close("grad", bp.grad, ev.grad, rtol=1e-12, scale=np.abs(ev.grad) + 1e-300)
    assert bp.rel_diff < 1e-12
    # f̄ = (s − y)·P F: the derivation's matrix PF times s − y.
    f_bar = np.nan_to_num(bp.node("f").adjoint)
    want = (ev.s - ds.y) * ev.parts.p[:, None] * np.nan_to_num(ev.parts.F)
    assert_close("f_bar", f_bar, want, rtol=1e-12, scale=np.abs(want) + 1e-300)
    assert bp.node("s").adjoint == ev.s - ds.y
    assert (bp.node("m").adjoint == -(ev.s - ds.y)).all()


def test_backprop_adjoint_of_g_is_the_jacobian_times_m_bar(rng):
    ds = Dataset(*durations(rng, 5, 4), 2.0)
    bp = backprop(ds, 0.2, 0.1)
    jac = jacobian_slice(ds, 0.2, 0.1, rows=5, events=4)
    m_bar = bp.node("m").adjoint
    vjp = np.einsum("i,ikl->kl", m_bar, np.nan_to_num(jac.J))  # Σ_i m̄_i ∂m_i/∂g_kl
    assert_close(
        "g_bar", np.nan_to_num(bp.node("g").adjoint), vjp, rtol=1e-13, scale=np.abs(vjp) + 1e-300
    )


@pytest.mark.parametrize("name", [n for n in PRESETS if n != "large"])
def test_teaching_point_makes_every_check_a_real_test(name):
    ds = make_preset(name)
    box = default_box(ds)
    tp = teaching_point(ds, box, suggest_start(ds, box))
    assert tp.all_apply and tp.is_start
    d = derive(ds, tp.alpha, tp.beta)
    assert all(line.applies for line in d.lines) and d.flagged == ()
    assert gradient_check(ds, tp.alpha, tp.beta).resolved.all()


def test_teaching_point_leaves_the_valley_floor():
    """From a start on s = y (where L is no test) it moves to a point where L is one."""
    ds = make_preset("balanced")
    assert not derive(ds, *ds.truth).line("L").applies
    tp = teaching_point(ds, default_box(ds), ds.truth)
    assert not tp.is_start and tp.all_apply
    assert derive(ds, tp.alpha, tp.beta).line("L").applies
