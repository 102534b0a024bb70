"""The Derivation page in a real browser: every formula typesets, with no KaTeX error."""

from __future__ import annotations

import re
import time

import pytest

from tests.browser.conftest import OUT, VIEWPORT, App, Server

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
        arg=".ll-paths",
    )
    app.wait_idle()
    page.get_by_role("link", name="Derivation").click()
    expect(page.locator(".katex").first).to_be_visible(timeout=60_000)
    app.wait_idle()
    expect(page.locator(".katex-error")).to_have_count(0)
    assert page.locator(".katex").count() >= 10


# Markdown's :material/warning: renders as <span role="img" aria-label="warning icon">.
WARNING_ICON = '[aria-label="warning icon"]'


def _to_derivation(app) -> None:
    app.page.get_by_role("link", name="Derivation").click()
    expect(app.page.locator(".katex").first).to_be_visible(timeout=60_000)
    app.wait_idle()


def _section_shot(app, heading: str, name: str):
    """A viewport screenshot starting at the section's heading."""
    page = app.page
    page.get_by_role("heading", name=heading).first.scroll_into_view_if_needed()
    page.get_by_role("heading", name=heading).first.evaluate("h => h.scrollIntoView()")
    page.wait_for_timeout(400)
    path = OUT / f"{name}.png"
    page.screenshot(path=str(path))
    return path


def test_no_warning_on_the_default_path_and_the_new_sections(app):
    """Run (every optimizer of the default view), then Derivation: no ⚠ anywhere, neither at
    the teaching point nor following the descent to the valley floor."""
    page = app.page
    app.open("/")
    app.wait_map()
    app.wait_idle()
    page.get_by_role("button", name=re.compile(r"^Run \d+ steps$")).click()
    page.wait_for_function(
        "() => document.querySelector('.ll-step') && +document.querySelector('.ll-step').max > 5"
    )  # the map's step slider spans the run
    app.wait_idle()
    _to_derivation(app)
    expect(page.get_by_text("the teaching point", exact=False).first).to_be_visible()
    assert page.locator('[aria-label="check_circle icon"]').count() >= 5  # the icons are there
    expect(page.locator(WARNING_ICON)).to_have_count(0)
    expect(page.locator(".katex-error")).to_have_count(0)
    print(f"jacobian: {_section_shot(app, '2. How do I get dm/dg', 'derivation-jacobian')}")
    backprop = _section_shot(app, "The same gradient by backpropagation", "derivation-backprop")
    print(f"backprop: {backprop}")
    print(
        f"gradcheck: {_section_shot(app, 'Gradient check and the Hessian', 'derivation-gradcheck')}"
    )
    page.get_by_role("button", name="Follow the descent").click()
    app.wait_idle()
    expect(page.get_by_text(re.compile(r"step \d+ of"))).to_be_visible()
    expect(page.locator(WARNING_ICON)).to_have_count(0)
    print(f"following: {app.shot('derivation-following')}", flush=True)


def test_a_broken_gradient_shows_the_warning(browser, monkeypatch):
    """A server started with LOSSLENS_BREAK_GRADIENT=sign: the page must flag it."""
    OUT.mkdir(parents=True, exist_ok=True)
    monkeypatch.setenv("LOSSLENS_BREAK_GRADIENT", "sign")
    server = Server(OUT / "server-broken-gradient.log")
    server.start()  # the environment is copied now
    monkeypatch.delenv("LOSSLENS_BREAK_GRADIENT")
    context = browser.new_context(viewport=VIEWPORT)
    try:
        app = App(page=context.new_page(), server=server)
        app.open("/derivation")
        expect(app.page.locator(".katex").first).to_be_visible(timeout=60_000)
        app.wait_idle()
        expect(app.page.get_by_text("The gradient formula is wrong")).to_be_visible()
        assert app.page.locator(WARNING_ICON).count() >= 1
        print(
            f"broken: {_section_shot(app, 'Gradient check and the Hessian', 'derivation-broken')}"
        )
        app.assert_no_errors()
    finally:
        context.close()
        server.stop()


def test_follow_the_descent_takes_the_step_scrubbed_on_the_map(app):
    """Scrubbing stays in the browser; the Derivation page still evaluates at that step,
    and the map shows it again on the way back."""
    page = app.page
    app.run_steps()
    page.evaluate(
        """() => { const el = document.querySelector('.ll-step');
                   el.value = '15'; el.dispatchEvent(new Event('input')); }"""
    )
    expect(page.get_by_text("step 15 of", exact=False).first).to_be_visible()
    _to_derivation(app)
    page.get_by_role("button", name="Follow the descent").click()
    expect(page.get_by_text(re.compile(r"step 15 of gd on the Landscape page"))).to_be_visible()
    app.wait_idle()
    page.get_by_role("link", name="Landscape & descent").click()
    app.wait_map()
    app.wait_idle()
    expect(page.locator(".ll-stepnum")).to_have_text(re.compile(r"^step 15 of"))


# Pairs of labels in one row of a heat map that overlap on screen ((label, label) per map).
OVERLAPPING_LABELS_JS = """() => Array.from(document.querySelectorAll('.js-plotly-plot'))
    .map(g => {
        const boxes = Array.from(g.querySelectorAll('.heatmaplayer text'))
            .filter(t => t.textContent.trim()).map(t => [t.getBoundingClientRect(), t.textContent]);
        const out = [];
        for (let a = 0; a < boxes.length; a++) for (let b = a + 1; b < boxes.length; b++) {
            const [r, s] = [boxes[a][0], boxes[b][0]];
            const sameRow = Math.abs((r.top + r.bottom) / 2 - (s.top + s.bottom) / 2) < 2;
            if (sameRow && r.left < s.right - 0.5 && s.left < r.right - 0.5)
                out.push(boxes[a][1] + ' / ' + boxes[b][1]);
        }
        return [boxes.length, out.slice(0, 5)];
    })
    .filter(([n]) => n > 0)"""


def test_heat_map_labels_do_not_overlap_on_a_phone(app):
    """At 390 px the matrices X, F, G and the Jacobian keep every label apart."""
    page = app.page
    page.set_viewport_size({"width": 390, "height": 844})
    app.open("/derivation")
    expect(page.locator(".katex").first).to_be_visible(timeout=60_000)
    app.wait_idle()
    open_expanders(app)
    page.wait_for_function(
        "() => document.querySelectorAll('.js-plotly-plot .heatmaplayer text').length > 100"
    )
    maps = page.evaluate(OVERLAPPING_LABELS_JS)
    assert len(maps) >= 4, maps  # X, F, G and ∂m/∂g
    overlaps = [pairs for _, pairs in maps if pairs]
    assert not overlaps, f"overlapping heat-map labels at 390 px: {overlaps}"
    # At phone width (app.shot would widen the page): the F matrix, the densest labels.
    shot = OUT / "derivation-phone-heatmap.png"
    page.locator(".js-plotly-plot").nth(1).scroll_into_view_if_needed()
    page.locator(".js-plotly-plot").nth(1).screenshot(path=str(shot))
    print(f"screenshot: {shot}", flush=True)
