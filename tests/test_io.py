"""Loading and saving: round trips for every format, and a message for every kind of bad file."""

import io
import pickle
import re
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given
from hypothesis import strategies as st

import core.validation as validation
from core import (
    MAX_UPLOAD_MB,
    DataError,
    Dataset,
    MissingYError,
    load_bytes,
    load_dataset,
    load_pair,
    load_pair_bytes,
    save_dataset,
    save_pair,
    to_bytes,
    to_pair_bytes,
)
from tests.datasets import exact_ragged

ROOT = Path(__file__).resolve().parent.parent
NAN = np.nan


def same(a, b):
    return np.array_equal(a, b, equal_nan=True)


@pytest.fixture
def ragged() -> Dataset:
    return exact_ragged()


def assert_same_data(got: Dataset, want: Dataset) -> None:
    assert got.I.shape == want.I.shape, f"shape {got.I.shape} vs {want.I.shape}"
    assert same(got.I, want.I), f"I:\n{got.I}\nvs\n{want.I}"
    assert same(got.D, want.D), f"D:\n{got.D}\nvs\n{want.D}"
    assert got.y == want.y


# ----------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("fmt", ["npz", "csv", "parquet"])
def test_one_file_round_trip_path_bytes_and_filelike(ragged, fmt, tmp_path):
    path = save_dataset(ragged, tmp_path / f"data.{fmt}")
    from_path = load_dataset(path)
    assert_same_data(from_path, ragged)
    assert from_path.name == "data"
    data = path.read_bytes()
    assert_same_data(load_bytes(data, f"up.{fmt}"), ragged)
    assert_same_data(load_dataset(io.BytesIO(data), name=f"up.{fmt}"), ragged)
    with open(path, "rb") as fh:  # a real file object: no getvalue(), name from .name
        assert_same_data(load_dataset(fh), ragged)
    assert to_bytes(ragged, fmt)[:4] == data[:4]


def test_npz_keeps_the_truth_and_text_formats_do_not(ragged):
    assert load_bytes(to_bytes(ragged, "npz"), "x.npz").truth == (0.5, -1.0)
    assert load_bytes(to_bytes(ragged, "csv"), "x.csv").truth is None


@pytest.mark.parametrize(("fmt", "header"), [("csv", True), ("csv", False), ("npy", True)])
def test_pair_round_trip(ragged, fmt, header, tmp_path):
    p_I, p_D = save_pair(ragged, tmp_path / f"m_I.{fmt}", tmp_path / f"m_D.{fmt}", header=header)
    ds = load_pair(p_I, p_D, y=2.0)
    assert_same_data(ds, ragged)
    assert ds.name == "m"
    a, b = to_pair_bytes(ragged, fmt, header=header)
    assert_same_data(load_pair_bytes(a, "I." + fmt, b, "D." + fmt, y=2.0), ragged)


def test_magic_decides_the_format_of_unnamed_bytes(ragged):
    for fmt in ("npz", "parquet", "csv"):
        assert_same_data(load_dataset(to_bytes(ragged, fmt)), ragged)


finite = st.floats(-1e100, 1e100, allow_nan=False, allow_infinity=False, width=64)


@given(
    st.integers(1, 6).flatmap(
        lambda E: st.lists(
            st.lists(st.tuples(finite, finite), min_size=0, max_size=E), min_size=1, max_size=8
        ).map(lambda rows: (E, rows))
    ),
    st.sampled_from(["csv", "parquet", "npz", "wide csv", "wide csv, no header", "wide npy"]),
)
def test_any_ragged_data_round_trips_exactly(E_rows, fmt):
    E, rows = E_rows
    I = np.full((len(rows), E), NAN)
    D = np.full((len(rows), E), NAN)
    for i, events in enumerate(rows):
        for j, (a, b) in enumerate(events):
            I[i, j], D[i, j] = a, b
    ds = Dataset(I, D, 1.0)
    if fmt.startswith("wide"):
        ext = fmt.split()[1].strip(",")
        a, b = to_pair_bytes(ds, ext, header="no header" not in fmt)
        back = load_pair_bytes(a, "I." + ext, b, "D." + ext, y=1.0)
        assert_same_data(back, ds)
        return
    back = load_bytes(to_bytes(ds, fmt), "x." + fmt)
    # Trailing all-absent columns cannot be seen in a long file: compare what exists.
    E_used = back.E
    assert same(back.I, ds.I[:, :E_used]) and same(back.D, ds.D[:, :E_used])
    assert not ds.present[:, E_used:].any()


