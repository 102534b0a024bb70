"""Optimizers one step at a time (core/optimizers.py, core/descent.py, core/hyperparams.py).

One table of optimizers, :data:`TABLE` (optax's alias_test.py is the model), with a row
per row of core.REGISTRY: every optimizer runs on a convex quadratic with a known
minimum, on generated data of N = 50 and N = 5,000 with its defaults, two hand-computed
steps, lr = 0, step-by-step = descend, many starts = separate runs, frozen states.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import pickle
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core import (
    HYPERPARAMS,
    OPTIMIZERS,
    REGISTRY,
    DataError,
    Dataset,
    Point,
    Run,
    advance,
    dataset_objective,
    default_hyperparams,
    descend,
    descend_many,
    evaluate,
    make_optimizer,
    quadratic_objective,
    start_run,
    with_intercept,
)
from core.hyperparams import GaussNewtonStep, UnitStep
from core.validation import MAX_PARAM

from .numeric import assert_close

TRUTH = (0.8, -1.5)


def make_data(N: int, seed: int, E: int = 6, truth=TRUTH, d_low: float = 0.0) -> Dataset:
    """I ~ N(0, 1), D ~ U(d_low, d_low + 2), ragged rows (1..E events), y = s at ``truth``."""
    rng = np.random.default_rng(seed)
    I = rng.normal(0.0, 1.0, (N, E))
    D = rng.uniform(d_low, d_low + 2.0, (N, E))
    absent = np.arange(E)[None, :] >= rng.integers(1, E + 1, N)[:, None]
    I[absent] = np.nan
    D[absent] = np.nan
    y = evaluate(Dataset(I, D, 0.0), *truth).s
    return Dataset(I, D, y, name=f"test N={N}", truth=truth)


@pytest.fixture(scope="module")
def ds50() -> Dataset:
    return make_data(50, seed=1)


@pytest.fixture(scope="module")
def ds5000() -> Dataset:
    return make_data(5000, seed=2)


# A convex quadratic with minimum m: L = ½ (θ − m)ᵀ A (θ − m), λ(A) = 1.38, 3.62.
A = np.array([[3.0, 1.0], [1.0, 2.0]])
M = np.array([1.0, -2.0])
QUAD = quadratic_objective(A, M)
Q_START = (-3.0, 4.0)


# -- the table ---------------------------------------------------------------------------


def grad_q(th: np.ndarray) -> np.ndarray:
    return A @ (th - M)


def loss_q(th: np.ndarray) -> float:
    return 0.5 * (th - M) @ A @ (th - M)


def quad_point(theta) -> Point:
    return QUAD(np.asarray(theta, dtype=float), True)


def by_hand_gd(hp, th):
    for _ in range(2):
        th.append(th[-1] - hp["lr"] * grad_q(th[-1]))
    return th


def by_hand_momentum(hp, th):
    v = np.zeros(2)
    for _ in range(2):
        v = hp["mu"] * v - hp["lr"] * grad_q(th[-1])
        th.append(th[-1] + v)
    return th


def by_hand_nesterov(hp, th):
    v = np.zeros(2)
    for _ in range(2):
        g = grad_q(th[-1])
        v = hp["mu"] * v - hp["lr"] * g
        th.append(th[-1] + hp["mu"] * v - hp["lr"] * g)
    return th


def by_hand_adagrad(hp, th):
    G = np.zeros(2)
    for _ in range(2):
        g = grad_q(th[-1])
        G = G + g**2
        th.append(th[-1] - hp["lr"] * g / (np.sqrt(G) + hp["eps"]))
    return th


def by_hand_rmsprop(hp, th):
    v = np.zeros(2)
    for _ in range(2):
        g = grad_q(th[-1])
        v = hp["rho"] * v + (1 - hp["rho"]) * g**2
        th.append(th[-1] - hp["lr"] * g / (np.sqrt(v) + hp["eps"]))
    return th


def by_hand_adam(hp, th):
    m = v = np.zeros(2)
    b1, b2 = hp["beta1"], hp["beta2"]
    for t in (1, 2):
        g = grad_q(th[-1])
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g**2
        th.append(th[-1] - hp["lr"] * (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + hp["eps"]))
    return th


def by_hand_newton(hp, th):  # A is positive definite: the full step lands on M
    for _ in range(2):
        th.append(th[-1] - np.linalg.solve(A, grad_q(th[-1])))
    return th


def by_hand_backtracking(hp, th):
    t = hp["lr"]
    for k in range(2):
        g = grad_q(th[-1])
        t = t if k == 0 else t * hp["grow"]
        while loss_q(th[-1] - t * g) > loss_q(th[-1]) - hp["c1"] * t * (g @ g):
            t *= hp["rho"]
        th.append(th[-1] - t * g)
    return th


@dataclass(frozen=True)
class Row:
    """What the tests know of one optimizer.

    hp : every hyper-parameter, none at a round value that would hide a swapped factor
    by_hand : (hp, [θ0]) -> [θ0, θ1, θ2], two steps on the quadratic written out from the
        paper's formulas
    quad_tol : how close it gets to the quadratic's minimum with its defaults in 600 steps
    line_search : every accepted step lowers L (Armijo)
    """

    hp: dict[str, float]
    by_hand: Callable[[dict, list], list]
    quad_tol: float = 1e-6
    line_search: bool = False


TABLE = {
    "gd": Row({"lr": 0.13}, by_hand_gd),
    "momentum": Row({"lr": 0.11, "mu": 0.7}, by_hand_momentum),
    "nesterov": Row({"lr": 0.11, "mu": 0.7}, by_hand_nesterov),
    "adagrad": Row({"lr": 0.3, "eps": 1e-3}, by_hand_adagrad),
    # RMSprop keeps stepping ~lr per parameter, so it circles the minimum at ~lr/2
    # (lr = 0.06 here) instead of converging.
    "rmsprop": Row({"lr": 0.2, "rho": 0.8, "eps": 1e-3}, by_hand_rmsprop, quad_tol=0.06),
    "adam": Row({"lr": 0.2, "beta1": 0.8, "beta2": 0.95, "eps": 1e-3}, by_hand_adam),
    "newton": Row(
        {"lr": 1.0, "delta": 1e-4, "c1": 1e-4, "rho": 0.5}, by_hand_newton, line_search=True
    ),
    "backtracking": Row(
        {"lr": 3.0, "c1": 0.3, "rho": 0.6, "grow": 1.7}, by_hand_backtracking, line_search=True
    ),
}


def names_with(rule: type) -> list[str]:
    """The optimizers whose default lr follows ``rule``."""
    return [name for name, spec in REGISTRY.items() if isinstance(spec.step_rule, rule)]


def test_the_table_covers_exactly_the_registry():
    assert tuple(TABLE) == OPTIMIZERS == tuple(REGISTRY)
    assert tuple(HYPERPARAMS) == OPTIMIZERS
    for name, row in TABLE.items():
        assert list(row.hp) == [h.name for h in HYPERPARAMS[name]], name


def test_registry_rows_are_consistent():
    """The lr of a row is derived exactly when it has a step rule, whose k the help quotes."""
    for name, spec in REGISTRY.items():
        lr = spec.hyperparams[0]
        assert lr.name == "lr", name
        assert (spec.step_rule is None) == (lr.default is not None), name
        if spec.step_rule is not None:
            assert lr.derived.startswith(f"{spec.step_rule.k:g}"), (name, lr.derived)
    assert names_with(GaussNewtonStep) and names_with(UnitStep)


@pytest.mark.parametrize(
    "name", [n for n, spec in REGISTRY.items() if spec.stability.limit is not None]
)
def test_the_stability_limit_of_a_fixed_step_is_right(name):
    """On the quadratic, lr at 1.1 × the registry's limit/λmax diverges and the stop reason
    quotes that limit; at 0.9 × it the run does not diverge."""
    spec = REGISTRY[name]
    mu = {"mu": 0.5} if any(h.name == "mu" for h in HYPERPARAMS[name]) else {}
    lam = np.linalg.eigvalsh(A)[-1]
    limit = spec.stability.limit(mu) / lam
    tr = descend(QUAD, name, Q_START, steps=2000, lr=1.1 * limit, **mu)
    assert tr.stop_reason.startswith("diverged"), tr.stop_reason
    assert f"exceeds {spec.stability.limit_text} = {limit:.3g}" in tr.stop_reason
    assert tr.stop_reason.endswith("try a smaller lr")
    tr = descend(QUAD, name, Q_START, steps=2000, lr=0.9 * limit, **mu)
    assert tr.converged, tr.stop_reason


def test_every_optimizer_has_its_own_colour():
    """Colour-blind-safe: every pair stays apart (CIELAB ΔE > 10) in normal vision and
    in simulated protanopia, deuteranopia and tritanopia (Machado et al. 2009)."""
    colours = [spec.color for spec in REGISTRY.values()]
    rgb = np.array([[int(c[k : k + 2], 16) / 255 for k in (1, 3, 5)] for c in colours])
    linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    machado = {
        "normal": np.eye(3),
        "protan": [[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216],
                   [-0.003882, -0.048116, 1.051998]],
        "deutan": [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413],
                   [-0.011820, 0.042940, 0.968881]],
        "tritan": [[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602],
                   [0.004733, 0.691367, 0.303900]],
    }  # fmt: skip
    to_xyz = np.array(
        [[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]
    )
    for vision, matrix in machado.items():
        xyz = np.clip(linear @ np.asarray(matrix).T, 0, 1) @ to_xyz.T / [0.95047, 1.0, 1.08883]
        f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16 / 116)
        lab = np.stack(
            [116 * f[:, 1] - 16, 500 * (f[:, 0] - f[:, 1]), 200 * (f[:, 1] - f[:, 2])], 1
        )
        dist = np.linalg.norm(lab[:, None] - lab[None], axis=-1) + 1e9 * np.eye(len(lab))
        i, j = np.unravel_index(np.argmin(dist), dist.shape)
        assert dist[i, j] > 10, (vision, OPTIMIZERS[i], OPTIMIZERS[j], dist[i, j])


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_converges_on_quadratic(name):
    tr = descend(QUAD, name, Q_START, steps=600)
    dist = float(np.linalg.norm(tr.params[-1] - M))
    assert dist < TABLE[name].quad_tol, (
        f"{name}: ended at {tr.params[-1]}, want {M} within {TABLE[name].quad_tol:g} "
        f"(distance {dist:.3g}); {tr.stop_reason}"
    )
    if name != "rmsprop":
        assert tr.converged, tr.stop_reason
        assert tr.stop_reason.startswith("converged at step")


@pytest.mark.parametrize("N", [50, 5000])
@pytest.mark.parametrize("name", OPTIMIZERS)
def test_defaults_reach_small_loss_on_generated_data(name, N, ds50, ds5000):
    """loss/L₀ < 1e-3 within 300 steps with the defaults, from two starts; the end is on
    the zero set s = y (one of its points: with two parameters it is a curve)."""
    ds = ds50 if N == 50 else ds5000
    for start in [(0.0, 0.0), (-2.4, 2.4)]:
        tr = descend(ds, name, start, steps=300)
        ratio = tr.loss[-1] / tr.loss[0]
        assert ratio < 1e-3, f"{name}, N={N}, start {start}: L/L₀ = {ratio:.3g}; {tr.stop_reason}"
        # |s − y| = sqrt(2L): the end point satisfies s ≈ y
        assert abs(tr.s[-1] - ds.y) <= math.sqrt(2e-3 * tr.loss[0])
        assert np.isfinite(tr.params).all() and np.isfinite(tr.loss).all()


def test_default_step_sizes_follow_the_scale_of_the_loss(ds50, ds5000):
    """L grows like N²: the derived lr shrinks like 1/N², so the first step of gd has
    about the same length in (α, β) whatever N, and adaptive steps do not depend on N."""
    for name in names_with(GaussNewtonStep):
        lr50 = default_hyperparams(name, ds50, (0.0, 0.0))["lr"]
        lr5000 = default_hyperparams(name, ds5000, (0.0, 0.0))["lr"]
        assert 1e3 < lr50 / lr5000 < 1e5, (name, lr50, lr5000)
    step = {}
    for N, ds in [(50, ds50), (5000, ds5000)]:
        tr = descend(ds, "gd", (0.0, 0.0), steps=1)
        step[N] = float(np.linalg.norm(tr.params[1] - tr.params[0]))
    assert 1 / 3 < step[50] / step[5000] < 3, step
    for name in names_with(UnitStep):
        lr50 = default_hyperparams(name, ds50, (0.0, 0.0))["lr"]
        lr5000 = default_hyperparams(name, ds5000, (0.0, 0.0))["lr"]
        assert 1 / 3 < lr50 / lr5000 < 3, (name, lr50, lr5000)


def test_defaults_work_for_rare_events():
    """s ≈ 3e-4 of 200 rows: gradients ~1e-7, far below any fixed eps or step size."""
    ds = make_data(200, seed=3, E=4, truth=(0.5, -12.0), d_low=1.0)
    assert ds.y < 1e-3
    for name in OPTIMIZERS:
        tr = descend(ds, name, (0.0, -11.0), steps=300)
        ratio = tr.loss[-1] / tr.loss[0]
        assert ratio < 1e-3, f"{name}: L/L₀ = {ratio:.3g}; {tr.stop_reason}"
        assert_close(f"{name}: s at the end vs y", tr.s[-1], ds.y, rtol=1e-6)


# -- one step by hand ----------------------------------------------------------------------


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_two_steps_by_hand(name):
    theta0 = np.array([-3.0, 4.0])
    row = TABLE[name]
    want = row.by_hand(row.hp, [theta0])
    opt = make_optimizer(name, **row.hp)
    state, theta = opt.init(theta0), theta0
    for k in (1, 2):
        theta, state = opt.step(state, quad_point(theta), QUAD)
        assert_close(f"{name} step {k}: core vs by hand", theta, want[k], rtol=1e-13)
    assert state.count == 2


def test_backtracking_shrinks_then_grows():
    """From lr = 3 with c1 = 0.3, ρ = 0.6 the first search has to shrink; the state keeps
    the accepted step, and the next search starts from grow × that step."""
    hp = TABLE["backtracking"].hp
    opt = make_optimizer("backtracking", **hp)
    theta = np.array(Q_START)
    g = A @ (theta - M)
    loss = lambda th: 0.5 * (th - M) @ A @ (th - M)  # noqa: E731
    t, shrinks = hp["lr"], 0
    while loss(theta - t * g) > loss(theta) - hp["c1"] * t * (g @ g):
        t, shrinks = t * hp["rho"], shrinks + 1
    assert shrinks >= 1
    _, state = opt.step(opt.init(theta), quad_point(theta), QUAD)
    assert_close("accepted step", state.t, t, rtol=1e-15)
    assert state.evals == shrinks + 1


def test_newton_step_is_a_descent_direction_where_the_hessian_is_indefinite(ds50):
    """At (0, 0) the Hessian of L has a negative eigenvalue; |H| keeps the step downhill."""
    obj = dataset_objective(ds50)
    point = obj(np.array([0.0, 0.0]), True)
    lam = np.linalg.eigvalsh(point.hessian)
    assert lam[0] < 0 < lam[1], lam
    opt = make_optimizer("newton", **default_hyperparams("newton", ds50, (0.0, 0.0)))
    theta, _ = opt.step(opt.init(point.params), point, obj)
    assert float(np.dot(theta - point.params, point.grad)) < 0
    assert obj(theta).loss < point.loss


# -- lr = 0, stepping, divergence ------------------------------------------------------------


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_lr_zero_changes_nothing(name, ds50):
    tr = descend(ds50, name, (0.3, -0.7), steps=5, lr=0.0)
    assert (tr.params == np.array([0.3, -0.7])).all(), tr.params
    assert tr.stop_reason.startswith("stalled at step 1: the step left (α, β) where it was")
    assert not tr.converged


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_stepping_one_at_a_time_equals_descend(name, ds50):
    tr = descend(ds50, name, (-2.4, 2.4), steps=25)
    run = start_run(ds50, name, (-2.4, 2.4))
    for _ in range(25):
        run = advance(ds50, run)
    in_two = advance(ds50, advance(ds50, start_run(ds50, name, (-2.4, 2.4)), 10), 15)
    for other in (run, in_two):
        for field in ("params", "loss", "grad", "s"):
            np.testing.assert_array_equal(getattr(other, field), getattr(tr, field), err_msg=field)
        assert other.state == tr.state and other.stop_reason == tr.stop_reason
        assert other == tr and hash(other) == hash(tr)


def test_a_stopped_run_does_not_advance():
    tr = descend(QUAD, "newton", Q_START, steps=50)
    assert tr.stopped and tr.converged and tr.steps == 1
    assert advance(QUAD, tr, 10) is tr


def test_reached_steps_and_shapes(ds50):
    tr = descend(ds50, "adam", (-2.4, 2.4), steps=7)
    assert tr.stop_reason == "reached 7 steps" and not tr.stopped
    assert tr.params.shape == (8, 2) and tr.grad.shape == (8, 2)
    assert tr.loss.shape == (8,) and tr.s.shape == (8,)
    np.testing.assert_array_equal(tr.params[0], [-2.4, 2.4])
    ev = evaluate(ds50, *tr.params[5])
    assert_close("loss along the trajectory", tr.loss[5], ev.loss, rtol=1e-14)
    assert_close("grad along the trajectory", tr.grad[5], ev.grad, rtol=1e-12)


def test_divergence_is_a_stop_reason_with_the_stability_limit():
    """gd with lr = 0.9 > 2/λmax = 0.55 on the quadratic: L grows until it is 1e10·L₀."""
    lam = np.linalg.eigvalsh(A)[-1]
    tr = descend(QUAD, "gd", Q_START, steps=500, lr=0.9)
    assert tr.stopped and not tr.converged
    msg = tr.stop_reason
    assert msg.startswith(f"diverged at step {tr.steps}: loss grew to"), msg
    assert f"the step size 0.9 exceeds 2/λmax = {2 / lam:.3g} of the local Hessian" in msg, msg
    assert np.isfinite(tr.params).all() and tr.loss[-1] > 1e10 * tr.loss[0]


def test_overflow_is_a_stop_reason_not_an_exception():
    tr = descend(QUAD, "gd", Q_START, steps=50, lr=1e160)  # θ₁ ~ 1e161: L overflows
    assert tr.stopped and not tr.converged
    assert tr.stop_reason.startswith("diverged at step 1: loss became inf; the step size")
    assert tr.steps == 0  # the non-finite row is left out
    tr = descend(QUAD, "gd", Q_START, steps=50, lr=1e308)  # θ₁ overflows
    assert tr.stop_reason.startswith("diverged at step 1: the params became [inf, -inf]")
    assert tr.steps == 0 and np.isfinite(tr.params).all()


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_a_step_past_max_param_ends_the_run_inside_the_range(name, ds50):
    """lr = 1e205 from (0, 0): the first step would land past ±MAX_PARAM, where the model is
    not evaluated. Fixed-step methods stop with a reason naming the bound; line searches
    refuse trial steps out of range (60 shrinks do not reach back inside: they stay put).
    Neither raises, and every recorded row lies inside."""
    tr = descend(ds50, name, (0.0, 0.0), steps=5, lr=1e205)
    assert np.isfinite(tr.params).all() and np.isfinite(tr.loss).all()
    assert (np.abs(tr.params) <= MAX_PARAM).all()
    assert tr.stopped and not tr.converged
    many = descend_many(ds50, name, [[0.0, 0.0], [1.0, -1.0]], steps=5, lr=1e205)
    assert (np.abs(many.end) <= MAX_PARAM).all() and np.isfinite(many.loss).all()
    if TABLE[name].line_search:
        assert tr.stop_reason.startswith("stalled at step 1: the step left (α, β) where it was")
        assert list(many.status) == ["stalled", "stalled"]
        return
    assert tr.steps == 0, tr.stop_reason  # the step out of range is not recorded
    assert tr.stop_reason.startswith(
        "left the parameter range at step 1: the step would take (α, β) to ("
    ), tr.stop_reason
    assert "past ±1e+200 (MAX_PARAM), beyond which the model is not evaluated" in tr.stop_reason
    assert list(many.status) == ["left range", "left range"]
    np.testing.assert_array_equal(many.end, [[0.0, 0.0], [1.0, -1.0]])
    # the same bound whatever the objective (the quadratic has no range of its own)
    tr = descend(QUAD, name, Q_START, steps=5, lr=1e205)
    assert tr.stop_reason.startswith("left the parameter range at step 1"), tr.stop_reason


def test_too_large_step_on_data_stops_with_an_explanation(ds50):
    """The loss of the count model is bounded, so a huge step lands on a plateau."""
    tr = descend(ds50, "gd", (0.0, 0.0), steps=50, lr=1e4)
    assert tr.stopped and not tr.converged
    assert tr.stop_reason.startswith("stalled at step 1: |∇L| ="), tr.stop_reason
    assert "a plateau where σ saturates" in tr.stop_reason
    assert "the last step moved (α, β) by" in tr.stop_reason


def test_left_the_box(ds50):
    tr = descend(ds50, "gd", (0.0, 0.0), steps=50, lr=1.0, box=(-1, 1, -1, 1))
    assert tr.stopped and tr.steps == 1
    assert tr.stop_reason.startswith("left the box at step 1: (α, β) = (")
    assert "is outside α ∈ [-1, 1], β ∈ [-1, 1]" in tr.stop_reason


def test_crawling_on_a_plateau_is_explained():
    """At (−4, 8) σ saturates (s ≈ N): ‖∇s‖ is small, and gd's default lr is set for the
    slopes ahead (the ray never crosses s = y), so it crawls instead of flying off."""
    ds = make_data(50, seed=1)
    tr = descend(ds, "gd", (-4.0, 8.0), steps=20)
    assert not tr.stopped and np.isfinite(tr.params).all()
    assert tr.stop_reason.startswith("reached 20 steps; L fell by only ")
    assert "the last step moved (α, β) by" in tr.stop_reason
    assert "a plateau where σ saturates (s = 49.7" in tr.stop_reason
    assert tr.s[0] > 0.99 * ds.n_nonempty


def test_start_at_the_minimum_is_converged_at_step_0():
    tr = descend(QUAD, "adam", M, steps=10)
    assert tr.converged and tr.steps == 0
    assert tr.stop_reason == "converged at step 0: ∇L = 0 at the start"


@settings(max_examples=25)
@given(
    name=st.sampled_from(OPTIMIZERS),
    a0=st.floats(-6, 6),
    b0=st.floats(-6, 6),
    lr_scale=st.floats(1e-3, 1e4),
)
def test_descend_never_raises_and_keeps_finite_rows(name, a0, b0, lr_scale):
    ds = make_data(30, seed=5)
    lr = default_hyperparams(name, ds, (a0, b0))["lr"] * lr_scale
    tr = descend(ds, name, (a0, b0), steps=30, lr=lr)
    assert np.isfinite(tr.params).all() and np.isfinite(tr.loss).all()
    assert isinstance(tr.stop_reason, str) and tr.stop_reason
    if TABLE[name].line_search:  # Armijo: every accepted step lowers L
        assert (np.diff(tr.loss) <= 0).all(), tr.loss


# -- many starts --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_many_starts_equal_separate_runs(name, ds50):
    starts = np.array([[0.0, 0.0], [-2.4, 2.4], [2.0, -3.0], [1.0, 1.0], [0.8, -1.5]])
    many = descend_many(ds50, name, starts, steps=40)
    for k, start in enumerate(starts):
        tr = descend(ds50, name, start, steps=40)
        assert many.steps_taken[k] == tr.steps, (k, tr.stop_reason)
        assert many.converged[k] == tr.converged, (k, tr.stop_reason)
        assert_close(f"{name} start {k}: end", many.end[k], tr.params[-1], rtol=1e-9)
        # at convergence L is rounding noise (|s − y| ~ 1e-15·N): compare on the scale of L₀
        assert_close(
            f"{name} start {k}: loss", many.loss[k], tr.loss[-1], rtol=1e-9, scale=tr.loss[0]
        )
    assert many.end.shape == (5, 2) and many.status.shape == (5,)


def test_many_starts_with_one_lr_and_divergence():
    starts = np.array([[-3.0, 4.0], [1.0, -2.0], [0.5, 0.5]])
    many = descend_many(QUAD, "gd", starts, steps=500, lr=0.9)
    assert list(many.status) == ["diverged", "converged", "diverged"]
    assert many.converged.tolist() == [False, True, False]
    assert np.isfinite(many.end).all()


@pytest.mark.parametrize("name", ["newton", "backtracking"])
def test_a_line_search_step_evaluates_its_new_point_once(name, ds50):
    """The new point of a step is the line search's accepted trial: its loss, gradient
    (and Hessian) are looked up, not computed a second time. One run: points evaluated =
    the line-search evaluations; many runs: no point is evaluated twice."""
    base = dataset_objective(ds50)
    seen: list[bytes] = []

    def fun(params, hessian):
        seen.extend(row.tobytes() for row in np.reshape(params, (-1, 2)))
        return base.fun(params, hessian)

    counting = dataclasses.replace(base, fun=fun)
    run = start_run(counting, name, (0.5, -1.0))  # (default step sizes try points too)
    seen.clear()
    tr = advance(counting, run, 8)
    assert tr.steps >= 3 and len(seen) == tr.state.evals, (len(seen), tr.state.evals)
    seen.clear()
    starts = np.array([[0.5, -1.0], [-1.0, 1.0], [1.5, 0.5]])
    many = descend_many(counting, name, starts, steps=8, **run.hp)  # all given: no defaults
    assert many.steps_taken.min() >= 3 and len(set(seen)) == len(seen)
    want = descend_many(ds50, name, starts, steps=8, **run.hp)
    np.testing.assert_array_equal(many.end, want.end)


# -- frozen, hashable, copiable -------------------------------------------------------------------


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_states_are_frozen_hashable_and_copiable(name):
    opt = make_optimizer(name, **TABLE[name].hp)
    state0 = opt.init(np.array(Q_START))
    _, state1 = opt.step(state0, quad_point(Q_START), QUAD)
    _, again = opt.step(state0, quad_point(Q_START), QUAD)
    assert state1 == again and hash(state1) == hash(again)  # pure: same input, same state
    assert state1 != state0
    for copied in (copy.copy(state1), copy.deepcopy(state1), pickle.loads(pickle.dumps(state1))):
        assert copied == state1 and hash(copied) == hash(state1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        state1.count = 7
    for f in dataclasses.fields(state1):
        value = getattr(state1, f.name)
        if isinstance(value, np.ndarray) and value.size:
            with pytest.raises(ValueError, match="read-only"):
                value[...] = 0.0


def test_runs_are_frozen_and_rewindable(ds50):
    run0 = start_run(ds50, "momentum", (0.0, 0.0))
    run5 = advance(ds50, run0, 5)
    assert run0.steps == 0 and run5.steps == 5  # run0 untouched: rewind by keeping it
    again = advance(ds50, pickle.loads(pickle.dumps(run0)), 5)
    assert again == run5 and hash(again) == hash(run5)
    with pytest.raises(dataclasses.FrozenInstanceError):
        run5.stop_reason = "x"
    with pytest.raises(ValueError, match="read-only"):
        run5.params[0, 0] = 1.0
    assert isinstance(run5, Run) and run5.hp == dict(run5.hyperparams)


# -- validation -----------------------------------------------------------------------------------


def test_unknown_optimizer_lists_the_valid_ones(ds50):
    with pytest.raises(DataError, match=r"unknown optimizer 'adamw'; expected one of gd, mom"):
        descend(ds50, "adamw", (0, 0))
    with pytest.raises(DataError, match=r"Did you mean 'adam'\?"):
        start_run(ds50, "adamw", (0, 0))
    with pytest.raises(DataError, match="unknown optimizer 'sgd'"):
        default_hyperparams("sgd", ds50, (0, 0))


def test_bad_hyperparameters_say_what_is_allowed(ds50):
    with pytest.raises(DataError, match=r"adam has no hyper-parameter 'mu'; it takes lr, beta1"):
        descend(ds50, "adam", (0, 0), mu=0.9)
    with pytest.raises(DataError, match=r"adam: beta1 must be in \[0, 1\) .*; got 1\.5"):
        descend(ds50, "adam", (0, 0), beta1=1.5)
    with pytest.raises(DataError, match=r"gd: lr must be in \[0, inf\) .*; got -0\.1"):
        descend(ds50, "gd", (0, 0), lr=-0.1)
    with pytest.raises(DataError, match=r"gd: lr must be in .*; got nan"):
        descend(ds50, "gd", (0, 0), lr=float("nan"))
    with pytest.raises(DataError, match=r"lr must be a real number .*; got '0\.1' of type str"):
        descend(ds50, "gd", (0, 0), lr="0.1")
    with pytest.raises(DataError, match=r"gd needs lr, whose default depends on the data"):
        make_optimizer("gd")


def test_bad_arguments_of_the_driver(ds50):
    with pytest.raises(DataError, match=r"the start must be a pair \(α, β\); got shape \(3,\)"):
        descend(ds50, "gd", (0, 0, 0))
    with pytest.raises(DataError, match=r"the start must hold finite numbers"):
        descend(ds50, "gd", (0, np.inf))
    with pytest.raises(DataError, match=r"\(K, 2\) array of starting points"):
        descend_many(ds50, "gd", np.zeros((3, 3)))
    with pytest.raises(DataError, match=r"box must be \(alpha_min, .*alpha_min < alpha_max"):
        descend(ds50, "gd", (0, 0), box=(1, -1, 0, 1))
    with pytest.raises(DataError, match=r"steps must be a whole number >= 0; got -1"):
        descend(ds50, "gd", (0, 0), steps=-1)
    with pytest.raises(DataError, match=r"expected a core.Dataset"):
        descend(np.zeros((3, 3)), "gd", (0, 0))


def test_advance_refuses_other_data(ds50):
    run = start_run(ds50, "gd", (0.0, 0.0))
    with pytest.raises(DataError, match="this run was started on other data"):
        advance(ds50.with_y(ds50.y + 1.0), run)


def test_hyperparam_descriptions_are_usable(ds50):
    """Every default lies in its range and passes validation; the UI can render each."""
    for name in OPTIMIZERS:
        values = default_hyperparams(name, ds50, (-2.4, 2.4))
        assert list(values) == [h.name for h in HYPERPARAMS[name]]
        for h in HYPERPARAMS[name]:
            value = values[h.name]
            assert h.help and math.isfinite(value) and h.contains(value), (name, h)
            low, high = h.range_for(value)
            assert low <= value <= high, (name, h.name, low, value, high)
            assert bool(h.derived) == (h.default is None), (name, h.name)
        make_optimizer(name, **values)


def test_a_run_on_data_no_alpha_beta_can_fit_says_y_is_unreachable():
    """Mirror-image events in every row: s ≥ 3 on the whole plane, y = 1 out of reach."""
    I = [[1.0, -1.0], [2.0, -2.0], [-0.5, 0.5], [1.5, -1.5]]
    D = [[0.2, -0.2], [-1.0, 1.0], [0.7, -0.7], [0.1, -0.1]]
    ds = Dataset(I, D, 1.0)
    for name in ("newton", "gd"):
        tr = descend(ds, name, (1.0, 1.0), 300)
        assert not tr.converged
        assert "y = 1 is unreachable" in tr.stop_reason, tr.stop_reason
        assert "plateau" not in tr.stop_reason and "add a constant D = 1" in tr.stop_reason
    fits = descend(with_intercept(ds.with_y(3.5)), "newton", (1.0, 1.0), 300)
    assert "unreachable" not in fits.stop_reason
