"""Exploration in the browser (issue 11): Play keeps the landscape, scrubbing and view toggles
run no script and send nothing to the server, the legend can be read, a path that leaves the
box is marked, and a phone-size page does not scroll sideways."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import CONTOUR, MAP, SHOWN_COLORBARS_JS, colorbar_is_js

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


def play_button(page):
    """The map's Play control: the component's button, else Plotly's own updatemenu (old)."""
    ours = page.get_by_role("button", name="Play")
    if ours.count():
        return ours.first
    return page.locator(f"{MAP} .updatemenu-button").filter(has_text="Play")


def pause_button(page):
    ours = page.get_by_role("button", name="Pause")
    if ours.count():
        return ours.first
    return page.locator(f"{MAP} .updatemenu-button").filter(has_text="Pause")


def watch_contour(page) -> None:
    """Count the contour's paths on every animation frame of the browser, from now on."""
    page.evaluate(
        """sel => { window.__counts = []; window.__watch = true;
                    const tick = () => { if (!window.__watch) return;
                        window.__counts.push(document.querySelectorAll(sel).length);
                        requestAnimationFrame(tick); };
                    requestAnimationFrame(tick); }""",
        CONTOUR,
    )


def watch_traffic(page) -> None:
    """Record the script state and every websocket frame the page sends, from now on."""
    page.evaluate(
        """() => { window.__states = [];
                   const app = document.querySelector('[data-testid="stApp"]');
                   new MutationObserver(() => window.__states.push(
                       app.getAttribute('data-test-script-state'))).observe(
                       app, {attributes: true, attributeFilter: ['data-test-script-state']}); }"""
    )


def test_play_keeps_the_contour_and_pause_raises_nothing(app):
    page = app.page
    app.run_steps()
    before = page.locator(CONTOUR).count()
    assert before > 0
    sent: list[bytes] = []
    page.on("websocket", lambda ws: ws.on("framesent", lambda f: sent.append(f)))
    watch_contour(page)
    play_button(page).click()
    page.wait_for_timeout(1500)
    pause_button(page).click(force=True)
    page.wait_for_timeout(300)
    counts = page.evaluate("() => { window.__watch = false; return window.__counts; }")
    assert len(counts) >= 10, counts
    assert min(counts) > 0, f"the contour vanished while playing: path counts {counts[:40]}…"
    print(f"contour paths during Play: min {min(counts)}, max {max(counts)}", flush=True)
    app.assert_no_errors()  # Play and Pause raise no page error


# Time from a change to the second animation frame after it (the change is then painted).
TIME_CHANGE_JS = """([sel, value]) => new Promise(done => {
    const el = document.querySelector(sel), t0 = performance.now();
    if (el.type === 'checkbox') el.click();
    else { el.value = String(value); el.dispatchEvent(new Event('input')); }
    requestAnimationFrame(() => requestAnimationFrame(() => done(performance.now() - t0)));
})"""


def test_scrub_and_view_toggles_run_no_script(app, timings):
    page = app.page
    app.run_steps()
    scrub = [app.js(TIME_CHANGE_JS, [".ll-step", k]) for k in (10, 30, 60, 90)]
    toggle = [app.js(TIME_CHANGE_JS, [".ll-log", 0]) for _ in range(2)]
    timings.record(
        f"scrub to a step, in the browser (median of {len(scrub)})", sorted(scrub)[2] / 1e3
    )
    timings.record("log colour toggle, in the browser (slower of 2)", max(toggle) / 1e3)
    sent = []
    page.context.on("websocket", lambda ws: ws.on("framesent", lambda f: sent.append(f)))
    watch_traffic(page)
    slider = page.get_by_role("slider", name="step")
    slider.focus()
    for _ in range(5):
        slider.press("ArrowLeft")
    log = page.get_by_role("checkbox", name="log₁₀ colour")
    log.click()
    page.wait_for_function(colorbar_is_js("L"), arg=MAP)
    page.wait_for_timeout(500)
    states = page.evaluate("() => window.__states")
    assert states == [], f"a view change ran the script: {states}"
    assert sent == [], f"a view change sent {len(sent)} websocket messages"
    n = app.map_traces()["gd"]["n"]
    assert n >= 2 and page.get_by_text(re.compile(r"^step \d+")).count() >= 1
    print(f"screenshot: {app.shot('explore-scrubbed-linear')}", flush=True)


