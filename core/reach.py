"""Which counts y can the model reach at all: the range of s over every (α, β) ∈ R².

    r = s_range_plane(ds)          # r.low, r.high: s over the whole plane lies between
    r.reachable(ds.y)              # False: no (α, β) fits y; the data need an intercept?
    with_intercept(ds)             # D replaced by 1 at every present event: β is one

Far out along a direction θ, X_ij = t·z_ij with z_ij = cos θ·I_ij + sin θ·D_ij and t → ∞,
so σ(X_ij) tends to 1 where z_ij > 0, to 0 where z_ij < 0 and stays ½ where z_ij = 0. The
limit of s along θ is therefore the number of rows with an event z_ij > 0, plus
1 − 2^(−k) for a row whose best events are k ties. It changes only at the angles where
some z_ij changes sign; between them it is constant. So the limits along every direction
are the values at those angles (ties) and between them, and a search inside (a polar grid
over many scales) adds the values s takes at finite (α, β). s is continuous, so its range
over the plane is the interval between the smallest and the largest of these.

With I and D both centred every row tends to have events of both signs: then every
direction has a positive event in almost every row, s stays near the number of rows with
an event, and a small y is out of reach whatever (α, β). This model has no intercept; a
constant D = 1 makes β one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .landscape import evaluate_points
from .model import Dataset
from .validation import MAX_PARAM

__all__ = ["PlaneRange", "s_limit", "s_range_plane", "unreachable_words", "with_intercept"]

# Work budget (cells × angles) of the sweep; beyond it the angles are subsampled.
_SWEEP_BUDGET = 10_000_000
_TIE = 1e-10  # |z| below this times |I| + |D| counts as 0 (a tie) at a critical angle


@dataclass(frozen=True)
class PlaneRange:
    """The range of s over all (α, β) ∈ R².

    low, high   : the smallest and largest s found (limits along directions included)
    low_at, high_at : where: ("direction", θ in degrees) for a limit, ("point", (α, β))
    angles      : how many directions were swept;  exact : every critical angle was
                  (else a subsample: the range may be slightly wider)
    nonempty    : rows with an event (s < nonempty for every finite (α, β))
    """

    low: float
    high: float
    low_at: tuple
    high_at: tuple
    angles: int
    exact: bool
    nonempty: int

    def reachable(self, y: float, rtol: float = 1e-9) -> bool:
        """Whether some (α, β), finite or in a limit, gets s to y (to rtol·nonempty)."""
        tol = rtol * max(1, self.nonempty)
        return self.low - tol <= y <= self.high + tol


def _on_blocks(ds, func, *args) -> list:
    """``func(block, *args)`` for every block of rows: in memory the data set itself; a
    partitioned data set runs it on its workers (the blocks never leave them)."""
    if isinstance(ds, Dataset):
        return [func(ds, *args)]
    return ds.map_blocks(func, *args)


def _block_limits(block, thetas: np.ndarray) -> np.ndarray:
    """(K,) this block's share of the limit of s along each θ (limits add over rows)."""
    present = ~np.isnan(block.I)
    I0, D0 = np.where(present, block.I, 0.0), np.where(present, block.D, 0.0)
    scale = np.abs(I0) + np.abs(D0)
    out = np.empty(thetas.size)
    chunk = max(1, 4_000_000 // max(1, I0.size))
    for lo in range(0, thetas.size, chunk):
        th = thetas[lo : lo + chunk, None, None]
        z = np.cos(th) * I0 + np.sin(th) * D0
        tie = present & (np.abs(z) <= _TIE * scale)
        pos = present & ~tie & (z > 0)
        k = tie.sum(axis=2)
        row = np.where(pos.any(axis=2), 1.0, -np.expm1(k * np.log(0.5)))
        out[lo : lo + chunk] = row.sum(axis=1)
    return out


def s_limit(ds: Dataset, thetas: np.ndarray) -> np.ndarray:
    """(K,) the limit of s along each direction θ (radians) as (α, β) = t(cos θ, sin θ), t → ∞."""
    thetas = np.atleast_1d(np.asarray(thetas, dtype=float))
    return np.sum(_on_blocks(ds, _block_limits, thetas), axis=0)


def _block_angles(block, cap: int) -> tuple[np.ndarray, bool]:
    """This block's critical angles (where some z_ij = 0) in [0, π), at most ``cap``."""
    present = ~np.isnan(block.I)
    I, D = block.I[present], block.D[present]
    keep = (I != 0) | (D != 0)
    crit = np.unique(np.mod(np.arctan2(-I[keep], D[keep]), np.pi))
    if crit.size <= cap:
        return crit, True
    return crit[np.unique(np.linspace(0, crit.size - 1, cap).round().astype(int))], False


def _sweep_angles(ds) -> tuple[np.ndarray, bool]:
    """The critical angles (cos θ·I + sin θ·D = 0 for some event) and the midpoints."""
    cap = max(64, _SWEEP_BUDGET // max(1, 2 * ds.N * ds.E))
    parts = _on_blocks(ds, _block_angles, cap)
    crit = np.unique(np.concatenate([p[0] for p in parts]))
    exact = all(p[1] for p in parts) and crit.size <= cap
    if crit.size > cap:
        crit = crit[np.unique(np.linspace(0, crit.size - 1, cap).round().astype(int))]
    crit = np.unique(np.concatenate([crit, crit + np.pi, [0.0]]))
    mids = (crit + np.append(crit[1:], crit[0] + 2 * np.pi)) / 2
    return np.concatenate([crit, mids]), exact


def _block_zmax(block) -> float:
    return float(np.fmax.reduce(np.abs(np.concatenate([block.I.ravel(), block.D.ravel()]))))


def _inside(ds: Dataset) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(alphas, betas, s) on a polar grid over many scales around (0, 0)."""
    zmax = max(_on_blocks(ds, _block_zmax))
    zmax = 1.0 if np.isnan(zmax) or zmax == 0 else zmax  # all zero: s is constant anyway
    n_dir = 48 if ds.N * ds.E * 48 * 20 <= 5e7 else 16
    # |α·z| from 1e-3 to 1e3, within the parameters validation accepts
    radii = np.minimum(np.geomspace(1e-3, 1e3, 20) / zmax, MAX_PARAM / 10)
    th = np.linspace(0, 2 * np.pi, n_dir, endpoint=False)
    a = np.append(np.outer(radii, np.cos(th)).ravel(), 0.0)
    b = np.append(np.outer(radii, np.sin(th)).ravel(), 0.0)
    with np.errstate(over="ignore", invalid="ignore"):
        s = evaluate_points(ds, a, b).s
    return a, b, s


_CACHE: dict[str, PlaneRange] = {}  # by Dataset.fingerprint: stop reasons ask every step


def s_range_plane(ds: Dataset) -> PlaneRange:
    """The range of s over all (α, β) ∈ R² (see the module doc). Needs an event."""
    key = ds.fingerprint
    if key not in _CACHE:
        if len(_CACHE) >= 8:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[key] = _s_range_plane(ds)
    return _CACHE[key]


def _refine(
    ds: Dataset, a: float, b: float, step: float, sign: float
) -> tuple[float, float, float]:
    """(α, β, s) after a pattern search from (a, b) for the smallest sign·s (30 halvings)."""
    offsets = np.array([[1, 0], [-1, 0], [0, 1], [0, -1], [1, 1], [1, -1], [-1, 1], [-1, -1]])
    best = sign * float(evaluate_points(ds, [a], [b]).s[0])
    for _ in range(30):
        pts = np.array([a, b]) + step * offsets
        with np.errstate(over="ignore", invalid="ignore"):
            s = sign * evaluate_points(ds, pts[:, 0], pts[:, 1]).s
        k = int(np.argmin(s))
        if s[k] < best:
            best, (a, b) = float(s[k]), (float(pts[k, 0]), float(pts[k, 1]))
        else:
            step /= 2
    return a, b, sign * best


def _s_range_plane(ds: Dataset) -> PlaneRange:
    thetas, exact = _sweep_angles(ds)
    lim = s_limit(ds, thetas)
    a, b, s = _inside(ds)
    i_lo, i_hi = int(np.argmin(lim)), int(np.argmax(lim))
    # The grid's best points, refined: a y just beyond a grid value may still be reachable.
    for sign, j in ((1.0, int(np.argmin(s))), (-1.0, int(np.argmax(s)))):
        step = max(abs(a[j]), abs(b[j])) / 4 or 0.1
        ra, rb, rs = _refine(ds, float(a[j]), float(b[j]), step, sign)
        a, b, s = np.append(a, ra), np.append(b, rb), np.append(s, rs)
    j_lo, j_hi = int(np.argmin(s)), int(np.argmax(s))

    def where_lim(i: int) -> tuple:
        return ("direction", float(np.degrees(thetas[i]) % 360))

    low, low_at = (
        (float(lim[i_lo]), where_lim(i_lo))
        if lim[i_lo] <= s[j_lo]
        else (float(s[j_lo]), ("point", (float(a[j_lo]), float(b[j_lo]))))
    )
    high, high_at = (
        (float(lim[i_hi]), where_lim(i_hi))
        if lim[i_hi] >= s[j_hi]
        else (float(s[j_hi]), ("point", (float(a[j_hi]), float(b[j_hi]))))
    )
    return PlaneRange(low, high, low_at, high_at, int(thetas.size), exact, ds.n_nonempty)


def with_intercept(ds: Dataset) -> Dataset:
    """``ds`` with D = 1 at every present event (absent stay absent): β is an intercept."""
    D = np.where(ds.present, 1.0, np.nan)
    name = f"{ds.name} + intercept" if ds.name else "with intercept"
    return Dataset(ds.I, D, ds.y, name=name, row_ids=ds.row_ids)


# Stop reasons check reachability only up to this many cells (the sweep's cost grows with it).
_REASON_CELLS = 200_000


def unreachable_words(ds: Dataset) -> str:
    """A sentence for a stop reason when no (α, β) reaches y, else "" (also for big data)."""
    if ds.I.size > _REASON_CELLS or ds.n_nonempty == 0:
        return ""
    r = s_range_plane(ds)
    if r.reachable(ds.y):
        return ""
    return (
        f"y = {ds.y:.6g} is unreachable: over all (α, β) s stays within "
        f"[{r.low:.6g}, {r.high:.6g}], so L cannot reach 0 anywhere. The model has no "
        "intercept: add a constant D = 1 (see the data report)"
    )
