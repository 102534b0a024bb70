"""Synthetic datasets from known (α*, β*), and named presets that each teach something.

    ds = generate(200, 8, alpha=1.0, beta=-1.5, I="normal", D="exponential", seed=0)
    ds = make_preset("collinear", seed=3)
    ds.truth                                    # (α*, β*)

The observed count y is either the expected count s(α*, β*) or a sampled one:
each row succeeds with probability 1 − p_i, drawn as a Bernoulli. 1 − p_i comes
from ``evaluate(..., parts=True).q`` (log space), so rare events stay exact.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

import numpy as np

from .errors import DataError
from .model import Dataset, evaluate
from .validation import MAX_CELLS

__all__ = [
    "DEFAULT_PRESET",
    "DISTRIBUTIONS",
    "PRESETS",
    "Dist",
    "Preset",
    "generate",
    "make_preset",
]

DISTRIBUTIONS = ("normal", "uniform", "exponential", "lognormal", "bernoulli")


@dataclass(frozen=True)
class Dist:
    """How to draw the entries of I or D.

    kind        draw
    normal      loc + scale·Z,          Z ~ N(0, 1)
    uniform     loc + scale·U,          U ~ U(0, 1)
    exponential loc + scale·Exp(1)      (durations, distances: >= loc)
    lognormal   exp(loc + scale·Z)      (skewed positive amounts)
    bernoulli   loc + scale·B,          B ~ Bernoulli(p)  (0/1 exposure by default)
    """

    kind: str = "normal"
    loc: float = 0.0
    scale: float = 1.0
    p: float = 0.5

    def __post_init__(self) -> None:
        if self.kind not in DISTRIBUTIONS:
            raise DataError(
                f"Unknown distribution {self.kind!r}; expected one of {', '.join(DISTRIBUTIONS)}."
            )
        if not (np.isfinite(self.loc) and np.isfinite(self.scale) and self.scale >= 0):
            raise DataError(
                f"Dist({self.kind!r}) needs a finite loc and a finite scale >= 0; got "
                f"loc={self.loc}, scale={self.scale}."
            )
        if not 0.0 <= self.p <= 1.0:
            raise DataError(f"Dist('bernoulli') needs 0 <= p <= 1; got p={self.p}.")

    def draw(self, rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
        """An array of the given shape, drawn from this distribution."""
        if self.kind == "normal":
            return self.loc + self.scale * rng.standard_normal(shape)
        if self.kind == "uniform":
            return self.loc + self.scale * rng.random(shape)
        if self.kind == "exponential":
            return self.loc + self.scale * rng.standard_exponential(shape)
        if self.kind == "lognormal":
            return np.exp(self.loc + self.scale * rng.standard_normal(shape))
        return self.loc + self.scale * (rng.random(shape) < self.p)


def _as_dist(value: Dist | str, which: str) -> Dist:
    if isinstance(value, Dist):
        return value
    if isinstance(value, str):
        return Dist(value)
    raise DataError(f"{which} must be a Dist or one of {', '.join(DISTRIBUTIONS)}; got {value!r}.")


def _as_rng(seed: int | np.random.Generator) -> np.random.Generator:
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(seed)


def generate(
    N: int = 200,
    E: int = 8,
    *,
    alpha: float = 1.0,
    beta: float = -1.0,
    I: Dist | str = "normal",
    D: Dist | str = "exponential",
    events: tuple[int, int] | None = None,
    collinear: float | None = None,
    collinear_noise: float = 0.0,
    y: Literal["expected", "sampled"] = "expected",
    seed: int | np.random.Generator = 0,
    name: str = "generated",
) -> Dataset:
    """A Dataset drawn from the model with true parameters (alpha, beta).

    Parameters
    ----------
    N, E : rows (cases) and event columns; I and D have shape (N, E).
    alpha, beta : the truth (α*, β*), stored as ``ds.truth``.
    I, D : a :class:`Dist` or a distribution name (see ``DISTRIBUTIONS``).
    events : (lo, hi) for ragged rows: row i keeps its first k_i events,
        k_i uniform in lo..hi (0 <= lo <= hi <= E); the rest are NaN. None: all E.
    collinear : c, to make D = c·I (+ ``collinear_noise``·N(0, 1)) instead of drawing D:
        then L depends on α + cβ only and the valley is flat.
    y : "expected" gives y = s(α*, β*) (not a whole number); "sampled" draws each row's
        outcome as Bernoulli(1 − p_i) and counts the successes.
    seed : an int or a numpy Generator; the same seed gives the same data.
    """
    N, E = int(N), int(E)
    if N < 1 or E < 1:
        raise DataError(f"generate needs N >= 1 and E >= 1; got N={N}, E={E}.")
    if N * E > MAX_CELLS:
        raise DataError(
            f"generate makes N·E = {N * E:,} cells here, over the limit of {MAX_CELLS:,} "
            "(about 160 MB per matrix); use fewer rows or events."
        )
    if not (np.isfinite(alpha) and np.isfinite(beta)) or max(abs(alpha), abs(beta)) > 1e6:
        raise DataError(
            f"the true (alpha, beta) must be finite and within ±1e6; got ({alpha}, {beta})."
        )
    if y not in ("expected", "sampled"):
        raise DataError(f"y must be 'expected' or 'sampled'; got {y!r}.")
    rng = _as_rng(seed)
    dist_I, dist_D = _as_dist(I, "I"), _as_dist(D, "D")

    # Fixed draw order (I, D, event counts, outcomes) keeps seeds reproducible.
    I_arr = dist_I.draw(rng, (N, E))
    if collinear is None:
        D_arr = dist_D.draw(rng, (N, E))
    else:
        D_arr = float(collinear) * I_arr
        if collinear_noise:
            D_arr = D_arr + float(collinear_noise) * rng.standard_normal((N, E))
    if events is not None:
        lo, hi = (int(k) for k in events)
        if not 0 <= lo <= hi <= E:
            raise DataError(f"events=(lo, hi) needs 0 <= lo <= hi <= E={E}; got ({lo}, {hi}).")
        k = rng.integers(lo, hi + 1, size=N)
        absent = np.arange(E)[None, :] >= k[:, None]
        I_arr[absent] = np.nan
        D_arr[absent] = np.nan

    ds = Dataset(I_arr, D_arr, 0.0, name=name, truth=(alpha, beta))
    q = evaluate(ds, alpha, beta, hessian=False, parts=True).parts.q  # 1 − p_i, log space
    if y == "expected":
        count = float(q.sum())
    else:
        count = float(np.count_nonzero(rng.random(N) < q))
    return ds.with_y(count)


@dataclass(frozen=True)
class Preset:
    """A named recipe: ``generate(**params)`` with a sentence on what it teaches."""

    description: str
    params: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))


def _preset(description: str, **params: Any) -> Preset:
    return Preset(description, MappingProxyType(params))


DEFAULT_PRESET = "balanced"

PRESETS: MappingProxyType[str, Preset] = MappingProxyType(
    {
        "balanced": _preset(
            "200 rows of 8 events with a bell-shaped I and a positive D (at least 1): about half "
            "the rows succeed, and the loss has a clear, curved valley. Start here.",
            N=200,
            E=8,
            alpha=1.0,
            beta=-1.5,
            I=Dist("normal"),
            D=Dist("exponential", loc=1.0),
        ),
        "ragged exposure log": _preset(
            "Each row is a person with 1 to 12 logged exposures (I = 1 if exposed, else 0) "
            "and a duration D; rows have different lengths, and y is a sampled whole count.",
            N=300,
            E=12,
            alpha=0.8,
            beta=-0.6,
            I=Dist("bernoulli", p=0.4),
            D=Dist("lognormal", loc=1.0, scale=0.5),
            events=(1, 12),
            y="sampled",
        ),
        "collinear": _preset(
            "D is exactly 2·I, so only α + 2β matters: the loss has a perfectly flat valley "
            "along a straight line, and no optimizer can pick one point on it.",
            N=200,
            E=8,
            alpha=-1.0,
            beta=-0.5,
            I=Dist("exponential", loc=0.5),
            collinear=2.0,
        ),
        "rare events": _preset(
            "Every event is very unlikely (σ(X) around 1e-6), so the expected count s is tiny; "
            "computing in log space keeps it accurate where 1 − Π(1 − F) would round to 0.",
            N=200,
            E=8,
            alpha=-4.0,
            beta=-2.0,
            I=Dist("uniform", loc=2.0, scale=1.0),
            D=Dist("exponential", loc=1.0),
        ),
        "saturated sigmoids": _preset(
            "I and D are large (spread about 15), so σ(X) is almost always 0 or 1 to 13 digits: "
            "the loss is made of flat plateaus where gradients vanish.",
            N=200,
            E=8,
            alpha=1.0,
            beta=0.5,
            I=Dist("normal", loc=-20.0, scale=15.0),
            D=Dist("normal", scale=15.0),
        ),
        "large": _preset(
            "The balanced recipe with N = 100,000 rows: the same landscape, to time the code "
            "and see that s grows with N while its shape stays.",
            N=100_000,
            E=8,
            alpha=1.0,
            beta=-1.5,
            I=Dist("normal"),
            D=Dist("exponential", loc=1.0),
        ),
    }
)


def make_preset(name: str, seed: int | np.random.Generator = 0, **overrides: Any) -> Dataset:
    """The preset ``name`` (a key of PRESETS) drawn with ``seed``; ``overrides`` change params.

    >>> make_preset("balanced").truth
    (1.0, -1.5)
    """
    if name not in PRESETS:
        raise DataError(f"Unknown preset {name!r}; expected one of: {', '.join(PRESETS)}.")
    params = {**PRESETS[name].params, **overrides}
    params.setdefault("name", name)
    return generate(seed=seed, **params)