# ----------------------------------------------------------------------------- long CSV details


def test_long_csv_rows_in_order_of_first_appearance():
    text = b"row,I,D\nb,1,10\na,2,20\nb,3,30\nc,,\na,4,40\n"
    ds = load_bytes(text, "x.csv", y=1)
    assert same(ds.I, [[1, 3], [2, 4], [NAN, NAN]])
    assert same(ds.D, [[10, 30], [20, 40], [NAN, NAN]])
    assert ds.n_nonempty == 2


def test_long_csv_tolerates_common_dialects():
    text = "\ufeffRow ; i ; d ; note\r\n\r\n1;0,5;NA;x\r\n".replace("0,5", "NA")
    text += "1 ; 2.5 ; 1e-3 ; y\r\n2;N/A;null;\r\n"
    ds = load_bytes(text.encode(), "x.csv", y=1)  # BOM, CRLF, ';', any case, NA tokens
    assert same(ds.I, [[2.5], [NAN]]) and same(ds.D, [[1e-3], [NAN]])


def test_quoted_csv_reads_like_plain_csv():
    plain = b"row,I,D\n1,2.5,3\n1,4,5\n\n2,6,7\n"
    quoted = b'"row","I","D"\r\n"1","2.5","3"\r\n"1","4","5"\r\n\r\n"2","6","7"\r\n'
    a, b = load_bytes(plain, "a.csv", y=1), load_bytes(quoted, "b.csv", y=1)
    assert same(a.I, b.I) and same(a.D, b.D) and same(a.I, [[2.5, 4], [6, NAN]])
    # Line numbers stay right on the csv-module path too (blank line 5 is skipped).
    with pytest.raises(DataError, match=r"b.csv, line 6, column 'D' holds 'x'"):
        load_bytes(quoted + b'"2","1","x"\r\n', "b.csv", y=1)
    with pytest.raises(DataError, match=r"a.csv, line 6, column 'D' holds 'x'"):
        load_bytes(plain + b"2,1,x\n", "a.csv", y=1)


def test_y_column_and_y_argument():
    text = b"row,I,D,y\n0,1,2,5\n1,3,4,5\n2,5,6,\n"
    assert load_bytes(text, "x.csv").y == 5
    assert load_bytes(text, "x.csv", y=2.5).y == 2.5  # the argument wins


def test_missing_y_raises_a_subclass_the_dashboard_can_catch(ragged):
    with pytest.raises(MissingYError, match=r"x.csv holds no y .* pass y=COUNT .*--y COUNT"):
        load_bytes(b"row,I,D\n0,1,2\n", "x.csv")
    npz = io.BytesIO()
    np.savez(npz, I=ragged.I, D=ragged.D)
    with pytest.raises(MissingYError, match=r"np.savez\(path, I=I, D=D, y=COUNT\)"):
        load_bytes(npz.getvalue(), "x.npz")
    a, b = to_pair_bytes(ragged, "csv")
    with pytest.raises(MissingYError, match=r"I.csv \+ D.csv holds no y"):
        load_pair_bytes(a, "I.csv", b, "D.csv", y=None)
    assert issubclass(MissingYError, DataError)


def test_wide_csv_header_is_detected_and_an_index_column_dropped():
    plain = b"1,2\n3,\n"
    named = b"a,b\n1,2\n3,\n"
    indexed = b",a,b\n0,1,2\n1,3,\n"  # what pandas' to_csv writes by default
    D = b"1,1\n1,\n"
    for I in (plain, named, indexed):
        ds = load_pair_bytes(I, "I.csv", D, "D.csv", y=1)
        assert same(ds.I, [[1, 2], [3, NAN]]), I


