"""`losslens check` exit codes and messages; `losslens` / `losslens app` start the dashboard."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import dashboard.cli as cli
from core import Dataset, save_dataset
from dashboard.cli import main

ROOT = Path(__file__).resolve().parent.parent
ASSETS = ROOT / "assets"
SCRIPT = Path(sys.executable).parent / "losslens"


@pytest.fixture
def unfittable(tmp_path) -> Path:
    """y = 10 with only 2 rows: no (α, β) can fit, the report has an error."""
    ds = Dataset(np.array([[1.0], [2.0]]), np.array([[0.5], [1.0]]), 10.0)
    return save_dataset(ds, tmp_path / "unfittable.npz")


def run(argv, capsys):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_check_a_sample_prints_the_report(capsys):
    code, out, err = run(["check", str(ASSETS / "exposure_long.csv")], capsys)
    assert code == 0, err
    assert out.startswith("Sanity report: exposure_long") and "Rows with no events" in out
    assert err == ""


def test_check_a_pair_needs_y(capsys):
    pair = [str(ASSETS / "wide_I.csv"), str(ASSETS / "wide_D.csv")]
    code, out, err = run(["check", *pair], capsys)
    assert code == 2 and out == ""
    assert err.startswith("losslens: error: ") and "holds no y" in err and "--y COUNT" in err
    assert "Traceback" not in err
    code, out, _ = run(["check", *pair, "--y", "24"], capsys)
    assert code == 0 and "y = 24 lies within" in out


def test_an_error_in_the_report_exits_1(unfittable, capsys):
    code, out, _ = run(["check", str(unfittable)], capsys)
    assert code == 1 and "y cannot be fitted" in out and "worst: error" in out
    code, _, _ = run(["check", str(unfittable), "--y", "1"], capsys)  # --y overrides
    assert code == 0


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["check", "missing.csv"], "missing.csv does not exist"),
        (["check", "BAD"], "BAD.csv contains binary data"),
        (["check"], "give one or two data files, or --preset NAME"),
        (["check", "a", "b", "c"], "give one file (I and D together) or two (I, then D); got 3"),
        (["check", "--preset", "balanced", "--box", "1", "0", "0", "1"], "alpha_min < alpha_max"),
        (["check", "BAD", "--max-mb", "0"], "over the 0 MB limit"),
    ],
)
def test_unreadable_input_exits_2_with_a_message(argv, message, tmp_path, capsys):
    bad = tmp_path / "BAD.csv"
    bad.write_bytes(b"\x00\x01\x02")
    argv = [str(bad) if a == "BAD" else a for a in argv]
    code, out, err = run(argv, capsys)
    assert code == 2 and out == ""
    assert message in err and "Traceback" not in err


def test_usage_errors_and_help(capsys):
    code, _, err = run(["check", "x.csv", "--y", "many"], capsys)
    assert code == 2 and "invalid float value: 'many'" in err
    code, out, _ = run(["--help"], capsys)
    assert code == 0 and "check" in out and "app" in out
    code, _, err = run(["frobnicate"], capsys)
    assert code == 2 and "invalid choice" in err


def test_check_a_preset(capsys):
    code, out, _ = run(["check", "--preset", "collinear"], capsys)
    assert code == 0 and "Flat direction: D ≈ c·I" in out
    code, out, _ = run(["check", "--preset", "balanced", "--y", "500"], capsys)
    assert code == 1 and "y = 500 is outside [0, 200]" in out


@pytest.mark.parametrize(
    ("argv", "extra"), [([], []), (["app", "--server.port", "8600"], ["--server.port", "8600"])]
)
def test_app_runs_streamlit_on_the_dashboard(argv, extra, monkeypatch):
    calls = []
    monkeypatch.setattr(cli.subprocess, "call", lambda cmd: calls.append(cmd) or 0)
    assert main(argv) == 0
    (cmd,) = calls
    assert cmd[:4] == [sys.executable, "-m", "dashboard.serve", "run"]
    app = Path(cmd[4])
    assert app.name == "app.py" and app.parent.name == "dashboard" and app.is_file()
    # The dashboard's config as flags, from any working directory; the user's flags last.
    flags = cli.config_flags()
    assert cmd[5:] == [*flags, "--server.address=127.0.0.1", *extra]
    assert {"--server.maxUploadSize=200", "--client.showErrorDetails=none"} <= set(flags)
    assert "--browser.gatherUsageStats=false" in flags  # TOML false, as Streamlit spells it


def test_check_does_not_import_streamlit():
    code = (
        "import sys; from dashboard.cli import main; code = main(['check', '--preset', "
        "'balanced']); bad = [m for m in ('streamlit', 'plotly') if m in sys.modules]; "
        "print(bad); sys.exit(3 if bad else code)"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, (done.stdout[-300:], done.stderr[-500:])
    assert done.stdout.rstrip().endswith("[]") and "Sanity report: balanced" in done.stdout


@pytest.mark.skipif(
    not (SCRIPT.exists() and "dashboard.cli" in SCRIPT.read_text(errors="replace")),
    reason="the losslens console script is not installed (or installed from an older tree)",
)
def test_the_installed_script(unfittable, tmp_path):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"PK\x03\x04 not really")
    for args, want in [
        (["check", "assets/balanced.npz"], 0),
        (["check", str(unfittable)], 1),
        (["check", str(bad)], 2),
    ]:
        done = subprocess.run([str(SCRIPT), *args], cwd=ROOT, capture_output=True, text=True)
        assert done.returncode == want, (args, done.stdout[-300:], done.stderr[-500:])
        assert "Traceback" not in done.stderr
    assert "bad.npz is not a readable .npz (zip) file" in done.stderr


def test_app_serves_localhost_unless_told_otherwise(monkeypatch):
    calls = []
    monkeypatch.setattr(cli.subprocess, "call", lambda cmd: calls.append(cmd) or 0)
    main(["app"])
    main(["app", "--server.address", "0.0.0.0"])
    local, shared = calls
    assert "--server.address=127.0.0.1" in local
    # The user's address comes after the default: Streamlit keeps the last one.
    assert shared.index("--server.address=127.0.0.1") < shared.index("0.0.0.0")
    scripts_run = (ROOT / "scripts" / "run").read_text()
    assert "losslens app" in scripts_run  # scripts/run serves through `losslens app`


def test_no_traceback_for_any_failure(tmp_path, capsys, monkeypatch):
    """A text .npy made np.isnan raise TypeError before; any surprise exits 2 with a line."""
    for name in ("I", "D"):
        np.save(tmp_path / f"t_{name}.npy", np.array([["a", "b"], ["c", "d"]]))
    code, out, err = run(["check", str(tmp_path / "t_I.npy"), str(tmp_path / "t_D.npy")], capsys)
    assert code == 2 and out == "" and "Traceback" not in err
    assert "I must hold real numbers; got text" in err

    def broken(*args, **kwargs):
        raise RuntimeError("a bug in the report")

    monkeypatch.setattr(cli, "sanity_report", broken)
    code, out, err = run(["check", "--preset", "balanced"], capsys)
    assert (code, out) == (2, "")
    assert err == "losslens: error: RuntimeError: a bug in the report\n"
