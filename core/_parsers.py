"""Parsers behind :mod:`core.io`: bytes in, float matrices out, or a DataError that says where.

Text (CSV) is decoded strictly as UTF-8 and read with the csv module, so every message
can name the file's line and column. Binary files are checked before numpy sees them:
a .npy header is read first and object dtypes (pickles) are refused, then ``np.load``
runs with ``allow_pickle=False``. pyarrow is imported only to read Parquet.
"""

from __future__ import annotations

import csv
import io
import math
import re
import zipfile
import zlib
from collections.abc import Callable, Iterator, Sequence
from typing import BinaryIO

import numpy as np

from . import validation
from ._longfiles import LongEvents, utf8
from .errors import DataError
from .rowids import TextIds
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


# Text is parsed in blocks of about this many characters, and cells are converted to
# numbers this many at a time: numpy's fixed-width text array is cells × longest cell.
_BLOCK_CHARS = 1 << 20
_CELLS_AT_ONCE = 1 << 16
# Longest cell (after stripping blanks) read as a number: the exact decimal expansion of
# any float64 is shorter; a longer cell is text, or padding meant to blow memory up.
MAX_CELL_CHARS = 256


def _separator(text: str) -> str:
    first = next((line for line in text[:_BLOCK_CHARS].splitlines() if line.strip()), "")
    return max(",;\t", key=first.count) if any(c in first for c in ",;\t") else ","


def _record_blocks(text: str, label: str) -> Iterator[tuple[np.ndarray, list[int], list[str]]]:
    """The non-blank CSV records, block by block: (line number of each record, number of
    fields of each, all fields one record after the other). Flat, because 10⁶ small lists
    are slow to build; in blocks, so no list of the whole file's cells is ever held.
    """
    sep = _separator(text)
    if '"' in text or ("\r" in text and "\r" in text.replace("\r\n", "")):
        yield from _quoted_blocks(text, sep, label)
        return
    # No quotes, so one line is one record and str.split does the work in C
    # (800,000 lines: 0.4 s instead of 3 s through csv.reader).
    pos, line0, n = 0, 1, len(text)
    while pos < n:
        end = text.find("\n", min(pos + _BLOCK_CHARS, n))
        end = n if end < 0 else end
        lines = text[pos:end].replace("\r", "").split("\n")
        keep = [k for k, line in enumerate(lines) if line and not line.isspace()]
        kept = [lines[k] for k in keep] if len(keep) < len(lines) else lines
        if kept:
            widths = [line.count(sep) + 1 for line in kept]
            yield np.array(keep, np.int64) + line0, widths, sep.join(kept).split(sep)
        line0 += len(lines)
        pos = end + 1


def _quoted_blocks(
    text: str, sep: str, label: str
) -> Iterator[tuple[np.ndarray, list[int], list[str]]]:
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
            if len(cells) >= _CELLS_AT_ONCE:
                yield np.array(line_nos, np.int64), widths, cells
                line_nos, widths, cells = [], [], []
    except csv.Error as exc:
        raise DataError(
            f'{label}, line {reader.line_num}: not valid CSV ({exc}); check the quotes (") '
            "on that line: a quoted cell must close its quote before the next separator."
        ) from None
    if line_nos:
        yield np.array(line_nos, np.int64), widths, cells


def _cells_over_limit(text: str, per_line: int, header: int) -> int:
    """The cells of an unquoted text (non-blank lines minus ``header``, ``per_line`` each),
    counted without parsing, when they are over MAX_CELLS; 0 otherwise, or when the text
    has quotes (a quoted cell may span lines: the parse itself counts then)."""
    lines = text.count("\n") + 1 - header
    if lines * per_line <= validation.MAX_CELLS or '"' in text:
        return 0
    blank = sum(1 for _ in re.finditer(r"^[ \t\r]*$", text, re.M))
    cells = (lines - blank) * per_line
    return cells if cells > validation.MAX_CELLS else 0


