"""Every loader, fed mutated valid files and random bytes, returns a Dataset or raises
DataError: nothing else (no MemoryError, TypeError, pyarrow or zipfile error) escapes.

The outcomes are counted and written to test-output/fuzz_loaders.json.
"""

from __future__ import annotations

import io
import json
import os
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core import DataError, Dataset, load_bytes, load_pair_bytes, to_bytes, to_pair_bytes
from tests.datasets import exact_ragged

OUT = Path(__file__).resolve().parent.parent / "test-output" / "fuzz_loaders.json"
# Per format and kind of input: a few seconds in all; LOSSLENS_FUZZ_EXAMPLES=2000 for more.
EXAMPLES = int(os.environ.get("LOSSLENS_FUZZ_EXAMPLES", "120"))
OUTCOMES: dict[str, Counter] = {}

_ds = exact_ragged()
ONE_FILE = {fmt: to_bytes(_ds, fmt) for fmt in ("npz", "csv", "parquet")}
PAIRS = {fmt: to_pair_bytes(_ds, fmt) for fmt in ("csv", "npy")}
FORMATS = [*(f"one {f}" for f in ONE_FILE), *(f"pair {f}" for f in PAIRS)]


def mutate(data: bytes, edits: list[tuple[int, int, int]], cut: int | None) -> bytes:
    """Apply (kind, position, byte) edits: 0 replace, 1 insert, 2 delete; then truncate."""
    buf = bytearray(data)
    for kind, pos, byte in edits:
        pos %= max(len(buf), 1)
        if kind == 0 and buf:
            buf[pos] = byte
        elif kind == 1:
            buf.insert(pos, byte)
        elif buf:
            del buf[pos]
    return bytes(buf[:cut] if cut is not None else buf)


def load(fmt: str, data: bytes, partner: bytes | None = None) -> str:
    """The outcome of loading: "dataset", or "DataError" (with what it wraps); anything
    else fails the test."""
    kind, ext = fmt.split()
    try:
        if kind == "one":
            ds = load_bytes(data, f"x.{ext}", y=1.0)
        else:
            ds = load_pair_bytes(data, f"x_I.{ext}", partner, f"x_D.{ext}", y=1.0)
    except DataError as exc:
        # The loaders' last line of defence wraps what no check foresaw: count those apart.
        cause = exc.__cause__
        return "DataError" if cause is None else f"DataError from {type(cause).__name__}"
    assert isinstance(ds, Dataset)
    assert ds.I.dtype == np.float64 and ds.I.shape == ds.D.shape and ds.I.ndim == 2
    assert np.isfinite(ds.y)
    return "dataset"


def original(fmt: str) -> tuple[bytes, bytes | None]:
    kind, ext = fmt.split()
    return (ONE_FILE[ext], None) if kind == "one" else PAIRS[ext]


edits = st.lists(
    st.tuples(st.integers(0, 2), st.integers(0, 1 << 20), st.integers(0, 255)),
    min_size=1,
    max_size=8,
)
fuzz = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)


@pytest.fixture(scope="module", autouse=True)
def report():
    yield
    OUT.parent.mkdir(exist_ok=True)
    counts = {k: dict(v) for k, v in sorted(OUTCOMES.items())}
    total = sum(sum(v.values()) for v in OUTCOMES.values())
    OUT.write_text(json.dumps({"inputs": total, "outcomes": counts}, indent=1) + "\n")


@pytest.mark.parametrize("fmt", FORMATS)
def test_mutated_files_load_or_raise_data_error(fmt):
    data, partner = original(fmt)
    assert load(fmt, data, partner) == "dataset"  # the sample itself is valid

    @fuzz
    @given(edits=edits, cut=st.none() | st.integers(0, len(data)), which=st.booleans())
    def check(edits, cut, which):
        a, b = data, partner
        if which and b is not None:
            b = mutate(b, edits, cut)
        else:
            a = mutate(a, edits, cut)
        OUTCOMES.setdefault(f"mutated {fmt}", Counter())[load(fmt, a, b)] += 1

    check()


@pytest.mark.parametrize("fmt", FORMATS)
def test_random_bytes_load_or_raise_data_error(fmt):
    data, partner = original(fmt)
    magic = data[:8]

    @fuzz
    @given(body=st.binary(max_size=2000), with_magic=st.booleans())
    def check(body, with_magic):
        a = magic + body if with_magic else body
        OUTCOMES.setdefault(f"random {fmt}", Counter())[load(fmt, a, partner)] += 1

    check()


DTYPES = ["f8", "f4", "i8", "u1", "i1", "?", "c16", "U3", "S3", "f8,i4", "m8[s]", "M8[D]"]


@fuzz
@given(
    dtype=st.sampled_from(DTYPES),
    shape=st.sampled_from([(3, 2), (1, 1), (0, 2), (4,), (2, 2, 2)]),
    seed=st.integers(0, 2**16),
)
def test_npy_pairs_of_any_dtype_load_or_raise_data_error(dtype, shape, seed):
    """Text, bytes and records made np.isnan raise TypeError before validation."""
    rng = np.random.default_rng(seed)
    M = rng.integers(0, 3, size=shape).astype(dtype)
    buf = io.BytesIO()
    np.save(buf, M)
    outcome = load("pair npy", buf.getvalue(), buf.getvalue())
    OUTCOMES.setdefault("npy of any dtype", Counter())[outcome] += 1
