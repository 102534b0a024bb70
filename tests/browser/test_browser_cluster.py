"""Data on a Dask cluster in a real browser: the app started as ``losslens app --data DIR
--y COUNT`` does it (LOSSLENS_DATA, LOSSLENS_Y; the app's own embedded LocalCluster),
the partitioned data chosen on the Data page, its map drawn and one Step taken."""

from __future__ import annotations

import pytest

import core
from tests import datasets
from tests.browser.conftest import OUT, Server
from tests.test_partitioned import write

try:
    from playwright.sync_api import expect
except ImportError:  # the fixtures skip (or fail under LOSSLENS_REQUIRE_BROWSER=1)
    pass

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def cluster_server(browser, tmp_path_factory):
    """A server of its own, started with the environment `losslens app --data` sets."""
    I, D = datasets.ragged(11, 60, 4)
    path = tmp_path_factory.mktemp("cluster") / "events"
    whole = write(path, I, D)
    OUT.mkdir(parents=True, exist_ok=True)
    server = Server(OUT / "server-cluster.log")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LOSSLENS_DATA", str(path))
        mp.setenv("LOSSLENS_Y", "36")
        mp.delenv(core.partitioned.ENV_SCHEDULER, raising=False)
        server.start()
    try:
        yield server, core.load_dataset(whole, y=36.0)
    finally:
        server.stop()


def test_cluster_data_map_and_one_step(cluster_server, browser):
    from tests.browser.conftest import VIEWPORT, App

    server, ds = cluster_server
    context = browser.new_context(viewport=VIEWPORT)
    app = App(page=context.new_page(), server=server)
    page = app.page
    try:
        app.open("/data")
        use = page.get_by_role("button", name="Use the cluster data")
        expect(use).to_be_visible(timeout=90_000)  # the embedded cluster starts first
        app.wait_idle(timeout=90_000)
        use.click()
        expect(page.get_by_text("In use: the Landscape page's map")).to_be_visible(timeout=60_000)
        app.wait_idle(timeout=60_000)
        # The link names the cluster data (not where they lie): it reopens them.
        page.wait_for_function("() => /[?&]data=cluster/.test(location.search)")
        page.get_by_role("link", name="Landscape & descent").click()
        expect(page.get_by_text("Cluster data", exact=False).first).to_be_visible()
        expect(page.get_by_text(f"N = {ds.N:,} rows × E = {ds.E} events")).to_be_visible()
        app.wait_map(timeout=90_000)
        app.wait_idle(timeout=90_000)
        page.get_by_role("button", name="Step", exact=True).click()
        app.wait_idle(timeout=60_000)
        expect(page.get_by_text("reached 1 step").first).to_be_visible(timeout=30_000)
        # The text comes with the run; the map draws the paths just after it.
        page.wait_for_function(
            """() => { const g = document.querySelector('.ll-paths');
                       return !!(g && g._fullData && g._fullData.some(
                           t => (t.name === 'gd' || t.name === 'adam') && t._length === 2)); }"""
        )
        traces = app.map_traces()
        assert any(t.get("nx") == 2 for name, t in traces.items() if name in ("gd", "adam"))
        print(f"screenshot: {app.shot('cluster-landscape-after-step')}", flush=True)
        app.assert_no_errors()
    finally:
        context.close()