def test_colour_toggle_swaps_the_drawn_contours_without_a_redraw(app):
    """Log/linear colour shows one of two drawn contours: one colour bar and one loss
    contour on screen, hover speaks of the shown scale, and Plotly redraws nothing."""
    page = app.page
    app.open("/")
    app.wait_map()
    app.wait_idle()
    app.wait_map_complete()
    page.wait_for_function(colorbar_is_js("log₁₀ L"), arg=MAP)
    plot = page.locator(f"{MAP} .nsewdrag").first
    box = plot.bounding_box()
    assert box is not None

    def hover_text(fx: float) -> str:
        page.mouse.move(box["x"] + fx * box["width"], box["y"] + 0.6 * box["height"])
        label = f"{MAP} .hoverlayer"
        page.wait_for_function(
            "sel => document.querySelector(sel)?.textContent.includes('click: start here')",
            arg=label,
        )
        return page.locator(label).first.text_content() or ""

    assert "log₁₀ L=" in hover_text(0.30)
    page.evaluate(
        """sel => { window.__redraws = 0;
                    document.querySelector(sel).on('plotly_afterplot',
                                                   () => window.__redraws++); }""",
        MAP,
    )
    for title, scale in (("L", "L="), ("log₁₀ L", "log₁₀ L=")):
        page.get_by_role("checkbox", name="log₁₀ colour").click()
        page.wait_for_function(colorbar_is_js(title), arg=MAP)
        shown = page.evaluate(
            """sel => Array.from(document.querySelectorAll(sel + ' .contourlayer > g.contour'))
                .slice(0, 2).filter(g => g.style.display !== 'none').length""",
            MAP,
        )
        assert shown == 1, "exactly one of the two loss contours is on screen"
        assert page.evaluate(SHOWN_COLORBARS_JS, MAP) == [title]
        text = hover_text(0.31 if title == "L" else 0.32)
        assert scale in text and (title != "L" or "log₁₀" not in text), text
    assert page.evaluate("() => window.__redraws") == 0, "a colour toggle redrew the map"


def test_the_maps_own_toggles_reach_the_link_and_survive_a_page_change_and_a_reload(app):
    """Colour and arrows set on the map (no rerun) are written into the address bar (a
    copied link has them) and kept by the tab through a page change and a reload."""
    page = app.page
    app.open("/")
    app.wait_map()
    app.wait_idle()
    app.wait_map_complete()
    watch_traffic(page)
    page.get_by_role("checkbox", name="log₁₀ colour").click()
    page.wait_for_function(colorbar_is_js("L"), arg=MAP)
    page.locator(f"{MAP} .legend .traces", has_text="−∇L").click()  # arrows on
    page.wait_for_function("() => /[?&]log=0/.test(location.search)")
    page.wait_for_function("() => /[?&]arrows=1/.test(location.search)")
    assert page.evaluate("() => window.__states") == [], "a view toggle ran the script"

    page.get_by_role("link", name="Data").click()
    page.wait_for_url("**/data?**")
    app.wait_idle()
    page.get_by_role("link", name="Landscape & descent").click()
    app.wait_map()
    app.wait_idle()
    page.wait_for_function(colorbar_is_js("L"), arg=MAP)
    assert "−∇L" in app.map_traces(), "the arrows stay on after a page change"
    page.wait_for_function("() => /[?&]log=0/.test(location.search)")
    assert "arrows=1" in page.url, page.url

    page.reload()
    app.wait_map()
    app.wait_idle()
    page.wait_for_function(colorbar_is_js("L"), arg=MAP)
    assert "−∇L" in app.map_traces()


