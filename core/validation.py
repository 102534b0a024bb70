"""Every input check of losslens, in one place (scikit-learn's ``check_array`` is the model).

Data enters :class:`core.Dataset` through :func:`check_pair` and :func:`check_y` once;
parameters enter through :func:`check_scalar`, :func:`check_step`, :func:`check_axis`,
:func:`check_start`, :func:`check_box`, :func:`check_count` and :func:`check_backend`.
The numerical code behind them trusts its input. Every refusal is a :class:`DataError`
whose message says what was expected, what came, and how to fix it; the size limits
are public constants here.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from .errors import DataError
from .rowids import TextIds

__all__ = [
    "BACKENDS",
    "BOX_LIMIT",
    "MAX_ABS",
    "MAX_CELLS",
    "MAX_PARAM",
    "MAX_UPLOAD_MB",
    "MAX_Y",
    "MB",
    "box_problem",
    "check_axis",
    "check_backend",
    "check_box",
    "check_count",
    "check_dataset",
    "check_matrix",
    "check_pair",
    "check_points",
    "check_row_ids",
    "check_scalar",
    "check_start",
    "check_step",
    "check_y",
]

# Largest |I|, |D| accepted: Hessian terms hold (Σ_j F·z)², which must stay finite.
MAX_ABS = 1e100
# Cells (N·E) that a file, a generated data set or an upload may hold in memory.
MAX_CELLS = 20_000_000
# Largest file read (matches dashboard/.streamlit/config.toml [server] maxUploadSize).
MAX_UPLOAD_MB = 200
MB = 1024 * 1024
# A row id of a long file: at most this many bytes each, and this many bytes of distinct
# ids in all (a compressed Parquet column could otherwise hold gigabytes of long ids).
MAX_ID_BYTES = 256
MAX_ALL_IDS_BYTES = 256 * MB
# Largest |α|, |β| of a box: beyond it the map's axes and the descent lose their meaning.
BOX_LIMIT = 1e4
# Largest |α|, |β| core evaluates: |α·I| <= 1e200 · MAX_ABS = 1e300, so X = α·I + β·D and
# everything after it stay finite (past ~1e308 / |I|, α·I is inf and inf − inf is NaN).
MAX_PARAM = 1e200
# Largest |y|: beyond it ½(y − s)² is no longer a loss of a count (1e308 made L = inf).
MAX_Y = 1e15
BACKENDS = ("auto", "numba", "numpy")

Box = tuple[float, float, float, float]


def _first_position(mask: np.ndarray) -> tuple[int, ...]:
    return tuple(int(k) for k in np.argwhere(mask)[0])


def _fmt_pos(name: str, pos: tuple[int, ...]) -> str:
    return f"{name}[{', '.join(map(str, pos))}] (row {pos[0]}, column {pos[1]})"


def check_matrix(value: object, name: str) -> np.ndarray:
    """Return ``value`` as a float64 (N, E) array, or raise :class:`DataError`.

    Accepts real numbers of any int or float dtype; NaN marks an absent event.
    Refuses bool, complex, text and object arrays, ±inf, and anything not 2-D.
    """
    if isinstance(value, str | bytes):
        raise DataError(
            f"{name} must be a 2-D array of real numbers with shape (N, E); got a "
            f"{type(value).__name__}. Pass a numpy array or a list of rows."
        )
    try:
        arr = np.asarray(value)
    except (ValueError, TypeError) as exc:  # ragged nested lists
        raise DataError(
            f"{name} must be a 2-D array of real numbers with shape (N, E); could not "
            f"make an array of it ({exc}). Every row must have the same length: pad "
            "short rows with NaN (an absent event)."
        ) from None
    kind = arr.dtype.kind
    if kind == "b":
        raise DataError(
            f"{name} must hold real numbers; got booleans (dtype bool). Convert with "
            f"{name}.astype(float) if 0/1 is what you mean."
        )
    if kind == "c":
        raise DataError(
            f"{name} must hold real numbers; got complex numbers (dtype {arr.dtype}). "
            "Take the real part if the imaginary part is zero."
        )
    if kind in "USO":
        bad = _first_non_number(arr)
        where = f" {_fmt_pos(name, bad[0])} holds {bad[1]!r};" if bad else ""
        raise DataError(
            f"{name} must hold real numbers; got {_kind_word(kind)} (dtype {arr.dtype});"
            f"{where} expected a number, or NaN for an absent event. Fix that cell or "
            f"convert the column to numbers."
        )
    if kind not in "iuf":
        raise DataError(
            f"{name} must hold real numbers; got dtype {arr.dtype}. Convert it to float."
        )
    if arr.ndim != 2:
        hint = f" Use {name}.reshape(-1, 1) for one event per row." if arr.ndim == 1 else ""
        raise DataError(
            f"{name} must be 2-D with shape (N, E) (a row per case, a column per event); "
            f"got {arr.ndim}-D with shape {arr.shape}.{hint}"
        )
    n, e = arr.shape
    if n < 1 or e < 1:
        raise DataError(
            f"{name} has shape {arr.shape}; need at least one row (N >= 1) and one "
            "event column (E >= 1)."
        )
    arr = np.ascontiguousarray(arr, dtype=np.float64)  # no copy when it is one already
    # fmax/fmin skip NaN and need no (N, E) temporaries (the data may be gigabytes).
    lo, hi = np.fmin.reduce(arr, axis=None), np.fmax.reduce(arr, axis=None)
    if not (-np.inf < lo and hi < np.inf):  # an infinity (NaN bounds: all absent, fine)
        if not (np.isnan(lo) and np.isnan(hi)):
            inf = np.isinf(arr)
            pos = _first_position(inf)
            raise DataError(
                f"{_fmt_pos(name, pos)} is {arr[pos]}; expected a finite number (NaN marks "
                f"an absent event). {int(inf.sum())} cell(s) of {name} are infinite."
            )
    if max(-lo, hi) > MAX_ABS:  # NaN compares False
        big = np.abs(arr) > MAX_ABS
        pos = _first_position(big)
        raise DataError(
            f"{_fmt_pos(name, pos)} is {arr[pos]:g}; values beyond ±{MAX_ABS:g} are refused "
            "because the gradient and the Hessian square them and would overflow. Rescale "
            f"{name} (divide it by a power of ten: the fitted parameter scales the other way)."
        )
    return arr


def _kind_word(kind: str) -> str:
    return {"U": "text", "S": "bytes", "O": "Python objects"}[kind]


def _first_non_number(arr: np.ndarray) -> tuple[tuple[int, ...], object] | None:
    """The first cell (as an index tuple) that is not a real number, and its value."""
    if arr.ndim != 2:
        return None
    for pos, cell in np.ndenumerate(arr):
        if isinstance(cell, np.generic):
            cell = cell.item()
        if isinstance(cell, bool | np.bool_) or not isinstance(cell, numbers.Real | str):
            return pos, cell
        if isinstance(cell, str | bytes):
            try:
                float(cell)
            except ValueError:
                return pos, cell
    return None


def check_pair(I: object, D: object) -> tuple[np.ndarray, np.ndarray]:
    """Validate I and D together: same shape, NaN at the same positions."""
    I = check_matrix(I, "I")
    D = check_matrix(D, "D")
    if I.shape != D.shape:
        raise DataError(
            f"I and D must have the same shape (N, E); got I {I.shape} and D {D.shape}. "
            "Each event needs both an I and a D value."
        )
    rows = max(1, (1 << 20) // I.shape[1])  # bounded temporaries
    for r0 in range(0, I.shape[0], rows):
        mismatch = np.isnan(I[r0 : r0 + rows]) != np.isnan(D[r0 : r0 + rows])
        if mismatch.any():
            row, col = _first_position(mismatch)
            pos = (r0 + row, col)
            n_bad = int((np.isnan(I) != np.isnan(D)).sum())
            raise DataError(
                f"NaN marks an absent event and must sit at the same positions in I and D; "
                f"first mismatch at row {pos[0]}, column {pos[1]}: I is {I[pos]}, D is "
                f"{D[pos]}. {n_bad} cell(s) differ. Put NaN in both, or a number in both."
            )
    return I, D


def check_y(y: object) -> float:
    """The observed count: a finite real number within ±MAX_Y (outside [0, N] is allowed)."""
    if isinstance(y, bool | np.bool_) or not isinstance(y, numbers.Real | np.ndarray):
        raise DataError(
            f"y must be a finite real number (the observed count); got {y!r} of type "
            f"{type(y).__name__}."
        )
    arr = np.asarray(y)
    if arr.size != 1 or arr.dtype.kind not in "iuf":
        raise DataError(
            f"y must be a single finite real number (the observed count); got an array of "
            f"shape {arr.shape} and dtype {arr.dtype}."
        )
    value = float(arr.reshape(()))
    if not np.isfinite(value):
        raise DataError(f"y must be a finite real number (the observed count); got {value}.")
    if abs(value) > MAX_Y:
        raise DataError(
            f"y is {value:g}; the observed count must lie within ±{MAX_Y:g} (MAX_Y): the loss "
            "½(y − s)² of a larger y overflows and the map would show nothing."
        )
    return value


def check_scalar(value: object, name: str) -> float:
    """``value`` as a finite float within ±MAX_PARAM (α, β, steps), or DataError."""
    ok = not isinstance(value, bool | np.bool_ | str | bytes)
    try:
        x = float(value) if ok else math.nan  # type: ignore[arg-type]
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise DataError(
            f"{name} must be a finite real number; got {value!r:.60} of type "
            f"{type(value).__name__}. Pass a float such as 0.5."
        )
    if not math.isfinite(x):
        raise DataError(f"{name} must be a finite real number; got {x}. Pass a float such as 0.5.")
    if abs(x) > MAX_PARAM:
        raise DataError(_beyond(name, x))
    return x


def _beyond(name: str, value: float) -> str:
    return (
        f"{name} is {value:g}; parameters must lie within ±{MAX_PARAM:g} (MAX_PARAM), where "
        f"α·I + β·D stays finite for any |I|, |D| <= {MAX_ABS:g}."
    )


def check_step(value: object, name: str) -> float:
    """A finite step > 0 (finite differences, x_step), or DataError."""
    h = check_scalar(value, name)
    if h <= 0:
        raise DataError(
            f"{name} must be a positive step; got {h}. Pass e.g. 1e-5, or None for the default."
        )
    return h


def check_count(value: object, name: str, *, lo: int = 0, hi: int | None = None) -> int:
    """A whole number in [lo, hi] (steps, grid sizes), or DataError."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, int | np.integer):
        raise DataError(f"{name} must be a whole number >= {lo}; got {value!r:.60}.")
    v = int(value)
    if v < lo or (hi is not None and v > hi):
        span = f"from {lo:,} to {hi:,}" if hi is not None else f">= {lo:,}"
        raise DataError(f"{name} must be a whole number {span}; got {v:,}.")
    return v


