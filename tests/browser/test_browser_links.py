"""Shared links in a real browser: a link reopens its view; a bad value falls back with a notice."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest

import core
from dashboard.ui import fmt

try:
    from playwright.sync_api import expect
except ImportError:  # the fixtures skip (or fail under LOSSLENS_REQUIRE_BROWSER=1)
    pass

pytestmark = pytest.mark.browser


def test_shared_link_reopens_the_view(app):
    page = app.page
    app.open("/?preset=collinear&seed=3&box=-3,3,-3,3&res=40&opt=adam&start=1,-2")
    app.wait_map()
    app.wait_idle()
    expect(page.get_by_label("start α")).to_have_value("1.0000")
    expect(page.get_by_label("start β")).to_have_value("-2.0000")
    chips = page.locator('[data-testid="stMultiSelect"] [data-tag]')
    expect(chips).to_have_text(["adam"])
    for label, value in (("α min", "-3.000"), ("α max", "3.000"), ("β max", "3.000")):
        expect(app.reveal(page.get_by_label(label, exact=True))).to_have_value(value)
    ds = core.make_preset("collinear", seed=3)
    expect(page.get_by_text(f"Data: collinear, N = {ds.N:,}")).to_contain_text(f"y = {fmt(ds.y)}")
    traces = app.map_traces()
    assert traces["loss"]["nx"] == 40, "res=40 from the link"
    assert traces["start"]["x"] == pytest.approx([1.0]) and traces["start"]["y"] == [-2.0]
    expect(page.locator('[data-testid="stAlert"]').filter(has_text="Ignored")).to_have_count(0)

    page.get_by_role("button", name="Step", exact=True).click()
    page.wait_for_function(
        "() => { const g = document.querySelector('.js-plotly-plot');"
        " return !!(g && g._fullData && g._fullData.some(t => t.name === 'adam')); }"
    )
    assert "gd" not in app.map_traces(), "only the link's optimizer runs"


def test_bad_link_value_shows_a_notice(app):
    page = app.page
    app.open("/?res=abc")
    app.wait_map()
    notice = page.locator('[data-testid="stAlert"]').filter(has_text="Ignored res=abc in the link")
    expect(notice).to_be_visible()
    app.wait_idle()
    assert app.map_traces()["loss"]["nx"] == 80, "the default resolution"
    page.wait_for_function("() => new URLSearchParams(location.search).get('res') === '80'")
    assert parse_qs(urlparse(page.url).query)["preset"] == ["balanced"]
