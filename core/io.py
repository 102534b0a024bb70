"""Read and write datasets: NPZ, long CSV / Parquet (one line per event), wide CSV / .npy pairs.

    load_dataset("exposure.csv", y=93)                 # one file with both matrices
    load_pair("I.csv", "D.csv", y=93)                  # I and D from two files
    load_bytes(upload.getvalue(), upload.name)         # an upload: no temp file needed
    load_dataset(BytesIO(data), name="x.npz")          # file-like objects work too

Every file is read into memory once (at most ``max_bytes``) and parsed from bytes.
Every failure is a :class:`DataError` whose message starts with the file name and
says where (line, column) and what was expected. ``np.load`` runs only with
``allow_pickle=False``, after the .npy header has been checked for Python objects:
pickles are refused and never executed. pandas is not needed; pyarrow is imported
only to read or write Parquet.

Formats
-------
.npz       arrays ``I``, ``D`` (N, E); optional scalar ``y``, optional ``truth`` (2,)
.csv       long: header with columns ``row``, ``I``, ``D`` (optional ``y``, constant),
           one line per event; each distinct ``row`` value (in order of first
           appearance) becomes one row of the matrices, padded with NaN on the right;
           a line with ``I`` and ``D`` both empty declares a row with no events.
           Wide (in a pair only): one line per row, one column per event, header
           optional (a first line with no number in it); an empty cell is an absent
           event. Separator ``,`` (or ``;`` / tab when the first line uses those).
.parquet   long, like the CSV.
.npy       a pair of 2-D float arrays.
Empty cells and NaN, NA, N/A, null, None mark an absent event. Blank lines are skipped.
"""

from __future__ import annotations

import csv
import io
import os
import re
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import numpy as np

from .errors import DataError
from .model import Dataset
from .validation import check_y

__all__ = [
    "FORMATS",
    "MAX_CELLS",
    "MAX_UPLOAD_MB",
    "MissingYError",
    "load_bytes",
    "load_dataset",
    "load_pair",
    "load_pair_bytes",
    "save_dataset",
    "save_pair",
    "to_bytes",
    "to_pair_bytes",
]

MAX_UPLOAD_MB = 200  # matches .streamlit/config.toml [server] maxUploadSize
_MB = 1024 * 1024
# Long files are padded to N × (most events in a row): one row with 10⁶ events
# must not allocate N × 10⁶ cells.
MAX_CELLS = 20_000_000

