"""The ``losslens`` command.

    losslens                              open the dashboard (same as ``losslens app``)
    losslens app [STREAMLIT ARGS]         e.g. ``losslens app --server.port 8600``
    losslens check FILE [FILE_D] [--y Y] [--box AMIN AMAX BMIN BMAX]
    losslens check --preset NAME          check a built-in preset

``check`` prints the sanity report. Exit status: 0 when the worst finding is a note or
a warning, 1 when it is an error, 2 when the input cannot be read (message on stderr).
core never imports streamlit: the dashboard runs in a child ``python -m streamlit``.
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from .errors import DataError
from .generators import PRESETS, make_preset
from .io import load_dataset, load_pair
from .report import sanity_report
from .validation import MAX_UPLOAD_MB, MB

__all__ = ["main"]


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


def _app(extra: list[str]) -> int:
    spec = importlib.util.find_spec("dashboard")
    locations = list(spec.submodule_search_locations or []) if spec else []
    apps = [Path(loc) / "app.py" for loc in locations if (Path(loc) / "app.py").is_file()]
    if not apps:
        print(
            "losslens: error: the dashboard package (dashboard/app.py) is not installed.",
            file=sys.stderr,
        )
        return 2
    try:
        return subprocess.call([sys.executable, "-m", "streamlit", "run", str(apps[0]), *extra])
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


if __name__ == "__main__":
    sys.exit(main())
