"""Parsers behind :mod:`core.io`: bytes in, float matrices out, or a DataError that says where.

Text (CSV) is decoded strictly as UTF-8 and read with the csv module, so every message
can name the file's line and column. Binary files are checked before numpy sees them:
a .npy header is read first and object dtypes (pickles) are refused, then ``np.load``
runs with ``allow_pickle=False``. pyarrow is imported only to read Parquet.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
import zlib
from collections.abc import Callable, Sequence

import numpy as np

from . import validation
from .errors import DataError
from .validation import MB, check_y

_NA = frozenset({"", "nan", "na", "n/a", "null", "none"})
_LONG_COLUMNS = ("row", "I", "D")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def check_size(size: int, label: str, max_bytes: int | None) -> None:
    """Refuse ``size`` bytes over ``max_bytes`` (None: no limit)."""
    if max_bytes is not None and size > max_bytes:
        raise DataError(
            f"{label} is {size / MB:.1f} MB, over the {max_bytes / MB:g} MB limit. Pass a "
            "larger max_bytes to load it anyway, or shrink the file (an .npz is about 3 times "
            "smaller than a CSV of the same numbers)."
        )


_MAGIC = {
    b"PK\x03\x04": "npz",
    b"PK\x05\x06": "npz",
    b"\x93NUMPY": "npy",
    b"PAR1": "parquet",
}


def sniff(data: bytes) -> str | None:
    """The format the first bytes announce ("npz", "npy", "parquet"), or None (maybe text)."""
    return next((fmt for magic, fmt in _MAGIC.items() if data.startswith(magic)), None)


def decode_text(data: bytes, label: str) -> str:
    """The text of a CSV, or a DataError saying why these bytes are not UTF-8 text."""
    kind = sniff(data)
    if kind is not None:
        what = {
            "npz": "a zip archive (an .npz, or an Excel .xlsx?)",
            "npy": "a .npy array",
            "parquet": "a Parquet file",
        }[kind]
        raise DataError(
            f"{label} is {what}, not CSV text. Rename it to its real type, or export it "
            "as 'CSV UTF-8'."
        )
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise DataError(f"{label} is UTF-16 text; expected UTF-8. Save it as 'CSV UTF-8'.")
    nul = data.find(b"\x00")
    if nul >= 0:
        line = data.count(b"\n", 0, nul) + 1
        raise DataError(
            f"{label} contains binary data (a NUL byte at byte {nul}, line {line}), not CSV "
            "text: expected comma-separated numbers."
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise DataError(
            f"{label} is not UTF-8 text: byte 0x{data[exc.start]:02x} on line {line} (byte "
            f"{exc.start}) cannot be decoded. Save the file as UTF-8 (in Excel: 'CSV UTF-8')."
        ) from None
    control = _CONTROL.search(text)
    if control:
        line = text.count("\n", 0, control.start()) + 1
        raise DataError(
            f"{label} contains the control character U+{ord(control.group()):04X} on line "
            f"{line}: this is binary data, not CSV text."
        )
    return text


def _records(text: str, label: str) -> tuple[list[int], list[int], list[str]]:
    """The non-blank CSV records as (line number of each, number of fields of each, all
    fields one record after the other): flat, because 10⁶ small lists are slow to build.
    """
    first = next((line for line in text.splitlines() if line.strip()), "")
    sep = max(",;\t", key=first.count) if any(c in first for c in ",;\t") else ","
    flat = text.replace("\r\n", "\n")
    if '"' not in flat and "\r" not in flat:
        # No quotes, so one line is one record and str.split does the work in C
        # (800,000 lines: 0.4 s instead of 3 s through csv.reader).
        lines = flat.split("\n")
        keep = [k for k, line in enumerate(lines) if line and not line.isspace()]
        kept = [lines[k] for k in keep] if len(keep) < len(lines) else lines
        widths = [line.count(sep) + 1 for line in kept]
        return [k + 1 for k in keep], widths, sep.join(kept).split(sep) if kept else []
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep, strict=True)
    line_nos: list[int] = []
    widths: list[int] = []
    cells: list[str] = []
    try:
        for fields in reader:
            if len(fields) == 0 or (len(fields) == 1 and not fields[0].strip()):
                continue
            line_nos.append(reader.line_num)
            widths.append(len(fields))
            cells += fields
    except csv.Error as exc:
        raise DataError(
            f'{label}, line {reader.line_num}: not valid CSV ({exc}); check the quotes (") '
            "on that line: a quoted cell must close its quote before the next separator."
        ) from None
    return line_nos, widths, cells


def _ragged(widths: list[int], start: int) -> int | None:
    """The first record from ``start`` on whose width differs from record ``start``'s."""
    w = widths[start]
    return next((i for i in range(start + 1, len(widths)) if widths[i] != w), None)


