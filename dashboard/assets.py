"""The map's JavaScript and the URLs a browser loads it from. No Streamlit here:
dashboard/serve.py uses this before any page has run, dashboard/explore_map.py in one.

- ``explore_map.js``: the map's module (markup, style, logic).
- plotly.js: plotly.js's own *cartesian* bundle, vendored here (1.5 MB, MIT; it has every
  trace type the map draws: contour, heatmap, scatter) when its version is the one the
  ``plotly`` package ships, else that package's full ``plotly.min.js`` (4.8 MB): its
  figures' JSON is for its own plotly.js.

A URL carries the file's hash (``?v=``): it changes exactly when the file does, so the
server that ``losslens app`` starts (dashboard/serve.py) lets browsers keep the file for
a year, and V8 its compiled code. That server serves the files at ``_losslens/<name>``
and names them in the landscape page's HTML, so the browser fetches them while it
starts the app; plain ``streamlit run`` serves them as component files, uncached.
"""

from __future__ import annotations

import functools
import hashlib
import re
from pathlib import Path

import plotly

HERE = Path(__file__).parent
ASSETS = HERE / "explore_assets"
MODULE = ASSETS / "explore_map.js"
CARTESIAN = ASSETS / "plotly-cartesian.min.js"  # from npm: plotly.js-cartesian-dist-min
FULL = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
ROUTE = "_losslens"  # dashboard/serve.py serves the files at <app>/_losslens/<name>
ROUTE_ENV = "LOSSLENS_ASSET_ROUTE"  # set by dashboard/serve.py: the route exists


def plotly_js_version(path: Path) -> str | None:
    """The version in a plotly.js bundle's banner ("plotly.js (cartesian - minified) v4.1.1")."""
    with open(path, "rb") as f:
        banner = f.read(300).decode("ascii", "replace")
    found = re.search(r"plotly\.js (?:\([^)]*\) )?v(\d+\.\d+\.\d+\S*)", banner)
    return found.group(1) if found else None


def plotly_file(cartesian: Path = CARTESIAN) -> Path:
    """The plotly.js bundle the map loads (see the module docstring)."""
    if cartesian.exists() and plotly_js_version(cartesian) == plotly_js_version(FULL):
        return cartesian
    return FULL


@functools.cache
def version(path: Path) -> str:
    """The first 12 hex digits of the file's SHA-256 (read once per process)."""
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def files() -> dict[str, Path]:
    """name -> file, for every file the route serves."""
    bundle = plotly_file()
    return {MODULE.name: MODULE, bundle.name: bundle}


def route_url(path: Path) -> str:
    """``./_losslens/<name>?v=<hash>``, relative to the app's page."""
    return f"./{ROUTE}/{path.name}?v={version(path)}"


def head_tags() -> str:
    """What the landscape page's HTML gains: the browser fetches the map's module and
    plotly.js while it starts the app, and runs plotly.js once the page is parsed."""
    return (
        f'<link rel="modulepreload" href="{route_url(MODULE)}">'
        f'<script defer src="{route_url(plotly_file())}"></script>'
    )
