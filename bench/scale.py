"""Data beyond memory: core on a Dask LocalCluster against the in-memory kernel, one run.

    .venv/bin/python bench/scale.py                  # 1e8 events (~2.4 GB of Parquet)
    .venv/bin/python bench/scale.py --events 2e7     # a quicker look

The data (long Parquet, one file of ~1e6 events per partition, rows of 1..16 events) are
written once to --cache (default /tmp/losslens-scale, outside the repository) and reused.
Reported, all from this run: a 32×32 landscape in events/s on a LocalCluster of 1 and of
2 worker processes (one numba thread each) against the in-memory kernel on one core on a
subset; one descent step; the peak RSS of the client (on all the data and on a quarter
of it: flat in N) and of each worker; the time to find and repartition split rows. The
machine is shared, so expect noise; the ratios come from one run.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

os.environ.setdefault("NUMBA_NUM_THREADS", "1")  # the in-memory kernel on one core

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import core  # noqa: E402

PER_FILE = 1_000_000  # events per file (one partition each)
E_MAX = 16
GRID = 32
MB = 2**20


def generate(cache: Path, events: int) -> list[Path]:
    """The files of ``events`` events under ``cache`` (written once, then reused)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    cache.mkdir(parents=True, exist_ok=True)
    files = [cache / f"part{k:05d}.parquet" for k in range(-(-events // PER_FILE))]
    rows_per_file = 2 * PER_FILE // (E_MAX + 1)  # 1..16 events, 8.5 on average
    for k, path in enumerate(files):
        if path.exists():
            continue
        rng = np.random.default_rng(k)
        counts = rng.integers(1, E_MAX + 1, rows_per_file)
        rows = np.repeat(np.arange(rows_per_file) + k * rows_per_file, counts)
        n = rows.size
        table = pa.table({"row": rows, "I": rng.normal(size=n), "D": rng.exponential(size=n) - 0.5})
        tmp = path.with_suffix(".tmp")
        pq.write_table(table, tmp, row_group_size=n)
        tmp.rename(path)
    return files


def split_copy(files: list[Path], out: Path) -> Path:
    """The events of ``files`` with each row's events alternating between two files: every
    row with two events or more is split across files (for the repartition)."""
    import pyarrow.parquet as pq

    out.mkdir(parents=True, exist_ok=True)
    for k, path in enumerate(files):
        if (out / f"b{k:05d}.parquet").exists():
            continue
        table = pq.read_table(path)
        rows = table.column("row").to_numpy()
        first = np.r_[True, rows[1:] != rows[:-1]]
        rank = np.arange(rows.size) - np.maximum.accumulate(
            np.where(first, np.arange(rows.size), 0)
        )
        for name, mask in (("a", rank % 2 == 0), ("b", rank % 2 == 1)):
            pq.write_table(table.filter(mask), out / f"{name}{k:05d}.parquet")
    return out


class PeakRSS:
    """The largest RSS of this process while the block runs (sampled every 20 ms)."""

    def __enter__(self):
        import psutil

        self.proc, self.peak, self.stop = psutil.Process(), 0, threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        return self

    def _run(self):
        while not self.stop.is_set():
            self.peak = max(self.peak, self.proc.memory_info().rss)
            time.sleep(0.02)

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()
        self.peak = max(self.peak, self.proc.memory_info().rss)


def timed(f):
    t0 = time.perf_counter()
    out = f()
    return out, time.perf_counter() - t0


def axes():
    return np.linspace(-2, 2, GRID), np.linspace(-2, 2, GRID)


def in_memory(files: list[Path]) -> dict:
    """The in-memory kernel on one core, on the first files (run in a child process)."""
    import pandas as pd

    from core.partitioned import _to_block

    frame = pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)
    block = _to_block(frame)
    ds = core.Dataset(block.I, block.D, 1000.0)
    core.warm_up()
    seconds, cpu = [], []
    for _ in range(2):
        c0 = cpu_seconds()
        seconds.append(timed(lambda: core.landscape(ds, *axes(), backend="numba"))[1])
        cpu.append(cpu_seconds() - c0)
    return {"events": len(frame), "seconds": min(seconds), "cpu": min(cpu)}


def cpu_seconds() -> float:
    """CPU time (user + system) of this process so far: unlike wall time, it does not
    grow when other jobs share the cores."""
    import resource

    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def cluster(workers: int):
    import distributed

    lc = distributed.LocalCluster(
        n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0",
        silence_logs=logging.CRITICAL, env={"NUMBA_NUM_THREADS": "1"},
    )  # fmt: skip
    return lc, distributed.Client(lc, set_as_default=False)


def worker_peaks(client) -> list[float]:
    import resource

    def peak() -> float:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB -> MB

    return sorted(client.run(peak).values())


def on_cluster(files: list[Path], workers: int, y: float, extra: bool) -> dict:
    import distributed

    lc, client = cluster(workers)
    out: dict = {"workers": workers}
    try:
        with PeakRSS() as rss:
            pds, out["open_s"] = timed(lambda: core.open_dataset([str(f) for f in files], y=y,
                                                                 client=client))  # fmt: skip
            core.landscape(pds, [0.0, 1.0], [0.0, 1.0])  # numba loaded on every worker
            c0 = sum(client.run(cpu_seconds).values())
            with distributed.get_task_stream(client=client) as stream:
                _, out["grid_s"] = timed(lambda: core.landscape(pds, *axes()))
            out["grid_cpu"] = sum(client.run(cpu_seconds).values()) - c0
            # Dask's own share: the wall time the workers spent outside the kernel tasks.
            busy = sum(
                end - start
                for task in stream.data
                for kind, start, end in ((x["action"], x["start"], x["stop"])
                                         for x in task["startstops"])
                if kind == "compute"
            )  # fmt: skip
            out["task_share"] = busy / (out["grid_s"] * workers)
            if extra:
                run = core.start_run(pds, "adam", (0.5, -0.5))
                _, out["step_s"] = timed(lambda: core.advance(pds, run))
                run = core.start_run(pds, "newton", (0.5, -0.5))
                _, out["newton_step_s"] = timed(lambda: core.advance(pds, run))
        out["client_peak_mb"] = rss.peak / MB
        out["worker_peak_mb"] = worker_peaks(client)
        out["events"] = pds.n_present
        if extra:  # the client's peak on a quarter of the data: flat in N?
            del pds
            client.restart()
            quarter = files[: max(1, len(files) // 4)]
            with PeakRSS() as rss:
                pds = core.open_dataset([str(f) for f in quarter], y=y, client=client)
                core.landscape(pds, *axes())
            out["client_peak_quarter_mb"] = rss.peak / MB
    finally:
        client.close()
        lc.close()
    return out


def repartition(files: list[Path], cache: Path, y: float) -> dict:
    split = split_copy(files, cache / "split")
    lc, client = cluster(2)
    said: list[str] = []
    try:
        pds, seconds = timed(lambda: core.open_dataset(split, y=y, client=client,
                                                       message=said.append))  # fmt: skip
        return {"events": pds.n_present, "open_s": seconds, "messages": said}
    finally:
        client.close()
        lc.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=float, default=1e8)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/losslens-scale"))
    parser.add_argument("--subset", type=int, default=4, help="files for the in-memory run")
    parser.add_argument("--split-files", type=int, default=4, help="files for the shuffle")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    files = generate(args.cache, int(args.events))
    if args.child == "memory":
        print(json.dumps(in_memory(files[: args.subset])))
        return
    size = sum(f.stat().st_size for f in files) / 2**30
    print(f"{len(files)} files, {size:.2f} GB of Parquet in {args.cache}", flush=True)
    child = subprocess.run(
        [sys.executable, __file__, "--events", str(args.events), "--cache", str(args.cache),
         "--subset", str(args.subset), "--child", "memory"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    mem = json.loads(child.stdout.strip().splitlines()[-1])
    per_core, per_cpu = mem["events"] / mem["seconds"], mem["events"] / mem["cpu"]
    print(
        f"in memory, 1 core: {mem['events']:,} events, 32×32 in {mem['seconds']:.2f} s: "
        f"{per_core:,.0f} events/s; {per_cpu:,.0f} events per CPU second",
        flush=True,
    )
    y = 1000.0
    for workers in (1, 2):
        r = on_cluster(files, workers, y, extra=workers == 2)
        rate = r["events"] / r["grid_s"]
        rate_cpu = r["events"] / r["grid_cpu"]
        print(
            f"  per CPU second of the workers: {rate_cpu:,.0f} events = "
            f"{rate_cpu / per_cpu:.0%} of the in-memory kernel's", flush=True,
        )  # fmt: skip
        print(
            f"cluster, {workers} worker(s): opened {r['events']:,} events in {r['open_s']:.1f} s; "
            f"32×32 in {r['grid_s']:.2f} s: {rate:,.0f} events/s = "
            f"{rate / workers / per_core:.0%} of the in-memory kernel per core (the workers "
            f"spent {r['task_share']:.0%} of the wall time in the kernel's tasks); client peak "
            f"{r['client_peak_mb']:.0f} MB; worker peaks "
            f"{', '.join(f'{m:.0f}' for m in r['worker_peak_mb'])} MB",
            flush=True,
        )
        if "step_s" in r:
            print(
                f"  one descent step: adam {r['step_s']:.2f} s, newton (with ∇²) "
                f"{r['newton_step_s']:.2f} s; client peak on a quarter of the files "
                f"{r['client_peak_quarter_mb']:.0f} MB",
                flush=True,
            )
    rep = repartition(files[: args.split_files], args.cache, y)
    print(f"split rows: {rep['events']:,} events opened, found and repartitioned in "
          f"{rep['open_s']:.1f} s; {' / '.join(rep['messages'])}")  # fmt: skip


if __name__ == "__main__":
    main()