def check_backend(backend: object) -> str:
    """One of :data:`BACKENDS`, or DataError."""
    if backend not in BACKENDS:
        raise DataError(f'backend must be "auto", "numba" or "numpy"; got {backend!r:.40}.')
    return backend  # type: ignore[return-value]


def check_axis(value: object, name: str, *, increasing: bool) -> np.ndarray:
    """``value`` as a finite 1-D float64 array of length >= 1 (a private copy), or DataError."""
    try:
        arr = np.array(value, dtype=np.float64)  # a copy: callers may freeze it
    except (ValueError, TypeError):
        raise DataError(
            f"{name} must be a 1-D array of finite real numbers; got {value!r:.80} of type "
            f"{type(value).__name__}, which is not numeric. Pass e.g. np.linspace(-3, 3, 101)."
        ) from None
    if arr.ndim != 1:
        hint = f" Use np.atleast_1d({name})." if arr.ndim == 0 else f" Use {name}.ravel()."
        raise DataError(
            f"{name} must be a 1-D array of parameter values; got {arr.ndim}-D with shape "
            f"{arr.shape}.{hint}"
        )
    if arr.size < 1:
        raise DataError(f"{name} is empty; need at least one value.")
    bad = ~np.isfinite(arr)
    if bad.any():
        k = int(np.argmax(bad))
        raise DataError(
            f"{name} must hold finite numbers; {name}[{k}] is {arr[k]} ({int(bad.sum())} "
            f"non-finite value(s)). Drop or replace them."
        )
    big = np.abs(arr) > MAX_PARAM
    if big.any():
        raise DataError(_beyond(f"{name}[{int(np.argmax(big))}]", float(arr[np.argmax(big)])))
    if increasing and arr.size > 1:
        steps = np.diff(arr)
        if not (steps > 0).all():
            k = int(np.argmax(steps <= 0))
            raise DataError(
                f"{name} must be strictly increasing; {name}[{k}] = {arr[k]} is followed by "
                f"{name}[{k + 1}] = {arr[k + 1]}. Sort it and drop repeats "
                f"(np.unique({name}))."
            )
    return arr