def _ragged(widths: list[int], want: int) -> int | None:
    """The first record whose width differs from ``want``."""
    return next((i for i, w in enumerate(widths) if w != want), None)


def _too_many(count: int, what: str, label: str) -> DataError:
    limit = validation.MAX_CELLS
    return DataError(
        f"{label} holds {count:,} {what} or more, over the limit of {limit:,} cells "
        "(MAX_CELLS). Load a sample of the rows, or fewer events."
    )


def _is_number(cell: str) -> bool:
    if cell.strip().lower() in _NA:
        return False
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _numbers(cells: Sequence[str], where: Callable[[int], str], label: str) -> np.ndarray:
    """Cells (text) as float64; NaN for an empty / NA cell; DataError names the first bad one.

    Converted :data:`_CELLS_AT_ONCE` at a time, each at most :data:`MAX_CELL_CHARS` long,
    so the text array numpy builds stays small whatever the file holds.
    """
    out = np.empty(len(cells), np.float64)
    for k0 in range(0, len(cells), _CELLS_AT_ONCE):
        part = cells[k0 : k0 + _CELLS_AT_ONCE]
        out[k0 : k0 + len(part)] = _numbers_part(part, lambda k, k0=k0: where(k0 + k), label)
    return out


def _numbers_part(cells: Sequence[str], where: Callable[[int], str], label: str) -> np.ndarray:
    if max(map(len, cells), default=0) > MAX_CELL_CHARS:
        cells = [c.strip() if len(c) > MAX_CELL_CHARS else c for c in cells]
        k = next((k for k, c in enumerate(cells) if len(c) > MAX_CELL_CHARS), None)
        if k is not None:
            raise DataError(
                f"{label}, {where(k)} holds a cell of {len(cells[k]):,} characters "
                f"({cells[k][:20]!r}...); a number takes at most {MAX_CELL_CHARS} "
                "(MAX_CELL_CHARS). Fix that cell."
            )
    # numpy casts text to float64 as Python's float() parses it; without the text array
    # that is 4x faster (1M cells: 0.64 s instead of 2.4 s), so it goes first.
    try:
        values = np.fromiter(map(float, cells), np.float64, len(cells))
    except (ValueError, TypeError):  # an empty or NA cell, or a bad one: the careful way
        values = _numbers_careful(cells, where, label)
    inf = np.isinf(values)
    if inf.any():
        k = int(np.argmax(inf))
        raise DataError(
            f"{label}, {where(k)} holds {str(cells[k])!r}; expected a finite number (an empty cell "
            f"marks an absent event). {int(inf.sum())} cell(s) are infinite."
        )
    return values


def _numbers_careful(cells: Sequence[str], where: Callable[[int], str], label: str) -> np.ndarray:
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
    return values


def _astype_float(arr: np.ndarray) -> np.ndarray | None:
    try:
        return arr.astype(np.float64)
    except (ValueError, OverflowError):
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


def parse_long_csv(text: str, label: str) -> tuple[np.ndarray, np.ndarray, float | None, TextIds]:
    """I, D (N, E), the file's y (None if absent) and the row ids (N,) from a long CSV: one
    line per event, read block by block into compact per-event state (core._longfiles)."""
    blocks = _record_blocks(text, label)
    lines, widths, cells = next(blocks, (np.zeros(0, np.int64), [], []))
    if not len(lines):
        raise DataError(
            f"{label} holds only blank lines: expected a header row,I,D and data lines."
        )
    width = widths[0]
    header = cells[:width]
    cols = _columns(header, label, _LONG_COLUMNS, f"line {lines[0]}")
    names = {col: header[k].strip() for col, k in cols.items()}
    first = (lines[1:], widths[1:], cells[width:])
    events = _cells_over_limit(text, 1, header=1)
    if events:  # refused before parsing
        raise _too_many(events, "lines (events)", label)
    # A record takes at least one line: the lines bound the events before any is read.
    store = LongEvents(min(text.count("\n") + 1, validation.MAX_CELLS), label)
    for lines, widths, body in _chain(first, blocks):
        if len(lines):
            _long_csv_block(store, lines, widths, body, width, header, cols, names)
    if not store.n:
        raise DataError(
            f"{label} has a header ({','.join(header)}) but no data lines below it: expected "
            "one line per event."
        )
    return store.finish()


