"""Benchmark: a basin map (a grid of starts, each run by one optimizer) at N = 10⁴, E = 20.

    .venv/bin/python bench/basins.py [--quick]

A basin map is core.descend_many: every step evaluates the model at all K active starts at
once (core.evaluate_points). Printed side by side in one run: the numba engine (rows shared
out to threads) and the numpy twin (the oracle; timed on a few steps and scaled, "est.").
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

import core
from core import engine


def starts(box, n: int) -> np.ndarray:
    A, B = np.meshgrid(np.linspace(box[0], box[1], n), np.linspace(box[2], box[3], n))
    return np.stack([A.ravel(), B.ravel()], axis=1)


def timed(ds, name: str, S, steps: int, backend: str) -> tuple[float, float, core.ManyResult]:
    """(wall seconds, CPU seconds of all threads, result) of one basin map."""
    original = engine.point_sums

    def forced(*args, **kw):
        return original(*args, **{**kw, "backend": backend})

    engine.point_sums = forced  # the optimizers call evaluate_points, which calls this
    try:
        t, cpu = time.perf_counter(), time.process_time()
        res = core.descend_many(ds, name, S, steps=steps, lr=LR[name])
        return time.perf_counter() - t, time.process_time() - cpu, res
    finally:
        engine.point_sums = original


LR = {"gd": 0.02, "newton": 1.0}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a 10 × 10 map")
    args = ap.parse_args()
    n, steps = (10, 50) if args.quick else (40, 200)
    ds = core.generate(N=10_000, E=20, alpha=0.8, beta=-0.6, seed=0)
    ds = ds.with_y(ds.y)
    box = core.default_box(ds)
    S = starts(box, n)
    core.warm_up()
    print(f"basin map {n}×{n} starts × {steps} steps, N = {ds.N:,}, E = {ds.E}")
    cpus = len(os.sched_getaffinity(0))
    print(f"load average {os.getloadavg()[0]:.1f} on {cpus} CPUs (wall times grow with it)")
    for name in ("gd", "newton"):
        t_fast, cpu_fast, res = timed(ds, name, S, steps, "numba")
        few = 3
        t_few, _, _ = timed(ds, name, S, few, "numpy")
        # numpy: scale the first steps' time by the steps the full map really took
        t_slow = t_few / few * max(1, int(res.steps_taken.max()))
        print(
            f"  {name:>7}: numba {t_fast:7.1f} s (CPU {cpu_fast:6.1f} s)   "
            f"numpy {t_slow:7.1f} s (est.)   "
            f"{t_slow / t_fast:5.1f}x   converged {int(res.converged.sum())}/{len(S)}, "
            f"steps taken up to {int(res.steps_taken.max())}"
        )


if __name__ == "__main__":
    main()
