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
- **Cacheable map code.** Streamlit serves a component's files with ``Cache-Control:
  public`` and no validator, so a browser fetches and compiles plotly.js (1.5 MB) again on
  every load. The map asks for its files with ``?v=<version>`` in the URL
  (dashboard/explore_map.py); such a URL never changes what it serves, and
  :class:`ImmutableAssets` lets the browser keep it (and V8 its compiled code).
"""

from __future__ import annotations

import gc
import logging
import sys
import threading
import time

WARM_THREAD = "losslens-warm"
IMMUTABLE = b"public, max-age=31536000, immutable"


class ImmutableAssets:
    """ASGI middleware: a component file asked for with a version in its query
    (``/component/<name>/<file>?v=…``) may be kept by the browser for a year."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        versioned = (
            scope["type"] == "http"
            and "/component/" in scope.get("path", "")
            and b"v=" in scope.get("query_string", b"")
        )
        if not versioned:
            await self.app(scope, receive, send)
            return

        async def send_cacheable(message) -> None:
            if message["type"] == "http.response.start" and message.get("status") == 200:
                kept = [h for h in message.get("headers", []) if h[0].lower() != b"cache-control"]
                message = {**message, "headers": [*kept, (b"cache-control", IMMUTABLE)]}
            await send(message)

        await self.app(scope, receive, send_cacheable)


def install_asset_cache() -> bool:
    """Add :class:`ImmutableAssets` to Streamlit's own middleware (its Starlette server).
    False, and nothing changed, on a Streamlit without that server: the map then loads
    as before, uncached."""
    try:
        from starlette.middleware import Middleware
        from streamlit.web.server.starlette import starlette_app
    except ImportError:
        return False
    original = getattr(starlette_app, "create_streamlit_middleware", None)
    if original is None or getattr(original, "losslens", False):
        return original is not None

    def with_asset_cache():
        return [*original(), Middleware(ImmutableAssets)]

    with_asset_cache.losslens = True
    starlette_app.create_streamlit_middleware = with_asset_cache
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

    install_asset_cache()
    threading.Thread(target=warm_default, name=WARM_THREAD, daemon=True).start()
    sys.argv = ["streamlit", *argv]
    return streamlit_cli.main()


if __name__ == "__main__":  # spawned processes (Dask's workers) import this without running it
    sys.exit(main(sys.argv[1:]))