def _long_csv_block(store, lines, widths, body, width, header, cols, names) -> None:
    """Check and parse one block of a long CSV's records into ``store``."""
    label = store.label
    bad = _ragged(widths, width)
    if bad is not None:
        raise DataError(
            f"{label}, line {lines[bad]} has {widths[bad]} fields but the header has "
            f"{width} ({','.join(header)}): check for a missing or extra separator."
        )
    if store.n + len(lines) > validation.MAX_CELLS:
        raise _too_many(store.n + len(lines), "lines (events)", label)
    values = {}
    for col in ("I", "D", "y"):
        if col in cols:
            where = lambda i, n=names[col]: f"line {lines[i]}, column {n!r}"  # noqa: E731
            values[col] = _numbers(body[cols[col] :: width], where, label)
    ids = [r.strip() for r in body[cols["row"] :: width]]
    if "" in ids:
        raise DataError(
            f"{label}, line {lines[ids.index('')]}: the column 'row' is empty; "
            "every line needs the row (case) its event belongs to."
        )
    store.add(
        values["I"],
        values["D"],
        values.get("y"),
        utf8(ids),
        lambda k: f"line {lines[k]}",
        ids.__getitem__,
    )


def _chain(first, rest):
    yield first
    yield from rest


def parse_wide_csv(text: str, label: str) -> tuple[np.ndarray, Callable[[int], str], list[str]]:
    """A wide matrix (N, E), where row i sits (``where(i)`` -> "line 7") and a name for
    each column. Read block by block; refused as soon as it passes MAX_CELLS."""
    blocks = _record_blocks(text, label)
    lines, widths, cells = next(blocks, (np.zeros(0, np.int64), [], []))
    if not len(lines):
        raise DataError(f"{label} holds only blank lines: expected one line of numbers per row.")
    first = cells[: widths[0]]
    # A header is a first line with text in it and no number (NA tokens are neither).
    text_cells = [c for c in first if c.strip().lower() not in _NA and not _is_number(c)]
    has_header = bool(text_cells) and not any(_is_number(c) for c in first)
    names = [c.strip() for c in first]
    if has_header and {"row", "i", "d"} <= {n.lower() for n in names}:
        raise DataError(
            f"{label} is a long file (its header has row, I, D: one line per event); load it "
            "alone with load_dataset(path) (command line: losslens check FILE)."
        )
    header_line = int(lines[0])
    if has_header:
        lines, widths, cells = lines[1:], widths[1:], cells[len(first) :]
        if not len(lines):
            lines, widths, cells = next(blocks, (lines, widths, cells))
    if not len(lines):
        raise DataError(
            f"{label} has a header ({','.join(first)}) but no data lines below it: expected one "
            "line of numbers per row."
        )
    width, line0 = widths[0], lines[0]
    if has_header and len(names) != width:
        raise DataError(
            f"{label}: the header (line {header_line}) has "
            f"{len(names)} names but the data lines have {width} fields."
        )
    skip = 0
    if has_header and width > 1 and names[0].lower() in ("", "row", "index", "id"):
        skip = 1  # a row-label column (e.g. pandas' index): not an event
    E = width - skip
    cols = [repr(n) for n in names[skip:]] if has_header else [str(j + 1) for j in range(E)]
    over = _cells_over_limit(text, E, header=has_header)
    if over:  # refused before parsing
        raise _too_many(over, "cells", label)
    values, line_parts, count = [], [], 0
    head = (lines, widths, cells)
    for lines, widths, cells in _chain(head, blocks):
        bad = _ragged(widths, width)
        if bad is not None:
            raise DataError(
                f"{label}, line {lines[bad]} has {widths[bad]} fields but line {line0} has "
                f"{width}: every row needs the same number of cells (leave a cell empty for an "
                "absent event)."
            )
        count += len(lines) * E
        if count > validation.MAX_CELLS:
            raise _too_many(count, "cells", label)
        if skip:
            cells = [c for k, c in enumerate(cells) if k % width]
        where = lambda k, ls=lines: f"line {ls[k // E]}, column {cols[k % E]}"  # noqa: E731
        values.append(_numbers(cells, where, label).reshape(len(lines), E))
        line_parts.append(lines)
    line_nos = np.concatenate(line_parts)
    M = np.concatenate(values) if len(values) > 1 else values[0]
    return M, lambda i: f"line {line_nos[i]}", cols


