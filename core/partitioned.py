"""Data beyond one machine: the engine's sums over row blocks, on a Dask cluster.

    pds = open_dataset("events/", y=1234)          # a dir, a glob or a list of long Parquet
    grid = landscape(pds, alphas, betas)           # the same functions, the same types
    run = descend(pds, "adam", start=(0, 0), steps=50)   # one pass over the cluster a step
    print(sanity_report(pds).to_text())

A long Parquet file holds one line per event (columns ``row``, ``I``, ``D``). Each
partition (one row group of one file) is read and checked on a worker, grouped by row
into a padded (n, E_max) block with NaN where absent, and kept there (persisted): every
pass computes the engine's :class:`~core.engine.Sums` of each block
(:func:`core.engine.point_sums` for points, :func:`core.landscape.grid_sums` for grids)
and the client adds K-sized sums in block order. Nothing N × E ever reaches the client.

p_i is a product over the whole row, so a row whose events sit in two partitions must be
joined before exp: :func:`open_dataset` detects such rows from the data (row-id ranges
first, then an exact count of ids in more than one block) and then repartitions once by
row (a Dask shuffle), with a message.

The cluster: ``client=None`` connects to ``$LOSSLENS_DASK_SCHEDULER`` when set (an
unreachable address raises DataError after :data:`CONNECT_TIMEOUT` s), else starts one
embedded ``distributed.LocalCluster`` per process (a worker process per core, memory
split between them; past the budget workers spill to disk rather than fail), closed at
exit. Its workers start with ``spawn``: a script that opens a dataset needs the usual
``if __name__ == "__main__":`` guard. Dask is imported only here, only when used.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import itertools
import logging
import math
import operator
import os
import sys
import threading
import time
import types
from collections.abc import Callable, Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass

import numpy as np

from . import engine
from .errors import DataError
from .validation import MAX_ABS, check_y

__all__ = [
    "ENV_SCHEDULER",
    "PartitionedDataset",
    "get_client",
    "load_landscape",
    "open_dataset",
    "save_landscape",
    "watching",
]

ENV_SCHEDULER = "LOSSLENS_DASK_SCHEDULER"
CONNECT_TIMEOUT = 5.0  # seconds before an unreachable scheduler is reported
log = logging.getLogger("losslens.partitioned")

# -- the cluster ---------------------------------------------------------------------------

_LOCAL: dict = {}
_LOCAL_LOCK = threading.Lock()


def get_client(client=None):
    """``client`` (a distributed.Client, or a scheduler address such as "tcp://host:8786"),
    else a Client of $LOSSLENS_DASK_SCHEDULER, else one of the embedded LocalCluster."""
    if client is not None and not isinstance(client, str):
        return client
    import distributed

    where = "given" if client else f"from {ENV_SCHEDULER}"
    address = client or os.environ.get(ENV_SCHEDULER, "").strip()
    if address:
        try:
            return distributed.Client(address, timeout=CONNECT_TIMEOUT, set_as_default=False)
        except (OSError, TimeoutError) as exc:
            raise DataError(
                f"cannot reach the Dask scheduler at {address!r} ({where}) within "
                f"{CONNECT_TIMEOUT:g} s: {exc}. Start it (`dask scheduler`, and `dask worker "
                f"{address}` on each machine with losslens installed), or unset {ENV_SCHEDULER} "
                "to use a local cluster."
            ) from None
    with _LOCAL_LOCK:
        if "client" not in _LOCAL:
            _LOCAL["client"] = _start_local()
        return _LOCAL["client"]


@contextlib.contextmanager
def spawn_safe_main():
    """Start worker processes without re-running the caller's main script.

    ``spawn`` re-runs the parent's ``__main__`` file in every new process; inside Streamlit
    (or an AppTest) that file is the dashboard itself, which a worker must not run. A
    module with neither ``__file__`` nor ``__spec__`` gives the workers nothing to re-run.
    """
    saved = sys.modules.get("__main__")
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        if saved is not None:
            sys.modules["__main__"] = saved


def _start_local():
    """A LocalCluster with one single-threaded worker process per core, and its Client."""
    import distributed

    cores = max(1, os.cpu_count() or 1)
    # One numba thread per worker: the workers already use every core, more threads
    # would only fight over them.
    with spawn_safe_main():
        cluster = distributed.LocalCluster(
            n_workers=cores,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
            silence_logs=logging.CRITICAL,
            env={"NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"},
        )
    client = distributed.Client(cluster, set_as_default=False)
    atexit.register(_close_local)
    return client


def _close_local() -> None:
    with _LOCAL_LOCK:
        client = _LOCAL.pop("client", None)
    if client is not None:
        cluster = client.cluster
        client.close()
        if cluster is not None:
            cluster.close()


# -- reading and checking one partition (on a worker) ----------------------------------------


@dataclass(frozen=True)
class _Piece:
    """One partition: row group ``group`` of ``path``, whose first record is line ``first``."""

    fs: object
    path: str
    group: int
    first: int


def _column(table, name: str, piece: _Piece, role: str) -> np.ndarray:
    """A numeric column as float64 (NaN where empty); DataError names the first bad cell."""
    import pandas as pd

    if name not in table.column_names:
        raise DataError(
            f"{piece.path}: no column {name!r} (the {role} column); the file has "
            f"{', '.join(table.column_names)}. Pass {role}=NAME to open_dataset."
        )
    raw = table.column(name).to_pandas()
    values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    bad = np.isnan(values) & raw.notna().to_numpy() | (np.abs(values) > MAX_ABS)
    if bad.any():
        k = int(np.argmax(bad))
        raise DataError(
            f"{piece.path}, line {piece.first + k + 1}, column {name!r}: {raw.iloc[k]!r} is not "
            f"a finite real number within ±{MAX_ABS:g}."
        )
    return values


def _read_piece(piece: _Piece, names: tuple[str, str, str]):
    """The checked events of one partition as a DataFrame (row, I, D)."""
    import pandas as pd
    import pyarrow.parquet as pq

    row, i_name, d_name = names
    with piece.fs.open(piece.path, "rb") as f:
        table = pq.ParquetFile(f).read_row_group(piece.group)
    I = _column(table, i_name, piece, "I")
    D = _column(table, d_name, piece, "D")
    if row not in table.column_names:
        raise DataError(
            f"{piece.path}: no column {row!r} (the row column); the file has "
            f"{', '.join(table.column_names)}. Pass row=NAME to open_dataset."
        )
    rows = table.column(row).to_pandas()
    problem = rows.isna().to_numpy()
    mismatch = np.isnan(I) != np.isnan(D)
    if problem.any() or mismatch.any():
        k = int(np.argmax(problem | mismatch))
        what = (
            f"the column {row!r} is empty; every line needs the row its event belongs to"
            if problem[k]
            else "one of I and D is empty but not the other; an event needs both"
        )
        raise DataError(f"{piece.path}, line {piece.first + k + 1}: {what}.")
    return pd.DataFrame({"row": rows.to_numpy(), "I": I, "D": D})


@dataclass(frozen=True, eq=False)
class Block:
    """Whole rows of one partition: ids (n,), I, D (n, E_max) with NaN where absent."""

    ids: np.ndarray
    I: np.ndarray
    D: np.ndarray


def _to_block(events) -> Block:
    """Group one partition's events by row (rows in order of first appearance)."""
    import pandas as pd

    codes, ids = pd.factorize(events["row"].to_numpy(), sort=False)
    I_all, D_all = events["I"].to_numpy(np.float64), events["D"].to_numpy(np.float64)
    event = ~np.isnan(I_all)
    n = len(ids)
    codes_e = codes[event]
    counts = np.bincount(codes_e, minlength=n)
    E = max(int(counts.max(initial=0)), 1)
    # Rank of each event within its row, as core.io's long reader places them.
    order = np.argsort(codes_e, kind="stable")
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    pos = np.empty_like(order)
    pos[order] = np.arange(order.size) - starts[codes_e[order]]
    I, D = np.full((n, E), np.nan), np.full((n, E), np.nan)
    I[codes_e, pos] = I_all[event]
    D[codes_e, pos] = D_all[event]
    return Block(np.asarray(ids), I, D)


