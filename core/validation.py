"""Validation at the boundary (scikit-learn's ``check_array`` is the model).

Everything that enters :class:`core.Dataset` passes through :func:`check_matrix`
and :func:`check_pair` once; the numerical code behind it trusts its input.
"""

from __future__ import annotations

import numbers

import numpy as np

from .errors import DataError

__all__ = ["MAX_ABS", "check_matrix", "check_pair", "check_y"]

# Largest |I|, |D| accepted: Hessian terms hold (Σ_j F·z)², which must stay finite.
MAX_ABS = 1e100


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
    arr = np.array(arr, dtype=np.float64, order="C", copy=True)
    inf = np.isinf(arr)
    if inf.any():
        pos = _first_position(inf)
        raise DataError(
            f"{_fmt_pos(name, pos)} is {arr[pos]}; expected a finite number (NaN marks "
            f"an absent event). {int(inf.sum())} cell(s) of {name} are infinite."
        )
    big = np.abs(arr) > MAX_ABS  # NaN compares False
    if big.any():
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
    nan_i, nan_d = np.isnan(I), np.isnan(D)
    mismatch = nan_i != nan_d
    if mismatch.any():
        pos = _first_position(mismatch)
        raise DataError(
            f"NaN marks an absent event and must sit at the same positions in I and D; "
            f"first mismatch at row {pos[0]}, column {pos[1]}: I is {I[pos]}, D is {D[pos]}. "
            f"{int(mismatch.sum())} cell(s) differ. Put NaN in both, or a number in both."
        )
    return I, D


def check_y(y: object) -> float:
    """The observed count: a finite real number (any value; outside [0, N] is allowed)."""
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
    return value