def test_legend_symbols_stand_out_from_the_legend(app):
    """The legend's 'start' and '−∇L' symbols have contrast against what is behind them."""
    page = app.page
    app.open("/?arrows=1")
    app.wait_map()
    app.wait_idle()
    found = page.evaluate(
        """sel => {
            const g = document.querySelector(sel);
            const lum = c => { const m = c.match(/[\\d.]+/g); if (!m) return null;
                const [r, gg, b] = m.slice(0, 3).map(v => { v = v / 255;
                    return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
                return 0.2126 * r + 0.7152 * gg + 0.0722 * b; };
            const bgEl = g.querySelector('.legend .bg');
            const bg = bgEl ? getComputedStyle(bgEl).fill : 'rgb(255,255,255)';
            const out = {};
            for (const item of g.querySelectorAll('.legend .traces')) {
                const name = item.querySelector('.legendtext').textContent;
                const shapes = item.querySelectorAll(
                    '.legendsymbols path, .legendpoints path, .legendlines path');
                let best = 0;
                for (const s of shapes) {
                    const st = getComputedStyle(s);
                    for (const c of [st.stroke, st.fill]) {
                        if (!c || c === 'none' || /rgba\\(.*, 0\\)/.test(c)) continue;
                        const a = lum(c), b = lum(bg);
                        if (a === null || b === null) continue;
                        best = Math.max(best, (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05));
                    }
                }
                out[name] = best;
            }
            return out;
        }""",
        MAP,
    )
    for name in ("start", "−∇L"):
        assert name in found, found
        assert found[name] >= 3, f"legend symbol of {name!r} is hard to see: contrast {found}"


def test_a_path_that_leaves_the_box_is_marked(app):
    app.run_steps("/?opt=gd&hp.gd=lr%3D5&steps=20")  # one step flings α, β far out
    traces = app.map_traces()
    marks = [n for n, t in traces.items() if "left the box" in n and t["n"]]
    assert marks == ["gd left the box"], sorted(traces)


# Elements wider than the phone that are not inside a scroll box narrower than the phone:
# those are cut off (or push the page sideways).
TOO_WIDE_JS = """w => { const out = [];
    const scrolls = el => { for (let a = el.parentElement; a; a = a.parentElement) {
        const o = getComputedStyle(a).overflowX;
        if ((o === 'auto' || o === 'scroll') && a.getBoundingClientRect().right <= w + 1)
            return true; } return false; };
    for (const el of document.querySelectorAll('[data-testid="stMain"] *')) {
        const r = el.getBoundingClientRect();
        if (r.width > 0 && r.right > w + 1 && getComputedStyle(el).position !== 'fixed'
            && !scrolls(el))
            out.push(el.tagName + '.' + (el.className.baseVal ?? el.className) + ' '
                     + Math.round(r.right));
    }
    return out.slice(0, 10); }"""


@pytest.mark.parametrize("path", ["/", "/derivation"])
def test_phone_page_does_not_scroll_sideways(app, path):
    page = app.page
    page.set_viewport_size(PHONE)
    app.open(path)
    if path == "/":
        app.wait_map()
        app.wait_idle()
        page.get_by_role("button", name="Step", exact=True).click()
    else:
        page.locator(".katex").first.wait_for(timeout=60_000)
    app.wait_idle()
    page.wait_for_timeout(500)
    wide = page.evaluate(TOO_WIDE_JS, PHONE["width"])
    shot = f"test-output/browser/explore-phone{path.replace('/', '-').rstrip('-')}.png"
    page.screenshot(path=shot, full_page=True)
    print(f"screenshot: {shot}", flush=True)
    assert not wide, f"wider than the phone: {wide}"


def test_first_load_bytes(app, timings):
    """What a first page open fetches (scripts, bytes) and the largest websocket message.
    A record for the note, not a limit: printed and written to timings.txt."""
    page = app.page
    sizes: list[tuple[str, int]] = []
    frames: list[int] = []

    def on_response(resp):
        try:
            sizes.append((resp.request.resource_type, len(resp.body())))
        except Exception:  # redirects and aborted requests have no body
            pass

    page.on("response", on_response)
    page.on("websocket", lambda ws: ws.on("framereceived", lambda f: frames.append(len(f))))
    app.open("/")
    app.wait_map()
    app.wait_idle()
    page.wait_for_timeout(500)
    scripts = [n for kind, n in sizes if kind == "script"]
    total = sum(n for _, n in sizes)
    timings.record(f"first load: {len(scripts)} scripts, {sum(scripts) / 2**20:.2f} MB", 0)
    timings.record(f"first load: all responses {total / 2**20:.2f} MB", 0)
    timings.record(f"first load: largest websocket message {max(frames) / 1024:.1f} KiB", 0)
    assert scripts and frames
