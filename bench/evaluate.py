"""Benchmark: core.evaluate (s, L, ∇L and the exact Hessian) against the naive formula.

    .venv/bin/python bench/evaluate.py [--quick] [--memory]

Baseline, measured in the same run: the textbook numpy forward pass
s = N − Σ_i Π_j (1 − σ(X_ij)) with the gradient Tr(P F Iᵀ) — fast, but it loses
everything for rare events (prints its relative error next to ours).
"""

from __future__ import annotations

import argparse
import math
import subprocess
import sys
import time

import numpy as np

import core
from core import Dataset, evaluate


def naive(I: np.ndarray, D: np.ndarray, y: float, alpha: float, beta: float):
    F = 1.0 / (1.0 + np.exp(-(alpha * I + beta * D)))
    p = np.prod(1.0 - F, axis=1)
    s = I.shape[0] - p.sum()
    r = s - y
    g = r * np.array([p @ (F * I).sum(1), p @ (F * D).sum(1)])
    return s, 0.5 * r * r, g


def jax_value_and_grad():
    """jit(value_and_grad(L)) in JAX (float64), or None when JAX is not installed
    (``uv pip install "jax[cpu]"`` into the venv: a bench tool, not a dependency)."""
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        return None
    jax.config.update("jax_enable_x64", True)

    def loss(theta, I, D, y):
        logp = -jnp.sum(jnp.logaddexp(0.0, theta[0] * I + theta[1] * D), axis=1)
        return 0.5 * (jnp.sum(-jnp.expm1(logp)) - y) ** 2

    f = jax.jit(jax.value_and_grad(loss))

    def run(I, D, y, alpha, beta):
        value, grad = f(jnp.array([alpha, beta]), I, D, y)
        return float(value), np.asarray(grad)

    def prepare(I, D):
        return jnp.asarray(I), jnp.asarray(D)

    return prepare, run


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes only")
    ap.add_argument("--memory", action="store_true", help="also peak memory at N = 10^7")
    ap.add_argument("--threads", action="store_true", help="also one thread vs all, small calls")
    args = ap.parse_args()
    sizes = (
        [(10_000, 20), (100_000, 20)]
        if args.quick
        else [(10_000, 20), (100_000, 20), (1_000_000, 20)]
    )
    rng = np.random.default_rng(0)
    core.warm_up()  # numba's kernels loaded (compiled the first time)
    jx = jax_value_and_grad()
    print(
        f"{'N':>9} {'E':>4} {'naive s,∇L':>11} {'JAX L,∇L':>9} {'evaluate':>9} {'no Hessian':>10} "
        f"{'÷ naive':>8} {'÷ JAX':>6}"
    )
    for N, E in sizes:
        I, D = rng.normal(size=(N, E)), rng.exponential(size=(N, E))
        ds = Dataset(I, D, N / 2)
        repeat = 5 if N >= 1_000_000 else 20
        t_naive = best(lambda I=I, D=D, y=ds.y: naive(I, D, y, 0.3, -0.2), repeat)
        t_jax = math.nan
        if jx is not None:
            jI, jD = jx[0](I, D)
            jx[1](jI, jD, ds.y, 0.3, -0.2)  # compile
            t_jax = best(lambda jI=jI, jD=jD, y=ds.y: jx[1](jI, jD, y, 0.3, -0.2), repeat)
        t_full = best(lambda ds=ds: evaluate(ds, 0.3, -0.2), repeat)
        t_fast = best(lambda ds=ds: evaluate(ds, 0.3, -0.2, hessian=False), repeat)
        print(
            f"{N:>9,} {E:>4} {t_naive:>10.3f}s {t_jax:>8.3f}s {t_full:>8.3f}s {t_fast:>9.3f}s "
            f"{t_full / t_naive:>7.2f}x {t_full / t_jax:>5.2f}x"
        )
    print(
        "÷ naive, ÷ JAX: evaluate with the Hessian over naive numpy s, ∇L and over JAX's "
        "jit(value_and_grad) (L, ∇L only); below 1 means evaluate is faster."
    )

    # Accuracy where it matters: rare events (σ ≈ 1e-17 per event).
    I = np.ones((1000, 20))
    ds = Dataset(I, I, 0.0)
    exact = 1000 * 20 / (1 + np.exp(39.0))  # s ≈ Σ σ when every σ is tiny (to 1e-17 relative)
    s_naive = naive(I, I, 0.0, -39.0, 0.0)[0]
    s_ours = evaluate(ds, -39.0, 0.0).s
    print(
        f"rare events, exact s = {exact:.6e}: naive {s_naive:.6e} "
        f"(rel. error {abs(s_naive - exact) / exact:.1e}), evaluate {s_ours:.6e} "
        f"(rel. error {abs(s_ours - exact) / exact:.1e})"
    )
    if args.threads:
        threading_table(rng)
    if args.memory:
        memory(100_000 if args.quick else 10_000_000)


# Peak memory of a loss and gradient, measured in a fresh process: the data, a Dataset
# of it and one evaluate. The target is <= 1.5x the two float64 matrices.
_MEMORY = """
import resource, sys
import numpy as np
import core
from core import Dataset, evaluate
N, E = int(sys.argv[1]), 20
rng = np.random.default_rng(0)
I, D = rng.normal(size=(N, E)), rng.exponential(size=(N, E))
ds = Dataset(I, D, N / 2)
evaluate(ds, 0.3, -0.2, hessian=False)
print(I.nbytes + D.nbytes, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
"""


def threading_table(rng: np.random.Generator) -> None:
    """Small calls: one thread against all, per size, to place engine._THREADED."""
    from core import engine

    saved = engine._THREADED
    print(f"{'N·E':>10} {'1 thread mean/p99':>20} {'threads mean/p99':>20}")
    try:
        for N in (1_000, 5_000, 10_000, 25_000, 50_000, 100_000):
            ds = Dataset(rng.normal(size=(N, 20)), rng.exponential(size=(N, 20)), N / 2)
            row = []
            for threshold in (float("inf"), 0):
                engine._THREADED = threshold
                evaluate(ds, 0.3, -0.2, backend="numba")
                times = []
                for _ in range(200 if N <= 25_000 else 50):
                    t = time.perf_counter()
                    evaluate(ds, 0.3, -0.2, backend="numba")
                    times.append(time.perf_counter() - t)
                mean, p99 = np.mean(times) * 1e3, np.percentile(times, 99) * 1e3
                row.append(f"{mean:8.2f} / {p99:6.2f} ms")
            print(f"{N * 20:>10,} {row[0]:>20} {row[1]:>20}")
    finally:
        engine._THREADED = saved
    print(f"engine._THREADED = {saved:,} point·events: below it a call runs on one thread")


def memory(N: int) -> None:
    out = subprocess.run(
        [sys.executable, "-c", _MEMORY, str(N)], capture_output=True, text=True, check=True
    ).stdout.split()
    data, peak = int(out[0]), int(out[1])
    print(
        f"memory at N = {N:,}, E = 20: I and D {data / 1e9:.2f} GB, peak RSS of data + Dataset "
        f"+ evaluate {peak / 1e9:.2f} GB = {peak / data:.2f}x the two matrices (target <= 1.5x)"
    )


if __name__ == "__main__":
    main()
