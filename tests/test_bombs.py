"""Small files that would become huge arrays: each loads, in a child process under
RLIMIT_AS, to a DataError or a valid dataset, within ~1 GB plus three times its final
float64 arrays (over the child's own baseline after importing core and pyarrow).

    python tests/test_bombs.py [ROOT]     # peak memory per bomb of the code in ROOT

The bombs are built here, from the issue (12): a long cell, a zip bomb, Parquet
run-length bombs, and files just over MAX_CELLS in every format.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
GB = 1 << 30


@dataclass(frozen=True)
class Bomb:
    """``build(dir)`` writes the file(s) and returns their paths; ``cells`` is N·E when
    the loader may accept the file (its final arrays count in the budget), else 0;
    ``must_load``: the file is within every limit, so a refusal (for want of memory) fails."""

    build: Callable[[Path], list[Path]]
    cells: int = 0
    must_load: bool = False


def _write(path: Path, data: bytes | str) -> Path:
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def _long_cell(pad: int, rows: int) -> Callable[[Path], list[Path]]:
    def build(d: Path) -> list[Path]:
        lines = "".join(f"{i},1,1\n" for i in range(1, rows))
        return [_write(d / "long_cell.csv", f"row,I,D\n0,1{' ' * pad},1\n{lines}")]

    return build


def _wide_long_cell(d: Path) -> list[Path]:
    body = "1" + " " * 14_000 + ",1\n" + "1,1\n" * 59_999
    return [_write(d / "wide_I.csv", body), _write(d / "wide_D.csv", body)]


def _wide_pair(rows: int, cols: int) -> Callable[[Path], list[Path]]:
    def build(d: Path) -> list[Path]:
        body = (",".join(["0"] * cols) + "\n") * rows
        return [_write(d / "big_I.csv", body), _write(d / "big_D.csv", body)]

    return build


def _npy_pair(rows: int, cols: int) -> Callable[[Path], list[Path]]:
    def build(d: Path) -> list[Path]:
        out = []
        for name in ("I", "D"):
            path = d / f"big_{name}.npy"
            np.save(path, np.zeros((rows, cols), np.int8))
            out.append(path)
        return out

    return build


def _npz(rows: int, cols: int) -> Callable[[Path], list[Path]]:
    def build(d: Path) -> list[Path]:
        zeros = np.zeros((rows, cols), np.int8)
        path = d / "bomb.npz"
        np.savez_compressed(path, I=zeros, D=zeros, y=np.float64(1.0))
        return [path]

    return build


def _parquet(lines: int, distinct: bool) -> Callable[[Path], list[Path]]:
    def build(d: Path) -> list[Path]:
        import pyarrow as pa
        import pyarrow.parquet as pq

        zeros = pa.array(np.zeros(lines, np.int8))
        row = pa.array(np.arange(lines, dtype=np.int32)) if distinct else zeros
        path = d / "bomb.parquet"
        pq.write_table(pa.table({"row": row, "I": zeros, "D": zeros}), path)
        return [path]

    return build


_DIGITS = np.frombuffer(b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", np.uint8)


def _ids(n: int) -> np.ndarray:
    """(n, 5) uint8: n distinct 5-character row ids (base 62), built without Python strings."""
    k = np.arange(n, dtype=np.int64)
    out = np.empty((n, 5), np.uint8)
    for j in range(4, -1, -1):
        out[:, j] = _DIGITS[k % 62]
        k //= 62
    return out


def _distinct_csv(rows: int) -> Callable[[Path], list[Path]]:
    """A long CSV of ``rows`` lines "id,1,1", every id new: 10 bytes a line."""

    def build(d: Path) -> list[Path]:
        body = np.empty((rows, 10), np.uint8)
        body[:, :5] = _ids(rows)
        body[:, 5:] = np.frombuffer(b",1,1\n", np.uint8)
        return [_write(d / "distinct.csv", b"row,I,D\n" + body.tobytes())]

    return build


def _distinct_parquet(rows: int) -> Callable[[Path], list[Path]]:
    """A long Parquet table of ``rows`` rows, every text row id new."""

    def build(d: Path) -> list[Path]:
        import pyarrow as pa
        import pyarrow.parquet as pq

        offsets = pa.py_buffer(np.arange(0, 5 * rows + 1, 5, dtype=np.int32))
        ids = pa.Array.from_buffers(pa.string(), rows, [None, offsets, pa.py_buffer(_ids(rows))])
        one = pa.array(np.ones(rows))
        path = d / "distinct.parquet"
        pq.write_table(pa.table({"row": ids, "I": one, "D": one}), path)
        return [path]

    return build


BOMBS: dict[str, Bomb] = {
    # 209 KB; padded cell: np.array(cells, dtype=str) is rows × 20,001 × 4 bytes
    "long cell, 20k rows": Bomb(_long_cell(20_000, 20_000), cells=20_000),
    "long cell, 1 MB": Bomb(_long_cell(1_000_000, 20_000), cells=20_000),
    "long cell, wide pair": Bomb(_wide_long_cell, cells=120_000),
    # 15M × 10 int8 zeros, twice: 292 KB of zip, 150M cells
    "zip bomb npz 150M": Bomb(_npz(15_000_000, 10)),
    "npz 26M": Bomb(_npz(2_600_000, 10)),
    "npy pair 24M": Bomb(_npy_pair(2_400_000, 10)),
    "wide csv pair 21M": Bomb(_wide_pair(21_000, 1_000)),
    # a column 'row' all 0: one row of 20M events (exactly MAX_CELLS: may be accepted)
    "parquet RLE 20M": Bomb(_parquet(20_000_000, False), cells=20_000_000),
    "parquet RLE 60M": Bomb(_parquet(60_000_000, False)),
    "parquet 25M distinct rows": Bomb(_parquet(25_000_000, True)),
    # every line a row of its own: a hash table, a line number and a Python string per
    # row id took 2.4 GB at 10M lines (CSV) and over 4 GB at 20M (Parquet, MAX_CELLS)
    "csv 10M distinct rows": Bomb(_distinct_csv(10_000_000), 10_000_000, must_load=True),
    "parquet 20M distinct rows": Bomb(_distinct_parquet(20_000_000), 20_000_000, must_load=True),
}

# Runs in the child: import, measure the baseline, cap the address space, load.
CHILD = r"""
import json, resource, sys, time
budget, *paths = sys.argv[1:]
import numpy, pyarrow, pyarrow.parquet, core
# Arrow's allocator (mimalloc) reserves a 1 GiB arena of address space at its first
# allocation of a megabyte, once per process, with no memory in it: in the baseline.
pyarrow.allocate_buffer(1 << 20)
def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key):
            return int(line.split()[1]) * 1024
