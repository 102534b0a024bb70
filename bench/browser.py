"""Benchmark: what one user waits for in the browser, on the page's own clock.

    .venv/bin/python bench/browser.py [--root OTHER_TREE] [--reloads 6] [--steps 5]

For this tree (and ``--root``, e.g. an older main unpacked with ``git archive``, measured
in the same run, alternately), it starts the server as ``losslens app`` does on 127.0.0.1
and drives Debian's /usr/bin/chromium:

    first paint   a fresh server and a fresh browser: navigation start -> the first frame
                  that shows the map's contour
    reload        the same tab reloaded: navigation start -> that frame again
    Step          the click on Step -> the frame that shows the longer paths

"The frame that shows" is the first requestAnimationFrame callback that finds the change
in the DOM (that frame paints it: callbacks run just before the paint), timed in the page
by an init script, so it needs no mark of the app's own and measures any tree alike.
Medians, and the load average: on 2 shared cores the numbers move with it.
"""

from __future__ import annotations

import argparse
import os
import statistics
from pathlib import Path

from load import HOST, Server  # bench/load.py: the server as `losslens app` starts it
from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"
CONTOUR = '.js-plotly-plot .contourlayer > g.contour:not([style*="display: none"]) path'
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
# In the page: when the contour first appears, and when the paths' gd trace grows.
WATCH = """(() => {
  window.__t = {};
  const contour = CONTOUR;
  const frame = (key) => { window.__t[key] = performance.now(); };  // this frame paints it
  const look = () => {
    if (!window.__t.contourSeen && document.querySelector(contour)) {
      window.__t.contourSeen = true; frame('contour');
    }
    const g = document.querySelector('.ll-paths');
    const gd = g && g._fullData && g._fullData.find((t) => t.name === 'gd');
    const n = gd ? gd._length : 0;
    if (n !== window.__t.n) { window.__t.n = n; frame('paths'); }
    requestAnimationFrame(look);
  };
  document.addEventListener('click', () => { window.__t.click = performance.now(); }, true);
  requestAnimationFrame(look);
})();""".replace("CONTOUR", repr(CONTOUR))


def measure(browser, root: Path, reloads: int, steps: int) -> dict[str, list[float]]:
    """Seconds per action for one fresh server of ``root`` and one fresh browser context."""
    server = Server(root, Path(f"/tmp/losslens-bench-browser-{root.name}.log"))
    out: dict[str, list[float]] = {"first paint": [], "reload": [], "Step": []}
    try:
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        context.set_default_timeout(90_000)
        page = context.new_page()
        page.add_init_script(WATCH)
        for i in range(1 + reloads):
            page.goto(f"http://{HOST}:{server.port}/") if i == 0 else page.reload()
            page.wait_for_function("() => window.__t && window.__t.contour")
            out["first paint" if i == 0 else "reload"].append(
                page.evaluate("() => window.__t.contour") / 1e3
            )
            page.wait_for_selector(IDLE)
            page.wait_for_timeout(300)
        step = page.get_by_role("button", name="Step", exact=True)
        for _ in range(steps):
            n = page.evaluate("() => window.__t.n")
            step.click()
            page.wait_for_function(
                "n => window.__t.n > n && window.__t.paths > window.__t.click", arg=n
            )
            out["Step"].append(page.evaluate("() => (window.__t.paths - window.__t.click)") / 1e3)
            page.wait_for_selector(IDLE)
            page.wait_for_timeout(300)
        context.close()
    finally:
        server.stop()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", help="another tree to measure in the same run")
    parser.add_argument("--reloads", type=int, default=6)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=2, help="fresh servers per tree")
    args = parser.parse_args()
    if not 1 <= args.rounds <= 10 or not 0 <= args.reloads <= 50 or not 0 <= args.steps <= 50:
        parser.error("rounds in [1, 10], reloads and steps in [0, 50]")
    roots = [Path(__file__).resolve().parents[1]]
    if args.root:
        roots.append(Path(args.root).resolve())
    results = {root: {} for root in roots}
    with sync_playwright() as p:
        for _ in range(args.rounds):
            for root in roots:  # alternately: both trees see the same machine
                browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
                try:
                    for what, values in measure(browser, root, args.reloads, args.steps).items():
                        results[root].setdefault(what, []).extend(values)
                finally:
                    browser.close()
    print(f"losslens browser bench, load average {os.getloadavg()[0]:.1f}, {os.cpu_count()} CPUs")
    for root in roots:
        cells = [
            f"{what} {statistics.median(v):.2f} s (n={len(v)}, {min(v):.2f}-{max(v):.2f})"
            for what, v in results[root].items()
            if v
        ]
        print(f"  {root}: " + "; ".join(cells))


if __name__ == "__main__":
    main()