def _is_number(cell: str) -> bool:
    if cell.strip().lower() in _NA:
        return False
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _numbers(cells: Sequence[str], where: Callable[[int], str], label: str) -> np.ndarray:
    """Cells (text) as float64; NaN for an empty / NA cell; DataError names the first bad one."""
    arr = np.array(cells, dtype=str)
    # np.where, not arr[mask] = "nan": assignment would truncate to the width of arr.
    arr = np.where(arr == "", "nan", arr)
    values = _astype_float(arr)
    if values is None:  # NA tokens, padded blanks, or a bad cell: normalise, then look
        arr = np.where(np.isin(np.char.lower(np.char.strip(arr)), list(_NA)), "nan", arr)
        values = _astype_float(arr)
    if values is None:
        for k, cell in enumerate(arr.tolist()):
            try:
                float(cell)
            except ValueError:
                hint = " (use a dot as the decimal separator)" if "," in cell else ""
                raise DataError(
                    f"{label}, {where(k)} holds {str(cells[k])!r}; expected a number{hint}, or an "
                    "empty cell for an absent event. Fix that cell."
                ) from None
        values = np.array([float(c) for c in arr.tolist()])  # numpy and Python disagreed
    inf = np.isinf(values)
    if inf.any():
        k = int(np.argmax(inf))
        raise DataError(
            f"{label}, {where(k)} holds {str(cells[k])!r}; expected a finite number (an empty cell "
            f"marks an absent event). {int(inf.sum())} cell(s) are infinite."
        )
    return values


def _astype_float(arr: np.ndarray) -> np.ndarray | None:
    try:
        return arr.astype(np.float64)
    except ValueError:
        return None


def _columns(
    header: list[str], label: str, required: tuple[str, ...], where: str
) -> dict[str, int]:
    """Positions of the long-format columns in a header (exact names first, then any case)."""
    names = [h.strip() for h in header]
    found: dict[str, int] = {}
    for col in (*required, "y"):
        exact = [k for k, n in enumerate(names) if n == col]
        loose = [k for k, n in enumerate(names) if n.lower() == col.lower()]
        hits = exact or loose
        if len(hits) > 1:
            raise DataError(f"{label}: the header has the column {col!r} twice.")
        if hits:
            found[col] = hits[0]
    missing = [c for c in required if c not in found]
    if missing:
        if all(_is_number(c) or not c.strip() for c in names):
            raise DataError(
                f"{label} has no header: {where} is {','.join(header)!r}. A long CSV starts "
                "with the header row,I,D (one line per event). If this file holds one matrix "
                "(a wide CSV), load it with its partner as a pair: "
                "load_pair(I_file, D_file, y=COUNT)."
            )
        raise DataError(
            f"{label} has no column {missing[0]!r}: {where} has {', '.join(names)}. A long "
            "file needs the columns row, I, D (one line per event) and optionally y. If it "
            "holds one wide matrix, load it with its partner: load_pair(I_file, D_file, y=COUNT)."
        )
    return found


def parse_long_csv(text: str, label: str) -> tuple[np.ndarray, np.ndarray, float | None]:
    """I, D (N, E) and the file's y (None if absent) from a long CSV: one line per event."""
    lines, widths, cells = _records(text, label)
    if not lines:
        raise DataError(
            f"{label} holds only blank lines: expected a header row,I,D and data lines."
        )
    width = widths[0]
    header = cells[:width]
    cols = _columns(header, label, _LONG_COLUMNS, f"line {lines[0]}")
    if len(lines) == 1:
        raise DataError(
            f"{label} has a header ({','.join(header)}) but no data lines below it: expected "
            "one line per event."
        )
    bad = _ragged(widths, 0)
    if bad is not None:
        raise DataError(
            f"{label}, line {lines[bad]} has {widths[bad]} fields but the header has {width} "
            f"({','.join(header)}): check for a missing or extra separator."
        )
    lines, body = lines[1:], cells[width:]

    def column(col: str) -> np.ndarray:
        k = cols[col]
        name = header[k].strip()
        return _numbers(body[k::width], lambda i: f"line {lines[i]}, column {name!r}", label)

    rows = [r.strip() for r in body[cols["row"] :: width]]
    if "" in rows:
        i = rows.index("")
        raise DataError(
            f"{label}, line {lines[i]}: the column 'row' is empty; every line needs the "
            "row (case) its event belongs to."
        )
    I, D = column("I"), column("D")
    y = column("y") if "y" in cols else None
    where = lambda i: f"line {lines[i]}"  # noqa: E731
    return (*_assemble_long(rows, I, D, where, label), _constant_y(y, where, label))