base = status("VmPeak:")
limit = base + int(budget)
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
t = time.perf_counter()
try:
    if len(paths) == 1:
        ds = core.load_dataset(paths[0], y=1.0)
    else:
        ds = core.load_pair(paths[0], paths[1], y=1.0)
    outcome, message = "ok", f"{ds.N} x {ds.E}"
except BaseException as exc:
    outcome, message = type(exc).__name__, str(exc)[:300]
print(json.dumps({
    "outcome": outcome, "message": message, "seconds": time.perf_counter() - t,
    "baseline_mb": base / 2**20, "limit_mb": limit / 2**20,
    "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "peak_vm_mb": status("VmPeak:") / 2**20,
}))
"""


def budget(bomb: Bomb) -> int:
    """Bytes above the baseline: 1 GB plus three times the final I and D (float64)."""
    return GB + 3 * 2 * 8 * bomb.cells


def load_in_child(paths: list[Path], limit: int, root: Path = ROOT) -> dict:
    env = {**os.environ, "PYTHONPATH": str(root), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(limit), *map(str, paths)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    if proc.returncode != 0 or not proc.stdout.strip():
        return {"outcome": f"crash (exit {proc.returncode})", "message": proc.stderr[-300:]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


# Several seconds each (building 20M-60M-line Parquet files, or loading one).
SLOW = {
    "parquet RLE 20M",
    "parquet RLE 60M",
    "parquet 25M distinct rows",
    "csv 10M distinct rows",
    "parquet 20M distinct rows",
}


@pytest.fixture(scope="session")
def built(tmp_path_factory) -> Callable[[str], list[Path]]:
    """The files of a bomb, built once per session in a temporary directory."""
    cache: dict[str, list[Path]] = {}

    def get(name: str) -> list[Path]:
        if name not in cache:
            cache[name] = BOMBS[name].build(tmp_path_factory.mktemp("bomb"))
        return cache[name]

    return get


@pytest.mark.parametrize(
    "name", [pytest.param(n, marks=[pytest.mark.slow] if n in SLOW else []) for n in BOMBS]
)
def test_a_bomb_ends_in_a_data_error_or_a_dataset_within_the_budget(name, built):
    bomb = BOMBS[name]
    result = load_in_child(built(name), budget(bomb))
    assert result["outcome"] in (("ok",) if bomb.must_load else ("ok", "DataError")), result
    if result["outcome"] == "ok":
        assert bomb.cells, f"{name} must be refused: {result}"
        n, e = map(int, result["message"].split(" x "))
        assert n * e == bomb.cells
    else:
        assert "MAX_CELLS" in result["message"] or "limit" in result["message"], result


def _measure(root: Path, cap: int, only: str = "") -> None:
    import tempfile

    for name, bomb in BOMBS.items():
        if only not in name:
            continue
        with tempfile.TemporaryDirectory() as d:
            paths = bomb.build(Path(d))
            size = sum(p.stat().st_size for p in paths)
            r = load_in_child(paths, cap or budget(bomb), root)
        print(
            f"{name:28} {size / 1024:9.0f} KB  {r['outcome']:12} "
            f"peak RSS {r.get('peak_rss_mb', float('nan')):7.0f} MB  "
            f"VM {r.get('peak_vm_mb', float('nan')) - r.get('baseline_mb', 0):7.0f} MB over "
            f"the baseline (budget {budget(bomb) / 2**20:.0f})  "
            f"{r.get('seconds', float('nan')):6.1f} s  {r['message'][:90]!r}",
            flush=True,
        )


if __name__ == "__main__":  # python tests/test_bombs.py [ROOT [NAME-SUBSTRING]]
    _measure(Path(sys.argv[1] if len(sys.argv) > 1 else ROOT), 10 * GB, *sys.argv[2:3])
