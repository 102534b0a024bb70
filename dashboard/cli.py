"""The ``losslens`` command.

    losslens                              open the dashboard (same as ``losslens app``)
    losslens app [STREAMLIT ARGS]         e.g. ``losslens app --server.port 8600``
                                          (serves 127.0.0.1; ``--server.address 0.0.0.0``
                                          shares it on the network)
    losslens check FILE [FILE_D] [--y Y] [--box AMIN AMAX BMIN BMAX]
    losslens check --preset NAME          check a built-in preset

``check`` prints the sanity report. Exit status: 0 when the worst finding is a note or
a warning, 1 when it is an error, 2 when the input cannot be read (message on stderr).
The command lives with the dashboard (the user-facing layer) but imports only core:
``check`` never loads streamlit, and ``app`` runs it in a child ``python -m streamlit``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tomllib
from collections.abc import Sequence
from pathlib import Path

from core import PRESETS, DataError, load_dataset, load_pair, make_preset, sanity_report
from core.validation import MAX_UPLOAD_MB, MB

__all__ = ["APP", "LOCAL", "STREAMLIT_CONFIG", "config_flags", "main"]

APP = Path(__file__).resolve().parent / "app.py"
# Shipped in the wheel next to app.py. Streamlit reads .streamlit/config.toml from the
# working directory (newer versions also next to the script), so `losslens app` passes
# it as flags: the installed app looks the same from any directory.
STREAMLIT_CONFIG = APP.parent / ".streamlit" / "config.toml"
# Serve this machine only: anyone who can open the page can upload files and run jobs.
LOCAL = "--server.address=127.0.0.1"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="losslens",
        description="See, teach and check the loss surface of the noisy-OR count model.",
    )
    sub = parser.add_subparsers(dest="command", metavar="{app,check}")
    sub.add_parser("app", help="open the dashboard (the default); extra arguments go to streamlit")
    check = sub.add_parser(
        "check",
        help="print the sanity report of a data file",
        description="Print the sanity report of a dataset. Exit status: 0 fine (notes and "
        "warnings included), 1 the report found an error, 2 the input could not be read.",
    )
    check.add_argument(
        "files",
        nargs="*",
        metavar="FILE",
        help="one .npz / long .csv / .parquet file, or two files I and D (wide .csv or .npy)",
    )
    check.add_argument("--y", type=float, help="the observed count (overrides a y in the file)")
    check.add_argument(
        "--box",
        type=float,
        nargs=4,
        metavar=("AMIN", "AMAX", "BMIN", "BMAX"),
        help="the (alpha, beta) box to check (default: ±3 around the truth, or around 0)",
    )
    check.add_argument(
        "--preset", choices=list(PRESETS), help="check a built-in preset instead of a file"
    )
    check.add_argument(
        "--max-mb",
        type=float,
        default=MAX_UPLOAD_MB,
        help=f"refuse files larger than this many MB (default {MAX_UPLOAD_MB})",
    )
    return parser


def _check(args: argparse.Namespace) -> int:
    if bool(args.files) == bool(args.preset):
        raise DataError("give one or two data files, or --preset NAME (not both).")
    if len(args.files) > 2:
        raise DataError(
            f"give one file (I and D together) or two (I, then D); got {len(args.files)}."
        )
    max_bytes = int(args.max_mb * MB)
    if args.preset:
        ds = make_preset(args.preset)
        if args.y is not None:
            ds = ds.with_y(args.y)
    elif len(args.files) == 1:
        ds = load_dataset(args.files[0], y=args.y, max_bytes=max_bytes)
    else:
        ds = load_pair(args.files[0], args.files[1], y=args.y, max_bytes=max_bytes)
    report = sanity_report(ds, box=args.box)
    print(report.to_text())
    return 1 if report.worst == "error" else 0


def config_flags(path: Path = STREAMLIT_CONFIG) -> list[str]:
    """The options of a Streamlit config.toml as ``--section.option=value`` flags."""
    config = tomllib.loads(path.read_text(encoding="utf-8"))
    return [
        f"--{section}.{key}={str(value).lower() if isinstance(value, bool) else value}"
        for section, options in config.items()
        for key, value in options.items()
    ]


def _app(extra: list[str]) -> int:
    if not (APP.is_file() and STREAMLIT_CONFIG.is_file()):
        print(f"losslens: error: the dashboard is incomplete ({APP.parent}).", file=sys.stderr)
        return 2
    # Localhost unless the user says otherwise (README: "Share on a network"). The user's
    # flags come last: for a repeated option, the last value wins.
    cmd = [sys.executable, "-m", "streamlit", "run", str(APP), *config_flags(), LOCAL, *extra]
    try:
        return subprocess.call(cmd)
    except KeyboardInterrupt:
        return 130


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (the console script exits with it)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] == "app":
        return _app(argv[1:])
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:  # --help, or a usage error (argparse printed it)
        return exc.code if isinstance(exc.code, int) else 2
    try:
        return _check(args)
    except DataError as exc:
        print(f"losslens: error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # never a traceback: the message, and the input's exit status
        print(f"losslens: error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