def read_npy(data: bytes, label: str, max_bytes: int | None) -> np.ndarray:
    """An array from .npy bytes. The header is checked before np.load sees the data:
    object dtypes (pickles) are refused, and so is an array over MAX_CELLS cells."""
    if not data.startswith(b"\x93NUMPY"):
        if data[:1] == b"\x80":
            raise DataError(
                f"{label} is a Python pickle, not a .npy array; losslens never unpickles files "
                "(unpickling can run code). Save the array with np.save(path, array)."
            )
        raise DataError(f"{label} is not a .npy file (it does not start with the NumPy header).")
    fp = io.BytesIO(data)
    shape, dtype = npy_header(fp, label)
    need = math.prod(shape) * dtype.itemsize
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


def npy_header(fp: BinaryIO, label: str) -> tuple[tuple[int, ...], np.dtype]:
    """Shape and dtype from the .npy header at ``fp``; DataError for a broken header, a
    pickle (object dtype), or an array of more than MAX_CELLS cells."""
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
    cells = math.prod(shape)
    if cells > validation.MAX_CELLS:
        raise DataError(
            f"{label} holds an array of shape {shape}: {cells:,} cells, over the limit of "
            f"{validation.MAX_CELLS:,} (MAX_CELLS). Load a sample of the rows."
        )
    return shape, dtype


# A member of an .npz may expand at most this much: deflate itself cannot pass ~1,032:1, so
# np.savez_compressed always fits; bzip2 / lzma members beyond it are refused unread.
MAX_ZIP_RATIO = 1100
_ZIP_METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)


def _check_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, where: str, max_bytes) -> None:
    """Refuse a zip member by its directory entry and its .npy header, before reading it."""
    if max_bytes is not None and info.file_size > max_bytes:
        check_size(info.file_size, where, max_bytes)
    if info.compress_type not in _ZIP_METHODS:
        raise DataError(
            f"{where} is compressed with method {info.compress_type}; expected stored or "
            "deflated members (what np.savez and np.savez_compressed write)."
        )
    if info.file_size > MAX_ZIP_RATIO * max(info.compress_size, 1) + 4096:
        raise DataError(
            f"{where} expands {info.file_size:,} bytes from {info.compress_size:,}: over the "
            f"limit of {MAX_ZIP_RATIO}:1 (MAX_ZIP_RATIO), a zip bomb."
        )
    with zf.open(info) as fp:
        shape, dtype = npy_header(fp, where)
    need = math.prod(shape) * dtype.itemsize
    if need > info.file_size:
        raise DataError(
            f"{where} is truncated: its header announces an array of shape {shape} ({need} "
            f"bytes) but the member holds {info.file_size} bytes."
        )


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
                _check_member(zf, info, where, max_bytes)
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


# Rows of a Parquet file read at a time.
_BATCH_ROWS = 1 << 16


