"""core.partitioned: long Parquet on a Dask LocalCluster gives the in-memory numbers.

One LocalCluster (2 worker processes) serves the module. The reference is always the
same events loaded in memory (one long Parquet file through core.load_dataset), so the
comparison is "the same data", also when the events of a row sit in several files.
"""

from __future__ import annotations

import itertools
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import core
from core import partitioned
from tests import datasets

distributed = pytest.importorskip("distributed")

RTOL = 1e-12
SCHEMA = pa.schema([("row", pa.int64()), ("I", pa.float64()), ("D", pa.float64())])


@pytest.fixture(scope="module")
def client():
    from core.partitioned import spawn_safe_main

    with spawn_safe_main():  # earlier AppTests leave the dashboard as __main__
        cluster = distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
            silence_logs=logging.ERROR,
            env={"NUMBA_NUM_THREADS": "1"},
        )
    with distributed.Client(cluster, set_as_default=False) as c:
        yield c
    cluster.close()


def long_frame(I: np.ndarray, D: np.ndarray) -> pd.DataFrame:
    """One line per event; a row with no event gets one line with empty I and D."""
    rows, ii, dd = [], [], []
    for i in range(I.shape[0]):
        js = np.flatnonzero(~np.isnan(I[i]))
        if not js.size:
            rows.append(i), ii.append(np.nan), dd.append(np.nan)
        for j in js:
            rows.append(i), ii.append(I[i, j]), dd.append(D[i, j])
    return pd.DataFrame({"row": rows, "I": ii, "D": dd})


def write(tmp: Path, I, D, *, files: int = 3, split: bool = False, group: int = 25) -> Path:
    """Long Parquet in ``files`` files of row groups of about ``group`` lines; returns one
    file holding every event (the in-memory reference). Unless ``split``, files and row
    groups end where rows end; ``split`` shuffles the events, so most rows have events in
    several files."""
    frame = long_frame(I, D)
    if split:
        frame = frame.sample(frac=1.0, random_state=1)
    tmp.mkdir(parents=True, exist_ok=True)
    rows = frame["row"].to_numpy()
    # Where a row group may start: anywhere when ``split``, else only where a row starts.
    starts = np.arange(len(frame) + 1)
    if not split:
        starts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1], True])
    cuts = np.unique(starts[np.searchsorted(starts, np.r_[0 : len(frame) : group, len(frame)])])
    groups = [frame.iloc[a:b] for a, b in itertools.pairwise(cuts)]
    for k, chunk in enumerate(np.array_split(np.arange(len(groups)), files)):
        with pq.ParquetWriter(tmp / f"part{k}.parquet", SCHEMA) as out:
            for g in chunk:
                out.write_table(
                    pa.Table.from_pandas(groups[g], schema=SCHEMA, preserve_index=False)
                )
    whole = tmp.parent / f"{tmp.name}-whole.parquet"
    frame.to_parquet(whole, index=False)
    return whole


def rel(a: np.ndarray, b: np.ndarray) -> float:
    """Largest difference relative to the largest |value| of the reference."""
    scale = float(np.max(np.abs(b)))
    return float(np.max(np.abs(a - b))) / (scale if scale > 0 else 1.0)


DATA = {
    "ragged": lambda: datasets.ragged(3, 90, 6),
    "rare": lambda: datasets.rare(4, 40, 3),
    "split": lambda: datasets.scattered(5, 70, 5),
}


@pytest.fixture(scope="module", params=list(DATA))
def pair(request, client, tmp_path_factory):
    """(partitioned, in-memory, messages) of one data set."""
    I, D = DATA[request.param]()
    tmp = tmp_path_factory.mktemp(request.param) / "data"
    whole = write(tmp, I, D, split=request.param == "split")
    said: list[str] = []
    pds = core.open_dataset(tmp, y=7.0, client=client, message=said.append)
    return pds, core.load_dataset(whole, y=7.0), said, request.param


def test_open_dataset_sizes_and_split_rows(pair):
    pds, ds, said, kind = pair
    assert (pds.N, pds.E, pds.n_present, pds.n_nonempty) == (
        ds.N, ds.E, int(ds.present.sum()), ds.n_nonempty,
    )  # fmt: skip
    assert len(pds.blocks) > 3  # several row groups per file
    if kind == "split":  # rows cut across files are found and joined once, with a message
        assert "more than one file or partition; repartitioning once by row" in said[0]
        assert said[1].startswith("repartitioned by row in")
    else:  # row-id ranges of the partitions overlap nowhere: no shuffle, no message
        assert said == []