# -- per-block sums and statistics (on a worker) -----------------------------------------------


def _block_points(block: Block, alphas, betas, hessian: bool, backend: str):
    return "numba", engine.point_sums(
        block.I, block.D, alphas, betas, hessian=hessian, backend=backend
    )


def _block_grid(block: Block, alphas, betas, gradient: bool, backend: str):
    from .landscape import grid_sums

    return grid_sums(block.I, block.D, alphas, betas, gradient=gradient, backend=backend)


def _block_summary(block: Block) -> dict:
    """Box-free statistics of one block: they add (or min/max) across blocks."""
    present = ~np.isnan(block.I)
    I, D = block.I[present], block.D[present]
    n_events = present.sum(axis=1)
    I0, D0 = np.where(present, block.I, 0.0), np.where(present, block.D, 0.0)
    z = np.sqrt(np.max(I0**2 + D0**2, axis=1)) if block.I.size else np.zeros(0)
    h = hashlib.blake2b(digest_size=16)
    for a in (block.I, block.D):
        h.update(repr(a.shape).encode())
        h.update(np.ascontiguousarray(a).data)
    lo_id = hi_id = None
    if len(block.ids):
        try:
            lo_id, hi_id = block.ids.min(), block.ids.max()
        except TypeError:  # ids of mixed types have no order: _may_split then says True
            pass
    return {
        "N": len(block.ids),
        "E": block.I.shape[1],
        "n": int(I.size),
        "nonempty": int((n_events > 0).sum()),
        "sum_I": float(I.sum()),
        "sum_D": float(D.sum()),
        "II": float(I @ I),
        "DD": float(D @ D),
        "ID": float(I @ D),
        "min_I": float(I.min(initial=np.inf)),
        "max_I": float(I.max(initial=-np.inf)),
        "min_D": float(D.min(initial=np.inf)),
        "max_D": float(D.max(initial=-np.inf)),
        "bound": float(np.sum(z * (n_events / (n_events + 1.0)) ** (n_events + 1))),
        "digest": h.hexdigest(),
        "ids": (lo_id, hi_id),
    }


