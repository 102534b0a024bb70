"""Generators and presets: seeded, the right distributions, ragged rows, exact y."""

from decimal import Decimal, getcontext

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from core import DISTRIBUTIONS, PRESETS, DataError, Dist, evaluate, generate, make_preset


def same(a, b):
    return np.array_equal(a, b, equal_nan=True)


def test_same_seed_same_data_different_seeds_differ():
    for kind in DISTRIBUTIONS:
        a = generate(50, 4, I=kind, D=kind, events=(1, 4), y="sampled", seed=7)
        b = generate(50, 4, I=kind, D=kind, events=(1, 4), y="sampled", seed=7)
        c = generate(50, 4, I=kind, D=kind, events=(1, 4), y="sampled", seed=8)
        assert same(a.I, b.I) and same(a.D, b.D) and a.y == b.y, kind
        assert not same(a.I, c.I), kind


def test_a_generator_is_used_and_advanced(rng):
    a = generate(30, 3, seed=rng)
    b = generate(30, 3, seed=rng)  # the same generator, further along
    assert not same(a.I, b.I)
    again = generate(30, 3, seed=np.random.default_rng(20261126))
    assert same(again.I, a.I)


def test_distributions_have_their_support():
    rng_args = dict(N=400, E=5, seed=3)
    assert set(np.unique(generate(**rng_args, I="bernoulli").I)) == {0.0, 1.0}
    exp = generate(**rng_args, D=Dist("exponential", loc=2.0, scale=0.5)).D
    assert exp.min() >= 2.0 and abs(exp.mean() - 2.5) < 0.1
    uni = generate(**rng_args, I=Dist("uniform", loc=-1.0, scale=2.0)).I
    assert uni.min() >= -1.0 and uni.max() < 1.0
    logn = generate(**rng_args, I=Dist("lognormal", loc=0.0, scale=0.3)).I
    assert logn.min() > 0 and abs(np.median(np.log(logn))) < 0.05
    norm = generate(**rng_args, I=Dist("normal", loc=5.0, scale=0.01)).I
    assert abs(norm.mean() - 5.0) < 0.01 and norm.std() < 0.02
    coin = generate(**rng_args, I=Dist("bernoulli", p=0.2, loc=1.0, scale=3.0)).I
    assert set(np.unique(coin)) == {1.0, 4.0} and abs((coin == 4.0).mean() - 0.2) < 0.05


def test_ragged_rows_are_left_aligned_and_in_range():
    ds = generate(300, 6, events=(0, 4), seed=1)
    k = ds.present.sum(axis=1)
    assert k.min() == 0 and k.max() == 4
    assert set(np.unique(k)) == {0, 1, 2, 3, 4}
    # Present events come first in each row, NaN padding after them.
    assert same(ds.present, np.arange(6)[None, :] < k[:, None])
    assert same(np.isnan(ds.I), np.isnan(ds.D))
    assert ds.n_nonempty == int((k > 0).sum())


def test_expected_y_is_s_at_the_truth():
    ds = generate(120, 5, alpha=0.7, beta=-1.2, events=(2, 5), seed=4)
    assert ds.truth == (0.7, -1.2)
    s = evaluate(ds, 0.7, -1.2).s
    assert ds.y == s, f"y {ds.y!r} vs s(truth) {s!r}"


def test_sampled_y_is_a_whole_count_with_the_right_mean():
    ds = generate(20_000, 4, alpha=1.0, beta=-1.0, events=(0, 4), y="sampled", seed=5)
    q = evaluate(ds, 1.0, -1.0, parts=True).parts.q
    mean, sd = q.sum(), np.sqrt((q * (1 - q)).sum())
    assert float(ds.y).is_integer() and 0 <= ds.y <= ds.n_nonempty
    assert abs(ds.y - mean) < 5 * sd, f"sampled y {ds.y} vs expected {mean:.2f} ± {sd:.2f}"


def _q_decimal(x_row):
    """1 − Π(1 − σ(x)) with 60 significant digits: an independent reference."""
    getcontext().prec = 60
    p = Decimal(1)
    for x in x_row:
        p *= 1 - 1 / (1 + (-Decimal(float(x))).exp())
    return 1 - p