def test_long_file_parquet_string_and_null_cells():
    import pyarrow as pa
    import pyarrow.parquet as pq

    buf = io.BytesIO()
    table = pa.table({"row": [1, 1, 2], "I": ["1.5", " 2", None], "D": [1.0, 2.0, None]})
    pq.write_table(table, buf)
    ds = load_bytes(buf.getvalue(), "x.parquet", y=1)
    assert same(ds.I, [[1.5, 2.0], [NAN, NAN]])


# ----------------------------------------------------------------------------- bad files


def _npz(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def _parquet(**columns) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    buf = io.BytesIO()
    pq.write_table(pa.table(columns), buf)
    return buf.getvalue()


GOOD = np.array([[1.0, 2.0]])
BAD_ONE_FILE = [
    ("x.csv", b"", r"x.csv is empty \(0 bytes\): expected I and D"),
    ("x.csv", b"  \n\n", r"x.csv is empty"),
    ("x.csv", b"row,I,D\n", r"x.csv has a header \(row,I,D\) but no data lines below it"),
    ("x.csv", b"row,I,D\n\n\n", r"has a header \(row,I,D\) but no data lines"),
    (
        "x.csv",
        b"row,I,D\n1,2,3\n4,abc,5\n",
        r"x.csv, line 3, column 'I' holds 'abc'; expected a number",
    ),
    ("x.csv", b"row,I,D\n1,2,3\n\n4,5,6,7\n", r"x.csv, line 4 has 4 fields but the header has 3"),
    ("x.csv", b"row,I,D\n1,2,3\n4,0,1,5\n", r"line 3 has 4 fields"),
    ("x.csv", b"row,I,D\n1,1;5,3\n", r"line 2, column 'I' holds '1;5'"),
    ("x.csv", b"row;I;D\n1;1,5;3\n", r"holds '1,5'; expected a number \(use a dot as the decimal"),
    ("x.csv", b"row,I,D\n1,2,inf\n", r"line 2, column 'D' holds 'inf'; expected a finite number"),
    ("x.csv", b"row,I,D\n1,-Infinity,2\n", r"column 'I' holds '-Infinity'; expected a finite"),
    (
        "x.csv",
        b"row,I,D\n1,,2\n",
        r"x.csv, line 2 \(row id 1\): I is empty but D holds 2.0; an event needs both",
    ),
    ("x.csv", b"row,I,D\n1,2,NA\n", r"line 2 \(row id 1\): D is empty but I holds 2.0"),
    ("x.csv", b"row,I,D\n ,1,2\n", r"line 2: the column 'row' is empty"),
    (
        "x.csv",
        b"row,I,x\n1,2,3\n",
        r"x.csv has no column 'D': line 1 has row, I, x. A long file needs",
    ),
    ("x.csv", b"\n\nrow,I\n1,2\n", r"no column 'D': line 3 has row, I"),
    ("x.csv", b"1,2,3\n4,5,6\n", r"x.csv has no header: line 1 is '1,2,3'. A long CSV starts with"),
    ("x.csv", b"row,I,D,I\n1,2,3,4\n", r"the header has the column 'I' twice"),
    (
        "x.csv",
        b"row,I,D,y\n1,2,3,4\n2,2,3,5\n",
        r"column 'y' must hold one value.*line 2 has 4 but line 3 has 5",
    ),
    ("x.csv", b"row,I,D,y\n1,2,3,many\n", r"line 2, column 'y' holds 'many'"),
    ("x.csv", b"row,I,D\n1,\xe9,3\n", r"x.csv is not UTF-8 text: byte 0xe9 on line 2 \(byte 10\)"),
    (
        "x.csv",
        b"row,I,D\n1,2\x00,3\n",
        r"x.csv contains binary data \(a NUL byte at byte 11, line 2\)",
    ),
    ("x.csv", b"row,I,D\n1,2\x07,3\n", r"control character U\+0007 on line 2: this is binary data"),
    ("x.csv", "row,I,D\n".encode("utf-16"), r"x.csv is UTF-16 text; expected UTF-8"),
    (
        "x.csv",
        b"PK\x03\x04garbage",
        r"x.csv is a zip archive \(an .npz, or an Excel .xlsx\?\), not CSV",
    ),
    (
        "x.csv",
        b'row,I,D\n1,"2,3\n',
        r"x.csv, line 2: not valid CSV \(unexpected end of data\); check the quotes",
    ),
    ("x.xlsx", b"PK\x03\x04", r"x.xlsx: unknown file type '.xlsx'. Expected .npz"),
    ("x.npy", b"\x93NUMPY", r"x.npy: a .npy file holds a single matrix; give I and D as two"),
    ("x.npz", b"not a zip", r"x.npz is not an .npz file \(an .npz is a zip archive"),
    ("x.npz", b"PK\x03\x04" + bytes(40), r"x.npz is not a readable .npz \(zip\) file"),
    (
        "x.npz",
        _npz(I=GOOD, X=GOOD),
        r"x.npz has no array 'D' \(found: I, X\)\. An .npz needs arrays I",
    ),
    ("x.npz", _npz(I=GOOD, D=GOOD[:, :1], y=1), r"x.npz: I and D must have the same shape"),
    (
        "x.npz",
        _npz(I=GOOD, D=np.array([[1.0, np.inf]]), y=1),
        r"x.npz: D\[0, 1\] \(row 0, column 1\) is inf",
    ),
    ("x.npz", _npz(I=GOOD > 0, D=GOOD, y=1), r"x.npz: I must hold real numbers; got booleans"),
    ("x.npz", _npz(I=GOOD, D=GOOD, y=[1, 2]), r"x.npz, array 'y': y must be a single finite real"),
    (
        "x.npz",
        _npz(I=GOOD, D=GOOD, y=1, truth=[1.0]),
        r"array 'truth': expected two finite numbers",
    ),
    (
        "x.npz",
        _npz(I=np.array(["a", "b"]), D=GOOD, y=1),
        r"x.npz: I must hold real numbers; got text",
    ),
    ("x.parquet", b"PAR1junkPAR1", r"x.parquet could not be read as Parquet"),
    (
        "x.parquet",
        b"junk",
        r"x.parquet is not a Parquet file \(it does not start and end with PAR1\)",
    ),
    (
        "x.parquet",
        _parquet(row=[1], I=[1.0]),
        r"x.parquet has no column 'D': the table's header has row, I",
    ),
    (
        "x.parquet",
        _parquet(row=[1], I=[True], D=[1.0]),
        r"column 'I' has type bool; expected numbers \(store 0/1",
    ),
    (
        "x.parquet",
        _parquet(row=[1], I=["x"], D=[1.0]),
        r"x.parquet, table row 0, column 'I' holds 'x'",
    ),
    (
        "x.parquet",
        _parquet(row=[1], I=[1.0], D=[float("inf")]),
        r"table row 0, column 'D' holds inf",
    ),
    (
        "x.parquet",
        _parquet(row=[None], I=[1.0], D=[1.0]),
        r"table row 0: the column 'row' is empty",
    ),
]


@pytest.mark.parametrize(("name", "data", "message"), BAD_ONE_FILE, ids=lambda v: str(v)[:30])
def test_bad_single_files(name, data, message):
    with pytest.raises(DataError, match=message):
        load_bytes(data, name, y=1)


A = b"1,2\n3,4\n"
BAD_PAIRS = [
    (
        A,
        "I.csv",
        b"1,2\n3,4\n5,6\n",
        "D.csv",
        r"I.csv and D.csv must have the same shape \(one D for every I\); got 2 rows × 2 columns "
        r"in I.csv and 3 rows × 2 columns in D.csv",
    ),
    (
        b"e1,e2\n1,2\n3,4\n",
        "I.csv",
        b"1,2\n3,\n",
        "D.csv",
        r"mark absent events \(empty cells\) at the same places; I.csv line 3, column 'e2' holds "
        r"4.0 but D.csv line 2, column 2 is empty \(an absent event\)\. 1 cell\(s\) differ",
    ),
    (b"1,2\n3\n", "I.csv", A, "D.csv", r"I.csv, line 2 has 1 fields but line 1 has 2"),
    (
        b"a,b,c\n1,2\n",
        "I.csv",
        A,
        "D.csv",
        r"the header \(line 1\) has 3 names but the data lines have 2",
    ),
    (b"a,b\n", "I.csv", A, "D.csv", r"I.csv has a header \(a,b\) but no data lines below it"),
    (b"1,x\n", "I.csv", A, "D.csv", r"I.csv, line 1, column 2 holds 'x'"),
    (
        b"row,I,D\n1,2,3\n",
        "I.csv",
        A,
        "D.csv",
        r"I.csv is a long file .* load it alone with load_dataset",
    ),
    (
        _npz(I=GOOD, D=GOOD),
        "I.npz",
        A,
        "D.csv",
        r"I.npz: a pair needs two wide .csv or two .npy files",
    ),
    (np.save.__name__.encode(), "I.npy", A, "D.csv", r"I.npy is not a .npy file"),
    (
        b"\x93NUMPY\x01\x00\x10\x00{'descr': 'zz'}",
        "I.npy",
        A,
        "D.csv",
        r"I.npy has a broken .npy header",
    ),
]


def _npy(arr) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr)
    return buf.getvalue()


