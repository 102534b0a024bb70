"""The test data sets, built in one place: ragged, rare-event, saturated and dense.

    I, D = ragged(rng, 80, 7)          # NaN tails as a loaded file has them; some rows empty
    I, D = scattered(rng, 40, 5)       # absent cells anywhere, row 0 empty; values in [-1, 1]
    I, D = durations(rng)              # I normal, D ≥ 0 (a duration); row 0 empty, row 1 one event
    I, D = positive(rng, 12, 5)        # durations shifted to ≥ 0.5: σ saturates for large α, β
    I, D = dense(rng, 20, 4)           # standard normal, no absent event
    I, D = rare(rng, 8, 3)             # values near 1: with α, β ≪ 0 every σ is tiny
    I, D = saturated_small()           # fixed 3 × 3, mixed signs, for |α| ≫ 1
    ds = exact_ragged()                # fixed Dataset of floats only an exact writer keeps

Every random builder takes a numpy Generator (or an int seed) and draws in a fixed order:
the same generator state gives the same numbers, so tolerances tuned on them stay valid.
Arrays are (N, E) float64, NaN = absent event.
"""

from __future__ import annotations

import numpy as np

from core import Dataset

__all__ = [
    "dense",
    "durations",
    "exact_ragged",
    "positive",
    "ragged",
    "rare",
    "saturated_small",
    "scattered",
]

Seed = int | np.random.Generator
Pair = tuple[np.ndarray, np.ndarray]


def _rng(seed: Seed) -> np.random.Generator:
    return np.random.default_rng(seed)  # a Generator comes back unchanged


def _drop(I: np.ndarray, D: np.ndarray, absent: np.ndarray) -> Pair:
    I[absent] = np.nan
    D[absent] = np.nan
    return I, D


def _holes(rng: np.random.Generator, N: int, E: int, frac: float) -> np.ndarray:
    """bool (N, E): each cell absent with probability ``frac``; row 0 empty (it adds nothing)."""
    absent = rng.random((N, E)) < frac
    absent[0] = True
    return absent


def ragged(seed: Seed, N: int, E: int, *, scale: float = 1.0) -> Pair:
    """Normal values times ``scale``; row i keeps a random number (0..E) of leading events."""
    rng = _rng(seed)
    I = rng.normal(size=(N, E)) * scale
    D = rng.normal(size=(N, E)) * scale
    lengths = rng.integers(0, E + 1, size=N)
    return _drop(I, D, np.arange(E)[None, :] >= lengths[:, None])


def scattered(seed: Seed, N: int, E: int, *, lo: float = -1.0, hi: float = 1.0) -> Pair:
    """Uniform values in [lo, hi); 30 % of the cells absent anywhere in a row; row 0 empty."""
    rng = _rng(seed)
    I = rng.uniform(lo, hi, (N, E))
    D = rng.uniform(lo, hi, (N, E))
    return _drop(I, D, _holes(rng, N, E, 0.3))


def durations(seed: Seed, N: int = 30, E: int = 6, *, frac: float = 0.3) -> Pair:
    """I normal, D exponential (≥ 0); ``frac`` of the cells absent, row 0 empty, row 1 one event."""
    rng = _rng(seed)
    I = rng.normal(size=(N, E))
    D = rng.exponential(size=(N, E))
    absent = _holes(rng, N, E, frac)
    absent[1, 1:] = True
    return _drop(I, D, absent)


def positive(seed: Seed, N: int = 30, E: int = 6) -> Pair:
    """:func:`durations` moved to values ≥ 0.5: X = α·I + β·D has the sign of α and β."""
    I, D = durations(seed, N, E)
    return np.abs(I) + 0.5, D + 0.5


def dense(seed: Seed, N: int, E: int) -> Pair:
    """Standard normal I and D, every event present."""
    rng = _rng(seed)
    return rng.normal(size=(N, E)), rng.normal(size=(N, E))


def rare(seed: Seed, N: int, E: int, *, lo: float = 0.9, hi: float = 1.1) -> Pair:
    """Uniform values in [lo, hi), every event present: at α, β ≪ 0 each σ ≈ e^(α·I + β·D)."""
    rng = _rng(seed)
    return rng.uniform(lo, hi, (N, E)), rng.uniform(lo, hi, (N, E))


def saturated_small() -> Pair:
    """3 × 3 of mixed signs, the last row ragged: small enough for the oracle at large |α|."""
    I = np.array([[1.0, -1.0, 0.5], [-1.0, -0.5, -2.0], [2.0, 1.0, np.nan]])
    D = np.array([[0.2, 0.1, -0.3], [0.4, -0.2, 0.1], [0.0, 0.5, np.nan]])
    return I, D


def exact_ragged() -> Dataset:
    """Ragged rows, an empty row, and floats that only survive an exact writer (4 × 3)."""
    nan = np.nan
    I = np.array(
        [
            [0.1, 1 / 3, nan],
            [nan, nan, nan],
            [-2.5e-300, 7.0, 9.876543210987654e99],
            [5.0, nan, nan],
        ]
    )
    D = np.array([[1.0, -0.0, nan], [nan, nan, nan], [3.0, 2 / 7, 0.0], [1e-7, nan, nan]])
    return Dataset(I, D, 2.0, name="ragged", truth=(0.5, -1.0))
