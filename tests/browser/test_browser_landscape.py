"""The landscape page in a real browser: first paint, Step, a view toggle, clicks on the map,
Run and the map's Play / Pause (its component runs them in the browser)."""

from __future__ import annotations

import re
import time
from urllib.parse import parse_qs, urlparse

import pytest

from tests.browser.conftest import MAP, colorbar_is_js

try:
    from playwright.sync_api import Page, expect
except ImportError:  # the fixtures skip (or fail under LOSSLENS_REQUIRE_BROWSER=1)
    pass

pytestmark = pytest.mark.browser


def start_inputs(page: Page) -> tuple[float, float]:
    """The start the map shows, once the sidebar's two inputs show it too. (They are drawn
    after the map, and Streamlit's number input first shows 0 for ~40 ms before its value:
    reading them at once can catch that.)"""
    a, b = page.evaluate(
        """() => { const t = document.querySelector('.ll-map')._fullData
                     .find(t => t.name === 'start'); return [t.x[0], t.y[0]]; }"""
    )
    expect(page.get_by_label("start α")).to_have_value(f"{a:.4f}")
    expect(page.get_by_label("start β")).to_have_value(f"{b:.4f}")
    return a, b


def query(page: Page) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(urlparse(page.url).query).items()}


PATHS = ".ll-paths"  # the plot of the paths over the map (the map's legend lists every name)


def has_trace_js(name: str) -> str:
    return (
        "sel => { const g = document.querySelector(sel);"
        f" return !!(g && g._fullData && g._fullData.some(t => t.name === {name!r})); }}"
    )


# The page's clock from a click to the paths drawn after it (the map marks "paths-drawn").
CLOCK_CLICKS_JS = """() => document.addEventListener('click',
    () => { window.__click = performance.now(); }, true)"""
STEP_DRAWN_JS = """() => { const m = performance.getEntriesByName('losslens:paths-drawn')
    .filter(m => m.startTime > window.__click);
    return m.length && m[0].startTime - window.__click; }"""
PAINTED_JS = """() => performance.getEntriesByName('losslens:map-painted')[0]?.startTime"""


def test_first_paint(app, timings):
    """Page open -> the first contour, cold (first load after server start) and warm (reload)."""
    # The server's first landscape page: no earlier test opened it. The server computed the
    # default grid when it started (dashboard/serve.py), as it does for a user.
    cold = not any(p == "/" or p.startswith("/?") for p in app.server.opened)
    t0 = time.perf_counter()
    app.open("/")
    app.wait_map()
    timings.record(
        "page open -> first contour"
        + (" (first page of this server)" if cold else " (not the server's first page)"),
        time.perf_counter() - t0,
    )
    painted = app.page.wait_for_function(PAINTED_JS).json_value()
    timings.record("page open -> map painted (the page's own marks)", painted / 1e3)
    app.wait_idle()
    traces = app.map_traces()
    assert {"loss", "start", "s = y: zero loss"} <= traces.keys(), sorted(traces)
    start_inputs(app.page)  # the inputs show the map's start
    expect(app.page.get_by_text("Press Step (one step) or Run")).to_be_visible()
    q = query(app.page)
    assert q["preset"] == "balanced" and q["opt"] == "gd,adam", q
    assert traces["loss"]["nx"] == int(q["res"]) == 80

    t0 = time.perf_counter()
    app.page.reload()
    app.wait_map()
    timings.record(
        "reload -> first contour (new session, landscape cached)", time.perf_counter() - t0
    )
    # The page's own clock: from the reload's start to the frame that first shows the map
    # (the wall time above also waits for Playwright to look, on a busy main thread).
    painted = app.page.wait_for_function(PAINTED_JS).json_value()
    timings.record("reload -> map painted (the page's own marks)", painted / 1e3)
    # The map's code came from the browser's cache (versioned URLs, dashboard/serve.py).
    fetched = app.page.evaluate(
        """() => performance.getEntriesByType('resource')
            .filter(r => /explore_map\\.js|plotly[^/]*\\.js/.test(r.name))
            .map(r => [r.name.split('/').pop(), r.transferSize])"""
    )
    assert len(fetched) == 2 and all(size == 0 for _, size in fetched), fetched
    app.wait_idle()


