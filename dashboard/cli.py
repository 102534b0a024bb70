"""The ``losslens`` command.

    losslens                              open the dashboard (same as ``losslens app``)
    losslens app [STREAMLIT ARGS]         e.g. ``losslens app --server.port 8600``
                                          (serves 127.0.0.1; ``--server.address 0.0.0.0``
                                          shares it on the network)
    losslens check FILE [FILE_D] [--y Y] [--box AMIN AMAX BMIN BMAX]
    losslens check --preset NAME          check a built-in preset
    losslens check DIR --y COUNT [--scheduler ADDR]      long Parquet files on a Dask cluster
    losslens landscape DIR --y COUNT --box A,B,C,D --res 64 --out grid.npz [--scheduler ADDR]
    losslens app --data DIR --y COUNT     the dashboard, offering DIR on the Data page

``check`` prints the sanity report. Exit status: 0 when the worst finding is a note or
a warning, 1 when it is an error, 2 when the input cannot be read (message on stderr).
A DIR (or a glob) is read as partitioned long Parquet on a Dask cluster (core.open_dataset:
the scheduler ADDR, else $LOSSLENS_DASK_SCHEDULER, else a local cluster on this machine).
The command lives with the dashboard (the user-facing layer) but imports only core:
``check`` never loads streamlit, and ``app`` runs it in a child ``python -m streamlit``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tomllib
from collections.abc import Sequence
from pathlib import Path

from core import PRESETS, DataError, load_dataset, load_pair, make_preset, sanity_report
from core.partitioned import ENV_SCHEDULER
from core.validation import MAX_UPLOAD_MB, MB, check_box, check_count

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
    sub = parser.add_subparsers(dest="command", metavar="{app,check,landscape}")
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
    check.add_argument("--scheduler", metavar="ADDR", help=SCHEDULER_HELP)
    grid = sub.add_parser(
        "landscape",
        help="compute a landscape of partitioned Parquet data on a Dask cluster",
        description="Compute s, L and ∇L on a RES × RES grid over the box, on a Dask cluster, "
        "and write them to an .npz the dashboard opens (Data page: Open a landscape file).",
    )
    grid.add_argument("source", metavar="DIR", help="a directory or glob of long Parquet files")
    grid.add_argument("--y", type=float, required=True, help="the observed count")
    grid.add_argument("--box", required=True, metavar="A,B,C,D", help="alpha_min,alpha_max,"
                      "beta_min,beta_max")  # fmt: skip
    grid.add_argument("--res", type=int, default=64, help="grid cells per axis (default 64)")
    grid.add_argument("--out", required=True, metavar="FILE", help="the .npz to write")
    grid.add_argument("--scheduler", metavar="ADDR", help=SCHEDULER_HELP)
    return parser


SCHEDULER_HELP = "a Dask scheduler address such as tcp://host:8786 (default: "
SCHEDULER_HELP += "$LOSSLENS_DASK_SCHEDULER, else a local cluster on this machine)"


def _partitioned(source: str) -> bool:
    """A directory or a glob means partitioned Parquet data on a cluster."""
    return Path(source).is_dir() or any(c in source for c in "*?[")


def _say(text: str) -> None:
    print(f"losslens: {text}", file=sys.stderr, flush=True)


def _open(source: str, y: float | None, scheduler: str | None):
    from core import open_dataset

    if y is None:
        raise DataError(f"{source} is partitioned data: give the observed count with --y COUNT.")
    return open_dataset(source, y=y, client=scheduler, message=_say)


def _landscape(args: argparse.Namespace) -> int:
    import numpy as np

    from core import landscape, save_landscape

    try:
        box = check_box(tuple(float(v) for v in args.box.split(",")))
    except ValueError:
        raise DataError(f"--box takes four numbers A,B,C,D; got {args.box!r}.") from None
    res = check_count(args.res, "--res", lo=2, hi=2000)
    ds = _open(args.source, args.y, args.scheduler)
    _say(f"{ds!r}; landscape {res}×{res} on {ds.dashboard_link or 'the cluster'}")
    alphas, betas = np.linspace(box[0], box[1], res), np.linspace(box[2], box[3], res)

    def progress(f: float) -> None:
        print(f"\rlosslens: landscape {f:6.1%}", end="\n" if f >= 1 else "", file=sys.stderr)

    grid = landscape(ds, alphas, betas, gradient=True, progress=progress)
    save_landscape(grid, args.out)
    a, b = grid.argmin()
    print(f"wrote {args.out}: {res}×{res} grid, smallest L = {grid.loss.min():.6g} at "
          f"(alpha, beta) = ({a:g}, {b:g})")  # fmt: skip
    return 0


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
    elif len(args.files) == 1 and _partitioned(args.files[0]):
        ds = _open(args.files[0], args.y, args.scheduler)
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


def _app_data(extra: list[str]) -> tuple[list[str], dict[str, str]]:
    """``--data DIR --y COUNT [--scheduler ADDR]`` taken out of the streamlit arguments,
    as the environment the Data page reads (LOSSLENS_DATA, LOSSLENS_Y, the scheduler)."""
    names = {"--data": "LOSSLENS_DATA", "--y": "LOSSLENS_Y", "--scheduler": ENV_SCHEDULER}
    rest, env, it = [], {}, iter(extra)
    for arg in it:
        key, eq, value = arg.partition("=")
        if key in names:
            env[names[key]] = value if eq else next(it, "")
        else:
            rest.append(arg)
    if "LOSSLENS_DATA" in env and not env.get("LOSSLENS_Y"):
        raise DataError("losslens app --data DIR needs the observed count: --y COUNT.")
    return rest, env


def _app(extra: list[str]) -> int:
    extra, env = _app_data(extra)
    if not (APP.is_file() and STREAMLIT_CONFIG.is_file()):
        print(f"losslens: error: the dashboard is incomplete ({APP.parent}).", file=sys.stderr)
        return 2
    # Localhost unless the user says otherwise (README: "Share on a network"). The user's
    # flags come last: for a repeated option, the last value wins.
    # dashboard.serve is `streamlit run` with the first page's imports and grid done first.
    cmd = [sys.executable, "-m", "dashboard.serve", "run", str(APP), *config_flags(), LOCAL]
    cmd += extra
    try:
        os.environ.update(env)  # the child streamlit inherits it
        return subprocess.call(cmd)
    except KeyboardInterrupt:
        return 130


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (the console script exits with it)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] == "app":
        try:
            return _app(argv[1:])
        except DataError as exc:
            print(f"losslens: error: {exc}", file=sys.stderr)
            return 2
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:  # --help, or a usage error (argparse printed it)
        return exc.code if isinstance(exc.code, int) else 2
    try:
        return _landscape(args) if args.command == "landscape" else _check(args)
    except DataError as exc:
        print(f"losslens: error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # never a traceback: the message, and the input's exit status
        print(f"losslens: error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