def test_landscape_points_evaluate_exact(pair):
    pds, ds, _, kind = pair
    alphas, betas = np.linspace(-4, 2, 7), np.linspace(-5, 3, 6)
    if kind == "rare":  # s ≈ 1e-9 and less: relative accuracy where the naive product fails
        alphas, betas = np.linspace(-12, -8, 5), np.linspace(-14, -9, 4)
    got, want = (
        core.landscape(pds, alphas, betas, gradient=True),
        core.landscape(ds, alphas, betas, gradient=True),
    )
    assert isinstance(got, core.Landscape) and got.s.shape == want.s.shape
    np.testing.assert_allclose(got.s, want.s, rtol=RTOL, atol=0)
    np.testing.assert_allclose(got.loss, want.loss, rtol=RTOL, atol=0)
    assert rel(got.grad_alpha, want.grad_alpha) <= RTOL
    assert rel(got.grad_beta, want.grad_beta) <= RTOL
    a, b = alphas[:4], betas[:4]
    p1, p0 = (
        core.evaluate_points(pds, a, b, hessian=True),
        core.evaluate_points(ds, a, b, hessian=True),
    )
    assert isinstance(p1, core.Points)
    np.testing.assert_allclose(p1.s, p0.s, rtol=RTOL, atol=0)
    assert rel(p1.hessian, p0.hessian) <= RTOL and rel(p1.grad, p0.grad) <= RTOL
    e1, e0 = core.evaluate(pds, a[1], b[2]), core.evaluate(ds, a[1], b[2])
    assert isinstance(e1, core.Evaluation)
    assert abs(e1.s - e0.s) <= RTOL * e0.s and rel(e1.hessian_s, e0.hessian_s) <= RTOL