def check_start(start: object, *, many: bool = False) -> np.ndarray:
    """(α, β) as a finite float array (2,) — or (K, 2) with ``many`` — else DataError."""
    want = "(K, 2) array of starting points (α, β)" if many else "pair (α, β)"
    try:
        arr = np.array(start, dtype=np.float64)
    except (ValueError, TypeError):
        raise DataError(
            f"the start must be a {want} of finite numbers; got {start!r:.80}."
        ) from None
    good_shape = (
        arr.ndim == 2 and arr.shape[1] == 2 and len(arr) >= 1 if many else arr.shape == (2,)
    )
    if not good_shape:
        raise DataError(
            f"the start must be a {want}; got shape {arr.shape}."
            + (" Stack points with np.column_stack([alphas, betas])." if many else "")
        )
    if not np.isfinite(arr).all():
        raise DataError(f"the start must hold finite numbers; got {arr.tolist()}.")
    if (np.abs(arr) > MAX_PARAM).any():
        raise DataError(_beyond("the start", float(arr.flat[np.argmax(np.abs(arr))])))
    return arr


def box_problem(box: object, *, limit: float | None = BOX_LIMIT) -> str | None:
    """What is wrong with a box (α min, α max, β min, β max), in words; None when fine."""
    try:
        values = tuple(float(v) for v in box)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        values = ()
    if len(values) != 4:
        return "expected four numbers (α min, α max, β min, β max)"
    if not all(math.isfinite(v) for v in values):
        return "expected finite numbers"
    if limit is not None and max(abs(v) for v in values) > limit:
        return f"expected values within ±{limit:,.0f}"
    if max(abs(v) for v in values) > MAX_PARAM:
        return f"expected values within ±{MAX_PARAM:g} (MAX_PARAM)"
    amin, amax, bmin, bmax = values
    if not (amin < amax and bmin < bmax):
        return "expected α min < α max and β min < β max"
    if min(amax - amin, bmax - bmin) < 1e-9 * max(1.0, *(abs(v) for v in values)):
        return "the box is too narrow to draw"
    return None