def _constant_y(y: np.ndarray | None, where: Callable[[int], str], label: str) -> float | None:
    if y is None:
        return None
    given = np.flatnonzero(~np.isnan(y))
    if given.size == 0:
        return None
    differ = given[y[given] != y[given[0]]]
    if differ.size:
        a, b = int(given[0]), int(differ[0])
        raise DataError(
            f"{label}: the column 'y' must hold one value, the observed count of the whole file; "
            f"{where(a)} has {y[a]:g} but {where(b)} has {y[b]:g}. Keep one count, or pass y "
            "separately."
        )
    return float(y[given[0]])


def _assemble_long(
    rows: list, I: np.ndarray, D: np.ndarray, where: Callable[[int], str], label: str
) -> tuple[np.ndarray, np.ndarray]:
    """(N, E) matrices from one-event-per-line columns; rows in order of first appearance."""
    mismatch = np.isnan(I) != np.isnan(D)
    if mismatch.any():
        k = int(np.argmax(mismatch))
        which, other = ("I", "D") if np.isnan(I[k]) else ("D", "I")
        value = float(D[k] if which == "I" else I[k])
        raise DataError(
            f"{label}, {where(k)}: {which} is empty but {other} holds {value!r}; an event needs "
            "both I and D (leave both empty only on a line that declares a row with no events)."
        )
    # Checked here too (Dataset checks again), so the message names the file's line and
    # row id rather than a cell of the assembled matrix.
    for name, v in (("I", I), ("D", D)):
        big = np.abs(v) > validation.MAX_ABS  # NaN compares False
        if big.any():
            k = int(np.argmax(big))
            raise DataError(
                f"{label}, {where(k)} (row id {rows[k]}): {name} is {v[k]:g}; values beyond "
                f"±{validation.MAX_ABS:g} are refused because the gradient and the Hessian "
                f"square them and would overflow. Rescale {name} (divide it by a power of ten: "
                "the fitted parameter scales the other way)."
            )
    index: dict = {}
    codes = np.fromiter((index.setdefault(r, len(index)) for r in rows), np.int64, len(rows))
    N = len(index)
    event = ~np.isnan(I)
    codes_e = codes[event]
    counts = np.bincount(codes_e, minlength=N)
    E = max(int(counts.max(initial=0)), 1)
    # Long files are padded to N × (most events in a row): one row with 10⁶ events must
    # not allocate N × 10⁶ cells. Read at call time, so a test can lower the limit.
    if N * E > validation.MAX_CELLS:
        raise DataError(
            f"{label}: {N} rows padded to the longest row ({E} events) would need {N * E:,} "
            f"cells, over the limit of {validation.MAX_CELLS:,} (MAX_CELLS). Check the column "
            "'row': does one value collect far more events than the others?"
        )
    # Position of each event inside its row: its rank among the events of that row.
    order = np.argsort(codes_e, kind="stable")
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    pos = np.empty_like(order)
    pos[order] = np.arange(order.size) - starts[codes_e[order]]
    I_mat = np.full((N, E), np.nan)
    D_mat = np.full((N, E), np.nan)
    I_mat[codes_e, pos] = I[event]
    D_mat[codes_e, pos] = D[event]
    return I_mat, D_mat


