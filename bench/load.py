"""Many users at once, measured honestly: N light websocket clients against a real server.

Headless browsers on a 2-core machine measure the browsers, not the server; these clients
speak Streamlit's own protocol (``streamlit.proto`` BackMsg / ForwardMsg over
``/_stcore/stream``) and do what a user does on the landscape page:

    open      page open -> the first map element (``first map``) and the run's end (``page``)
    step      press Step (the button's trigger, inside its fragment) -> the run's end
    run       press "Run N steps" -> the run's end
    switch    go to the Data page and back to the landscape -> both runs' ends

It starts ``<root>/dashboard/app.py`` as ``losslens app`` does, on 127.0.0.1 (a free port),
warms it with one session (not counted), then for each N starts N sessions at once and
prints p50 / p95 per action, the server's RSS and its CPU-seconds per session, and the
bytes a Step and a Run send. Every loop is bounded in count and time; nothing leaves 127.0.0.1.

    python bench/load.py                          # N = 1, 5, 20, 50 on this tree
    python bench/load.py --sessions 1,5 --root /tmp/main-before   # main's code, for before/after
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState

HOST = "127.0.0.1"  # never anything else
MAX_SESSIONS = 64
RUN_TIMEOUT_S = 120.0  # one script run of one session
LEVEL_TIMEOUT_S = 600.0  # all sessions of one N
MAP_ELEMENTS = {"plotly_chart", "bidi_component"}  # main drew the map with plotly_chart


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


class Server:
    """``streamlit run`` of ``root``'s app, its log in ``log``; RSS and CPU from /proc."""

    def __init__(self, root: Path, log: Path) -> None:
        self.root, self.port = root, free_port()
        env = {**os.environ, "PYTHONPATH": str(root), "PYTHONUNBUFFERED": "1"}
        # As `losslens app` starts it (dashboard.serve: imports and the default grid first);
        # an older tree (--root) has only streamlit run.
        serve = (root / "dashboard" / "serve.py").exists()
        cmd = [sys.executable, "-m", "dashboard.serve" if serve else "streamlit", "run"]
        cmd += ["dashboard/app.py"]
        cmd += ["--server.port", str(self.port), "--server.address", HOST]
        cmd += ["--server.headless", "true", "--browser.gatherUsageStats", "false"]
        cmd += ["--server.fileWatcherType", "none"]
        self.log = open(log, "w")  # closed in stop()
        self.proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=self.log, stderr=self.log)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://{HOST}:{self.port}/_stcore/health") as r:
                    if r.read().strip() == b"ok":
                        return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"streamlit did not start; see {log}")

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def cpu_s(self) -> float:
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
        self.log.close()


@dataclass
class Session:
    """One user: a websocket, the app's pages, the buttons the last runs drew."""

    url: str
    times: dict[str, list[float]] = field(default_factory=dict)
    nbytes: dict[str, list[int]] = field(default_factory=dict)
    pages: dict[str, str] = field(default_factory=dict)  # url path ("" = default) -> hash
    buttons: dict[str, tuple[str, str]] = field(default_factory=dict)  # label -> (id, fragment)
    page_hash: str = ""

    async def main(self) -> None:
        async with websockets.connect(
            self.url, subprotocols=["streamlit"], max_size=2**26, open_timeout=60
        ) as ws:
            self.ws = ws
            t0 = time.perf_counter()
            first = await self.rerun("", "open", first_map=True)
            self.note("first map", first - t0)
            await self.press("Step", "step")
            await self.press_prefix("Run ", "run")
            t0 = time.perf_counter()
            await self.rerun(self.pages["data"], "switch: data")
            await self.rerun(self.pages[""], "switch: back")
            self.note("switch", time.perf_counter() - t0)

    def note(self, what: str, seconds: float, nbytes: int | None = None) -> None:
        self.times.setdefault(what, []).append(seconds)
        if nbytes is not None:
            self.nbytes.setdefault(what, []).append(nbytes)

    async def press(self, label: str, what: str) -> None:
        wid, fragment = self.buttons[label]
        state = WidgetState(id=wid, trigger_value=True)
        await self.rerun(self.page_hash, what, widgets=[state], fragment=fragment)

    async def press_prefix(self, prefix: str, what: str) -> None:
        label = next(b for b in self.buttons if b.startswith(prefix))
        await self.press(label, what)

    async def rerun(
        self,
        page_hash: str,
        what: str,
        widgets: list[WidgetState] = (),
        fragment: str = "",
        first_map: bool = False,
    ) -> float:
        """Send one rerun request and read until its script finishes; the first map's time."""
        msg = BackMsg()
        msg.rerun_script.query_string = ""
        msg.rerun_script.page_script_hash = page_hash
        msg.rerun_script.fragment_id = fragment
        msg.rerun_script.widget_states.widgets.extend(widgets)
        t0 = time.perf_counter()
        await self.ws.send(msg.SerializeToString())
        got_map, total = None, 0
        deadline = t0 + RUN_TIMEOUT_S
        while True:
            raw = await asyncio.wait_for(self.ws.recv(), timeout=deadline - time.perf_counter())
            total += len(raw)
            fwd = ForwardMsg()
            fwd.ParseFromString(raw)
            kind = fwd.WhichOneof("type")
            if kind == "navigation":
                for page in fwd.navigation.app_pages:
                    self.pages["" if page.is_default else page.url_pathname] = page.page_script_hash
                self.page_hash = fwd.navigation.page_script_hash
            elif kind == "delta" and fwd.delta.WhichOneof("type") == "new_element":
                element = fwd.delta.new_element
                etype = element.WhichOneof("type")
                if etype == "button":
                    self.buttons[element.button.label] = (element.button.id, fwd.delta.fragment_id)
                elif etype in MAP_ELEMENTS and got_map is None:
                    got_map = time.perf_counter()
            elif kind == "script_finished":
                if fwd.script_finished == ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                    continue
                break
        self.note(what, time.perf_counter() - t0, total)
        if first_map and got_map is None:
            raise RuntimeError("the page finished without a map")
        return got_map or time.perf_counter()


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


