"""dashboard.serve: the server process does the first page's work before anyone asks,
and the map loads the smaller plotly.js bundle only when it matches plotly.py's."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from dashboard import assets, compute, explore_map, serve, state

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
    full = assets.plotly_js_version(assets.FULL)
    cartesian = assets.plotly_js_version(assets.CARTESIAN)
    assert cartesian and full, (cartesian, full)
    url, _, version = explore_map.PLOTLY_URL.partition("?v=")
    if cartesian == full:
        assert url.endswith("/plotly-cartesian.min.js")
        assert assets.CARTESIAN.stat().st_size < assets.FULL.stat().st_size / 2
    else:  # a newer plotly.py: its figures' JSON is for its own plotly.js
        assert url.endswith("/plotly.min.js")
    assert version == assets.version(assets.plotly_file())


def test_another_plotly_py_gets_its_own_full_bundle_from_a_component_that_has_it(tmp_path):
    assert assets.plotly_file(tmp_path / "missing.js") == assets.FULL
    url, _, version = explore_map.asset_url(assets.FULL).partition("?v=")
    _, name, file = url.rsplit("/", 2)
    assert file == "plotly.min.js" and name != explore_map._ASSETS.name
    assert version == assets.version(assets.FULL)


def test_a_url_carries_its_files_hash(tmp_path):
    one, two = tmp_path / "one.js", tmp_path / "two.js"
    one.write_text("one")
    two.write_text("two")
    assert assets.version(one) != assets.version(two)
    assert assets.route_url(one) == f"./_losslens/one.js?v={assets.version(one)}"
    assert f"explore_map.js?v={assets.version(assets.MODULE)}'" in explore_map.LOADER


def _asgi(middleware_app, path: str, query: bytes = b"", method: str = "GET") -> tuple:
    """(status, headers dict, body) of one request through ``middleware_app``."""
    sent = []

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": method, "path": path, "query_string": query}
    # a thread of its own: another test of this worker may have left an event loop running
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, middleware_app(scope, None, send)).result()
    start = sent[0]
    body = b"".join(m.get("body", b"") for m in sent[1:])
    return start["status"], dict(start["headers"]), body


def _streamlit_page(chunks: list[bytes], content_type: bytes = b"text/html"):
    """An ASGI app answering every request with ``chunks`` (a file response, validators on)."""

    async def app(scope, receive, send):
        headers = [(b"content-type", content_type), (b"etag", b'"abc"')]
        headers.append((b"content-length", str(sum(map(len, chunks))).encode()))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        for i, chunk in enumerate(chunks):
            more = i < len(chunks) - 1
            await send({"type": "http.response.body", "body": chunk, "more_body": more})

    return app


def test_the_asset_route_serves_the_maps_files_and_lets_a_versioned_url_be_kept():
    mw = serve.MapAssets(_streamlit_page([b"<html><head></head></html>"]))
    v = assets.version(assets.MODULE).encode()
    status, headers, body = _asgi(mw, "/_losslens/explore_map.js", b"v=" + v)
    assert status == 200 and body == assets.MODULE.read_bytes()
    assert headers[b"cache-control"] == serve.IMMUTABLE
    assert headers[b"content-type"].startswith(b"text/javascript")
    assert int(headers[b"content-length"]) == len(body)
    # another version (a page from before an upgrade) or none: the file, not to be kept
    for query in (b"v=000000000000", b""):
        status, headers, body = _asgi(mw, "/_losslens/explore_map.js", query)
        assert status == 200 and headers[b"cache-control"] == b"no-cache"
    plotly_name = assets.plotly_file().name
    status, headers, body = _asgi(mw, f"/base/_losslens/{plotly_name}", method="HEAD")
    assert status == 200 and body == b""
    assert int(headers[b"content-length"]) == assets.plotly_file().stat().st_size
    for path in ("/_losslens/app.py", "/_losslens/"):  # only the map's files
        assert _asgi(mw, path)[0] == 404, path
    assert _asgi(mw, "/_losslens/../serve.py")[2] == b"<html><head></head></html>"  # not ours


def test_the_landscape_pages_html_names_the_maps_files_and_nothing_else_changes():
    page = [b"<html><head><title>x</title>", b"</head><body></body></html>"]
    mw = serve.MapAssets(_streamlit_page(page))
    status, headers, body = _asgi(mw, "/")
    tags = assets.head_tags().encode()
    assert status == 200 and body == b"<html><head><title>x</title>" + tags + page[1]
    assert int(headers[b"content-length"]) == len(body)
    assert b"etag" not in headers, "the validator described the file, not this page"
    assert assets.route_url(assets.MODULE).encode() in tags
    assert assets.route_url(assets.plotly_file()).encode() in tags
    # another page, or something not HTML: passed through as it came
    for path, kind in [("/data", b"text/html"), ("/", b"application/json")]:
        mw = serve.MapAssets(_streamlit_page(page, kind))
        status, headers, body = _asgi(mw, path)
        assert body == b"".join(page) and headers[b"etag"] == b'"abc"', path


def test_the_asset_route_joins_streamlits_own_middleware(monkeypatch):
    from streamlit.web.server.starlette import starlette_app

    monkeypatch.setattr(
        starlette_app, "create_streamlit_middleware", starlette_app.create_streamlit_middleware
    )
    monkeypatch.delenv(assets.ROUTE_ENV, raising=False)
    before = [m.cls for m in starlette_app.create_streamlit_middleware()]
    assert serve.install_map_assets() and serve.install_map_assets()  # twice: once in
    after = [m.cls for m in starlette_app.create_streamlit_middleware()]
    assert after == [*before, serve.MapAssets]
    assert os.environ[assets.ROUTE_ENV] == "1"


def test_plotly_js_version_reads_both_banners(tmp_path):
    for banner, want in [
        ("/**\n* plotly.js v4.1.1\n* Copyright", "4.1.1"),
        ("/**\n* plotly.js (cartesian - minified) v3.0.0-rc.1\n*", "3.0.0-rc.1"),
        ("/* something else */", None),
    ]:
        f = tmp_path / "p.js"
        f.write_text(banner)
        assert assets.plotly_js_version(f) == want


def test_the_server_skips_streamlits_full_collection_after_every_run():
    """Streamlit's gc.collect(2) after each script run took ~0.1 s of a Step's ~0.11 s of
    server time (py-spy): `losslens app` (and Streamlit, next to app.py) turns it off."""
    from dashboard import cli

    assert "--runner.postScriptGC=false" in cli.config_flags()