def _block_centred(block: Block, mean_I: float, mean_D: float, c: float, corners) -> np.ndarray:
    """Σ(I − Ī)², Σ(D − D̄)², Σ(I − Ī)(D − D̄), Σ(D − cI)² and, per corner (a, b) of the box,
    the count of |aI + bD| > SATURATION_X: the second pass of the report."""
    from .report import SATURATION_X

    present = ~np.isnan(block.I)
    I, D = block.I[present], block.D[present]
    dI, dD, r = I - mean_I, D - mean_D, D - c * I
    sat = [float(np.sum(np.abs(a * I + b * D) > SATURATION_X)) for a, b in corners]
    return np.array([dI @ dI, dD @ dD, dI @ dD, r @ r, *sat])


def _row_keys(block: Block, buckets: int, what: str, E: int) -> list[np.ndarray]:
    """Per bucket: the block's row ids (``what="ids"``), or 128-bit hashes of its rows'
    contents (``"rows"``: width, then I and D zero-filled to the data set's E columns, so
    equal rows hash alike whatever their block's width)."""
    import pandas as pd

    if what == "ids":
        keys = pd.Series(block.ids)
        h = pd.util.hash_pandas_object(keys, index=False).to_numpy()
        return [keys.to_numpy()[h % buckets == g] for g in range(buckets)]
    present = ~np.isnan(block.I)
    pad = ((0, 0), (0, E - block.I.shape[1]))
    # -0.0 and 0.0 are one number (as np.unique sees them): + 0.0 turns one into the other.
    I0 = np.pad(np.where(present, block.I, 0.0) + 0.0, pad)
    D0 = np.pad(np.where(present, block.D, 0.0) + 0.0, pad)
    width = present.sum(axis=1, keepdims=True).astype(np.float64)
    frame = pd.DataFrame(np.concatenate([width, I0, D0], axis=1))
    digests = np.stack(
        [pd.util.hash_pandas_object(frame, index=False, hash_key=key).to_numpy()
         for key in ("losslens-rows-01", "losslens-rows-02")],
        axis=1,
    )  # fmt: skip
    return [digests[digests[:, 0] % buckets == g] for g in range(buckets)]