def parse_wide_csv(text: str, label: str) -> tuple[np.ndarray, list[str], list[str]]:
    """A wide matrix, where each row sits ("line 7") and a name for each column."""
    lines, widths, cells = _records(text, label)
    if not lines:
        raise DataError(f"{label} holds only blank lines: expected one line of numbers per row.")
    first = cells[: widths[0]]
    # A header is a first line with text in it and no number (NA tokens are neither).
    text = [c for c in first if c.strip().lower() not in _NA and not _is_number(c)]
    has_header = bool(text) and not any(_is_number(c) for c in first)
    names = [c.strip() for c in first]
    if has_header and {"row", "i", "d"} <= {n.lower() for n in names}:
        raise DataError(
            f"{label} is a long file (its header has row, I, D: one line per event); load it "
            "alone with load_dataset(path) (command line: losslens check FILE)."
        )
    start = 1 if has_header else 0
    if len(lines) == start:
        raise DataError(
            f"{label} has a header ({','.join(first)}) but no data lines below it: expected one "
            "line of numbers per row."
        )
    width = widths[start]
    bad = _ragged(widths, start)
    if bad is not None:
        raise DataError(
            f"{label}, line {lines[bad]} has {widths[bad]} fields but line {lines[start]} has "
            f"{width}: every row needs the same number of cells (leave a cell empty for an "
            "absent event)."
        )
    if has_header and len(names) != width:
        raise DataError(
            f"{label}: the header (line {lines[0]}) has {len(names)} names but the data "
            f"lines have {width} fields."
        )
    skip = 0
    if has_header and width > 1 and names[0].lower() in ("", "row", "index", "id"):
        skip = 1  # a row-label column (e.g. pandas' index): not an event
    E = width - skip
    cols = [repr(n) for n in names[skip:]] if has_header else [str(j + 1) for j in range(E)]
    lines = lines[start:]
    body = np.array(cells[len(first) if has_header else 0 :], dtype=str).reshape(-1, width)
    values = _numbers(
        body[:, skip:].ravel(), lambda k: f"line {lines[k // E]}, column {cols[k % E]}", label
    )
    return values.reshape(len(lines), E), [f"line {n}" for n in lines], cols


def read_npy(data: bytes, label: str, max_bytes: int | None) -> np.ndarray:
    """An array from .npy bytes. Object dtypes (pickles) are refused before np.load sees them."""
    if not data.startswith(b"\x93NUMPY"):
        if data[:1] == b"\x80":
            raise DataError(
                f"{label} is a Python pickle, not a .npy array; losslens never unpickles files "
                "(unpickling can run code). Save the array with np.save(path, array)."
            )
        raise DataError(f"{label} is not a .npy file (it does not start with the NumPy header).")
    fp = io.BytesIO(data)
    try:
        version = np.lib.format.read_magic(fp)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(fp)
        elif version == (2, 0):
            shape, _, dtype = np.lib.format.read_array_header_2_0(fp)
        else:
            raise DataError(f"{label}: .npy format version {version} is not supported; use 1.0.")
    except DataError:
        raise
    except Exception as exc:  # any malformed header
        raise DataError(f"{label} has a broken .npy header ({exc}).") from None
    if dtype.hasobject:
        raise DataError(
            f"{label} holds Python objects (dtype {dtype}), stored as a pickle; losslens never "
            "unpickles files (unpickling can run code). Save numbers: np.save(path, "
            "array.astype(float))."
        )
    need = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if max_bytes is not None and need > max_bytes:
        check_size(need, label, max_bytes)
    if len(data) - fp.tell() < need:
        raise DataError(
            f"{label} is truncated: its header announces an array of shape {shape} "
            f"({need} bytes) but only {len(data) - fp.tell()} bytes follow."
        )
    try:
        return np.load(io.BytesIO(data), allow_pickle=False)
    except Exception as exc:  # ValueError, EOFError, ... on a malformed file
        raise DataError(f"{label} could not be read as .npy: {exc}.") from None


