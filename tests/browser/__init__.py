"""Real-browser tests of the dashboard: headless Debian chromium driven by Playwright.

Run them with ``.venv/bin/python -m pytest tests/browser -m browser -s`` (``-s`` shows the
timings they print). Screenshots and timings go to ``test-output/browser/``.
"""