def test_rare_events_y_keeps_twelve_digits():
    ds = make_preset("rare events", N=40)
    a, b = ds.truth
    X = a * ds.I + b * ds.D
    exact = sum(_q_decimal(row) for row in X)
    rel = abs(Decimal(ds.y) - exact) / exact
    assert ds.y < 0.01  # s ≪ 1: naive 1 − Π(1 − F) would lose about 5 digits here
    assert rel < Decimal("1e-12"), f"y {ds.y!r} vs 60-digit {exact:.15e} (rel {rel:.1e})"


def test_collinear_makes_D_exactly_c_times_I():
    ds = generate(50, 3, collinear=-0.5, seed=2)
    assert same(ds.D, -0.5 * ds.I)
    noisy = generate(50, 3, collinear=2.0, collinear_noise=0.1, seed=2)
    resid = noisy.D - 2.0 * noisy.I
    assert 0.05 < resid.std() < 0.15


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(I="gamma"), r"Unknown distribution 'gamma'; expected one of normal, uniform"),
        (dict(I=3), r"I must be a Dist or one of normal"),
        (dict(events=(3, 9)), r"events=\(lo, hi\) needs 0 <= lo <= hi <= E=8; got \(3, 9\)"),
        (dict(events=(5, 2)), r"got \(5, 2\)"),
        (dict(y="mean"), r"y must be 'expected' or 'sampled'; got 'mean'"),
        (dict(N=0), r"generate needs N >= 1 and E >= 1; got N=0, E=8"),
    ],
)
def test_bad_arguments_say_what_to_pass(kwargs, message):
    with pytest.raises(DataError, match=message):
        generate(**kwargs)


def test_dist_checks_its_parameters():
    with pytest.raises(DataError, match=r"needs 0 <= p <= 1; got p=1.5"):
        Dist("bernoulli", p=1.5)
    with pytest.raises(DataError, match=r"finite scale >= 0; got loc=0.0, scale=-1"):
        Dist("normal", scale=-1)


@given(
    N=st.integers(1, 30),
    E=st.integers(1, 6),
    kind_I=st.sampled_from(DISTRIBUTIONS),
    kind_D=st.sampled_from(DISTRIBUTIONS),
    alpha=st.floats(-20, 20),
    beta=st.floats(-20, 20),
    lo=st.integers(0, 6),
    sampled=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_any_recipe_gives_a_valid_dataset(N, E, kind_I, kind_D, alpha, beta, lo, sampled, seed):
    lo = min(lo, E)
    ds = generate(
        N,
        E,
        alpha=alpha,
        beta=beta,
        I=kind_I,
        D=kind_D,
        events=(lo, E),
        y="sampled" if sampled else "expected",
        seed=seed,
    )
    assert ds.I.shape == (N, E) and np.isfinite(ds.y)
    assert 0 <= ds.y <= ds.n_nonempty


# --- presets


def test_presets_are_described_and_build():
    assert "balanced" in PRESETS
    for name, preset in PRESETS.items():
        text = preset.description
        assert 40 < len(text) < 300 and text.count(". ") <= 2, name
        ds = make_preset(name, N=min(preset.params.get("N", 200), 2000))
        assert ds.name == name and ds.truth == (preset.params["alpha"], preset.params["beta"])


def test_preset_sizes_and_overrides():
    assert make_preset("balanced").I.shape == (200, 8)
    large = make_preset("large")
    assert large.N == 100_000
    small = make_preset("balanced", seed=1, N=30)
    assert small.N == 30 and not same(small.I, make_preset("balanced", seed=2, N=30).I)
    ragged = make_preset("ragged exposure log")
    assert (~ragged.present).any() and float(ragged.y).is_integer()


def test_presets_are_seeded():
    a, b = make_preset("saturated sigmoids", seed=3), make_preset("saturated sigmoids", seed=3)
    assert same(a.I, b.I) and a.y == b.y


def test_balanced_default_is_interesting():
    ds = make_preset("balanced")
    assert 0.3 < ds.y / ds.N < 0.7, f"s/N = {ds.y / ds.N:.3f}: want about half the rows"


def test_unknown_preset_lists_the_known_ones():
    with pytest.raises(DataError, match=r"Unknown preset 'nope'; expected one of: balanced, "):
        make_preset("nope")


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"N": 1_000_000, "E": 200}, r"N·E = 200,000,000 cells here, over the limit"),
        ({"alpha": 1e17}, r"within ±1e6"),
        ({"beta": float("nan")}, r"must be finite"),
    ],
)
def test_generate_refuses_what_would_exhaust_memory_or_collapse_the_view(kwargs, message):
    with pytest.raises(DataError, match=message):
        generate(**kwargs)