def _count_repeats(*parts: np.ndarray) -> int:
    """How many keys repeat an earlier one, over all blocks' share of one bucket."""
    import pandas as pd

    keys = [p for p in parts if len(p)]
    if not keys:
        return 0
    allk = np.concatenate(keys)
    frame = pd.DataFrame(allk) if allk.ndim == 2 else pd.DataFrame({"k": allk})
    return int(frame.duplicated().sum())


# -- the dataset ------------------------------------------------------------------------------


def _find_files(source) -> list[tuple[object, str]]:
    import fsspec

    items = [source] if isinstance(source, str | os.PathLike) else list(source)
    found: list[tuple[object, str]] = []
    for item in items:
        fs, _, paths = fsspec.core.get_fs_token_paths(os.fspath(item))
        for p in paths:
            if fs.isdir(p):
                inner = sorted(f for f in fs.find(p) if f.endswith((".parquet", ".parq")))
                found += [(fs, f) for f in inner]
            else:
                found.append((fs, p))
    if not found:
        raise DataError(f"no Parquet files found at {source!r} (a directory, a glob or a list).")
    return found


def _pieces(files: list[tuple[object, str]]) -> list[_Piece]:
    import pyarrow.parquet as pq

    pieces = []
    for fs, path in files:
        try:
            with fs.open(path, "rb") as f:
                meta = pq.ParquetFile(f).metadata
        except Exception as exc:  # any reader error: name the file
            raise DataError(f"{path}: not a readable Parquet file ({exc}).") from None
        first = 0
        for g in range(meta.num_row_groups):
            pieces.append(_Piece(fs, path, g, first))
            first += meta.row_group(g).num_rows
    return pieces


Progress = Callable[[float], None]

# (progress, cancel) for every pass of this thread that was given none: see watching().
_WATCH: ContextVar[tuple] = ContextVar("losslens_watch", default=(None, None))


@contextlib.contextmanager
def watching(progress: Progress | None = None, cancel=None) -> Iterator[None]:
    """Inside the block, every pass over a cluster (a landscape, each step of a descent,
    each pass of the sanity report) that was given no ``progress``/``cancel`` of its own
    reports ``progress(fraction of that pass)`` and honours ``cancel`` (an Event or a
    function returning True; it is called about every 0.1 s while tasks run).

    For callers that cannot pass them down (core.sanity_report, core.advance): a
    dashboard's Cancel button. Per thread and context (a ContextVar), so sessions of one
    server sharing a data set do not see each other's.
    """
    token = _WATCH.set((progress, cancel))
    try:
        yield
    finally:
        _WATCH.reset(token)


