"""The Derivation page in a real browser: every formula typesets, with no KaTeX error."""

from __future__ import annotations

import time

import pytest

from tests.browser.conftest import MAP

try:
    from playwright.sync_api import expect
except ImportError:  # the fixtures skip (or fail under LOSSLENS_REQUIRE_BROWSER=1)
    pass

pytestmark = pytest.mark.browser


def open_expanders(app) -> None:
    """Unfold every expander, so formulas inside them are typeset and checked too."""
    folded = app.page.locator('[data-testid="stExpander"] details:not([open]) > summary')
    for _ in range(50):
        if folded.count() == 0:
            break
        folded.first.click()
    app.wait_idle()


def test_derivation_math_renders(app, timings):
    page = app.page
    t0 = time.perf_counter()
    app.open("/derivation")
    expect(page.locator(".katex").first).to_be_visible(timeout=60_000)
    app.wait_idle()
    timings.record("page open -> derivation page done", time.perf_counter() - t0)
    open_expanders(app)
    n = page.locator(".katex").count()
    assert n >= 10, f"only {n} formulas typeset"
    expect(page.locator(".katex-error")).to_have_count(0)
    print(f"{n} formulas; screenshot: {app.shot('derivation')}", flush=True)


def test_derivation_follows_a_step(app):
    """After a Step on the map, the derivation (reached from the sidebar) still typesets."""
    page = app.page
    app.open("/")
    app.wait_map()
    app.wait_idle()
    page.get_by_role("button", name="Step", exact=True).click()
    page.wait_for_function(
        "sel => { const g = document.querySelector(sel);"
        " return !!(g && g._fullData && g._fullData.some(t => t.name === 'gd')); }",
        arg=MAP,
    )
    app.wait_idle()
    page.get_by_role("link", name="Derivation").click()
    expect(page.locator(".katex").first).to_be_visible(timeout=60_000)
    app.wait_idle()
    expect(page.locator(".katex-error")).to_have_count(0)
    assert page.locator(".katex").count() >= 10
