"""A read-only install with no writable home (a container, a shared server): numba has
nowhere to cache its kernels next to the package or in ~/.cache, and core must still
compute, with numba (in a private cache directory) or with numpy."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

CODE = """
import numpy as np, core, core.engine as engine
rng = np.random.default_rng(0)
ds = core.Dataset(rng.normal(size=(400, 200)), rng.normal(size=(400, 200)), 100.0)
core.warm_up()
ev = core.evaluate(ds, 0.3, -0.2, backend="numba")
grid = core.landscape(ds, np.linspace(-1, 1, 8), np.linspace(-1, 1, 8), backend="numba")
slow = core.evaluate(ds, 0.3, -0.2, backend="numpy")
assert abs(ev.s - slow.s) <= 1e-12 * slow.s, (ev.s, slow.s)
print("ok", grid.backend, engine.kernels() is not None)
"""


def _run_read_only(tmp_path: Path) -> subprocess.CompletedProcess:
    """Run CODE with a read-only copy of core and a read-only, empty home."""
    pkg, home = tmp_path / "pkg", tmp_path / "home"
    shutil.copytree(ROOT / "core", pkg / "core", ignore=shutil.ignore_patterns("__pycache__"))
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NUMBA_CACHE", "XDG_"))}
    env.update(HOME=str(home), PYTHONPATH=str(pkg), PYTHONDONTWRITEBYTECODE="1")
    py = [sys.executable, "-c", CODE]
    if os.geteuid() == 0:  # root ignores file modes: a read-only mount in a mount namespace
        if shutil.which("unshare") is None:
            pytest.skip("running as root without unshare: cannot make a read-only install")
        mounts = " && ".join(
            f"mount --bind {d} {d} && mount -o remount,bind,ro {d}" for d in (pkg, home)
        )
        argv = ["unshare", "-m", "sh", "-c", f'{mounts} && exec "$@"', "sh", *py]
    else:
        for d in (pkg, home):
            for p in [d, *d.rglob("*")]:
                p.chmod(0o555 if p.is_dir() else 0o444)
        argv = py
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=240, cwd=tmp_path)


@pytest.mark.slow
def test_read_only_install_without_a_writable_home_still_computes(tmp_path):
    res = _run_read_only(tmp_path)
    if res.returncode != 0 and "mount" in res.stderr and "denied" in res.stderr:
        pytest.skip(f"no read-only mount here: {res.stderr.strip()[:200]}")
    assert res.returncode == 0, res.stderr[-2000:]
    assert res.stdout.split() == ["ok", "numba", "True"], res.stdout
    assert not list((tmp_path / "pkg").rglob("*.nbi")), "numba wrote into the read-only package"