def test_step_then_log_toggle(app, timings):
    page = app.page
    app.open("/")
    app.wait_map()
    app.wait_idle()

    page.evaluate(CLOCK_CLICKS_JS)
    t0 = time.perf_counter()
    page.get_by_role("button", name="Step", exact=True).click()
    page.wait_for_function(has_trace_js("gd"), arg=PATHS)
    timings.record("Step click -> trajectory drawn", time.perf_counter() - t0)
    drawn = page.wait_for_function(STEP_DRAWN_JS).json_value()
    timings.record("Step click -> trajectory drawn (the page's own clock; first Step)", drawn / 1e3)
    expect(page.get_by_text(re.compile(r"gd: reached 1 step"))).to_be_visible()
    expect(page.get_by_text(re.compile(r"adam: reached 1 step"))).to_be_visible()
    expect(page.get_by_role("slider", name="step")).to_be_visible()
    app.wait_idle()
    traces = app.map_traces()
    a, b = traces["start"]["x"][0], traces["start"]["y"][0]
    for name in ("gd", "adam"):
        assert traces[name]["n"] == 2, (name, traces[name])
        assert (traces[name]["x"][0], traces[name]["y"][0]) == pytest.approx((a, b), abs=1e-4)
        assert (traces[name]["x"][1], traces[name]["y"][1]) != pytest.approx((a, b), abs=1e-9)
    # the sidebar's inputs show the same start (they are drawn after the map)
    expect(page.get_by_label("start α")).to_have_value(f"{a:.4f}")
    expect(page.get_by_label("start β")).to_have_value(f"{b:.4f}")

    app.wait_map_complete()
    page.get_by_role("button", name="Step", exact=True).click()
    page.wait_for_function(
        "sel => document.querySelector(sel)._fullData.find(t => t.name === 'gd')._length === 3",
        arg=PATHS,
    )
    drawn = page.wait_for_function(STEP_DRAWN_JS).json_value()
    timings.record("Step click -> trajectory drawn (the page's own clock; next Step)", drawn / 1e3)
    app.wait_idle()

    toggle = page.get_by_role("checkbox", name="log₁₀ colour")
    expect(toggle).to_be_visible()
    page.wait_for_function(colorbar_is_js("log₁₀ L"), arg=MAP)
    t0 = time.perf_counter()
    toggle.click()
    page.wait_for_function(colorbar_is_js("L"), arg=MAP)
    timings.record("Log colour toggle -> map re-rendered", time.perf_counter() - t0)
    app.wait_idle()
    assert app.map_traces()["gd"]["n"] == 3, "a view change must keep the trajectories"


def test_click_on_map_sets_start(app):
    page = app.page
    app.open("/")
    app.wait_map()
    app.wait_idle()
    a0, b0 = start_inputs(page)
    amin, amax, bmin, bmax = (float(v) for v in query(page)["box"].split(","))

    plot_area = page.locator(f"{MAP} .nsewdrag").first
    plot_area.scroll_into_view_if_needed()
    box = plot_area.bounding_box()
    assert box is not None
    fx, fy = 0.75, 0.25  # a quarter from the right and from the top of the plot area
    x, y = box["x"] + fx * box["width"], box["y"] + fy * box["height"]
    page.mouse.move(x, y)
    expect(page.locator(f"{MAP} .hoverlayer").first).to_contain_text("click: start here")
    page.mouse.click(x, y)

    # Streamlit redraws the two inputs one after the other: wait for both, then for the run.
    expect(page.get_by_label("start α")).not_to_have_value(f"{a0:.4f}")
    expect(page.get_by_label("start β")).not_to_have_value(f"{b0:.4f}")
    app.wait_idle()
    a1, b1 = start_inputs(page)
    # The click lands on the nearest point of the 80 x 80 grid (closer than 40 x 40).
    spacing_a, spacing_b = (amax - amin) / 39, (bmax - bmin) / 39
    want_a, want_b = amin + fx * (amax - amin), bmax - fy * (bmax - bmin)
    assert abs(a1 - want_a) <= spacing_a, (a1, want_a, spacing_a)
    assert abs(b1 - want_b) <= spacing_b, (b1, want_b, spacing_b)
    assert (a1, b1) != (a0, b0)
    page.wait_for_function(
        """([a, b]) => { const s = new URLSearchParams(location.search).get('start');
                         if (!s) return false; const [x, y] = s.split(',').map(Number);
                         return Math.abs(x - a) < 1e-4 && Math.abs(y - b) < 1e-4; }""",
        arg=[a1, b1],
    )
    page.wait_for_function(
        """([sel, a, b]) => { const g = document.querySelector(sel);
              const t = g && g._fullData && g._fullData.find(t => t.name === 'start');
              return !!t && Math.abs(t.x[0] - a) < 1e-4 && Math.abs(t.y[0] - b) < 1e-4; }""",
        arg=[MAP, a1, b1],
    )
    app.wait_idle()


