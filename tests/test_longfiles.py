"""Long files read block by block (core/_longfiles.py): interning row ids, compact ids."""

from __future__ import annotations

import io
import pickle

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import core.engine
from core import load_bytes
from core._longfiles import Interner, utf8
from core.rowids import TextIds


def _reference(ids: list[str]) -> tuple[list[int], list[str]]:
    """Codes in order of first appearance, and the distinct ids, the plain Python way."""
    seen: dict[str, int] = {}
    return [seen.setdefault(s, len(seen)) for s in ids], list(seen)


@pytest.mark.parametrize("numba", [True, False])
def test_interning_gives_codes_in_order_of_first_appearance(rng, monkeypatch, numba):
    if not numba:  # where numba cannot run, a dict does the same work
        monkeypatch.setattr(core.engine, "kernels", lambda: None)
    alphabet = ["a", "b", "é", "日", "", ",", "0"]
    ids = ["".join(rng.choice(alphabet, rng.integers(0, 4))) for _ in range(30_000)]
    interner = Interner(seed=rng)
    codes = np.empty(len(ids), np.int32)
    for k0 in range(0, len(ids), 7_000):  # blocks: the table grows between them
        data, offsets = utf8(ids[k0 : k0 + 7_000])
        interner.add(data, offsets, codes[k0 : k0 + 7_000])
    want_codes, want_ids = _reference(ids)
    assert codes.tolist() == want_codes
    assert list(TextIds(*interner.distinct())) == want_ids


def test_the_codes_do_not_depend_on_the_salt():
    data, offsets = utf8([f"id{k % 997}" for k in range(5_000)])
    runs = []
    for seed in (1, 2):
        codes = np.empty(5_000, np.int32)
        Interner(seed=seed).add(data, offsets, codes)
        runs.append(codes)
    np.testing.assert_array_equal(*runs)


def test_text_ids_read_like_a_sequence_of_strings_and_pickle():
    ids = TextIds(*utf8(["b-17", "4643", "日本", ""]))
    assert len(ids) == 4 and ids.shape == (4,)
    assert ids[0] == "b-17" and ids[-2] == "日本" and ids[3] == ""
    assert ids[1:3].tolist() == ["4643", "日本"] and ids[:2].dtype == object
    assert list(ids) == ["b-17", "4643", "日本", ""]
    assert pickle.loads(pickle.dumps(ids)) == ids
    with pytest.raises(IndexError):
        ids[4]


def test_a_long_csv_keeps_its_row_ids_compact():
    """10⁵ distinct ids: about 12 bytes each (text + offset), not a Python string each."""
    n = 100_000
    text = "row,I,D\n" + "".join(f"r{k},1,{k % 7}\n" for k in range(n))
    ds = load_bytes(text.encode(), "x.csv", y=1.0)
    assert isinstance(ds.row_ids, TextIds) and ds.row_ids.nbytes < 15 * n
    assert ds.row_ids[12_345] == "r12345" and ds.N == n and ds.E == 1
    assert ds.D[12_345, 0] == 12_345 % 7
    again = pickle.loads(pickle.dumps(ds))
    assert again.row_ids == ds.row_ids


def test_numeric_parquet_row_ids_stay_numbers():
    table = pa.table({"row": [7, 3, 7, -0], "I": [1.0, 2.0, 3.0, 4.0], "D": [1.0] * 4})
    buf = io.BytesIO()
    pq.write_table(table, buf)
    ds = load_bytes(buf.getvalue(), "x.parquet", y=1.0)
    assert ds.row_ids.dtype == np.int64 and ds.row_ids.tolist() == [7, 3, 0]
    np.testing.assert_array_equal(ds.I, [[1.0, 3.0], [2.0, np.nan], [4.0, np.nan]])
    table = pa.table({"row": [0.0, -0.0, 2.5], "I": [1.0, 2.0, 3.0], "D": [1.0] * 3})
    buf = io.BytesIO()
    pq.write_table(table, buf)
    ds = load_bytes(buf.getvalue(), "x.parquet", y=1.0)
    assert ds.row_ids.tolist() == [0.0, 2.5]  # -0.0 and 0.0 name the same row
    np.testing.assert_array_equal(ds.I, [[1.0, 2.0], [3.0, np.nan]])


def test_a_row_id_split_over_blocks_is_one_row(monkeypatch):
    """Blocks of 64 characters: a row's later events land in other blocks."""
    import core._parsers as parsers

    monkeypatch.setattr(parsers, "_BLOCK_CHARS", 64)
    lines = [f"{'ab'[k % 2]}{k % 3},{k},1" for k in range(60)]
    ds = load_bytes(("row,I,D\n" + "\n".join(lines) + "\n").encode(), "x.csv", y=1.0)
    assert list(ds.row_ids) == ["a0", "b1", "a2", "b0", "a1", "b2"]
    assert ds.N == 6 and ds.E == 10
    np.testing.assert_array_equal(ds.I[0], np.arange(0, 60, 6))


def test_a_parquet_dictionary_is_parsed_once_for_all_its_batches(monkeypatch):
    """I and D as text, one row group of 200,000 rows read in 4 batches: 2 parses."""
    import core._parsers as parsers

    calls = []
    real = parsers._numbers
    monkeypatch.setattr(parsers, "_numbers", lambda cells, *a: calls.append(1) or real(cells, *a))
    n = 200_000
    table = pa.table({"row": np.arange(n) % 1000, "I": ["1.5", "2"] * (n // 2), "D": ["3"] * n})
    buf = io.BytesIO()
    pq.write_table(table, buf)
    ds = load_bytes(buf.getvalue(), "x.parquet", y=1.0)
    assert ds.I.shape == (1000, 200) and ds.D[0, 0] == 3.0
    assert len(calls) == 2


def _parquet(ids: list[str], **write) -> bytes:
    table = pa.table({"row": ids, "I": np.ones(len(ids)), "D": np.ones(len(ids))})
    buf = io.BytesIO()
    pq.write_table(table, buf, **write)
    return buf.getvalue()


def test_long_row_ids_are_refused_by_size_before_they_are_unpacked():
    """A compressed Parquet column can hold gigabytes of long ids in a few kilobytes: the
    metadata's unpacked size per row is checked before reading; a CSV's ids one by one."""
    long_ids = [f"{k:06d}" + "x" * 100_000 for k in range(200)]  # 20 MB, a few KB zstd
    data = _parquet(long_ids, compression="zstd", use_dictionary=False)
    assert len(data) < 200_000
    with pytest.raises(
        core.DataError, match=r"row group 0: the column 'row' unpacks to .*MAX_ID_BYTES"
    ):
        load_bytes(data, "ids.parquet")
    csv = "row,I,D\n" + "".join(f"{'y' * 300}{k},1,1\n" for k in range(3))
    with pytest.raises(
        core.DataError, match=r"ids.csv, line 2: a row id of 301 bytes.*MAX_ID_BYTES"
    ):
        load_bytes(csv.encode(), "ids.csv")


def test_the_distinct_row_ids_have_a_total_budget(monkeypatch):
    import core.validation

    monkeypatch.setattr(core.validation, "MAX_ALL_IDS_BYTES", 50_000)
    ids = [f"row-{k:010d}" for k in range(20_000)]  # 14 bytes each, 280 KB distinct
    with pytest.raises(
        core.DataError, match=r"distinct row ids hold more than .*MAX_ALL_IDS_BYTES"
    ):
        load_bytes(_parquet(ids), "many.parquet")
    ok = load_bytes(_parquet(ids[:1000]), "few.parquet", y=3.0)  # 14 KB: within
    assert ok.N == 1000