async def level(url: str, n: int) -> list[Session]:
    sessions = [Session(url) for _ in range(n)]
    results = await asyncio.wait_for(
        asyncio.gather(*(s.main() for s in sessions), return_exceptions=True), LEVEL_TIMEOUT_S
    )
    failed = [r for r in results if isinstance(r, BaseException)]
    if failed:
        print(f"  {len(failed)} of {n} sessions failed: {failed[0]!r}")
    return [s for s, r in zip(sessions, results, strict=True) if not isinstance(r, BaseException)]


def report(n: int, sessions: list[Session], cpu: float, rss: float) -> None:
    actions = ["first map", "open", "step", "run", "switch"]
    cells = []
    for what in actions:
        values = [v for s in sessions for v in s.times.get(what, [])]
        cells.append(f"{what} {pct(values, 0.5):.2f}/{pct(values, 0.95):.2f}" if values else "-")
    print(f"N={n:>3}  p50/p95 s: " + "  ".join(cells))
    step_b = [b for s in sessions for b in s.nbytes.get("step", [])]
    run_b = [b for s in sessions for b in s.nbytes.get("run", [])]
    open_b = [b for s in sessions for b in s.nbytes.get("open", [])]
    print(
        f"        server RSS {rss:.0f} MB, CPU {cpu / max(n, 1):.2f} s per session; bytes: "
        f"open {statistics.median(open_b) / 1024:.1f} KiB, step "
        f"{statistics.median(step_b) / 1024:.1f} KiB, run {statistics.median(run_b) / 1024:.1f} KiB"
        if step_b and run_b and open_b
        else f"        server RSS {rss:.0f} MB, CPU {cpu / max(n, 1):.2f} s per session"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", default="1,5,20,50", help="comma-separated N values")
    parser.add_argument("--root", default=str(Path(__file__).resolve().parents[1]))
    parser.add_argument("--log", default="/tmp/losslens-load-server.log")
    args = parser.parse_args()
    levels = [int(v) for v in args.sessions.split(",")]
    if any(not 1 <= n <= MAX_SESSIONS for n in levels):
        parser.error(f"N must lie in [1, {MAX_SESSIONS}]")
    root = Path(args.root).resolve()
    server = Server(root, Path(args.log))
    url = f"ws://{HOST}:{server.port}/_stcore/stream"
    print(f"losslens load bench: {root} on {HOST}:{server.port}, {os.cpu_count()} cores")
    try:
        t0 = time.perf_counter()
        asyncio.run(level(url, 1))  # warm: the first grid, imports, numba; not counted
        print(f"warm-up session (not counted): {time.perf_counter() - t0:.1f} s")
        for n in levels:
            cpu0 = server.cpu_s()
            sessions = asyncio.run(level(url, n))
            report(n, sessions, server.cpu_s() - cpu0, server.rss_mb())
    finally:
        server.stop()


if __name__ == "__main__":
    main()