BAD_PAIRS += [
    (_npy(np.ones(3)), "I.npy", A, "D.csv", r"I.npy: I must be 2-D .*got shape \(3,\)"),
    (
        _npy(np.ones((2, 2)))[:-5],
        "I.npy",
        A,
        "D.csv",
        r"I.npy is truncated: its header announces an array of shape \(2, 2\) "
        r"\(32 bytes\) but only 27",
    ),
    (
        _npy(np.ones((2, 2), dtype=complex)),
        "I.npy",
        A,
        "D.csv",
        r"I.npy \+ D.csv: I must hold real numbers; got complex",
    ),
]


@pytest.mark.parametrize(
    ("a", "name_a", "b", "name_b", "message"), BAD_PAIRS, ids=lambda v: str(v)[:20]
)
def test_bad_pairs(a, name_a, b, name_b, message):
    with pytest.raises(DataError, match=message):
        load_pair_bytes(a, name_a, b, name_b, y=1)


def test_paths_that_are_not_files(tmp_path):
    with pytest.raises(DataError, match=r"nope.csv does not exist: expected a data file"):
        load_dataset(tmp_path / "nope.csv", y=1)
    with pytest.raises(DataError, match=r"is a directory: expected a data file"):
        load_dataset(tmp_path, y=1)
    with pytest.raises(DataError, match=r"Expected a path, bytes or a binary file object; got int"):
        load_dataset(3, y=1)


