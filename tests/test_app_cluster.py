"""Data on a Dask cluster in the dashboard (issue 13): chosen on the Data page, explored
on the Landscape page (coarse map first, Step, Cancel), and landscape files uploaded.

One LocalCluster (tests/test_partitioned.py's fixture: 2 worker processes) serves the
module; the reference is always the same events in memory.
"""

from __future__ import annotations

import io
import time

import numpy as np
import pytest

import core
from core import partitioned
from dashboard import urlcodec
from tests import datasets
from tests.apptest import assert_clean, button, decode, new_app
from tests.test_app_landscape import map_base, map_paths
from tests.test_partitioned import RTOL, client, write  # noqa: F401 (client: a fixture)

pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def data(client, tmp_path_factory):  # noqa: F811
    """(directory of long Parquet, the same events in memory), y = 36."""
    I, D = datasets.ragged(11, 60, 4)
    tmp = tmp_path_factory.mktemp("app") / "data_[x](y)"  # Markdown in the path: shown as is
    whole = write(tmp, I, D)
    return tmp, core.load_dataset(whole, y=36.0)


@pytest.fixture
def env(client, data, monkeypatch):  # noqa: F811
    monkeypatch.setenv("LOSSLENS_DATA", str(data[0]))
    monkeypatch.setenv("LOSSLENS_Y", "36")
    monkeypatch.setenv(partitioned.ENV_SCHEDULER, client.scheduler.address)
    return data


def _use_cluster(at):
    at.switch_page("views/data.py").run()
    button(at, "Use the cluster data").click().run()
    assert_clean(at)
    assert getattr(at.session_state["dataset"], "is_partitioned", False)
    return at


