"""A built wheel, installed into a fresh venv, holds everything: samples, the app, the command.

uv (installed next to the test's python by scripts/install) builds and installs from its
cache, so this needs no network beyond the package registries and takes seconds.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from core import SAMPLES

ROOT = Path(__file__).resolve().parent.parent
UV = Path(sys.executable).parent / "uv"
# What setuptools needs to build; the tests, the benchmarks and .venv stay behind.
SOURCES = ("core", "dashboard", "assets", "pyproject.toml", "README.md")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not UV.exists(), reason=f"uv is not installed at {UV}"),
]

# Run by the installed python from a directory outside the checkout: every sample loads
# through the installed package, and the app's files are there.
PROBE = """
import sys
from pathlib import Path
import core, dashboard.cli as cli
site = Path(sys.argv[1])
assert Path(core.__file__).is_relative_to(site), core.__file__
assert core.ASSETS.is_relative_to(site), core.ASSETS
for name, sample in core.SAMPLES.items():
    ds = core.load_sample(name)
    assert ds.truth == sample.truth, name
    print(name, ds.N, ds.E, ds.y)
assert cli.APP.is_file() and cli.STREAMLIT_CONFIG.is_file()
assert {p.name for p in (cli.APP.parent / "views").glob("*.py")} >= {"data.py", "landscape.py"}
print("ok")
"""


def _run(cmd: list, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env |= {"UV_SYSTEM_CERTS": "1", "UV_NATIVE_TLS": "1"}  # as scripts/install
    done = subprocess.run(
        [str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, (cmd, done.stdout[-1000:], done.stderr[-2000:])
    return done


@pytest.fixture(scope="module")
def wheel_venv(tmp_path_factory) -> Path:
    """A venv with the wheel built from a copy of this checkout (not editable)."""
    tmp = tmp_path_factory.mktemp("packaging")
    src = tmp / "src"
    src.mkdir()
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(ROOT / name, src / name)
    _run([UV, "build", "--quiet", "--wheel", "--out-dir", tmp / "dist", src], cwd=tmp)
    (wheel,) = (tmp / "dist").glob("losslens-*.whl")
    shutil.rmtree(src)  # nothing can be imported from the sources any more
    _run([UV, "venv", "--quiet", "--python", sys.executable, tmp / "venv"], cwd=tmp)
    _run([UV, "pip", "install", "--quiet", "--python", tmp / "venv/bin/python", wheel], cwd=tmp)
    return tmp / "venv"


def test_the_installed_wheel_loads_every_sample(wheel_venv, tmp_path):
    python = wheel_venv / "bin/python"
    site = _run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], tmp_path)
    done = _run([python, "-c", PROBE, site.stdout.strip()], cwd=tmp_path)
    # The checkout's list: the wheel holds the same samples.
    assert [line.split()[0] for line in done.stdout.splitlines()[:-1]] == list(SAMPLES)
    assert done.stdout.splitlines()[-1] == "ok"


def test_the_installed_command_checks_a_sample(wheel_venv, tmp_path):
    python = wheel_venv / "bin/python"
    assets = _run([python, "-c", "import core; print(core.ASSETS)"], tmp_path).stdout.strip()
    done = _run(
        [wheel_venv / "bin/losslens", "check", Path(assets) / "exposure_long.csv"], tmp_path
    )
    assert done.stdout.startswith("Sanity report: exposure_long") and done.stderr == ""