def test_size_limit_for_paths_bytes_and_npz_members(ragged, tmp_path):
    path = save_dataset(ragged, tmp_path / "big.csv")
    with pytest.raises(DataError, match=r"big.csv is 0.0 MB, over the 9.5\d*e-05 MB limit"):
        load_dataset(path, max_bytes=100)
    with pytest.raises(DataError, match=r"x.csv is .* MB, over the .* MB limit. Pass a larger"):
        load_bytes(path.read_bytes(), "x.csv", max_bytes=100)
    assert load_dataset(path, max_bytes=None).N == 4
    # A compressed npz small on disk but large inside: the members count too.
    buf = io.BytesIO()
    np.savez_compressed(buf, I=np.zeros((300, 300)), D=np.zeros((300, 300)), y=1.0)
    assert len(buf.getvalue()) < 10_000
    with pytest.raises(DataError, match=r"x.npz \(array 'I'\) is 0.7 MB, over the 0.0095\d* MB"):
        load_bytes(buf.getvalue(), "x.npz", max_bytes=10_000)


def test_upload_limit_matches_the_dashboard_config():
    config = tomllib.loads((ROOT / "dashboard" / ".streamlit" / "config.toml").read_text())
    assert MAX_UPLOAD_MB == 200 == config["server"]["maxUploadSize"]
    assert load_dataset.__kwdefaults__["max_bytes"] == 200 * 1024 * 1024


