"""dashboard.serve: the server process does the first page's work before anyone asks,
and the map loads the smaller plotly.js bundle only when it matches plotly.py's."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from dashboard import compute, explore_map, serve, state

ROOT = Path(__file__).resolve().parents[1]


def test_warm_default_leaves_the_default_pages_grid_and_figure_in_the_shared_caches():
    ds, box, res, values = state.default_page()
    key = (ds.fingerprint, tuple(float(v) for v in box), res, True)
    compute._grids().items.pop(key, None)
    compute.map_base.clear()
    serve.warm_default(delay=0)
    grid = compute._grids().get(key)
    assert grid is not None and grid.shape == (res, res)
    # The page asks for the same figure: a cache hit returns the very same dict.
    figure = compute.map_base_for(
        grid, ds, compute.grid_key(ds, box, res), values["log_color"], values["arrows"]
    )
    assert figure is compute.map_base_for(
        grid, ds, compute.grid_key(ds, box, res), values["log_color"], values["arrows"]
    )
    assert {t.get("meta") for t in figure["data"]} >= {"log", "linear"}


def test_default_page_is_what_a_link_less_session_shows():
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "dashboard" / "app.py"), default_timeout=120).run()
    assert not at.exception
    ds, box, res, _ = state.default_page()
    assert at.session_state["dataset"].fingerprint == ds.fingerprint
    assert tuple(at.session_state["box"]) == pytest.approx(box)
    assert at.session_state["res"] == res


def test_warm_default_never_raises(monkeypatch, capsys):
    def broken():
        raise RuntimeError("no preset today")

    monkeypatch.setattr(state, "default_page", broken)
    serve.warm_default(delay=0)
    assert "was not precomputed" in capsys.readouterr().err


def test_the_server_module_imports_nothing_of_the_map_outside_a_page_run():
    """Streamlit registers a component's files only when it is declared in a page run: the
    server process must not import dashboard.explore_map before one."""
    code = (
        "import sys; from dashboard import serve; serve.import_first_page(); "
        "serve.warm_default(delay=0); print('dashboard.explore_map' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_the_map_loads_the_cartesian_bundle_of_plotly_pys_own_version():
    full = explore_map.plotly_js_version(explore_map.FULL)
    cartesian = explore_map.plotly_js_version(explore_map.CARTESIAN)
    assert cartesian and full, (cartesian, full)
    url, _, version = explore_map.PLOTLY_URL.partition("?v=")
    if cartesian == full:
        assert url.endswith("/plotly-cartesian.min.js")
        assert explore_map.CARTESIAN.stat().st_size < explore_map.FULL.stat().st_size / 2
    else:  # a newer plotly.py: its figures' JSON is for its own plotly.js
        assert url.endswith("/plotly.min.js")
    assert len(version) == 12


def test_another_plotly_py_gets_its_own_full_bundle_from_a_component_that_has_it(monkeypatch):
    monkeypatch.setattr(explore_map, "CARTESIAN", explore_map.ASSETS / "missing.js")
    url, _, version = explore_map.plotly_url().partition("?v=")
    _, name, file = url.rsplit("/", 2)
    assert file == "plotly.min.js" and name != explore_map._ASSETS.name
    assert explore_map.versioned(explore_map.FULL) == "?v=" + version


def test_a_versioned_url_changes_exactly_when_its_file_does(tmp_path):
    f = tmp_path / "a.js"
    f.write_text("one")
    first = explore_map.versioned(f)
    assert explore_map.versioned(f) == first
    f.write_text("two")
    assert explore_map.versioned(f) != first
    assert f"explore_map.js{explore_map.versioned(explore_map.MODULE)}'" in explore_map.LOADER


def _served(path: str, query: bytes, headers: list) -> list:
    """The response headers ImmutableAssets sends for a request, with ``headers`` from the app."""
    import asyncio

    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"x"})

    sent = []

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "path": path, "query_string": query}
    asyncio.run(serve.ImmutableAssets(app)(scope, None, send))
    return sent[0]["headers"]


def test_a_versioned_component_file_may_be_kept_and_nothing_else():
    public = [(b"content-type", b"text/javascript"), (b"cache-control", b"public")]
    kept = _served("/component/x.explore_assets/plotly.min.js", b"v=0123456789ab", public)
    assert (b"cache-control", serve.IMMUTABLE) in kept
    assert [v for k, v in kept if k == b"cache-control"] == [serve.IMMUTABLE]
    assert (b"content-type", b"text/javascript") in kept
    for path, query in [
        ("/component/x.explore_assets/explore_map.js", b""),  # no version: may change
        ("/_stcore/health", b"v=1"),
        ("/", b"v=1"),
    ]:
        assert _served(path, query, public) == public, path


def test_the_asset_cache_joins_streamlits_own_middleware(monkeypatch):
    from streamlit.web.server.starlette import starlette_app

    monkeypatch.setattr(
        starlette_app, "create_streamlit_middleware", starlette_app.create_streamlit_middleware
    )
    before = [m.cls for m in starlette_app.create_streamlit_middleware()]
    assert serve.install_asset_cache() and serve.install_asset_cache()  # twice: once in
    after = [m.cls for m in starlette_app.create_streamlit_middleware()]
    assert after == [*before, serve.ImmutableAssets]


def test_plotly_js_version_reads_both_banners(tmp_path):
    for banner, want in [
        ("/**\n* plotly.js v4.1.1\n* Copyright", "4.1.1"),
        ("/**\n* plotly.js (cartesian - minified) v3.0.0-rc.1\n*", "3.0.0-rc.1"),
        ("/* something else */", None),
    ]:
        f = tmp_path / "p.js"
        f.write_text(banner)
        assert explore_map.plotly_js_version(f) == want


def test_the_server_skips_streamlits_full_collection_after_every_run():
    """Streamlit's gc.collect(2) after each script run took ~0.1 s of a Step's ~0.11 s of
    server time (py-spy): `losslens app` (and Streamlit, next to app.py) turns it off."""
    from dashboard import cli

    assert "--runner.postScriptGC=false" in cli.config_flags()