class PartitionedDataset:
    """Long-format Parquet data held in pieces on a Dask cluster; use it like a Dataset.

    Attributes: y, name, N (rows), E (most events in a row), n_present (events),
    n_nonempty, truth (None), fingerprint, client, blocks (futures, one per partition).
    Build it with :func:`open_dataset`.
    """

    is_partitioned = True
    truth = None

    def __init__(self, client, blocks: list, y: float, name: str, summaries: list[dict]):
        self.client, self.blocks, self.y, self.name = client, blocks, y, name
        self._summaries = summaries
        total = lambda key: sum(s[key] for s in summaries)  # noqa: E731
        self.N, self.n_present, self.n_nonempty = total("N"), total("n"), total("nonempty")
        self.E = max((s["E"] for s in summaries), default=1)
        h = hashlib.blake2b(digest_size=16)
        h.update(repr(self.y).encode())
        for s in summaries:
            h.update(s["digest"].encode())
        self.fingerprint = h.hexdigest()

    def __repr__(self) -> str:
        return (
            f"<PartitionedDataset {self.name!r} N={self.N} E={self.E} events={self.n_present} "
            f"partitions={len(self.blocks)} y={self.y:g}>"
        )

    def with_y(self, y: float) -> PartitionedDataset:
        return PartitionedDataset(self.client, self.blocks, check_y(y), self.name, self._summaries)

    @property
    def dashboard_link(self) -> str:
        return str(getattr(self.client, "dashboard_link", "") or "")

    def sample(self, rows: int = 20_000):
        """An in-memory core.Dataset of about ``rows`` rows: every k-th row of every block
        (k = ceil(N / rows)), y scaled by the share of rows kept; for heuristics that need
        the shape of the landscape, not every row. At most ``rows`` × E reach the client."""
        from .model import Dataset

        k = max(1, -(-self.N // max(1, int(rows))))
        parts = self.map_blocks(_block_rows, k)
        I = _stack([p[0] for p in parts], self.E)
        D = _stack([p[1] for p in parts], self.E)
        if not len(I):
            raise DataError(f"{self.name}: no rows to sample.")
        name = f"{self.name} (every {k}th row)" if k > 1 else self.name
        return Dataset(I, D, self.y * len(I) / self.N, name=name)

    # -- one pass over the cluster ----------------------------------------------------------

    def map_blocks(self, func, *args, progress: Progress | None = None, cancel=None) -> list:
        """``func(block, *args)`` on every block, results in block order.

        ``progress(fraction)`` is called as tasks finish; ``cancel`` (an Event or a
        function returning True) cancels every task and raises core.Cancelled.
        """
        from .landscape import Cancelled

        watch_progress, watch_cancel = _WATCH.get()
        progress = progress if progress is not None else watch_progress
        cancel = cancel if cancel is not None else watch_cancel
        n = len(self.blocks)
        futures = self.client.map(func, self.blocks, *[[a] * n for a in args], pure=False)
        pending = set(futures)
        try:
            while pending:
                if cancel is not None and (cancel() if callable(cancel) else cancel.is_set()):
                    raise Cancelled(f"cancelled with {n - len(pending)} of {n} partitions done")
                finished = [f for f in _wait_some(pending) if f in pending]
                for f in finished:
                    if f.status != "finished":
                        f.result()  # the task's own exception (a DataError names its file)
                    pending.discard(f)
                if finished and progress is not None:
                    progress((n - len(pending)) / n)
            return self.client.gather(futures)
        except BaseException:
            self.client.cancel(futures)
            raise

    def sums(self, kind: str, alphas, betas, flag: bool, backend: str = "auto", **kw):
        """(backend name, engine.Sums added over every block in block order); ``kind`` is
        "points" (:func:`core.engine.point_sums`, flag = hessian) or "grid"
        (:func:`core.landscape.grid_sums`, flag = gradient)."""
        func = _block_points if kind == "points" else _block_grid
        parts = self.map_blocks(func, alphas, betas, flag, backend, **kw)
        total = parts[0][1]
        for _, more in parts[1:]:
            total = total + more
        return parts[0][0], total

    # -- the public functions of core, for this data (they dispatch here) -------------------

    def landscape(self, alphas, betas, *, gradient=False, progress=None, cancel=None,
                  backend="auto"):  # fmt: skip
        """:func:`core.landscape` on the cluster: one task per partition."""
        from .landscape import grid_landscape
        from .validation import check_axis

        alphas = check_axis(alphas, "alphas", increasing=True)
        betas = check_axis(betas, "betas", increasing=True)
        part = None if progress is None else (lambda f: progress(min(f, 0.999)))
        name, sums = self.sums("grid", alphas, betas, gradient, backend, progress=part,
                               cancel=cancel)  # fmt: skip
        return grid_landscape(sums, self.y, alphas, betas, gradient, name, progress)

    def evaluate_points(self, alphas, betas, *, hessian=False):
        """:func:`core.evaluate_points` on the cluster."""
        from .landscape import Points
        from .validation import check_points

        alphas, betas = check_points(alphas, betas)
        t = engine.totals(self.sums("points", alphas, betas, hessian)[1], self.y)
        for arr in (alphas, betas):
            arr.flags.writeable = False
        return Points(alphas, betas, self.y, t.s, t.loss, t.grad, t.grad_s, t.hessian,
                      t.hessian_s)  # fmt: skip

    def evaluate(self, alpha, beta, *, hessian=True, parts=False, backend="auto"):
        """:func:`core.evaluate` on the cluster (no ``parts``: they are N × E)."""
        from .model import Evaluation
        from .validation import check_backend, check_scalar

        check_backend(backend)
        if parts:
            raise DataError(
                "parts=True returns (N, E) intermediates; a partitioned data set never "
                "gathers those. Evaluate a subset in memory (core.Dataset) to see them."
            )
        alpha, beta = check_scalar(alpha, "alpha"), check_scalar(beta, "beta")
        a, b = np.array([alpha]), np.array([beta])
        t = engine.totals(self.sums("points", a, b, hessian, backend)[1], self.y)
        nan = np.full((2, 2), np.nan)
        return Evaluation(
            alpha=alpha, beta=beta, y=self.y, s=float(t.s[0]), loss=float(t.loss[0]),
            grad=t.grad[0], hessian=nan if t.hessian is None else t.hessian[0],
            grad_s=t.grad_s[0], hessian_s=nan if t.hessian_s is None else t.hessian_s[0],
        )  # fmt: skip

    # -- statistics (map-reduce) --------------------------------------------------------------

    def moments(self) -> dict:
        """Event statistics added (fsum) or min/maxed over the blocks (see _block_summary)."""
        out = {}
        for key in ("n", "sum_I", "sum_D", "II", "DD", "ID", "bound"):
            out[key] = math.fsum(s[key] for s in self._summaries)
        for key, pick in (("min_I", min), ("max_I", max), ("min_D", min), ("max_D", max)):
            out[key] = pick(s[key] for s in self._summaries)
        return out

    def units(self) -> tuple[float, float]:
        """1/rms(I), 1/rms(D) over present events (1.0 where that rms is 0)."""
        m = self.moments()
        rms = [math.sqrt(m[k] / m["n"]) if m["n"] else 0.0 for k in ("II", "DD")]
        return tuple(1.0 / r if r > 0 else 1.0 for r in rms)

    def report_stats(self, box):
        """The sanity report's statistics (core.report._Stats) in three passes: the
        summaries of the blocks (sums, min, max), centred sums, and the duplicate rows."""
        from .report import _corners, _Stats, _Values

        m = self.moments()
        n = m["n"]
        mean_I, mean_D = m["sum_I"] / n, m["sum_D"] / n
        c = m["ID"] / m["II"] if m["II"] > 0 and m["DD"] > 0 else math.nan
        corners = _corners(box)
        parts = self.map_blocks(_block_centred, mean_I, mean_D, 0.0 if math.isnan(c) else c,
                                corners)  # fmt: skip
        ss_I, ss_D, ss_ID, ss_r, *sat = np.sum(parts, axis=0)
        std_I, std_D = math.sqrt(ss_I / n), math.sqrt(ss_D / n)

        def values(lo, hi, mean, std, sq):
            return _Values(lo, hi, mean, std, math.sqrt(sq / n), max(-lo, hi), lo >= 0 or hi <= 0)

        vI = values(m["min_I"], m["max_I"], mean_I, std_I, m["II"])
        vD = values(m["min_D"], m["max_D"], mean_D, std_D, m["DD"])
        corr = ss_ID / n / (std_I * std_D) if std_I > 0 and std_D > 0 else math.nan
        resid = math.sqrt(ss_r) / math.sqrt(m["DD"]) if not math.isnan(c) else math.nan
        # Long data fill each row from the left, and the widest row sets E: no column
        # is absent in every row.
        saturated = tuple(float(k) / n for k in sat)
        return _Stats(vI, vD, float(corr), c, float(resid), saturated, (), self.repeats("rows"))

    def repeats(self, what: str) -> int:
        """Row ids in more than one block (``"ids"``), or rows repeating another row's
        events exactly (``"rows"``): a hash shuffle of keys into buckets, then counts."""
        return _repeats(self.client, self.blocks, what, self.E)


def _block_rows(block: Block, k: int) -> tuple[np.ndarray, np.ndarray]:
    return block.I[::k], block.D[::k]


def _stack(parts: list[np.ndarray], E: int) -> np.ndarray:
    """Blocks' rows (n_b, E_b) one under the other, NaN-padded to (Σ n_b, E)."""
    out = [np.pad(p, ((0, 0), (0, E - p.shape[1])), constant_values=np.nan) for p in parts]
    return np.concatenate(out) if out else np.zeros((0, E))


def _wait_some(pending: set) -> list:
    """The futures of ``pending`` that are done, waiting at most 0.1 s for one.

    (Polling each future's own state: distributed.wait would need a default client.)
    """
    deadline = time.monotonic() + 0.1
    while True:
        done = [f for f in pending if f.done()]
        if done or time.monotonic() >= deadline:
            return done
        time.sleep(0.005)


def _repeats(client, blocks: list, what: str, E: int = 0) -> int:
    buckets = max(1, min(len(blocks), 2 * len(client.scheduler_info().get("workers", {})) or 1))
    keyed = client.map(_row_keys, blocks, buckets=buckets, what=what, E=E, pure=False)
    counts = []
    for g in range(buckets):
        shares = [client.submit(operator.getitem, k, g, pure=False) for k in keyed]
        counts.append(client.submit(_count_repeats, *shares, pure=False))
    return int(sum(client.gather(counts)))


def open_dataset(
    path_or_glob: str | os.PathLike | Sequence,
    *,
    y: float,
    row: str = "row",
    I: str = "I",
    D: str = "D",
    client=None,
    name: str = "",
    message: Callable[[str], None] | None = None,
) -> PartitionedDataset:
    """A :class:`PartitionedDataset` over long-format Parquet (one line per event).

    path_or_glob : a directory (every *.parquet below it), a glob, a path, or a list of
        them; any filesystem fsspec reads (s3://, gcs://, ... when their package is there).
    y : the observed count. row, I, D : the column names.
    client : a distributed.Client or a scheduler address; None: see :func:`get_client`.
    message(text) : told about slow steps (the repartition of split rows); default: logged.
    Partitions are read, checked (DataError names file and line) and kept on the workers.
    """
    y = check_y(y)
    say = message or log.info
    client = get_client(client)
    files = _find_files(path_or_glob)
    pieces = _pieces(files)
    if not pieces:
        raise DataError(f"the Parquet files at {path_or_glob!r} hold no row groups: no events.")
    names = (row, I, D)
    events = client.map(_read_piece, pieces, names=names, pure=False)
    blocks = client.map(_to_block, events, pure=False)
    summaries = client.gather(client.map(_block_summary, blocks, pure=False))
    del events  # the blocks are what stays on the workers
    n_split = _repeats(client, blocks, "ids") if _may_split(summaries) else 0
    if n_split:
        say(
            f"{n_split} row(s) have events in more than one file or partition; repartitioning "
            f"once by row ({len(pieces)} partitions)…"
        )
        t0 = time.perf_counter()
        blocks = _repartition(client, pieces, names)
        summaries = client.gather(client.map(_block_summary, blocks, pure=False))
        say(f"repartitioned by row in {time.perf_counter() - t0:.1f} s.")
    label = name or (os.fspath(path_or_glob) if isinstance(path_or_glob, str | os.PathLike) else "")
    return PartitionedDataset(client, blocks, y, label or "partitioned data", summaries)


def _may_split(summaries: list[dict]) -> bool:
    """False when the blocks' row-id ranges are disjoint (then no row can be split)."""
    spans = [s["ids"] for s in summaries if s["N"]]
    try:
        spans.sort()
        return any(prev[1] >= nxt[0] for prev, nxt in itertools.pairwise(spans))
    except TypeError:  # ids of mixed types: no order, check exactly
        return True


def _repartition(client, pieces: list[_Piece], names) -> list:
    """Blocks of whole rows: the events shuffled by row id (dask.dataframe), then grouped."""
    import dask
    import dask.dataframe as dd
    import pandas as pd

    meta = pd.DataFrame({"row": pd.Series(dtype=object), "I": [], "D": []})
    frame = dd.from_map(_read_piece, pieces, names=names, meta=meta, enforce_metadata=False)
    shuffled = frame.shuffle(on="row", npartitions=len(pieces))
    parts = [dask.delayed(_to_block)(part) for part in shuffled.to_delayed()]
    return client.compute(parts)


# -- a landscape as a file (computed on a cluster, explored in the dashboard) ---------------

_GRID_KEYS = ("alphas", "betas", "y", "s", "loss")


def save_landscape(grid, path) -> None:
    """Write a core.Landscape to ``path`` (or a binary file object) as .npz: alphas,
    betas, y, s, loss and, when computed, grad_alpha, grad_beta (``losslens landscape``)."""
    arrays = {k: np.asarray(getattr(grid, k)) for k in _GRID_KEYS}
    for k in ("grad_alpha", "grad_beta"):
        if getattr(grid, k) is not None:
            arrays[k] = np.asarray(getattr(grid, k))
    if hasattr(path, "write"):  # a file object (a download button's buffer)
        np.savez_compressed(path, **arrays)
        return
    with open(path, "wb") as f:
        np.savez_compressed(f, **arrays)


def load_landscape(source, label: str = "landscape file"):
    """A core.Landscape from .npz bytes, a path or a file object written by
    :func:`save_landscape`; DataError when it is not one."""
    import io

    from .landscape import Landscape
    from .validation import check_axis

    if isinstance(source, bytes):
        source = io.BytesIO(source)
    try:
        with np.load(source, allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
    except (OSError, ValueError, EOFError) as exc:
        raise DataError(f"{label}: not an .npz file ({exc}).") from None
    missing = [k for k in _GRID_KEYS if k not in data]
    if missing:
        raise DataError(
            f"{label} is not a landscape file: it lacks {', '.join(missing)} (it has "
            f"{', '.join(data) or 'no arrays'}). Write one with `losslens landscape`."
        )
    alphas = check_axis(data["alphas"], "alphas", increasing=True)
    betas = check_axis(data["betas"], "betas", increasing=True)
    shape = (betas.size, alphas.size)
    grads = [data.get(k) for k in ("grad_alpha", "grad_beta")]
    for k, arr in [("s", data["s"]), ("loss", data["loss"]), ("grad", grads[0])]:
        if arr is not None and arr.shape != shape:
            raise DataError(f"{label}: {k} has shape {arr.shape}, expected {shape}.")
    y = check_y(float(data["y"]))
    if any(g is None for g in grads):
        grads = [None, None]
    return Landscape(alphas, betas, y, data["s"], data["loss"], *grads, backend="file")