def test_padding_limit_refuses_a_row_with_far_too_many_events(monkeypatch):
    lines = ["row,I,D"] + [f"{i},1,1" for i in range(50)] + ["big,1,1"] * 50
    monkeypatch.setattr(validation, "MAX_CELLS", 1000)
    with pytest.raises(
        DataError, match=r"51 rows padded to the longest row \(50 events\) would need 2,550"
    ):
        load_bytes("\n".join(lines).encode(), "x.csv", y=1)


def _npy(M) -> bytes:
    buf = io.BytesIO()
    np.save(buf, M)
    return buf.getvalue()


def _npz(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return buf.getvalue()


def _parquet(n: int) -> bytes:
    buf = io.BytesIO()
    zeros = np.zeros(n, np.int8)
    pq.write_table(pa.table({"row": zeros, "I": zeros, "D": zeros}), buf)
    return buf.getvalue()


# Just over MAX_CELLS = 1000 in every format; each is refused before the arrays are made.
OVER_THE_LIMIT = {
    "wide csv": lambda: [(("1,2,3\n" * 334).encode(), "w_I.csv"), (b"", "w_D.csv")],
    "npy": lambda: [(_npy(np.zeros((334, 3), np.int8)), "I.npy"), (b"", "D.npy")],
    "npz": lambda: [(_npz(I=np.zeros((334, 3), np.int8), D=np.zeros((334, 3), np.int8)), "x.npz")],
    "long csv": lambda: [(("row,I,D\n" + "0,,\n" * 1001).encode(), "x.csv")],
    "parquet": lambda: [(_parquet(1001), "x.parquet")],
}


@pytest.mark.parametrize("fmt", list(OVER_THE_LIMIT))
def test_max_cells_holds_for_every_format(fmt, monkeypatch):
    monkeypatch.setattr(validation, "MAX_CELLS", 1000)
    files = OVER_THE_LIMIT[fmt]()
    with pytest.raises(DataError, match=r"over the limit of 1,000 (cells )?\(MAX_CELLS\)"):
        if len(files) == 1:
            load_bytes(files[0][0], files[0][1], y=1)
        else:  # the I file is read (and refused) first; D is never looked at
            (a, name_a), (_, name_b) = files
            load_pair_bytes(a, name_a, a, name_b, y=1)


def test_a_long_cell_is_a_number_or_a_message_not_a_memory_error():
    """np.array(cells, dtype=str) made rows × longest cell × 4 bytes: 80 GB here."""
    rows = "".join(f"{i},1,1\n" for i in range(1, 20_000))
    data = f"row,I,D\n0,1{' ' * 1_000_000},2\n{rows}".encode()
    ds = load_bytes(data, "x.csv", y=1)
    assert ds.I.shape == (20_000, 1) and ds.I[0, 0] == 1 and ds.D[0, 0] == 2
    wide = ("7," + "1" * 300 + "\n" + "1,1\n" * 99).encode()
    with pytest.raises(DataError, match=r"w_I.csv, line 1, column 2 holds a cell of 300 char"):
        load_pair_bytes(wide, "w_I.csv", wide, "w_D.csv", y=1)


def test_a_zip_member_that_expands_too_much_is_refused_unread(monkeypatch):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_BZIP2) as zf:
        zf.writestr("I.npy", _npy(np.zeros((1000, 100))))
        zf.writestr("D.npy", _npy(np.zeros((1000, 100))))
    with pytest.raises(DataError, match=r"x.npz \(array 'I'\) is compressed with method 12"):
        load_bytes(buf.getvalue(), "x.npz", y=1)
    ratio = io.BytesIO()
    with zipfile.ZipFile(ratio, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("I.npy", _npy(np.zeros((1000, 100))))
    info = zipfile.ZipFile(ratio).infolist()[0]
    assert 100 * info.compress_size < info.file_size < 1100 * info.compress_size
    import core._parsers as parsers

    monkeypatch.setattr(parsers, "MAX_ZIP_RATIO", 100)
    with pytest.raises(DataError, match=r"over the limit of 100:1 \(MAX_ZIP_RATIO\)"):
        load_bytes(ratio.getvalue(), "x.npz", y=1)


@pytest.mark.parametrize(
    ("M", "got"),
    [
        (np.array([["1", "2"], ["3", "x"]]), "got text"),
        (np.array([[b"1", b"2"]]), "got bytes"),
        (np.zeros((2, 2), [("a", "f8"), ("b", "i4")]), "got dtype"),
        (np.zeros((2, 2), bool), "got booleans"),
    ],
)
def test_a_pair_of_npy_files_that_hold_no_numbers(M, got):
    """np.isnan ran before validation: TypeError on text, bytes and records."""
    with pytest.raises(DataError, match=f"I.npy \\+ D.npy: I must hold real numbers; {got}"):
        load_pair_bytes(_npy(M), "I.npy", _npy(M), "D.npy", y=1)


def test_no_exception_but_data_error_escapes_a_loader(monkeypatch):
    from core._longfiles import LongEvents

    def out_of_memory(*args):
        raise MemoryError

    monkeypatch.setattr(LongEvents, "finish", out_of_memory)
    with pytest.raises(DataError, match=r"x.csv needs more memory .* \(MAX_CELLS\)"):
        load_bytes(b"row,I,D\n0,1,1\n", "x.csv", y=1)
    monkeypatch.setattr(LongEvents, "finish", lambda *a: {}["surprise"])
    with pytest.raises(DataError, match=r"x.csv could not be read \(KeyError: 'surprise'\)"):
        load_dataset(io.BytesIO(b"row,I,D\n0,1,1\n"), y=1, name="x.csv")


def test_parquet_text_columns_are_read_once_per_distinct_value():
    """A long text value repeated 10⁵ times: parsed once, from the dictionary."""
    n = 100_000
    table = pa.table({"row": ["r"] * n, "I": [" 1.5" + " " * 1000] * n, "D": ["2"] * n})
    buf = io.BytesIO()
    pq.write_table(table, buf)
    ds = load_bytes(buf.getvalue(), "x.parquet", y=1)
    assert ds.I.shape == (1, n) and (ds.I == 1.5).all() and (ds.D == 2).all()


# ----------------------------------------------------------------------------- pickles


class _Bomb:
    """Unpickling this creates a marker file: proof that code ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_pickles_are_refused_and_never_run(tmp_path):
    marker = tmp_path / "pickle_ran"
    payload = np.empty(1, dtype=object)
    payload[0] = _Bomb(marker)
    buf = io.BytesIO()
    np.save(buf, payload, allow_pickle=True)
    obj_npy = buf.getvalue()
    # The payload is live: a careless np.load would run it.
    np.load(io.BytesIO(obj_npy), allow_pickle=True)
    assert marker.exists()
    marker.unlink()

    raw_pickle = pickle.dumps(_Bomb(marker))
    buf = io.BytesIO()
    np.savez(buf, I=payload, D=np.ones((1, 1)), y=1.0)
    obj_npz = buf.getvalue()
    cases = [
        (
            lambda: load_pair_bytes(obj_npy, "I.npy", _npy(np.ones((1, 1))), "D.npy", y=1),
            r"I.npy holds Python objects \(dtype object\), stored as a pickle; "
            r"losslens never unpickles",
        ),
        (
            lambda: load_pair_bytes(raw_pickle, "I.npy", _npy(np.ones((1, 1))), "D.npy", y=1),
            r"I.npy is a Python pickle, not a .npy array; losslens never unpickles files",
        ),
        (
            lambda: load_bytes(obj_npz, "x.npz"),
            r"x.npz \(array 'I'\) holds Python objects \(dtype object\), stored as a pickle",
        ),
        (lambda: load_bytes(obj_npy, "x.npy"), r"a .npy file holds a single matrix"),
    ]
    for load, message in cases:
        with pytest.raises(DataError, match=message):
            load()
        assert not marker.exists(), f"unpickling ran for {message!r}"


# ----------------------------------------------------------------------------- fuzzing

PREFIXES = [b"", b"PK\x03\x04", b"\x93NUMPY\x01\x00", b"PAR1", b"row,I,D\n", b"\x80\x04"]


@given(st.sampled_from(PREFIXES), st.binary(max_size=300))
def test_random_bytes_give_a_dataset_or_a_data_error(prefix, tail):
    data = prefix + tail
    good_npy = _npy(np.ones((1, 1)))
    loaders = [
        lambda: load_bytes(data, "x.csv", y=1),
        lambda: load_bytes(data, "x.npz", y=1),
        lambda: load_bytes(data, "x.parquet", y=1),
        lambda: load_dataset(data, y=1),  # no name: sniffed
        lambda: load_pair_bytes(data, "I.csv", data, "D.csv", y=1),
        lambda: load_pair_bytes(data, "I.npy", good_npy, "D.npy", y=1),
        lambda: load_pair_bytes(data, "I", data, "D", y=1),
    ]
    for load in loaders:
        try:
            ds = load()
        except DataError:
            continue
        assert isinstance(ds, Dataset)


@given(st.binary(max_size=200))
def test_random_bytes_inside_a_real_zip(member):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("I.npy", b"\x93NUMPY" + member)
        zf.writestr("D.npy", member)
    try:
        load_bytes(buf.getvalue(), "x.npz", y=1)
    except DataError:
        pass


def test_core_import_stays_light():
    code = (
        "import sys, core, core.io, core.report, core.samples;"
        "bad = [m for m in ('pandas', 'pyarrow', 'streamlit', 'plotly') if m in sys.modules];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, f"core imported {out.stdout.strip()} {out.stderr[-500:]}"


@pytest.mark.parametrize(
    "row, I, message",
    [
        (pa.array([[1], [2]]), [1.0, 2.0], r"the column 'row' has type list<.*expected whole"),
        (pa.array([{"a": 1}, {"a": 2}]), [1.0, 2.0], r"the column 'row' has type struct"),
        (pa.array([0, 1]), pa.array([2**60, 1], pa.int64()), r"is 1\.15292e\+18|loaded"),
    ],
)
def test_parquet_with_odd_column_types_is_a_data_error_or_loads(row, I, message):
    buf = io.BytesIO()
    pq.write_table(pa.table({"row": row, "I": I, "D": [1.0, 2.0]}), buf)
    try:
        ds = load_bytes(buf.getvalue(), "odd.parquet", y=1.0)
    except DataError as exc:
        assert re.search(message, str(exc)), str(exc)
        assert str(exc).startswith("odd.parquet")
    else:
        assert "loaded" in message and ds.I[0, 0] == float(2**60)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_long_files_keep_their_row_ids_in_order_of_first_appearance(fmt, tmp_path):
    text = "row,I,D\nb-17,1,2\n4643,0.5,1\nb-17,3,4\n"
    lines = [line.split(",") for line in text.splitlines()[1:]]
    if fmt == "csv":
        data, name = text.encode(), "x.csv"
    else:
        table = pa.table(
            {
                "row": [r for r, _, _ in lines],
                "I": [float(i) for _, i, _ in lines],
                "D": [float(d) for _, _, d in lines],
            }
        )
        pq.write_table(table, tmp_path / "x.parquet")
        data, name = (tmp_path / "x.parquet").read_bytes(), "x.parquet"
    ds = load_bytes(data, name, y=1.0)
    assert list(ds.row_ids) == ["b-17", "4643"]
    np.testing.assert_array_equal(ds.I, [[1.0, 3.0], [0.5, np.nan]])
    assert list(ds.with_y(2.0).row_ids) == ["b-17", "4643"]
    assert load_bytes(to_bytes(ds, "npz"), "x.npz").row_ids is None  # npz: no ids kept