def parse_long_parquet(
    data: bytes, label: str
) -> tuple[np.ndarray, np.ndarray, float | None, np.ndarray | TextIds]:
    """I, D (N, E), the file's y (None if absent) and the row ids (N,) from a long Parquet
    table, read in batches of :data:`_BATCH_ROWS` into compact per-event state.

    The row count comes from the file's metadata, before any column is read; text
    columns of numbers are read dictionary-encoded, so a value repeated 10⁷ times is
    parsed once per dictionary.
    """
    if not (data.startswith(b"PAR1") and data.endswith(b"PAR1")):
        raise DataError(f"{label} is not a Parquet file (it does not start and end with PAR1).")
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        meta = pq.ParquetFile(io.BytesIO(data))
        schema, num_rows = meta.schema_arrow, meta.metadata.num_rows
    except Exception as exc:  # pyarrow raises many types on broken files
        raise DataError(f"{label} could not be read as Parquet: {exc}.") from None
    if num_rows > validation.MAX_CELLS:
        raise _too_many(num_rows, "rows (events)", label)
    cols = _columns(schema.names, label, _LONG_COLUMNS, "the table's header")
    names = {col: schema.names[k] for col, k in cols.items()}
    _check_id_sizes(meta.metadata, cols["row"], label)
    text = [n for c, n in names.items() if c != "row" and pa.types.is_string(schema.field(n).type)]
    store = LongEvents(num_rows, label, _row_dtype(schema.field(names["row"]).type, label))
    try:
        # One thread, no pre-buffering: as fast here, and 20M rows peak 0.2 GB lower in
        # address space (0.1 GB in RSS) than with Arrow's thread pools and read-ahead.
        reader = pq.ParquetFile(io.BytesIO(data), read_dictionary=text, pre_buffer=False)
        batches = reader.iter_batches(
            batch_size=_BATCH_ROWS, columns=list(names.values()), use_threads=False
        )
        parsed: dict = {}  # per column, the dictionary last parsed (batches share one)
        for batch in batches:
            _parquet_batch(store, batch, names, parsed)
    except (DataError, MemoryError):
        raise
    except Exception as exc:
        raise DataError(f"{label} could not be read as Parquet: {exc}.") from None
    if store.n == 0:
        raise DataError(
            f"{label} has columns ({', '.join(schema.names)}) but no rows: expected one "
            "row per event."
        )
    return store.finish()


def _check_id_sizes(metadata, column: int, label: str) -> None:
    """Refuse, from the metadata and before reading, a row-id column whose row groups hold
    more than MAX_ID_BYTES (plus a length) per row uncompressed: long ids compress well,
    and a batch of them would be unpacked whole."""
    for g in range(metadata.num_row_groups):
        group = metadata.row_group(g)
        size, rows = group.column(column).total_uncompressed_size, max(group.num_rows, 1)
        if size > rows * (validation.MAX_ID_BYTES + 16) + 2**20:
            raise DataError(
                f"{label}, row group {g}: the column 'row' unpacks to {size / rows:,.0f} "
                f"bytes per row; a row id takes at most {validation.MAX_ID_BYTES} "
                "(MAX_ID_BYTES). Use short ids (numbers, or a short code per row)."
            )


def _parquet_batch(store: LongEvents, batch, names: dict[str, str], parsed: dict) -> None:
    """Check and parse one record batch of a long Parquet table into ``store``."""
    k0, label = store.n, store.label
    where = lambda i: f"table row {k0 + i}"  # noqa: E731
    ids = batch.column(names["row"])
    id_bytes = _parquet_ids(ids, where, label, store.numeric)
    I, D = (_parquet_numbers(batch.column(names[c]), names[c], label, k0, parsed) for c in "ID")
    y = None
    if "y" in names:
        y = _parquet_numbers(batch.column(names["y"]), names["y"], label, k0, parsed)
    store.add(I, D, y, id_bytes, where, lambda i: str(ids[int(i)].as_py()))