FORMATS = {".npz": "npz", ".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".npy": "npy"}
_NA = frozenset({"", "nan", "na", "n/a", "null", "none"})
_LONG_COLUMNS = ("row", "I", "D")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

Source = str | os.PathLike | bytes | bytearray | memoryview | BinaryIO


class MissingYError(DataError):
    """The file holds no y and none was given: ask the user for the observed count."""


# ----------------------------------------------------------------------------- public API


def load_dataset(
    source: Source,
    *,
    y: float | None = None,
    name: str | None = None,
    max_bytes: int | None = MAX_UPLOAD_MB * _MB,
) -> Dataset:
    """A Dataset from one file holding both matrices: .npz, long .csv or long .parquet.

    source : a path, bytes, or a binary file-like object (e.g. a Streamlit upload).
    y : the observed count; overrides a y stored in the file. Needed when the file has
        none (else :class:`MissingYError`).
    name : the file name for messages and for the format (default: the path's or
        ``source.name``); required to pick the format of raw bytes without magic.
    max_bytes : refuse larger files (default MAX_UPLOAD_MB MB); None for no limit.
    """
    data, label = _read_source(source, name, max_bytes)
    fmt = _format(data, label)
    if fmt == "npz":
        I, D, file_y, truth = _parse_npz(data, label, max_bytes)
        hint = "or store it in the file: np.savez(path, I=I, D=D, y=COUNT)"
    elif fmt == "csv":
        I, D, file_y = _parse_long_csv(_decode_text(data, label), label)
        truth, hint = None, "or add a column y holding the count on every line"
    elif fmt == "parquet":
        I, D, file_y = _parse_long_parquet(data, label)
        truth, hint = None, "or add a column y holding the count on every row"
    else:
        raise DataError(
            f"{label}: a .npy file holds a single matrix; give I and D as two .npy files "
            "with load_pair(path_I, path_D, y=COUNT) (command line: losslens check I.npy "
            "D.npy --y COUNT), or save both in one .npz: np.savez(path, I=I, D=D, y=COUNT)."
        )
    return _build(I, D, y if y is not None else file_y, label, _stem(label), truth, hint)


def load_pair(
    source_I: Source,
    source_D: Source,
    *,
    y: float | None,
    name_I: str | None = None,
    name_D: str | None = None,
    max_bytes: int | None = MAX_UPLOAD_MB * _MB,
) -> Dataset:
    """A Dataset from two files of the same shape: wide .csv (header optional) or .npy.

    y : the observed count (the files cannot hold it); None raises :class:`MissingYError`.
    Other arguments as in :func:`load_dataset`, one per file.
    """
    data_I, label_I = _read_source(source_I, name_I, max_bytes)
    data_D, label_D = _read_source(source_D, name_D, max_bytes)
    I, lines_I, cols_I = _read_matrix(data_I, label_I, "I")
    D, lines_D, cols_D = _read_matrix(data_D, label_D, "D")
    if I.shape != D.shape:
        raise DataError(
            f"{label_I} and {label_D} must have the same shape (one D for every I); got "
            f"{_shape_words(I.shape)} in {label_I} and {_shape_words(D.shape)} in {label_D}."
        )
    mismatch = np.isnan(I) != np.isnan(D)
    if mismatch.any():
        i, j = (int(k) for k in np.argwhere(mismatch)[0])

        def cell(label, lines, cols, value):
            held = "is empty (an absent event)" if np.isnan(value) else f"holds {float(value)!r}"
            return f"{label} {lines[i]}, column {cols[j]} {held}"

        raise DataError(
            f"{label_I} and {label_D} must mark absent events (empty cells) at the same "
            f"places; {cell(label_I, lines_I, cols_I, I[i, j])} but "
            f"{cell(label_D, lines_D, cols_D, D[i, j])}. {int(mismatch.sum())} cell(s) "
            "differ: fill both or leave both empty."
        )
    label = f"{label_I} + {label_D}"
    name = _pair_stem(_stem(label_I), _stem(label_D))
    return _build(I, D, y, label, name, None, "")


def load_bytes(
    data: bytes,
    filename: str,
    *,
    y: float | None = None,
    max_bytes: int | None = MAX_UPLOAD_MB * _MB,
) -> Dataset:
    """:func:`load_dataset` for an upload's bytes; ``filename`` picks the format."""
    return load_dataset(data, y=y, name=filename, max_bytes=max_bytes)


def load_pair_bytes(
    data_I: bytes,
    filename_I: str,
    data_D: bytes,
    filename_D: str,
    *,
    y: float | None,
    max_bytes: int | None = MAX_UPLOAD_MB * _MB,
) -> Dataset:
    """:func:`load_pair` for two uploads' bytes."""
    return load_pair(data_I, data_D, y=y, name_I=filename_I, name_D=filename_D, max_bytes=max_bytes)


def to_bytes(ds: Dataset, fmt: str) -> bytes:
    """``ds`` as one file: "npz" (with y and truth), "csv" or "parquet" (long, with a y column).

    Floats are written with ``repr``: loading gives back exactly the same numbers.
    """
    if fmt == "npz":
        buf = io.BytesIO()
        extra = {} if ds.truth is None else {"truth": np.array(ds.truth)}
        np.savez_compressed(buf, I=ds.I, D=ds.D, y=np.float64(ds.y), **extra)
        return buf.getvalue()
    rows, I, D = _to_long(ds)
    if fmt == "csv":
        y = repr(ds.y)
        lines = ["row,I,D,y"]
        lines += [
            f"{r},{_cell(a)},{_cell(b)},{y}"
            for r, a, b in zip(rows, I.tolist(), D.tolist(), strict=True)
        ]
        return ("\n".join(lines) + "\n").encode()
    if fmt == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.table({"row": rows, "I": I, "D": D, "y": np.full(len(rows), ds.y)})
        buf = io.BytesIO()
        pq.write_table(table, buf)
        return buf.getvalue()
    raise DataError(f"fmt must be 'npz', 'csv' or 'parquet' for one file; got {fmt!r}.")


def to_pair_bytes(ds: Dataset, fmt: str, *, header: bool = True) -> tuple[bytes, bytes]:
    """``ds`` as two files (I, D): "csv" (wide, empty cell = absent) or "npy"."""
    if fmt == "npy":
        out = []
        for M in (ds.I, ds.D):
            buf = io.BytesIO()
            np.save(buf, M, allow_pickle=False)
            out.append(buf.getvalue())
        return out[0], out[1]
    if fmt == "csv":
        out = []
        for M in (ds.I, ds.D):
            lines = [",".join(f"e{j + 1}" for j in range(ds.E))] if header else []
            lines += [",".join(map(_cell, row)) for row in M.tolist()]
            out.append(("\n".join(lines) + "\n").encode())
        return out[0], out[1]
    raise DataError(f"fmt must be 'csv' or 'npy' for a pair of files; got {fmt!r}.")


def save_dataset(ds: Dataset, path: str | os.PathLike) -> Path:
    """Write ``ds`` to ``path`` (.npz, .csv or .parquet, from the suffix)."""
    path = Path(path)
    fmt = FORMATS.get(path.suffix.lower())
    if fmt not in ("npz", "csv", "parquet"):
        raise DataError(f"{path}: save_dataset writes .npz, .csv or .parquet; got {path.suffix!r}.")
    path.write_bytes(to_bytes(ds, fmt))
    return path


def save_pair(
    ds: Dataset, path_I: str | os.PathLike, path_D: str | os.PathLike, *, header: bool = True
) -> tuple[Path, Path]:
    """Write I and D to two files (.csv wide or .npy, from the suffix of ``path_I``)."""
    path_I, path_D = Path(path_I), Path(path_D)
    fmt = FORMATS.get(path_I.suffix.lower())
    if fmt not in ("csv", "npy") or path_D.suffix.lower() != path_I.suffix.lower():
        raise DataError(
            f"save_pair writes two .csv or two .npy files; got {path_I.name} and {path_D.name}."
        )
    data_I, data_D = to_pair_bytes(ds, fmt, header=header)
    path_I.write_bytes(data_I)
    path_D.write_bytes(data_D)
    return path_I, path_D


# ----------------------------------------------------------------------------- reading bytes


def _read_source(source: Source, name: str | None, max_bytes: int | None) -> tuple[bytes, str]:
    """The bytes of ``source`` and a label for messages; enforces the size limit."""
    if isinstance(source, bytes | bytearray | memoryview):
        data, label = bytes(source), name or "<bytes>"
    elif isinstance(source, str | os.PathLike):
        path = Path(source)
        label = name or str(source)
        if not path.is_file():
            what = "is a directory" if path.is_dir() else "does not exist"
            raise DataError(f"{label} {what}: expected a data file (.npz, .csv, .parquet, .npy).")
        _check_size(path.stat().st_size, label, max_bytes)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise DataError(f"{label} could not be read: {exc.strerror or exc}.") from None
    elif hasattr(source, "read"):
        label = name or os.path.basename(str(getattr(source, "name", "") or "")) or "<upload>"
        # An upload may have been read already: getvalue() gives it all regardless.
        if hasattr(source, "getvalue"):
            data = source.getvalue()
        else:
            data = source.read() if max_bytes is None else source.read(max_bytes + 1)
        if isinstance(data, str):  # a text-mode file
            data = data.encode()
        data = bytes(data)
    else:
        raise DataError(
            f"Expected a path, bytes or a binary file object; got {type(source).__name__}."
        )
    _check_size(len(data), label, max_bytes)
    if not data.strip():
        raise DataError(
            f"{label} is empty ({len(data)} bytes): expected I and D (an .npz with arrays I "
            "and D, or a CSV with a header line and one line per event or row)."
        )
    return data, label


def _check_size(size: int, label: str, max_bytes: int | None) -> None:
    if max_bytes is not None and size > max_bytes:
        raise DataError(
            f"{label} is {size / _MB:.1f} MB, over the {max_bytes / _MB:g} MB limit. Pass a "
            "larger max_bytes to load it anyway, or shrink the file (an .npz is about 3 times "
            "smaller than a CSV of the same numbers)."
        )


_MAGIC = {
    b"PK\x03\x04": "npz",
    b"PK\x05\x06": "npz",
    b"\x93NUMPY": "npy",
    b"PAR1": "parquet",
}


def _sniff(data: bytes) -> str | None:
    return next((fmt for magic, fmt in _MAGIC.items() if data.startswith(magic)), None)


def _format(data: bytes, label: str) -> str:
    suffix = Path(label).suffix.lower()
    if suffix in FORMATS:
        return FORMATS[suffix]
    if not suffix or label.startswith("<"):
        return _sniff(data) or "csv"
    raise DataError(
        f"{label}: unknown file type {suffix!r}. Expected .npz (arrays I, D and y), .csv or "
        ".parquet (one line per event: columns row, I, D), or a pair of wide .csv / .npy "
        "files (one for I, one for D). From Excel, save as 'CSV UTF-8'."
    )


def _decode_text(data: bytes, label: str) -> str:
    """The text of a CSV, or a DataError saying why these bytes are not UTF-8 text."""
    kind = _sniff(data)
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


# ----------------------------------------------------------------------------- CSV


def _records(text: str, label: str) -> list[tuple[int, list[str]]]:
    """Non-blank CSV records with their (1-based) line numbers."""
    first = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = max(",;\t", key=first.count) if any(c in first for c in ",;\t") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    out = []
    try:
        for fields in reader:
            if len(fields) == 0 or (len(fields) == 1 and not fields[0].strip()):
                continue
            out.append((reader.line_num, fields))
    except csv.Error as exc:
        raise DataError(
            f'{label}, line {reader.line_num}: not valid CSV ({exc}); check the quotes (") '
            "on that line: a quoted cell must close its quote before the next separator."
        ) from None
    return out


def _is_number(cell: str) -> bool:
    if cell.strip().lower() in _NA:
        return False
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _numbers(cells: list, where: Callable[[int], str], label: str) -> np.ndarray:
    """Cells (text) as float64; NaN for an empty / NA cell; DataError names the first bad one."""
    arr = np.array(cells, dtype=str)
    if arr.size:  # np.where, not arr[na] = "nan": that would truncate to the width of arr
        arr = np.where(np.isin(np.char.lower(np.char.strip(arr)), list(_NA)), "nan", arr)
    try:
        values = arr.astype(np.float64)
    except ValueError:
        values = None
    if values is None or values.shape != arr.shape:
        for k, cell in enumerate(arr.tolist()):
            try:
                float(cell)
            except ValueError:
                hint = " (use a dot as the decimal separator)" if "," in cell else ""
                raise DataError(
                    f"{label}, {where(k)} holds {cells[k]!r}; expected a number{hint}, or an "
                    "empty cell for an absent event. Fix that cell."
                ) from None
        values = np.array([float(c) for c in arr.tolist()])
    inf = np.isinf(values)
    if inf.any():
        k = int(np.argmax(inf))
        raise DataError(
            f"{label}, {where(k)} holds {cells[k]!r}; expected a finite number (an empty cell "
            f"marks an absent event). {int(inf.sum())} cell(s) are infinite."
        )
    return values


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


def _parse_long_csv(text: str, label: str) -> tuple[np.ndarray, np.ndarray, float | None]:
    records = _records(text, label)
    if not records:
        raise DataError(
            f"{label} holds only blank lines: expected a header row,I,D and data lines."
        )
    header_line, header = records[0]
    cols = _columns(header, label, _LONG_COLUMNS, f"line {header_line}")
    body = records[1:]
    if not body:
        raise DataError(
            f"{label} has a header ({','.join(header)}) but no data lines below it: expected "
            "one line per event."
        )
    width = len(header)
    for line, fields in body:
        if len(fields) != width:
            raise DataError(
                f"{label}, line {line} has {len(fields)} fields but the header has {width} "
                f"({','.join(header)}): check for a missing or extra separator."
            )
    lines = [line for line, _ in body]

    def column(col: str) -> np.ndarray:
        k = cols[col]
        return _numbers(
            [f[k] for _, f in body],
            lambda i: f"line {lines[i]}, column {header[k].strip()!r}",
            label,
        )

    rows = [f[cols["row"]].strip() for _, f in body]
    for i, r in enumerate(rows):
        if not r:
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
    index: dict = {}
    codes = np.fromiter((index.setdefault(r, len(index)) for r in rows), np.int64, len(rows))
    N = len(index)
    event = ~np.isnan(I)
    codes_e = codes[event]
    counts = np.bincount(codes_e, minlength=N)
    E = max(int(counts.max(initial=0)), 1)
    if N * E > MAX_CELLS:
        raise DataError(
            f"{label}: {N} rows padded to the longest row ({E} events) would need {N * E:,} "
            f"cells, over the limit of {MAX_CELLS:,} (MAX_CELLS). Check the column 'row': "
            "does one value collect far more events than the others?"
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


def _parse_wide_csv(text: str, label: str) -> tuple[np.ndarray, list[str], list[str]]:
    """A wide matrix, where each row sits ("line 7") and a name for each column."""
    records = _records(text, label)
    if not records:
        raise DataError(f"{label} holds only blank lines: expected one line of numbers per row.")
    first = records[0][1]
    has_header = any(c.strip() for c in first) and not any(_is_number(c) for c in first)
    names = [c.strip() for c in first]
    if has_header and {"row", "i", "d"} <= {n.lower() for n in names}:
        raise DataError(
            f"{label} is a long file (its header has row, I, D: one line per event); load it "
            "alone with load_dataset(path) (command line: losslens check FILE)."
        )
    body = records[1:] if has_header else records
    if not body:
        raise DataError(
            f"{label} has a header ({','.join(first)}) but no data lines below it: expected one "
            "line of numbers per row."
        )
    skip = 0
    if has_header and len(names) > 1 and names[0].lower() in ("", "row", "index", "id"):
        skip = 1  # a row-label column (e.g. pandas' index): not an event
    width = len(body[0][1])
    for line, fields in body:
        if len(fields) != width:
            raise DataError(
                f"{label}, line {line} has {len(fields)} fields but line {body[0][0]} has "
                f"{width}: every row needs the same number of cells (leave a cell empty for an "
                "absent event)."
            )
    if has_header and len(names) != width:
        raise DataError(
            f"{label}: the header (line {records[0][0]}) has {len(names)} names but the data "
            f"lines have {width} fields."
        )
    E = width - skip
    if E < 1:
        raise DataError(f"{label}: only a row-label column, no event columns.")
    cols = [repr(n) for n in names[skip:]] if has_header else [str(j + 1) for j in range(E)]
    lines = [line for line, _ in body]
    cells = [c for _, f in body for c in f[skip:]]
    values = _numbers(cells, lambda k: f"line {lines[k // E]}, column {cols[k % E]}", label)
    return values.reshape(len(body), E), [f"line {n}" for n in lines], cols


# ----------------------------------------------------------------------------- binary formats


def _read_npy(data: bytes, label: str, max_bytes: int | None) -> np.ndarray:
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
        _check_size(need, label, max_bytes)
    if len(data) - fp.tell() < need:
        raise DataError(
            f"{label} is truncated: its header announces an array of shape {shape} "
            f"({need} bytes) but only {len(data) - fp.tell()} bytes follow."
        )
    try:
        return np.load(io.BytesIO(data), allow_pickle=False)
    except Exception as exc:  # ValueError, EOFError, ... on a malformed file
        raise DataError(f"{label} could not be read as .npy: {exc}.") from None


def _parse_npz(
    data: bytes, label: str, max_bytes: int | None
) -> tuple[np.ndarray, np.ndarray, float | None, tuple[float, float] | None]:
    if _sniff(data) != "npz":
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
                    _check_size(info.file_size, where, max_bytes)
                arrays[key] = _read_npy(zf.read(info), where, max_bytes)
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


def _parse_long_parquet(data: bytes, label: str) -> tuple[np.ndarray, np.ndarray, float | None]:
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
        values = arr.cast(pa.float64()).to_numpy(zero_copy_only=False)
        values = np.asarray(values, dtype=np.float64)
        inf = np.isinf(values)
        if inf.any():
            k = int(np.argmax(inf))
            raise DataError(
                f"{label}, {where(k)}, column {name!r} holds {values[k]}; expected a finite "
                "number (null or NaN marks an absent event)."
            )
        return values

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


def _read_matrix(data: bytes, label: str, which: str) -> tuple[np.ndarray, list[str], list[str]]:
    """One matrix of a pair (wide CSV or .npy), where each row sits and each column's name."""
    fmt = _format(data, label)
    if fmt == "csv":
        return _parse_wide_csv(_decode_text(data, label), label)
    if fmt == "npy":
        M = _read_npy(data, label, None)
        if M.ndim != 2:
            raise DataError(
                f"{label}: {which} must be 2-D (a row per case, a column per event); got "
                f"shape {M.shape}."
            )
        return M, [f"row {i}" for i in range(M.shape[0])], [str(j) for j in range(M.shape[1])]
    raise DataError(
        f"{label}: a pair needs two wide .csv or two .npy files (one matrix each); this is "
        f"{'an' if fmt == 'npz' else 'a'} .{fmt} file, which holds both matrices: load it alone "
        "with load_dataset(path)."
    )


# ----------------------------------------------------------------------------- helpers


def _build(
    I: np.ndarray,
    D: np.ndarray,
    y: float | None,
    label: str,
    name: str,
    truth: tuple[float, float] | None,
    hint: str,
) -> Dataset:
    if y is None:
        raise MissingYError(
            f"{label} holds no y (the observed count) and none was given: pass y=COUNT "
            f"(command line: --y COUNT){', ' + hint if hint else ''}."
        )
    try:
        return Dataset(I, D, y, name=name, truth=truth)
    except DataError as exc:
        raise DataError(f"{label}: {exc}") from None


def _stem(label: str) -> str:
    return Path(label).stem if not label.startswith("<") else "upload"


def _pair_stem(a: str, b: str) -> str:
    """'wide_I', 'wide_D' -> 'wide'; otherwise 'a + b'."""
    for sep in ("_", "-", "."):
        if a.endswith(f"{sep}I") and b.endswith(f"{sep}D") and a[:-2] == b[:-2]:
            return a[:-2]
    return f"{a} + {b}"


def _shape_words(shape: tuple[int, ...]) -> str:
    return f"{shape[0]} rows × {shape[1]} columns"


def _cell(x: float) -> str:
    return "" if x != x else repr(x)  # NaN -> empty cell


def _to_long(ds: Dataset) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One entry per present event (row-major), plus one (NaN, NaN) entry per empty row."""
    empty = ~ds.present.any(axis=1)
    keep = ds.present | (empty[:, None] & (np.arange(ds.E) == 0)[None, :])
    rows = np.broadcast_to(np.arange(ds.N)[:, None], ds.I.shape)[keep]
    return rows, ds.I[keep], ds.D[keep]
