"""Row ids of a long file, kept compact: 20M ids as Python strings would take ~1.3 GB.

``TextIds`` holds the UTF-8 bytes of every id one after the other and where each ends
(Arrow's layout, in numpy): about 8 bytes per id plus its text. It reads as a sequence of
``str``: ``ids[3]``, ``ids[:5]`` (an object array), ``list(ids)``, ``len(ids)``.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

__all__ = ["TextIds"]


class TextIds:
    """(N,) text ids, read-only: ``data`` (bytes,) uint8 and ``offsets`` (N + 1,) int64,
    id k being ``data[offsets[k]:offsets[k + 1]]`` decoded as UTF-8."""

    __slots__ = ("_data", "_offsets")

    def __init__(self, data: np.ndarray, offsets: np.ndarray) -> None:
        self._data = np.asarray(data, dtype=np.uint8)
        self._offsets = np.asarray(offsets, dtype=np.int64)
        for a in (self._data, self._offsets):
            a.flags.writeable = False

    @property
    def shape(self) -> tuple[int]:
        return (len(self),)

    @property
    def nbytes(self) -> int:
        return self._data.nbytes + self._offsets.nbytes

    def __len__(self) -> int:
        return len(self._offsets) - 1

    def _one(self, k: int) -> str:
        return self._data[self._offsets[k] : self._offsets[k + 1]].tobytes().decode()

    def __getitem__(self, key: int | slice) -> str | np.ndarray:
        if isinstance(key, slice):
            out = np.empty(len(range(*key.indices(len(self)))), dtype=object)
            out[:] = [self._one(k) for k in range(*key.indices(len(self)))]
            return out
        k = int(key)
        if not -len(self) <= k < len(self):
            raise IndexError(f"row id {k} out of range for {len(self)} rows")
        return self._one(k % len(self))

    def __iter__(self) -> Iterator[str]:
        return (self._one(k) for k in range(len(self)))

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        return self[:] if dtype is None else self[:].astype(dtype)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TextIds):
            return NotImplemented
        return np.array_equal(self._offsets, other._offsets) and np.array_equal(
            self._data, other._data
        )

    __hash__ = None  # type: ignore[assignment]

    def __reduce__(self):
        return (TextIds, (self._data, self._offsets))

    def __repr__(self) -> str:
        head = ", ".join(repr(s) for s in self[:3])
        return f"TextIds([{head}{', ...' if len(self) > 3 else ''}], N={len(self)})"
