"""The dashboard's server process: ``python -m dashboard.serve run dashboard/app.py [flags]``,
what ``losslens app`` (and so scripts/run) starts. It is Streamlit's own ``streamlit run``
with three things done first, which a fresh server's first visitor would otherwise wait for:

- **Imports.** Everything the first page imports (pandas, which Streamlit's component
  serialiser pulls in, plotly, numba, core and the dashboard's modules) is imported before
  the server listens: ~1 s with bytecode, once per server rather than inside the first
  page's run. In the main thread, before any other: a module half-imported by one thread
  breaks another that imports it.
- **The default page's landscape.** Computed in a background thread, once the server is
  up, into the caches every session shares (dashboard/compute.py); numba's kernels are
  loaded from their cache on the way. A link-less first visit then finds its grid and its
  map figure ready. Never dashboard.explore_map here: Streamlit registers a component's
  files only when it is declared inside a page run.
- **The map's files, early and cached** (:class:`MapAssets`): served at a route of its
  own with their hash in the URL, so a browser keeps them (Streamlit sends component
  files uncached), and named in the landscape page's HTML, so the browser fetches
  plotly.js (1.5 MB) while it starts the app.
"""

from __future__ import annotations

import gc
import logging
import os
import sys
import threading
import time

from dashboard import assets

WARM_THREAD = "losslens-warm"
IMMUTABLE = b"public, max-age=31536000, immutable"


class MapAssets:
    """ASGI middleware, innermost in Streamlit's own stack, for the map's files
    (dashboard/assets.py):

    - ``GET <app>/_losslens/<name>?v=<hash>``: the file, kept by the browser for a year
      when the hash is the file's (Streamlit would send component files with
      ``Cache-Control: public`` and no validator: fetched and compiled on every load);
    - the landscape page's HTML (``<app>/``) names them in its head, so the browser
      fetches them while it starts the app rather than once the map's element arrives.
    """

    def __init__(self, app) -> None:
        self.app = app
        self.files = assets.files()
        self.tags = assets.head_tags().encode()
        self.index = _index_paths()  # built once Streamlit's config is read
        self.bodies: dict[str, bytes] = {}

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope.get("method") not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        folder, _, name = scope.get("path", "").rpartition("/")
        if folder.rpartition("/")[2] == assets.ROUTE:
            await self._file(scope, name, send)
        elif scope.get("path", "") in self.index:
            await self.app(scope, receive, _InjectHead(send, self.tags))
        else:
            await self.app(scope, receive, send)

    async def _file(self, scope, name: str, send) -> None:
        path = self.files.get(name)
        if path is None:
            await _respond(send, 404, [(b"content-type", b"text/plain")], b"no such file")
            return
        body = self.bodies.get(name) or self.bodies.setdefault(name, path.read_bytes())
        current = f"v={assets.version(path)}".encode() in scope.get("query_string", b"")
        headers = [
            (b"content-type", b"text/javascript; charset=utf-8"),
            (b"cache-control", IMMUTABLE if current else b"no-cache"),
            (b"x-content-type-options", b"nosniff"),
        ]
        await _respond(send, 200, headers, body, head=scope.get("method") == "HEAD")


def _index_paths() -> set[str]:
    """The landscape page's paths: the app's root, with and without its base path."""
    from streamlit import config

    base = (config.get_option("server.baseUrlPath") or "").strip("/")
    return {"/", f"/{base}", f"/{base}/"} if base else {"/"}


async def _respond(send, status: int, headers: list, body: bytes, head: bool = False) -> None:
    headers = [*headers, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if head else body})


class _InjectHead:
    """An ASGI ``send`` that adds ``tags`` before ``</head>`` of a 200 HTML response
    (buffered: the page's HTML is a few KB). Its validators go: the HTML is no longer the
    file they describe."""

    def __init__(self, send, tags: bytes) -> None:
        self.send, self.tags = send, tags
        self.start: dict | None = None
        self.body = b""

    async def __call__(self, message) -> None:
        if message["type"] == "http.response.start":
            headers = {k.lower(): v for k, v in message.get("headers", [])}
            html = headers.get(b"content-type", b"").startswith(b"text/html")
            if message.get("status") == 200 and html:
                self.start = message
                return
        elif message["type"] == "http.response.body" and self.start is not None:
            self.body += message.get("body", b"")
            if message.get("more_body", False):
                return
            body = self.body.replace(b"</head>", self.tags + b"</head>", 1)
            drop = {b"content-length", b"etag", b"last-modified"}
            kept = [h for h in self.start.get("headers", []) if h[0].lower() not in drop]
            await _respond(self.send, 200, kept, body)
            return
        await self.send(message)


def install_map_assets() -> bool:
    """Add :class:`MapAssets` to Streamlit's own middleware (its Starlette server) and
    tell the map (dashboard/explore_map.py) to use its route. False, and nothing
    changed, on a Streamlit without that server: the map then loads its files as
    component files, uncached."""
    try:
        from starlette.middleware import Middleware
        from streamlit.web.server.starlette import starlette_app
    except ImportError:
        return False
    original = getattr(starlette_app, "create_streamlit_middleware", None)
    if original is None:
        return False
    if not getattr(original, "losslens", False):

        def with_map_assets():
            return [*original(), Middleware(MapAssets)]

        with_map_assets.losslens = True
        starlette_app.create_streamlit_middleware = with_map_assets
    os.environ[assets.ROUTE_ENV] = "1"
    return True


def import_first_page() -> None:
    """Import what the first page needs (see the module docstring). The dashboard's own
    modules wait for the server (their caches are made for its runtime): the warm thread."""
    import inspect

    import numba  # noqa: F401
    import pandas  # noqa: F401
    import plotly.graph_objects  # noqa: F401

    import core  # noqa: F401

    # Streamlit names a component by the module that declares it, with inspect.getmodule,
    # whose first call resolves the path of every loaded module (~0.3-0.5 s); it keeps
    # what it resolved, so it is paid here rather than in the first page's run.
    inspect.getmodule(inspect.currentframe())


def warm_default(delay: float = 0.5) -> None:
    """The default page's grid and map figure into the shared caches (in a thread).

    delay : seconds to leave the server alone while it starts listening.
    """
    time.sleep(delay)
    try:
        from dashboard import compute, export, figures, state  # noqa: F401

        ds, box, res, values = state.default_page()
        grid = compute.landscape(ds, box, res, True)
        key = compute.grid_key(ds, box, res)
        compute.map_base_for(grid, ds, key, values["log_color"], values["arrows"])
    except Exception as exc:  # a warm-up must never stop the server; the page computes it
        print(f"losslens: the default landscape was not precomputed ({exc!r})", file=sys.stderr)


class _QuietWarmThread(logging.Filter):
    """Drops Streamlit's "missing ScriptRunContext" warning for the warm thread, which by
    design runs outside any page (every other thread keeps the warning)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.threadName != WARM_THREAD


def main(argv: list[str]) -> int:
    import_first_page()
    # What is imported lives as long as the server: Python's collector need not walk it
    # again (Streamlit's own collection after each run is off: .streamlit/config.toml).
    gc.freeze()
    from streamlit.web import cli as streamlit_cli

    logging.getLogger("streamlit.runtime.scriptrunner_utils.script_run_context").addFilter(
        _QuietWarmThread()
    )

    install_map_assets()
    threading.Thread(target=warm_default, name=WARM_THREAD, daemon=True).start()
    sys.argv = ["streamlit", *argv]
    return streamlit_cli.main()


if __name__ == "__main__":  # spawned processes (Dask's workers) import this without running it
    sys.exit(main(sys.argv[1:]))
