"""The Data page in a real browser: upload a sample file, then a bad file that changes nothing."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import core
from dashboard.ui import fmt
from tests.browser.conftest import ROOT

try:
    from playwright.sync_api import Page, expect
except ImportError:  # the fixtures skip (or fail under LOSSLENS_REQUIRE_BROWSER=1)
    pass

pytestmark = pytest.mark.browser

SAMPLE = ROOT / "assets" / "exposure_long.csv"


def metric(page: Page, label: str):
    return (
        page.locator('[data-testid="stMetric"]')
        .filter(has_text=label)
        .locator('[data-testid="stMetricValue"]')
    )


def upload(page: Page, path: Path) -> None:
    """Choose `path` in the one-file uploader and press Load upload.

    The button is enabled only once the server has the file; removing an earlier file first
    makes that visible (disabled -> enabled), so the click never races the upload.
    """
    # the Upload tab's uploader (the page has another one, for landscape files)
    uploader = page.get_by_test_id("stTabs").get_by_test_id("stFileUploader")
    button = page.get_by_role("button", name="Load upload")
    for old in uploader.get_by_role("button", name=re.compile(r"^Remove ")).all():
        old.click()
    expect(button).to_be_disabled()
    uploader.locator('input[type="file"]').set_input_files(str(path))
    expect(uploader).to_contain_text(path.name)
    expect(button).to_be_enabled()
    button.click()


def test_upload_then_bad_upload(app, tmp_path):
    page = app.page
    default = core.make_preset("balanced", seed=0)
    sample = core.load_bytes(SAMPLE.read_bytes(), SAMPLE.name)
    assert sample.N != default.N, "the sample must be told apart from the default data"

    app.open("/data")
    expect(metric(page, "N (rows)")).to_have_text(f"{default.N:,}")
    app.wait_idle()
    page.get_by_role("tab", name="Upload files").click()
    one_file = page.get_by_test_id("stRadioGroup").get_by_text("One file", exact=True)
    expect(one_file).to_be_visible()
    one_file.click()  # the default already; clicking it keeps it

    upload(page, SAMPLE)
    expect(metric(page, "N (rows)")).to_have_text(f"{sample.N:,}", timeout=20_000)
    expect(metric(page, "E (events per row)")).to_have_text(str(sample.E))
    expect(metric(page, "y (observed count)")).to_have_text(fmt(sample.y))
    app.wait_idle()
    print(f"screenshot: {app.shot('data-after-upload')}", flush=True)

    bad = tmp_path / "bad.csv"
    bad.write_text("hello world\nthis is, not data\n")
    upload(page, bad)
    error = page.locator('[data-testid="stAlert"]').filter(has_text="Your current data is kept")
    expect(error).to_be_visible()
    expect(error).to_contain_text("bad.csv")
    app.wait_idle()
    expect(metric(page, "N (rows)")).to_have_text(f"{sample.N:,}")
    expect(metric(page, "y (observed count)")).to_have_text(fmt(sample.y))
    print(f"screenshot: {app.shot('data-after-bad-upload')}", flush=True)

    # The landscape now shows the uploaded data.
    page.get_by_role("link", name="Landscape & descent").click()
    expect(page.get_by_text(f"N = {sample.N:,} rows × E = {sample.E} events")).to_be_visible()
    app.wait_map()
    app.wait_idle()