def _parquet_numbers(arr, name: str, label: str, k0: int, parsed: dict) -> np.ndarray:
    """A Parquet column's batch (numbers, or dictionary-encoded text; rows k0...) as
    float64; null -> NaN. ``parsed`` keeps each dictionary's numbers for later batches."""
    import pyarrow as pa

    t = arr.type
    if pa.types.is_dictionary(t) and pa.types.is_string(t.value_type):
        idx = arr.indices.fill_null(len(arr.dictionary)).to_numpy(zero_copy_only=False)
        values = _dictionary_numbers(arr.dictionary, idx, name, label, k0, parsed)
        return values[idx]
    if pa.types.is_null(t):
        return np.full(len(arr), np.nan)
    if pa.types.is_boolean(t) or not (
        pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t)
    ):
        raise DataError(
            f"{label}: the column {name!r} has type {t}; expected numbers"
            f"{' (store 0/1, not true/false)' if pa.types.is_boolean(t) else ''}."
        )
    # safe=False: an int64 beyond 2**53 becomes the nearest float instead of an error
    values = np.asarray(arr.cast(pa.float64(), safe=False).to_numpy(zero_copy_only=False))
    inf = np.isinf(values)
    if inf.any():
        k = int(np.argmax(inf))
        raise DataError(
            f"{label}, table row {k0 + k}, column {name!r} holds {values[k]}; expected a finite "
            "number (null or NaN marks an absent event)."
        )
    return values.astype(np.float64, copy=False)


def _dictionary_numbers(dictionary, idx, name: str, label: str, k0: int, parsed: dict):
    """(len(dictionary) + 1,) the dictionary's values as numbers, then NaN (for null)."""
    last = parsed.get(name)  # each batch carries its own copy: compared, not parsed again
    if last is None or len(last[0]) != len(dictionary) or not last[0].equals(dictionary):

        def where(k: int) -> str:  # the first table row of this batch holding value k
            hits = np.flatnonzero(idx == k)
            row = f"table row {k0 + int(hits[0])}" if hits.size else "a dictionary value"
            return f"{row}, column {name!r}"

        # one dictionary per column at a time: a new row group's replaces the last one
        values = np.append(_numbers(dictionary.to_pylist(), where, label), np.nan)
        parsed[name] = (dictionary, values)
    return parsed[name][1]


def _row_dtype(t, label: str) -> np.dtype | None:
    """The dtype row ids of Parquet type ``t`` keep (None: text), or DataError."""
    import pyarrow as pa

    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_null(t):
        return None
    if pa.types.is_integer(t):
        return np.dtype(np.int64)
    if pa.types.is_floating(t):
        return np.dtype(np.float64)
    raise DataError(
        f"{label}: the column 'row' has type {t}; expected whole numbers or text "
        "naming the row (case) of each event."
    )


def _parquet_ids(col, where: Callable[[int], str], label: str, numeric) -> tuple:
    """The bytes of a batch's row ids (data, offsets) for interning: text as UTF-8,
    numbers as their 8 bytes."""
    import pyarrow as pa
    import pyarrow.compute as pc

    empty = col.is_null()
    if pa.types.is_floating(col.type):
        empty = pc.or_(empty, pc.is_nan(col))
    if pc.any(empty).as_py():
        i = int(np.argmax(empty.to_numpy(zero_copy_only=False)))
        raise DataError(
            f"{label}, {where(i)}: the column 'row' is empty; every row of the table needs "
            "the row (case) its event belongs to."
        )
    if numeric is not None:
        values = col.cast(pa.from_numpy_dtype(numeric)).to_numpy(zero_copy_only=False)
        values = np.ascontiguousarray(values + 0 if numeric.kind == "i" else values + 0.0)
        return values.view(np.uint8), np.arange(0, 8 * len(values) + 1, 8, dtype=np.int64)
    col = col.cast(pa.large_string())  # int64 offsets, whatever the file used
    _, offsets, data = col.buffers()
    offsets = np.frombuffer(offsets, np.int64)[col.offset : col.offset + len(col) + 1]
    return (np.frombuffer(data, np.uint8) if data is not None else np.zeros(0, np.uint8)), offsets
