"""Harness for the browser tests: one streamlit server and one chromium per session, a fresh
browser context and page per test, page errors collected and checked after every test,
full-page screenshots and printed timings saved under ``test-output/browser/``.

The browser is Debian's ``/usr/bin/chromium`` (``LOSSLENS_CHROMIUM`` names another binary;
Playwright's own browser downloads are never used). Without it every browser test skips with
the reason, unless ``LOSSLENS_REQUIRE_BROWSER=1`` (set by CI), where they fail with it instead.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from dashboard.cli import config_flags

try:
    from playwright.sync_api import Browser, ConsoleMessage, Page, expect, sync_playwright
    from playwright.sync_api import Error as PlaywrightError

    # A page's first open in a fresh browser loads Streamlit's element scripts lazily
    # (seconds on 2 shared cores): expectations wait as long as actions do.
    expect.set_options(timeout=30_000)
except ImportError:  # reported by _unavailable(): skip, or fail under LOSSLENS_REQUIRE_BROWSER=1
    sync_playwright = None

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "test-output" / "browser"
CHROMIUM = Path(os.environ.get("LOSSLENS_CHROMIUM", "/usr/bin/chromium"))  # Debian's package
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1400, "height": 1000}
STARTUP_TIMEOUT_S = 60.0
ACTION_TIMEOUT_MS = 30_000
REQUIRE_ENV = "LOSSLENS_REQUIRE_BROWSER"

# Selectors shared by the tests.
MAP = ".js-plotly-plot"  # the landscape map is the first Plotly chart on its page
# The contour's paths on screen (the map hides the loss contour of the other colour by CSS).
CONTOUR = '.js-plotly-plot .contourlayer > g.contour:not([style*="display: none"]) path'
# The titles of the map's colour bars on screen: the map draws the loss in log and in
# linear colour and shows one by CSS (dashboard/explore_assets/explore_map.js).
SHOWN_COLORBARS_JS = """sel => Array.from(
        document.querySelector(sel).querySelectorAll('g.colorbar'))
    .filter(g => g.style.display !== 'none')
    .map(g => g.querySelector('.cbtitle')?.textContent.trim())"""


def colorbar_is_js(title: str) -> str:
    """A page function: true once the one colour bar on screen is titled ``title``."""
    return (
        f"sel => {{ const t = ({SHOWN_COLORBARS_JS})(sel);"
        f" return t.length === 1 && t[0] === {title!r}; }}"
    )


IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
RUNNING_ICON = '[data-testid="stStatusWidgetRunningIcon"]'
BASE_PATH_PROBE = re.compile(r"^/[^?#]+/_stcore/(health|host-config)$")


def _unavailable() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if sync_playwright is None:
        return (
            "the Python package playwright is not installed "
            "(it is in the test extras: uv pip install -e '.[test]')"
        )
    if not CHROMIUM.exists():
        return (
            f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium); "
            "these tests never download Playwright's own browsers"
        )
    return None


def _skip_or_fail(reason: str) -> None:
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"browser tests are required ({REQUIRE_ENV}=1) but {reason}", pytrace=False)
    pytest.skip(f"browser tests skipped: {reason}")


# -- the streamlit server ------------------------------------------------------------------


class Server:
    """The dashboard's server (``losslens app``) on a free local port, its log in
    test-output/browser/.

    ``ensure_running`` starts it again (new port, same log) when it died between tests — on a
    shared machine something may stop it from outside — and warns, so it is never silent.
    """

    MAX_RESTARTS = 2

    def __init__(self, log_path: Path) -> None:
        self.log_path = log_path
        self.base = ""
        self.proc: subprocess.Popen | None = None
        self.restarts = 0
        self.opened: list[str] = []  # paths opened so far, in order

    def start(self) -> None:
        port = _free_port()
        self.base = f"http://127.0.0.1:{port}"
        # As `losslens app` starts it: dashboard.serve (imports and the default grid first)
        # with the dashboard's own config.
        cmd = [
            sys.executable,
            "-m",
            "dashboard.serve",
            "run",
            "dashboard/app.py",
            *config_flags(),
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--server.headless",
            "true",
            "--browser.gatherUsageStats",
            "false",
            # Other work may edit sources during the run: a watcher would only offer reruns.
            "--server.fileWatcherType",
            "none",
        ]
        with open(self.log_path, "a") as log:
            log.write(f"\n=== {time.strftime('%H:%M:%S')} {' '.join(cmd[1:])}\n")
            log.flush()
            self.proc = subprocess.Popen(
                cmd,
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        self._wait_healthy()

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        url = f"{self.base}/_stcore/health"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(
                    f"streamlit exited with code {self.proc.returncode} before answering "
                    f"{url}; its log:\n{self.log_tail()}",
                    pytrace=False,
                )
            try:
                with urllib.request.urlopen(url, timeout=2) as resp:
                    if resp.read().strip() == b"ok":
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.2)
        pytest.fail(
            f"streamlit did not answer {url} with 'ok' within {STARTUP_TIMEOUT_S:.0f} s; "
            f"its log:\n{self.log_tail()}",
            pytrace=False,
        )

    def ensure_running(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            return
        code = None if self.proc is None else self.proc.returncode
        if self.restarts >= self.MAX_RESTARTS:
            pytest.fail(f"streamlit keeps dying (exit code {code}); its log:\n{self.log_tail()}")
        self.restarts += 1
        warnings.warn(
            f"the streamlit server had exited (code {code}; it exits with 0 on a SIGTERM, and "
            f"nothing here stops it before the session ends: something outside did) before "
            f"this test: started it again. Log: {self.log_path}",
            stacklevel=2,
        )
        print(f"[server] exited with code {code}; restarting", flush=True)
        self.start()

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def log_tail(self, lines: int = 60) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError as exc:
            return f"(no server log: {exc})"
        return "\n".join(text.splitlines()[-lines:])


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def server() -> Iterator[Server]:
    """The app's server for the session; the log goes to test-output/browser/server.log."""
    reason = _unavailable()
    if reason:
        _skip_or_fail(reason)
    OUT.mkdir(parents=True, exist_ok=True)
    log_path = OUT / "server.log"
    log_path.write_text("")
    server = Server(log_path)
    try:
        server.start()
        yield server
    finally:
        server.stop()


