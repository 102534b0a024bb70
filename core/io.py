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

import io
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

import numpy as np

from ._parsers import (
    check_size,
    decode_text,
    parse_long_csv,
    parse_long_parquet,
    parse_npz,
    parse_wide_csv,
    read_npy,
    sniff,
)
from .errors import DataError
from .model import Dataset
from .validation import MAX_CELLS, MAX_UPLOAD_MB, MB, check_matrix

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

FORMATS = {".npz": "npz", ".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".npy": "npy"}

Source = str | os.PathLike | bytes | bytearray | memoryview | BinaryIO


class MissingYError(DataError):
    """The file holds no y and none was given: ask the user for the observed count."""


# ----------------------------------------------------------------------------- public API


@contextmanager
def _only_data_errors(source: object, name: str | None) -> Iterator[None]:
    """Inside, nothing but DataError escapes: a MemoryError or a parser's surprise (numpy,
    pyarrow or zipfile on a file no check foresaw) becomes a DataError naming the file.
    """
    try:
        yield
    except DataError:
        raise
    except MemoryError:
        raise DataError(
            f"{_label_of(source, name)} needs more memory than this machine has free; files "
            f"are limited to {MAX_CELLS:,} cells (MAX_CELLS). Load fewer rows."
        ) from None
    except Exception as exc:  # the last line of defence: no other exception escapes
        raise DataError(
            f"{_label_of(source, name)} could not be read ({type(exc).__name__}: {str(exc)[:200]})."
        ) from exc


def _label_of(source: object, name: str | None) -> str:
    if name:
        return name
    if isinstance(source, str | os.PathLike):
        return str(source)
    return os.path.basename(str(getattr(source, "name", "") or "")) or "the data"


def load_dataset(
    source: Source,
    *,
    y: float | None = None,
    name: str | None = None,
    max_bytes: int | None = MAX_UPLOAD_MB * MB,
) -> Dataset:
    """A Dataset from one file holding both matrices: .npz, long .csv or long .parquet.

    source : a path, bytes, or a binary file-like object (e.g. a Streamlit upload).
    y : the observed count; overrides a y stored in the file. Needed when the file has
        none (else :class:`MissingYError`).
    name : the file name for messages and for the format (default: the path's or
        ``source.name``); required to pick the format of raw bytes without magic.
    max_bytes : refuse larger files (default MAX_UPLOAD_MB MB); None for no limit.
    """
    with _only_data_errors(source, name):
        data, label = _read_source(source, name, max_bytes)
        fmt = _format(data, label)
        row_ids = None  # the file's own row ids, where it has them (long formats)
        if fmt == "npz":
            I, D, file_y, truth = parse_npz(data, label, max_bytes)
            hint = "or store it in the file: np.savez(path, I=I, D=D, y=COUNT)"
        elif fmt == "csv":
            text = decode_text(data, label)
            data = None  # the parser needs only the text: the bytes go before the arrays come
            I, D, file_y, row_ids = parse_long_csv(text, label)
            truth, hint = None, "or add a column y holding the count on every line"
        elif fmt == "parquet":
            I, D, file_y, row_ids = parse_long_parquet(data, label)
            truth, hint = None, "or add a column y holding the count on every row"
        else:
            raise DataError(
                f"{label}: a .npy file holds a single matrix; give I and D as two .npy files "
                "with load_pair(path_I, path_D, y=COUNT) (command line: losslens check I.npy "
                "D.npy --y COUNT), or save both in one .npz: np.savez(path, I=I, D=D, y=COUNT)."
            )
        y = y if y is not None else file_y
        return _build(I, D, y, label, _stem(label), truth, hint, row_ids=row_ids)


def load_pair(
    source_I: Source,
    source_D: Source,
    *,
    y: float | None,
    name_I: str | None = None,
    name_D: str | None = None,
    max_bytes: int | None = MAX_UPLOAD_MB * MB,
) -> Dataset:
    """A Dataset from two files of the same shape: wide .csv (header optional) or .npy.

    y : the observed count (the files cannot hold it); None raises :class:`MissingYError`.
    Other arguments as in :func:`load_dataset`, one per file.
    """
    with _only_data_errors(source_I, name_I):
        data_I, label_I = _read_source(source_I, name_I, max_bytes)
        data_D, label_D = _read_source(source_D, name_D, max_bytes)
        I, where_I, cols_I = _read_matrix(data_I, label_I, "I")
        D, where_D, cols_D = _read_matrix(data_D, label_D, "D")
        label = f"{label_I} + {label_D}"
        try:  # text, bytes or records must not reach np.isnan
            I, D = check_matrix(I, "I"), check_matrix(D, "D")
        except DataError as exc:
            raise DataError(f"{label}: {exc}") from None
        if I.shape != D.shape:
            raise DataError(
                f"{label_I} and {label_D} must have the same shape (one D for every I); got "
                f"{_shape_words(I.shape)} in {label_I} and {_shape_words(D.shape)} in {label_D}."
            )
        mismatch = np.isnan(I) != np.isnan(D)
        if mismatch.any():
            i, j = (int(k) for k in np.argwhere(mismatch)[0])

            def cell(label, where, cols, value):
                held = (
                    "is empty (an absent event)" if np.isnan(value) else f"holds {float(value)!r}"
                )
                return f"{label} {where(i)}, column {cols[j]} {held}"

            raise DataError(
                f"{label_I} and {label_D} must mark absent events (empty cells) at the same "
                f"places; {cell(label_I, where_I, cols_I, I[i, j])} but "
                f"{cell(label_D, where_D, cols_D, D[i, j])}. {int(mismatch.sum())} cell(s) "
                "differ: fill both or leave both empty."
            )
        name = _pair_stem(_stem(label_I), _stem(label_D))
        return _build(I, D, y, label, name, None, "")


def load_bytes(
    data: bytes,
    filename: str,
    *,
    y: float | None = None,
    max_bytes: int | None = MAX_UPLOAD_MB * MB,
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
    max_bytes: int | None = MAX_UPLOAD_MB * MB,
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
            # With one column an all-absent row would be a blank line, which readers skip.
            cell = _cell if ds.E > 1 else lambda x: "nan" if x != x else repr(x)
            lines += [",".join(map(cell, row)) for row in M.tolist()]
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
        check_size(path.stat().st_size, label, max_bytes)
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
    check_size(len(data), label, max_bytes)
    if not data.strip():
        raise DataError(
            f"{label} is empty ({len(data)} bytes): expected I and D (an .npz with arrays I "
            "and D, or a CSV with a header line and one line per event or row)."
        )
    return data, label


def _format(data: bytes, label: str) -> str:
    suffix = Path(label).suffix.lower()
    if suffix in FORMATS:
        return FORMATS[suffix]
    if not suffix or label.startswith("<"):
        return sniff(data) or "csv"
    raise DataError(
        f"{label}: unknown file type {suffix!r}. Expected .npz (arrays I, D and y), .csv or "
        ".parquet (one line per event: columns row, I, D), or a pair of wide .csv / .npy "
        "files (one for I, one for D). From Excel, save as 'CSV UTF-8'."
    )


def _read_matrix(
    data: bytes, label: str, which: str
) -> tuple[np.ndarray, Callable[[int], str], list[str]]:
    """One matrix of a pair (wide CSV or .npy), where row i sits
    ("line 7", "row 6") and each column's name."""
    fmt = _format(data, label)
    if fmt == "csv":
        return parse_wide_csv(decode_text(data, label), label)
    if fmt == "npy":
        M = read_npy(data, label, None)
        if M.ndim != 2:
            raise DataError(
                f"{label}: {which} must be 2-D (a row per case, a column per event); got "
                f"shape {M.shape}."
            )
        return M, lambda i: f"row {i}", [str(j) for j in range(M.shape[1])]
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
    row_ids: np.ndarray | None = None,
) -> Dataset:
    if y is None:
        raise MissingYError(
            f"{label} holds no y (the observed count) and none was given: pass y=COUNT "
            f"(command line: --y COUNT){', ' + hint if hint else ''}."
        )
    try:
        return Dataset(I, D, y, name=name, truth=truth, row_ids=row_ids)
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