@pytest.mark.parametrize("name", ["adam", "newton"])
def test_descent_equal_step_by_step(pair, name):
    pds, ds, _, kind = pair
    if kind != "ragged":
        pytest.skip("one data set is enough for the step-by-step check")
    got = core.descend(pds, name, start=(0.5, -0.5), steps=6)
    want = core.descend(ds, name, start=(0.5, -0.5), steps=6)
    assert got.steps == want.steps == 6
    np.testing.assert_allclose(got.params, want.params, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(got.loss, want.loss, rtol=1e-10)
    assert got.stop_reason == want.stop_reason
    assert dict(got.hyperparams) == pytest.approx(dict(want.hyperparams), rel=1e-12)


def test_report_findings_equal(pair):
    pds, ds, _, _ = pair
    got, want = core.sanity_report(pds), core.sanity_report(ds)
    assert got.codes == want.codes
    for f1, f0 in zip(got, want):
        assert (f1.severity, f1.title, f1.message) == (f0.severity, f0.title, f0.message)
        assert np.asarray(f1.value, float) == pytest.approx(
            np.asarray(f0.value, float), rel=1e-9, nan_ok=True
        )


def test_duplicate_rows_found_across_partitions(client, tmp_path):
    I, D = datasets.ragged(6, 30, 4)
    I[20:25], D[20:25] = I[0:5], D[0:5]  # five rows logged twice, in other files
    write(tmp_path / "d", I, D, files=3, group=25)
    pds = core.open_dataset(tmp_path / "d", y=3.0, client=client)
    want = core.sanity_report(core.Dataset(I, D, 3.0))["duplicates"].value
    assert core.sanity_report(pds)["duplicates"].value == want >= 5


def test_killed_worker_mid_landscape_gives_exact_result(client, tmp_path):
    I, D = datasets.ragged(7, 200, 5)
    whole = write(tmp_path / "k", I, D, files=4, group=30)
    pds = core.open_dataset(tmp_path / "k", y=9.0, client=client)
    alphas, betas = np.linspace(-2, 2, 9), np.linspace(-2, 2, 8)
    pids = list(client.run(os.getpid).values())
    killed: list[int] = []

    def progress(f: float) -> None:
        if not killed and f < 1.0:  # after the first finished partition
            killed.append(pids[0])
            os.kill(pids[0], signal.SIGKILL)

    from core.partitioned import spawn_safe_main

    with spawn_safe_main():  # the nanny re-spawns the killed worker meanwhile
        got = core.landscape(pds, alphas, betas, progress=progress)
        want = core.landscape(core.load_dataset(whole, y=9.0), alphas, betas)
        assert killed
        np.testing.assert_allclose(got.loss, want.loss, rtol=RTOL, atol=0)
        client.wait_for_workers(2, timeout=60)  # restarted for the next tests


def test_bad_cell_names_file_and_line(client, tmp_path):
    frame = long_frame(*datasets.ragged(8, 20, 3)).astype({"I": object})
    frame.loc[6, "I"] = "12,5"
    frame["I"] = frame["I"].astype(str)
    (tmp_path / "bad").mkdir()
    frame.to_parquet(tmp_path / "bad" / "x.parquet", index=False)
    with pytest.raises(core.DataError, match=r"x\.parquet, line 7, column 'I': '12,5' is not"):
        core.open_dataset(tmp_path / "bad", y=1.0, client=client)
    (tmp_path / "bad" / "y.parquet").write_text("row,I,D\n1,2,3\n")
    with pytest.raises(core.DataError, match=r"y\.parquet: not a readable Parquet file"):
        core.open_dataset(tmp_path / "bad" / "y.parquet", y=1.0, client=client)
    with pytest.raises(core.DataError, match="no Parquet files found"):
        core.open_dataset(tmp_path / "nothing-*.parquet", y=1.0, client=client)


def test_cancel_stops_every_task(client, tmp_path):
    I, D = datasets.ragged(9, 300, 5)
    write(tmp_path / "c", I, D, files=3, group=20)
    pds = core.open_dataset(tmp_path / "c", y=9.0, client=client)
    stop = threading.Event()
    seen: list[float] = []

    def progress(f: float) -> None:
        seen.append(f)
        stop.set()

    grid = np.linspace(-3, 3, 60)
    with pytest.raises(core.Cancelled, match="cancelled with"):
        core.landscape(pds, grid, grid, progress=progress, cancel=stop)
    assert seen and seen == sorted(seen) and seen[-1] < 1.0

    def busy(dask_scheduler) -> int:
        return sum(ts.state in ("processing", "waiting") for ts in dask_scheduler.tasks.values())

    deadline = time.monotonic() + 10
    while client.run_on_scheduler(busy) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert client.run_on_scheduler(busy) == 0


def test_unreachable_scheduler_is_a_clear_error_within_seconds(monkeypatch, tmp_path):
    monkeypatch.setenv(partitioned.ENV_SCHEDULER, "tcp://127.0.0.1:9")
    monkeypatch.setattr(partitioned, "CONNECT_TIMEOUT", 1.0)
    t0 = time.perf_counter()
    with pytest.raises(core.DataError, match=r"cannot reach the Dask scheduler at 'tcp://127"):
        core.open_dataset(tmp_path, y=1.0)
    assert time.perf_counter() - t0 < 8


def test_import_core_does_not_import_dask():
    code = (
        "import sys, core\n"
        "assert core.open_dataset\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == "[]"


def test_parts_refused_and_with_y(pair):
    pds, ds, _, _ = pair
    with pytest.raises(core.DataError, match="parts=True returns"):
        core.evaluate(pds, 0.0, 0.0, parts=True)
    other = pds.with_y(2.0)
    assert other.y == 2.0 and other.fingerprint != pds.fingerprint
    assert core.evaluate(other, 0.1, 0.2).s == pytest.approx(core.evaluate(ds, 0.1, 0.2).s)


def test_cli_check_and_landscape_on_the_cluster(client, tmp_path, capsys):
    from dashboard.cli import main

    I, D = datasets.ragged(10, 40, 4)
    whole = write(tmp_path / "cli", I, D)
    address = client.scheduler.address
    # exit 1: y = 5 is out of reach of this centred data (the report's error), as in memory
    assert main(["check", str(tmp_path / "cli"), "--y", "5", "--scheduler", address]) == 1
    out, _ = capsys.readouterr()
    assert (
        out
        == core.sanity_report(core.load_dataset(whole, y=5.0))
        .to_text()
        .replace("Sanity report: cli-whole", f"Sanity report: {tmp_path / 'cli'}")
        + "\n"
    )
    out_file = tmp_path / "grid.npz"
    argv = ["landscape", str(tmp_path / "cli" / "*.parquet"), "--y", "5", "--box=-2,2,-1,1"]
    assert main([*argv, "--res", "8", "--out", str(out_file), "--scheduler", address]) == 0
    grid = core.load_landscape(out_file.read_bytes())
    want = core.landscape(
        core.load_dataset(whole, y=5.0), np.linspace(-2, 2, 8), np.linspace(-1, 1, 8),
        gradient=True,
    )  # fmt: skip
    np.testing.assert_allclose(grid.loss, want.loss, rtol=RTOL, atol=0)
    assert rel(grid.grad_beta, want.grad_beta) <= RTOL
    assert main(["check", str(tmp_path / "cli")]) == 2  # no --y
    assert "give the observed count with --y COUNT" in capsys.readouterr().err
    with pytest.raises(core.DataError, match="not a landscape file: it lacks alphas"):
        core.load_landscape(_npz(x=np.zeros(2)))


def _npz(**arrays) -> bytes:
    import io

    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def test_app_data_flags_become_the_environment(monkeypatch):
    import dashboard.cli as cli

    for name in ("LOSSLENS_DATA", "LOSSLENS_Y"):  # recorded, so the test leaves them as found
        monkeypatch.setenv(name, "")
    calls = []
    monkeypatch.setattr(cli.subprocess, "call", lambda cmd: calls.append(cmd) or 0)
    assert cli.main(["app", "--data", "/d", "--y=12", "--server.port", "8600"]) == 0
    assert calls[0][-2:] == ["--server.port", "8600"] and "--data" not in calls[0]
    assert (os.environ["LOSSLENS_DATA"], os.environ["LOSSLENS_Y"]) == ("/d", "12")
    assert cli.main(["app", "--data", "/d"]) == 2