def parse_npz(
    data: bytes, label: str, max_bytes: int | None
) -> tuple[np.ndarray, np.ndarray, float | None, tuple[float, float] | None]:
    """I, D (as stored), y and truth (None when absent) from an .npz; each member is size-
    checked and read through :func:`read_npy`, so no pickle inside a zip gets through either.
    """
    if sniff(data) != "npz":
        raise DataError(f"{label} is not an .npz file (an .npz is a zip archive of .npy arrays).")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = {info.filename: info for info in zf.infolist()}
            arrays = {}
            for key in ("I", "D", "y", "truth"):
                info = infos.get(f"{key}.npy")
                if info is None:
                    continue
                where = f"{label} (array {key!r})"
                if max_bytes is not None and info.file_size > max_bytes:
                    check_size(info.file_size, where, max_bytes)
                arrays[key] = read_npy(zf.read(info), where, max_bytes)
    except DataError:
        raise
    except (
        zipfile.BadZipFile,
        zlib.error,
        EOFError,
        OSError,
        ValueError,
        KeyError,
        NotImplementedError,
        RuntimeError,
    ) as exc:
        raise DataError(f"{label} is not a readable .npz (zip) file: {exc}.") from None
    for key in ("I", "D"):
        if key not in arrays:
            found = ", ".join(sorted(n.removesuffix(".npy") for n in infos)) or "none"
            raise DataError(
                f"{label} has no array {key!r} (found: {found}). An .npz needs arrays I and D "
                "and optionally y: np.savez(path, I=I, D=D, y=COUNT)."
            )
    y = None
    if "y" in arrays:
        try:
            y = check_y(arrays["y"])
        except DataError as exc:
            raise DataError(f"{label}, array 'y': {exc}") from None
    truth = None
    if "truth" in arrays:
        t = arrays["truth"]
        if t.shape != (2,) or t.dtype.kind not in "iuf" or not np.isfinite(t).all():
            raise DataError(
                f"{label}, array 'truth': expected two finite numbers (alpha, beta); got shape "
                f"{t.shape} and dtype {t.dtype}."
            )
        truth = (float(t[0]), float(t[1]))
    return arrays["I"], arrays["D"], y, truth


def parse_long_parquet(data: bytes, label: str) -> tuple[np.ndarray, np.ndarray, float | None]:
    """I, D (N, E) and the file's y (None if absent) from a long Parquet table."""
    if not (data.startswith(b"PAR1") and data.endswith(b"PAR1")):
        raise DataError(f"{label} is not a Parquet file (it does not start and end with PAR1).")
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(io.BytesIO(data))
    except Exception as exc:  # pyarrow raises many types on broken files
        raise DataError(f"{label} could not be read as Parquet: {exc}.") from None
    if table.num_rows == 0:
        raise DataError(
            f"{label} has columns ({', '.join(table.column_names)}) but no rows: expected one "
            "row per event."
        )
    cols = _columns(table.column_names, label, _LONG_COLUMNS, "the table's header")
    where = lambda i: f"table row {i}"  # noqa: E731

    def column(col: str) -> np.ndarray:
        name = table.column_names[cols[col]]
        arr = table.column(cols[col])
        t = arr.type
        if pa.types.is_string(t) or pa.types.is_large_string(t):
            cells = ["" if v is None else v for v in arr.to_pylist()]
            return _numbers(cells, lambda i: f"{where(i)}, column {name!r}", label)
        if pa.types.is_boolean(t) or not (
            pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t)
        ):
            raise DataError(
                f"{label}: the column {name!r} has type {t}; expected numbers"
                f"{' (store 0/1, not true/false)' if pa.types.is_boolean(t) else ''}."
            )
        # safe=False: an int64 beyond 2**53 becomes the nearest float instead of an error
        values = arr.cast(pa.float64(), safe=False).to_numpy(zero_copy_only=False)
        values = np.asarray(values, dtype=np.float64)
        inf = np.isinf(values)
        if inf.any():
            k = int(np.argmax(inf))
            raise DataError(
                f"{label}, {where(k)}, column {name!r} holds {values[k]}; expected a finite "
                "number (null or NaN marks an absent event)."
            )
        return values

    row_type = table.column(cols["row"]).type
    if not (
        pa.types.is_null(row_type)  # all empty: the per-cell check below names the line
        or pa.types.is_integer(row_type)
        or pa.types.is_floating(row_type)
        or pa.types.is_string(row_type)
        or pa.types.is_large_string(row_type)
    ):
        raise DataError(
            f"{label}: the column 'row' has type {row_type}; expected whole numbers or text "
            "naming the row (case) of each event."
        )
    rows = table.column(cols["row"]).to_pylist()
    for i, r in enumerate(rows):
        if r is None or (isinstance(r, float) and np.isnan(r)):
            raise DataError(
                f"{label}, {where(i)}: the column 'row' is empty; every row of the table needs "
                "the row (case) its event belongs to."
            )
    I, D = column("I"), column("D")
    y = column("y") if "y" in cols else None
    return (*_assemble_long(rows, I, D, where, label), _constant_y(y, where, label))