def test_cluster_data_drive_the_landscape_page_and_back_to_memory(env):
    _, ds = env
    at = new_app()
    at.switch_page("views/data.py").run()
    assert_clean(at)
    # the path is shown as typed: its [x](y) is no link
    assert any("data\\_\\[x\\]\\(y\\)" in m.value for m in at.markdown)
    assert any("Dask dashboard" in m.value for m in at.markdown)
    _use_cluster(at)
    pds = at.session_state["dataset"]
    assert pds.fingerprint != ds.fingerprint and (pds.N, pds.E) == (ds.N, ds.E)
    # the Data page's report runs on the cluster when asked: the in-memory report's findings
    assert any("it runs when you ask" in c.value for c in at.caption)
    assert not any("checks passed" in m.value for m in at.markdown)
    button(at, "Sanity report on the cluster").click().run()
    assert_clean(at)
    want = core.sanity_report(ds, box=tuple(at.session_state["box"]))
    n = {sev: sum(f.severity == sev for f in want) for sev in core.SEVERITIES}
    counts = f"**{n['error']}** errors, **{n['warning']}** warnings, **{n['note']}** notes"
    assert any(m.value.startswith(counts) for m in at.markdown)
    shown = " ".join(m.value for m in at.markdown)
    for finding in want:
        if finding.severity != "ok":
            assert finding.title in " ".join(e.value for e in [*at.warning, *at.info]) + shown
    assert any("preview and the histograms needs the data's rows" in i.value for i in at.info)

    at.switch_page("views/landscape.py").run()
    assert_clean(at)
    assert any("Cluster data" in i.value for i in at.info)
    box, res = at.session_state["box"], at.session_state["res"]
    alphas, betas = np.linspace(box[0], box[1], res), np.linspace(box[2], box[3], res)
    grid = core.landscape(ds, alphas, betas)
    assert at.session_state["start"] == core.suggest_start(ds, box)  # a sample of all rows
    button(at, "Step").click().run()
    button(at, "Step").click().run()
    assert_clean(at)
    for name, run in at.session_state["runs"].items():
        want_run = core.descend(ds, name, start=at.session_state["start"], steps=2)
        np.testing.assert_allclose(run.params, want_run.params, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(
        map_paths(at)["gd"]["params"], at.session_state["runs"]["gd"].params, rtol=1e-6
    )
    from dashboard import compute

    got = compute._grids().get((pds.fingerprint, tuple(box), res, True))
    np.testing.assert_allclose(got.s, grid.s, rtol=RTOL, atol=0)  # L = ½(y − s)² cancels
    assert map_base(at)["loss (log)"]["z"]  # the map component got that grid

    at.switch_page("views/derivation.py").run()
    assert_clean(at)
    assert any("derivation" in i.value and "rows in memory" in i.value for i in at.info)

    at.switch_page("views/data.py").run()  # back to data in memory
    button(at, "Load preset").click().run()
    assert_clean(at)
    assert isinstance(at.session_state["dataset"], core.Dataset)
    at.switch_page("views/landscape.py").run()
    assert_clean(at)
    assert not any("Cluster data" in i.value for i in at.info)
    assert at.session_state["runs"] == {}


def _busy(client) -> int:  # noqa: F811
    def busy(dask_scheduler) -> int:
        return sum(ts.state in ("processing", "waiting") for ts in dask_scheduler.tasks.values())

    return client.run_on_scheduler(busy)


@pytest.fixture(scope="module")
def pds(client, data):  # noqa: F811
    return core.open_dataset(data[0], y=36.0, client=client)


def test_the_cluster_map_comes_coarse_first_with_the_full_grids_values(pds, data):
    from dashboard import compute

    box, seen, fractions = (-2.0, 2.0, -1.5, 1.0), [], []
    grid = compute.landscape(pds, box, 40, True, progress=fractions.append, coarse=seen.append)
    assert [g.shape for g in seen] == [(16, 16)]  # one 16 × 16 map, then the full 40 × 40
    assert grid.shape == (40, 40) and fractions == sorted(fractions) and fractions[-1] == 1.0
    cols = np.searchsorted(grid.alphas, seen[0].alphas)
    rows = np.searchsorted(grid.betas, seen[0].betas)
    np.testing.assert_array_equal(grid.alphas[cols], seen[0].alphas)
    np.testing.assert_allclose(seen[0].s, grid.s[np.ix_(rows, cols)], rtol=RTOL, atol=0)
    want = core.landscape(data[1], grid.alphas, grid.betas)
    np.testing.assert_allclose(grid.s, want.s, rtol=RTOL, atol=0)


def test_a_page_stopped_mid_map_cancels_the_clusters_tasks(pds, client):  # noqa: F811
    """What a Cancel click does: Streamlit stops the script at its next draw (here the
    bar's first: how many draws a pass makes depends on how many of its tasks finish
    together, and a third draw never came in one CI run), and every task of the pass is
    cancelled; nothing is cached."""
    from dashboard import cluster_view, compute

    class Stopped(BaseException):  # like Streamlit's StopException
        pass

    class Bar:
        draws = 0

        def progress(self, f, text=""):
            self.draws += 1
            if self.draws == 1:
                raise Stopped

    ticker = cluster_view.Ticker(Bar(), "Landscape")
    box = (-3.0, 3.0, -3.0, 2.5)
    with pytest.raises(Stopped):
        compute.landscape(pds, box, 120, True, progress=ticker.progress, cancel=ticker.tick)
    assert not compute.landscape_cached(pds, box, 120, True)
    deadline = time.monotonic() + 10
    while _busy(client) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _busy(client) == 0


def test_watching_gives_the_report_and_steps_progress_and_cancel(pds):
    seen: list[float] = []
    with partitioned.watching(progress=seen.append):
        core.advance(pds, core.start_run(pds, "gd", (0.1, 0.2)), 1)
    assert seen and seen[-1] == 1.0  # each pass over the partitions reports
    with pytest.raises(core.Cancelled), partitioned.watching(cancel=lambda: True):
        core.sanity_report(pds)
    assert core.sanity_report(pds).codes  # outside the block: no watcher left behind


def test_a_sample_of_every_row_is_the_data_in_memory(pds, data):
    ds = data[1]
    whole = pds.sample(rows=ds.N)
    np.testing.assert_array_equal(whole.I, ds.I)
    np.testing.assert_array_equal(whole.D, ds.D)
    assert whole.y == ds.y
    part = pds.sample(rows=20)  # every 3rd row of each partition, y scaled alike
    assert part.N <= 30 and part.y == pytest.approx(ds.y * part.N / ds.N)
    box = (-3.0, 3.0, -3.0, 3.0)
    assert core.suggest_start(pds, box) == core.suggest_start(ds, box)


def test_cancel_on_the_landscape_page_keeps_the_steps_and_offers_the_map_again(env):
    from dashboard import compute

    at = _use_cluster(new_app())
    at.switch_page("views/landscape.py").run()
    button(at, "Step").click().run()
    runs = dict(at.session_state["runs"])
    at.session_state["res"] = 30  # a map not computed yet; Cancel pressed as it starts
    button(at, "Cancel").click().run()
    assert_clean(at)
    pds, box = at.session_state["dataset"], at.session_state["box"]
    assert any("Cancelled: nothing runs on the cluster" in i.value for i in at.info)
    assert not compute.landscape_cached(pds, box, 30, True)
    assert at.session_state["runs"].keys() == runs.keys()
    at.run()  # still cancelled on the next rerun: no work behind the user's back
    assert not compute.landscape_cached(pds, box, 30, True)
    button(at, "Compute the map").click().run()
    assert_clean(at)
    assert compute.landscape_cached(pds, box, 30, True)
    assert not any("Cancelled" in i.value for i in at.info)


def _npz(grid) -> bytes:
    buf = io.BytesIO()
    core.save_landscape(grid, buf)
    return buf.getvalue()


def test_a_landscape_file_opens_through_the_upload_tab():
    at = new_app()
    ds = at.session_state["dataset"]  # the default preset, in memory
    alphas, betas = np.linspace(-1.0, 2.0, 30), np.linspace(-2.5, 0.5, 20)
    other = core.landscape(core.make_preset("balanced", seed=5), alphas, betas, gradient=True)
    mine = core.landscape(ds, alphas, betas, gradient=True)
    for name, grid, can_step in (("other.npz", other, False), ("mine.npz", mine, True)):
        at.switch_page("views/data.py").run()
        at.file_uploader(key="up_one").upload(name, _npz(grid), "application/octet-stream").run()
        button(at, "Load upload").click().run()
        assert_clean(at)
        assert at.session_state["dataset"] is ds  # the data stay; the map is the file's
        at.switch_page("views/landscape.py").run()
        assert_clean(at)
        shown = " ".join(i.value for i in at.info)
        a, b = grid.argmin()
        assert f"**{name}**" in shown and f"at (α, β) = ({a:g}, {b:g})" in shown
        z = map_base(at)["loss (log)"]
        np.testing.assert_allclose(decode(z["x"]), alphas, rtol=1e-6)
        np.testing.assert_allclose(decode(z["y"]), betas, rtol=1e-6)
        assert button(at, "Step").disabled is not can_step
        assert ("Descent needs data" in shown) is not can_step
        if can_step:
            button(at, "Step").click().run()
            assert_clean(at)
            assert {r.params.shape for r in at.session_state["runs"].values()} == {(2, 2)}
    button(at, "Close the landscape file").click().run()
    assert_clean(at)
    assert at.session_state.get("grid_file") is None
    assert map_base(at)["loss (log)"]  # the computed map again


def test_a_link_made_on_cluster_data_reopens_them(env):
    """?data=cluster opens the server's partitioned data; a server without any says so."""
    at = new_app()
    _use_cluster(at)
    # What the end of the run writes into the URL (the browser test sees it in the address).
    link = urlcodec.encode(at.session_state)
    assert link.get("data") == "cluster" and "preset" not in link, link
    assert str(env[0]) not in " ".join(link.values())  # the server's path stays out
    again = new_app({**link, "res": "16"})
    assert_clean(again)
    assert getattr(again.session_state["dataset"], "is_partitioned", False)
    assert again.session_state["source"]["kind"] == "cluster"


def test_a_cluster_link_on_a_server_without_cluster_data_says_so(monkeypatch):
    monkeypatch.delenv("LOSSLENS_DATA", raising=False)
    at = new_app({"data": "cluster", "res": "16"})
    assert not at.exception
    assert not getattr(at.session_state["dataset"], "is_partitioned", False)
    assert any("started without any" in w.value for w in at.warning)
