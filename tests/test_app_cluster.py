"""Data on a Dask cluster in the dashboard (issue 13): chosen on the Data page, explored
on the Landscape page (coarse map first, Step, Cancel), and landscape files uploaded.

One LocalCluster (tests/test_partitioned.py's fixture: 2 worker processes) serves the
module; the reference is always the same events in memory.
"""

from __future__ import annotations

import io
import threading

import numpy as np
import pytest

import core
from core import partitioned
from tests import datasets
from tests.apptest import assert_clean, button, new_app
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
    path, ds = env
    at = new_app()
    at.switch_page("views/data.py").run()
    assert_clean(at)
    # the path is shown as typed: its [x](y) is no link
    assert any("data\\_\\[x\\]\\(y\\)" in m.value for m in at.markdown)
    assert any("Dask dashboard" in m.value for m in at.markdown)
    _use_cluster(at)
    pds = at.session_state["dataset"]
    assert pds.fingerprint != ds.fingerprint and (pds.N, pds.E) == (ds.N, ds.E)
    # the Data page's report ran on the cluster: the in-memory report's findings
    want = core.sanity_report(ds, box=tuple(at.session_state["box"]))
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
