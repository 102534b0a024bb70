"""Text from users is text, in the real browser: a hostile file name, a hostile cell and a
hostile link value show literally, fetch nothing, link nowhere and colour nothing.

A tiny HTTP server on 127.0.0.1 counts every request made to it; Playwright's request
events are watched too. Before dashboard.ui.literal, the image in the file name was fetched.
"""

from __future__ import annotations

import http.server
import re
import threading
from collections.abc import Iterator
from urllib.parse import quote

import pytest

import core
from tests.browser.conftest import ROOT

try:
    from playwright.sync_api import expect
except ImportError:  # the fixtures skip (or fail under LOSSLENS_REQUIRE_BROWSER=1)
    pass

pytestmark = pytest.mark.browser

SAMPLE = (ROOT / "assets" / "exposure_long.csv").read_bytes()


class Trap:
    """An HTTP server on 127.0.0.1 that answers 404 and remembers every path asked for."""

    def __init__(self) -> None:
        hits = self.hits = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                hits.append(self.path)
                self.send_response(404)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


@pytest.fixture
def trap(app) -> Iterator[Trap]:
    t = Trap()
    asked = []
    app.page.on("request", lambda r: asked.append(r.url) if r.url.startswith(t.base) else None)
    yield t
    t.httpd.shutdown()
    assert not t.hits and not asked, f"the page requested {t.hits or asked}"


def upload(app, name: str, data: bytes) -> None:
    page = app.page
    page.get_by_role("tab", name="Upload files").click()
    # the Upload tab's uploader (the page has another one, for landscape files)
    uploader = page.get_by_test_id("stTabs").get_by_test_id("stFileUploader")
    button = page.get_by_role("button", name="Load upload")
    for old in uploader.get_by_role("button", name=re.compile(r"^Remove ")).all():
        old.click()
    expect(button).to_be_disabled(timeout=30_000)  # the old file is gone
    uploader.locator('input[type="file"]').set_input_files(
        {"name": name, "mimeType": "text/csv", "buffer": data}
    )
    expect(button).to_be_enabled(timeout=30_000)  # the server has the new one
    button.click()
    app.wait_idle()


def main_text(app) -> str:
    return app.page.get_by_test_id("stMain").inner_text()


def no_markup_from(app, host: str) -> None:
    """No image, link or red text on the page came from the user's text."""
    found = app.js(
        """(host) => ({
            img: [...document.querySelectorAll('img')].filter(i => i.src.includes(host)).length,
            a: [...document.querySelectorAll('a')].filter(a => a.href.includes(host)).length,
            red: [...document.querySelectorAll('[class*="red"], span[style*="red"]')]
                 .filter(e => /session expired/i.test(e.textContent)).length,
            strong: [...document.querySelectorAll('strong, b')]
                 .filter(e => /session expired|Click here/i.test(e.textContent)).length,
        })""",
        host,
    )
    assert found == {"img": 0, "a": 0, "red": 0, "strong": 0}, found


def test_hostile_file_names_and_cells_show_literally_and_fetch_nothing(app, trap):
    image = f"![p]({trap.base}/x.png)"
    app.open("/data")
    app.wait_idle()

    upload(app, f"{image}.csv", SAMPLE)  # accepted: the toast names the file
    expect(app.page.get_by_test_id("stToast")).to_contain_text(f"Loaded {image}.csv")
    no_markup_from(app, trap.base)
    app.shot("hostile-file-name")

    red = ":red[**Your session expired, log in again**]"
    upload(app, f"{red}.csv", b"\x00 not text")  # refused: the error opens with the name
    error = app.page.get_by_test_id("stAlertContentError").first
    expect(error).to_contain_text(f"{red}.csv contains binary data")
    no_markup_from(app, trap.base)
    app.shot("hostile-red-name")

    upload(app, "cells.csv", f"row,I,D\n0,1,{image}\n".encode())
    expect(app.page.get_by_test_id("stAlertContentError").first).to_contain_text(
        f"holds '{image}'; expected a number"
    )
    no_markup_from(app, trap.base)
    app.shot("hostile-cell")
    app.page.wait_for_timeout(500)  # time for any image request to go out


def test_a_hostile_link_value_renders_no_link(app, trap):
    link = f"[Click here to log in]({trap.base}/login)"
    app.open(f"/?opt={quote(link)}&res={quote(f'![p]({trap.base}/r.png)')}")
    app.wait_idle()
    notices = app.page.get_by_test_id("stAlertContentWarning")
    expect(notices.first).to_be_visible()
    text = " ".join(notices.all_inner_texts())
    assert link in text and f"![p]({trap.base}/r.png)" in text, text
    no_markup_from(app, trap.base)
    assert core.PRESETS  # the default data is shown
    app.shot("hostile-link")
    app.page.wait_for_timeout(500)