def test_run_then_play_and_pause(app, timings):
    page = app.page
    app.open("/")
    app.wait_map()
    app.wait_idle()

    t0 = time.perf_counter()
    page.get_by_role("button", name=re.compile(r"^Run \d+ steps$")).click()
    page.wait_for_function(has_trace_js("gd"), arg=PATHS)
    timings.record("Run 100 steps click -> paths drawn", time.perf_counter() - t0)
    app.wait_idle()
    for name in ("gd", "adam"):  # each optimizer says why it stopped
        expect(page.get_by_text(re.compile(rf"{name}: (?!hyper-parameters)"))).to_be_visible()
    print(f"screenshot: {app.shot('landscape-after-run')}", flush=True)

    lengths = {name: app.map_traces()[name]["n"] for name in ("gd", "adam")}
    slider = page.get_by_role("slider", name="step")
    last = max(lengths.values()) - 1
    assert slider.get_attribute("max") == str(last)
    assert slider.input_value() == str(last), "the slider starts on the last step"

    play = page.get_by_role("button", name="Play")
    t0 = time.perf_counter()
    play.click()
    page.wait_for_function("() => document.querySelector('.ll-step').value < 50")
    page.wait_for_function("() => document.querySelector('.ll-step').value >= 20")
    timings.record("Play: 20 frames", time.perf_counter() - t0)
    page.get_by_role("button", name="Pause").click()
    k = int(slider.input_value())
    page.wait_for_timeout(400)
    assert int(slider.input_value()) == k, "Pause stopped nothing"
    assert 20 <= k < last
    traces = app.map_traces()
    for name, n in lengths.items():
        assert traces[name]["n"] == min(k, n - 1) + 1, (name, k, n, traces[name]["n"])
    expect(page.get_by_text(f"step {k} of {last}")).to_be_visible()
    # The loss chart's cursor follows the same slider.
    assert page.locator(".ll-cursor").get_attribute("data-step") == str(k)


def test_a_long_basin_map_can_be_cancelled(app, timings):
    """The biggest basin map (40 × 40 starts, 1000 steps of gd: ~5 s here): Cancel stops it
    and says so, and nothing of it is drawn."""
    page = app.page
    app.open("/")
    app.wait_map()
    app.wait_idle()
    page.get_by_text("Basin map: where does each start end?").click()
    for name, most in (("Starts per axis", "40"), ("Steps", "1000")):
        # Streamlit's slider: a group named by its label around a hidden range input
        thumb = page.get_by_role("group", name=name, exact=True).locator("input[type=range]")
        thumb.focus()
        thumb.press("End")
        expect(thumb).to_have_value(most)  # a small map could end before Cancel is pressed
        app.wait_idle()
    page.get_by_role("button", name="Compute basin map").click()
    cancel = page.get_by_role("button", name="Cancel", exact=True)
    expect(cancel).to_be_visible(timeout=30_000)
    t0 = time.perf_counter()
    cancel.click()
    expect(page.get_by_text("Basin map cancelled")).to_be_visible(timeout=30_000)
    timings.record("basin map Cancel click -> stopped", time.perf_counter() - t0)
    app.wait_idle()
    expect(cancel).to_have_count(0)
    assert page.locator(".stPlotlyChart").count() == 0, "no basin map was drawn"
    app.assert_no_errors()
