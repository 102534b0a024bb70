"""Long files (one line per event) read block by block into compact per-event state.

Per event only I, D (float64) and the code of its row (int32) are kept, 20 bytes. The
row ids are interned as they come (:func:`core._kernels.intern`: a hash table over the
bytes of the distinct ids, no Python string per id), and the checks that name a line
(I without D, |I| or |D| too big, y not constant) run on each block while its line
numbers are at hand, so no line number is kept per event. A long CSV of 2·10⁷ distinct
rows (MAX_CELLS, 200 MB) peaks at 1.3 GB, where a whole-file pyarrow dictionary, a line
number per event and a Python string per row id took 4.2 GB (tests/test_bombs.py).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from . import validation
from .errors import DataError
from .rowids import TextIds

# The hash table is at most this full (linear probing stays short below ~0.75).
_LOAD = 0.75


def utf8(strings: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """``strings`` as one UTF-8 buffer (bytes,) uint8 and their offsets (n + 1,) int64."""
    joined = "".join(strings)
    if joined.isascii():  # one byte per character: the lengths are the offsets
        lengths = np.fromiter(map(len, strings), np.int64, len(strings))
        data = np.frombuffer(joined.encode("ascii"), np.uint8)
    else:
        encoded = [s.encode() for s in strings]
        lengths = np.fromiter(map(len, encoded), np.int64, len(encoded))
        data = np.frombuffer(b"".join(encoded), np.uint8)
    offsets = np.zeros(len(strings) + 1, np.int64)
    np.cumsum(lengths, out=offsets[1:])
    return data, offsets


class Interner:
    """Codes 0, 1, ... for byte strings in order of first appearance, fed block by block.

    ``add(data, offsets, codes)`` writes the code of each string ``data[offsets[k]:
    offsets[k + 1]]`` into ``codes``; ``distinct()`` gives the distinct strings (their
    bytes and offsets) in code order. ``seed`` salts the hash (a seed or a numpy
    Generator; None: fresh entropy), so a file cannot choose ids that all collide; the
    codes do not depend on it.
    """

    def __init__(self, seed: int | np.random.Generator | None = None) -> None:
        from .engine import kernels

        self._kernels = kernels()  # None where numba cannot run: a dict does the work
        self._salt = np.uint64(np.random.default_rng(seed).integers(0, 2**63))
        self.n = 0
        self._bits = 12
        self._table = np.zeros(1 << self._bits, np.int32)
        self._store = np.empty(1 << 16, np.uint8)
        self._offsets = np.zeros(1 << 12, np.int64)
        self._seen: dict[bytes, int] = {}

    def add(self, data: np.ndarray, offsets: np.ndarray, codes: np.ndarray) -> None:
        n = len(offsets) - 1
        if self.n + n > np.iinfo(np.int32).max:
            raise DataError(f"more than {np.iinfo(np.int32).max:,} distinct rows")
        self._make_room(n, int(offsets[-1] - offsets[0]))
        if self._kernels is None:
            self._add_python(data, offsets, codes)
            return
        self.n = self._kernels.intern(
            data,
            offsets,
            codes,
            self._table,
            self._store,
            self._offsets,
            self.n,
            self._salt,
            self._bits,
        )

    def nbytes(self) -> int:
        """Bytes of the distinct strings kept so far."""
        return int(self._offsets[self.n])

    def _add_python(self, data: np.ndarray, offsets: np.ndarray, codes: np.ndarray) -> None:
        for k in range(len(codes)):
            key = data[offsets[k] : offsets[k + 1]].tobytes()
            code = self._seen.setdefault(key, self.n)
            if code == self.n:
                end = self._offsets[self.n] + len(key)
                self._store[self._offsets[self.n] : end] = np.frombuffer(key, np.uint8)
                self._offsets[self.n + 1] = end
                self.n += 1
            codes[k] = code

    def _make_room(self, n: int, nbytes: int) -> None:
        """Grow the store, the offsets and the table (doubling) for ``n`` more strings."""
        used = int(self._offsets[self.n])
        if used + nbytes > self._store.size:
            self._store = _grown(self._store, used, used + nbytes)
        if self.n + n + 1 > self._offsets.size:
            self._offsets = _grown(self._offsets, self.n + 1, self.n + n + 1)
        if self._kernels is None or self.n + n <= _LOAD * self._table.size:
            return
        while self.n + n > _LOAD * (1 << self._bits):
            self._bits += 1
        self._table = np.zeros(1 << self._bits, np.int32)
        self._kernels.rehash(
            self._store, self._offsets, self.n, self._table, self._salt, self._bits
        )

    def distinct(self) -> tuple[np.ndarray, np.ndarray]:
        """(bytes,) uint8 and (n + 1,) int64: the distinct strings in code order. The
        interner is spent afterwards (its table is freed)."""
        self._table, self._seen = np.zeros(0, np.int32), {}
        store, offsets = self._store, self._offsets
        self._store = self._offsets = None
        offsets.resize(self.n + 1, refcheck=False)  # shrinks in place: no copy
        store.resize(int(offsets[-1]), refcheck=False)
        return store, offsets


def _grown(a: np.ndarray, used: int, need: int) -> np.ndarray:
    """``a`` with room for ``need`` items: 1.5 times as many, or ``need``."""
    a.resize(max(need, a.size + a.size // 2), refcheck=False)  # realloc: often in place
    return a


class LongEvents:
    """A long file's events, block by block, and the (N, E) matrices they make.

    ``capacity`` is the most events the file can hold (its lines, or its metadata's row
    count), known before the first block, so I, D and the codes are allocated once.
    ``numeric`` is the dtype of numeric row ids (None: text), kept as such in row_ids.
    """

    def __init__(self, capacity: int, label: str, numeric: np.dtype | None = None) -> None:
        self.label = label
        self.numeric = numeric
        self.I = np.empty(capacity)
        self.D = np.empty(capacity)
        self.codes = np.empty(capacity, np.int32)
        self.n = 0
        self.ids = Interner()
        self.y: float | None = None
        self.y_where = ""

    def add(
        self,
        I: np.ndarray,
        D: np.ndarray,
        y: np.ndarray | None,
        ids: tuple[np.ndarray, np.ndarray],
        where: Callable[[int], str],
        row_id: Callable[[int], str],
    ) -> None:
        """One block of events: I, D, y (n,) (y None: no column), the bytes of their row
        ids (data, offsets); ``where(k)`` and ``row_id(k)`` name event k of the block."""
        k0, n = self.n, len(I)
        if k0 + n > len(self.I):
            raise DataError(
                f"{self.label} holds more events than its size announced ({len(self.I):,}): "
                "a broken file. Write it again."
            )
        _check_block(I, D, lambda k: f"{where(k)} (row id {row_id(k)})", self.label)
        if y is not None:
            self._check_y(y, where)
        self.I[k0 : k0 + n], self.D[k0 : k0 + n] = I, D
        self._check_ids(ids[1], where)
        self.ids.add(ids[0], ids[1], self.codes[k0 : k0 + n])
        self.n += n

    def _check_ids(self, offsets: np.ndarray, where: Callable[[int], str]) -> None:
        """Row ids of a sane size: each, and all the distinct ones kept so far."""
        lengths = np.diff(offsets)
        if lengths.size and int(lengths.max()) > validation.MAX_ID_BYTES:
            k = int(np.argmax(lengths > validation.MAX_ID_BYTES))
            raise DataError(
                f"{self.label}, {where(k)}: a row id of {int(lengths[k]):,} bytes; a row id "
                f"takes at most {validation.MAX_ID_BYTES} (MAX_ID_BYTES). Use short ids "
                "(numbers, or a short code per row)."
            )
        kept = self.ids.nbytes() + int(offsets[-1] - offsets[0])
        if kept > validation.MAX_ALL_IDS_BYTES:
            raise DataError(
                f"{self.label}, by {where(0)}: the distinct row ids hold more than "
                f"{validation.MAX_ALL_IDS_BYTES // validation.MB} MB of text "
                "(MAX_ALL_IDS_BYTES). Use short ids (numbers, or a short code per row)."
            )

    def _check_y(self, y: np.ndarray, where: Callable[[int], str]) -> None:
        given = np.flatnonzero(~np.isnan(y))
        if given.size == 0:
            return
        if self.y is None:
            self.y, self.y_where = float(y[given[0]]), where(int(given[0]))
        differ = given[y[given] != self.y]
        if differ.size:
            b = int(differ[0])
            raise DataError(
                f"{self.label}: the column 'y' must hold one value, the observed count of the "
                f"whole file; {self.y_where} has {self.y:g} but {where(b)} has {y[b]:g}. Keep "
                "one count, or pass y separately."
            )

    def finish(self) -> tuple[np.ndarray, np.ndarray, float | None, np.ndarray | TextIds]:
        """I, D (N, E), the file's y (None if absent) and the row ids (N,) in order of first
        appearance. The per-event arrays are released as the matrices fill."""
        data, offsets = self.ids.distinct()
        if self.numeric is None:
            row_ids = TextIds(data, offsets)
        else:
            row_ids = data.view(self.numeric)
            row_ids.flags.writeable = False
        n, N = self.n, len(offsets) - 1
        event = ~np.isnan(self.I[:n])
        every = bool(event.all())
        if every and N == n:  # every line a new row, in order (codes = 0..n-1): no copy
            I, D = self.I[:n].reshape(n, 1), self.D[:n].reshape(n, 1)
            self.I = self.D = self.codes = None
            return I, D, self.y, row_ids
        codes = self.codes[:n]
        codes_e = codes if every else codes[event]
        E = max(int(np.bincount(codes_e, minlength=N).max(initial=0)), 1)
        # Long files are padded to N × (most events in a row): one row with 10⁶ events must
        # not allocate N × 10⁶ cells. Read at call time, so a test can lower the limit.
        if N * E > validation.MAX_CELLS:
            raise DataError(
                f"{self.label}: {N} rows padded to the longest row ({E} events) would need "
                f"{N * E:,} cells, over the limit of {validation.MAX_CELLS:,} (MAX_CELLS). Check "
                "the column 'row': does one value collect far more events than the others?"
            )
        pos = 0 if E == 1 else _positions(codes_e, N)
        out = []
        for name in ("I", "D"):
            values = getattr(self, name)[:n]
            M = np.full((N, E), np.nan)
            M[codes_e, pos] = values if every else values[event]
            setattr(self, name, None)  # released before the next matrix is made
            del values
            out.append(M)
        return out[0], out[1], self.y, row_ids


def _positions(codes: np.ndarray, N: int) -> np.ndarray:
    """(n,) the position of each event inside its row: its rank among that row's events."""
    order = np.argsort(codes, kind="stable")
    counts = np.bincount(codes, minlength=N)
    starts = np.zeros(N, np.int64)
    np.cumsum(counts[:-1], out=starts[1:])
    pos = np.empty(codes.size, np.int64)
    pos[order] = np.arange(codes.size) - starts[codes[order]]
    return pos


def _check_block(I: np.ndarray, D: np.ndarray, at: Callable[[int], str], label: str) -> None:
    """Refuse an event with I but no D (or D but no I), and |I| or |D| past MAX_ABS."""
    mismatch = np.isnan(I) != np.isnan(D)
    if mismatch.any():
        k = int(np.argmax(mismatch))
        which, other = ("I", "D") if np.isnan(I[k]) else ("D", "I")
        value = float(D[k] if which == "I" else I[k])
        raise DataError(
            f"{label}, {at(k)}: {which} is empty but {other} holds {value!r}; an event needs "
            "both I and D (leave both empty only on a line that declares a row with no events)."
        )
    # Checked here too (Dataset checks again), so the message names the file's line and
    # row id rather than a cell of the assembled matrix.
    for name, v in (("I", I), ("D", D)):
        big = np.abs(v) > validation.MAX_ABS  # NaN compares False
        if big.any():
            k = int(np.argmax(big))
            raise DataError(
                f"{label}, {at(k)}: {name} is {v[k]:g}; values beyond "
                f"±{validation.MAX_ABS:g} are refused because the gradient and the Hessian "
                f"square them and would overflow. Rescale {name} (divide it by a power of ten: "
                "the fitted parameter scales the other way)."
            )