# -- the browser -----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    reason = _unavailable()
    if reason:
        _skip_or_fail(reason)
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


# -- timings ---------------------------------------------------------------------------------


class Timings:
    """Printed as they come (run pytest with -s) and appended to test-output/browser/timings.txt."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            f"# losslens browser timings, {time.strftime('%Y-%m-%d %H:%M:%S')}, "
            f"{os.cpu_count()} cores (shared: noisy)\n"
        )

    def record(self, what: str, seconds: float) -> None:
        line = f"{what}: {seconds:.2f} s"
        print(f"[timing] {line}", flush=True)
        with open(self.path, "a") as fh:
            fh.write(line + "\n")


@pytest.fixture(scope="session")
def timings() -> Timings:
    return Timings(OUT / "timings.txt")


# -- one page per test -----------------------------------------------------------------------


@dataclass
class App:
    """A fresh page on the running app, with the errors it raised.

    ``errors``: uncaught page errors and console errors from the app's own origin.
    ``noise``: console errors that are not the app's, kept for the record: resources outside
    its origin (the machine is offline; e.g. the material-symbol favicon Streamlit fetches from
    fonts.gstatic.com), and the 404s of Streamlit probing a page's URL (/data/_stcore/health)
    as the server's base path before it falls back to /.
    """

    page: Page
    server: Server
    errors: list[str] = field(default_factory=list)
    noise: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.page.on("pageerror", self._on_pageerror)
        self.page.on("console", self._on_console)

    def _on_pageerror(self, err: PlaywrightError) -> None:
        self.errors.append(f"pageerror: {err.message}\n{err.stack or ''}".rstrip())

    def _on_console(self, msg: ConsoleMessage) -> None:
        if msg.type != "error":
            return
        where = (msg.location or {}).get("url", "")
        text = f"console error: {msg.text} (at {where or 'unknown'})"
        if where.startswith(("http://", "https://")) and not where.startswith(self.server.base):
            self.noise.append(text)
        elif "404" in msg.text and BASE_PATH_PROBE.match(where[len(self.server.base) :]):
            self.noise.append(text)
        else:
            self.errors.append(text)

    # navigation and waiting

    def open(self, path: str = "/") -> None:
        self.server.opened.append(path)
        self.page.goto(self.server.base + path)

    def wait_idle(self, timeout: float = ACTION_TIMEOUT_MS) -> None:
        """Until no script run is in flight (Streamlit's own e2e tests wait on the same flag)."""
        self.page.wait_for_selector(IDLE, timeout=timeout)
        self.page.wait_for_selector(RUNNING_ICON, state="detached", timeout=timeout)

    def wait_map(self, timeout: float = 60_000) -> None:
        self.page.wait_for_selector(CONTOUR, timeout=timeout)

    def wait_map_complete(self, timeout: float = 60_000) -> None:
        """Until the map has both loss contours (a page's first map draws the shown one
        first, the other just after: dashboard/explore_assets/explore_map.js)."""
        self.page.wait_for_function(
            "() => performance.getEntriesByName('losslens:map-complete').length > 0",
            timeout=timeout,
        )

    def run_steps(self, path: str = "/") -> None:
        """Open ``path``, press "Run N steps" and wait until the paths are drawn."""
        self.open(path)
        self.wait_map()
        self.wait_idle()
        self.page.get_by_role("button", name=re.compile(r"^Run \d+ steps$")).click()
        self.page.wait_for_function(
            "sel => { const g = document.querySelector(sel);"
            " return !!(g && g._fullData && g._fullData.some(t => t.name === 'gd')); }",
            arg=".ll-paths",
        )
        self.wait_idle()
        self.wait_map_complete()

    def js(self, expression: str, arg=None):
        return self.page.evaluate(expression, arg)

    def map_traces(self) -> dict[str, dict]:
        """name -> {x, y, n} of the map's shown traces (x, y only for small traces), the
        paths' plot over it included; a hidden trace (the map holds the loss in log and in
        linear colour) is left out."""
        return self.js(
            """(sel) => {
                // The paths sit on a plot stacked over the map (dashboard/explore_map.py).
                const plots = [document.querySelector(sel), document.querySelector('.ll-paths')];
                const out = {};
                for (const t of plots.flatMap(g => (g && g._fullData) || [])) {
                    if (t.visible === false) continue;
                    const n = t._length ?? (t.x ? t.x.length : null);
                    const small = t.x && t.x.length <= 2000 && t.type === 'scatter';
                    out[t.name] = {n, x: small ? Array.from(t.x) : null,
                                   y: small ? Array.from(t.y) : null,
                                   nx: t.x ? t.x.length : null};
                }
                return out;
            }""",
            MAP,
        )

    def reveal(self, locator):
        """``locator``, opening the expander around it first if it is folded away."""
        if not locator.is_visible():
            self.page.locator('[data-testid="stExpander"]').filter(has=locator).locator(
                "summary"
            ).first.click()
        return locator

    def shot(self, name: str) -> Path:
        """Full-page screenshot. Streamlit scrolls inside stMain, so grow the viewport to fit."""
        OUT.mkdir(parents=True, exist_ok=True)
        path = OUT / f"{name}.png"
        height = self.js(
            """() => { const m = document.querySelector('[data-testid="stMain"]');
                       return m ? m.scrollHeight : document.documentElement.scrollHeight; }"""
        )
        self.page.mouse.move(0, 0)  # no hover tooltip in the picture
        self.page.set_viewport_size({"width": VIEWPORT["width"], "height": min(height, 16_000)})
        self.page.wait_for_timeout(300)  # settle: Plotly re-lays out on resize
        self.page.screenshot(path=str(path), full_page=True)
        self.page.set_viewport_size(VIEWPORT)
        return path

    def assert_no_errors(self, allow: Callable[[str], bool] = lambda e: False) -> None:
        """No uncaught page error, no console error of the app, no Python traceback shown."""
        bad = [e for e in self.errors if not allow(e)]
        if not self.page.is_closed():
            tracebacks = self.page.locator('[data-testid="stException"]')
            bad += [f"traceback on the page: {t}" for t in tracebacks.all_inner_texts()]
        assert not bad, "errors on the page:\n" + "\n".join(bad)


FIRST = "test_first_paint"  # runs before the other browser tests: its timing is the cold one


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).parent
    ours = [i for i, item in enumerate(items) if here in Path(item.path).parents]
    first = [i for i in ours if items[i].name == FIRST]
    if ours and first:
        items.insert(ours[0], items.pop(first[0]))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)
    server = item.funcargs.get("server") if hasattr(item, "funcargs") else None
    if report.failed and isinstance(server, Server):
        report.sections.append(("streamlit server log (tail)", server.log_tail()))


@pytest.fixture
def app(server: Server, browser: Browser, request: pytest.FixtureRequest) -> Iterator[App]:
    server.ensure_running()
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    app = App(page=context.new_page(), server=server)
    try:
        yield app
        rep = getattr(request.node, "rep_call", None)
        if rep is not None and rep.failed:
            try:
                print(f"screenshot of the failure: {app.shot(f'FAILED-{request.node.name}')}")
            except PlaywrightError:
                pass
        elif rep is not None and rep.passed:
            # Tests that expect a known error filter it themselves and clear the list.
            app.assert_no_errors()
    finally:
        context.close()