def check_box(box: object, *, limit: float | None = None) -> Box:
    """(α min, α max, β min, β max) as four floats, or DataError saying what is wrong.

    ``limit`` bounds |α| and |β| (the dashboard passes :data:`BOX_LIMIT`); core's own
    functions accept any finite box.
    """
    problem = box_problem(box, limit=limit)
    if problem is not None:
        raise DataError(
            f"box must be (alpha_min, alpha_max, beta_min, beta_max) with alpha_min < "
            f"alpha_max and beta_min < beta_max; got {box!r:.100}: {problem}."
        )
    return tuple(float(v) for v in box)  # type: ignore[union-attr, return-value]


def check_dataset(ds: object) -> None:
    """DataError unless ``ds`` is a :class:`core.Dataset`."""
    from .model import Dataset  # model imports this module

    if not isinstance(ds, Dataset):
        raise DataError(
            f"ds must be a core.Dataset; got {type(ds).__name__}. Build one with "
            "core.Dataset(I, D, y)."
        )


def check_points(alphas: object, betas: object) -> tuple[np.ndarray, np.ndarray]:
    """K points (alphas[k], betas[k]): two finite 1-D arrays of one length, any order."""
    alphas = check_axis(alphas, "alphas", increasing=False)
    betas = check_axis(betas, "betas", increasing=False)
    if alphas.shape != betas.shape:
        raise DataError(
            f"alphas and betas must have the same length K (one point each); got "
            f"{alphas.size} alphas and {betas.size} betas. For every pair of a grid use "
            "landscape(ds, alphas, betas) instead."
        )
    return alphas, betas


def check_row_ids(row_ids: object, N: int) -> np.ndarray | TextIds:
    """(N,) read-only ids of the rows (any values), or DataError. Compact forms are kept
    as they come (a long file's :class:`TextIds`, a numeric array): an object array of
    10⁷ ids would take ~60 bytes per id."""
    if isinstance(row_ids, TextIds) or (
        isinstance(row_ids, np.ndarray) and row_ids.dtype.kind in "biuf"
    ):
        ids = row_ids if isinstance(row_ids, TextIds) else row_ids.view()
    else:
        ids = np.array(row_ids, dtype=object)
    if ids.shape != (N,):
        raise DataError(f"row_ids must hold one id per row: {N} of them; got shape {ids.shape}.")
    if isinstance(ids, np.ndarray):
        ids.flags.writeable = False
    return ids
