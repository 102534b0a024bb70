"""Benchmark core.landscape against a naive per-cell numpy loop (and JAX if installed).

    .venv/bin/python bench/landscape.py            # full table, ~1-2 minutes
    .venv/bin/python bench/landscape.py --quick    # smaller sizes, ~15 s

All numbers come from one run on this machine. The naive baseline is the obvious
Python loop over grid cells, ``np.prod(1 - sigmoid(alpha*I + beta*D), axis=1)``
(inaccurate for rare events; here only as a speed reference). Where timing every
cell would take too long, the baseline and the numpy backend are timed on a
subset of cells and scaled to the full grid: the table says so ("est.").
Times are the best of a few repeats; the machine is shared, so expect noise.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from anywhere (the editable install needs cwd = ROOT)

from core import Dataset, coarse_grid, evaluate, landscape, warm_up  # noqa: E402


def best_of(f, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        f()
        times.append(time.perf_counter() - t0)
    return min(times)


def naive_grid(I: np.ndarray, D: np.ndarray, y: float, alphas, betas) -> np.ndarray:
    """The baseline: one numpy evaluation of s per cell, in a Python loop."""
    loss = np.empty((len(betas), len(alphas)))
    for k, beta in enumerate(betas):
        for l, alpha in enumerate(alphas):
            X = alpha * I + beta * D
            p = np.prod(1.0 - 1.0 / (1.0 + np.exp(-X)), axis=1)
            s = I.shape[0] - p.sum()
            loss[k, l] = 0.5 * (y - s) ** 2
    return loss


def time_subset(run, alphas, betas, cells: int, repeats: int, N: int, E: int):
    """(seconds for the full grid, estimated?): timed on at most ``cells`` cells (fewer
    for big data, ~2e8 cell·events) and scaled when the grid is larger."""
    cells = int(max(16, min(cells, 2e8 // (N * E))))
    full = len(alphas) * len(betas)
    if full <= cells:
        return best_of(lambda: run(alphas, betas), repeats), False
    cols = max(1, min(len(alphas), cells // len(betas) or 1))
    rows = max(1, min(len(betas), cells // cols))
    t = best_of(lambda: run(alphas[:cols], betas[:rows]), repeats)
    return t * full / (cols * rows), True


def jax_grid():
    """A jit+vmap landscape in JAX, or None when JAX is not installed."""
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        return None
    jax.config.update("jax_enable_x64", True)

    @jax.jit
    def grid(I0, D0, mask, y, alphas, betas):
        def cell(a, b):
            X = jnp.where(mask, a * I0 + b * D0, -jnp.inf)
            logp = -jnp.sum(jnp.logaddexp(0.0, X), axis=1)
            s = jnp.sum(-jnp.expm1(logp))
            return 0.5 * (s - y) ** 2

        return jax.vmap(lambda b: jax.vmap(lambda a: cell(a, b))(alphas))(betas)

    return lambda ds, a, b: np.asarray(
        grid(*ds.filled(), ds.present, ds.y, a, b).block_until_ready()
    )


def max_errors(ds: Dataset, grid, rng: np.random.Generator, n: int) -> tuple[float, float, float]:
    """Max relative error of s, loss and ∇L vs evaluate at n sampled cells.

    loss is measured against L + |s − y|·s and ∇L against |∇L| + s·|∇s| (the
    conditioning of ½(s − y)² when s ≈ y: see tests/test_landscape.py).
    """
    es = el = eg = 0.0
    for _ in range(n):
        k, l = rng.integers(grid.shape[0]), rng.integers(grid.shape[1])
        ev = evaluate(ds, grid.alphas[l], grid.betas[k], hessian=False)
        es = max(es, abs(grid.s[k, l] - ev.s) / ev.s)
        el = max(el, abs(grid.loss[k, l] - ev.loss) / (ev.loss + abs(ev.s - ds.y) * ev.s))
        g = np.array([grid.grad_alpha[k, l], grid.grad_beta[k, l]])
        eg = max(
            eg, float(np.max(np.abs(g - ev.grad) / (np.abs(ev.grad) + ev.s * np.abs(ev.grad_s))))
        )
    return es, el, eg


def cold_start() -> tuple[float, float]:
    """Seconds for `import core; warm_up()` in a fresh process: cold numba cache, then warm."""
    code = (
        "import time; t = time.perf_counter(); import core; core.warm_up(); "
        "print(time.perf_counter() - t)"
    )
    env = dict(os.environ)
    out = []
    with tempfile.TemporaryDirectory() as cache:
        env["NUMBA_CACHE_DIR"] = cache
        for _ in range(2):
            res = subprocess.run(
                [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
            )
            out.append(float(res.stdout.strip().splitlines()[-1]))
    return out[0], out[1]


def row(rng: np.random.Generator, N: int, E: int, G: int, repeats: int, base_cells: int, jax):
    """One line of the table: data of N rows and E events, a G×G grid."""
    I = rng.normal(size=(N, E))
    D = rng.normal(size=(N, E))
    ds = Dataset(I, D, 0.3 * N)
    alphas, betas = np.linspace(-3, 3, G), np.linspace(-2.5, 3.5, G)
    heavy = N * E * G * G > 5e9
    reps = 1 if heavy else repeats

    # Interleave the two timings the ratio is made of, so a burst of load from
    # elsewhere on the (shared) machine hits both alike; keep the best of each.
    t_naive = t_numba = np.inf
    for _ in range(repeats):
        t, est_naive = time_subset(
            lambda a, b: naive_grid(I, D, ds.y, a, b), alphas, betas, base_cells, 1, N, E
        )
        t_naive = min(t_naive, t)
        t_numba = min(t_numba, best_of(lambda: landscape(ds, alphas, betas, backend="numba"), reps))
    t_grad = best_of(lambda: landscape(ds, alphas, betas, gradient=True, backend="numba"), reps)
    t_numpy, est_numpy = time_subset(
        lambda a, b: landscape(ds, a, b, backend="numpy"), alphas, betas, base_cells // 4, 1, N, E
    )
    t_jax = "-"
    # vmap over the whole grid holds (Gb, Ga, N, E) float64: skip JAX past ~2 GB of it
    if jax is not None and alphas.size * betas.size * N * E * 8 <= 2**31:
        jax(ds, alphas[:2], betas[:2])  # compile
        t_jax = f"{best_of(lambda: jax(ds, alphas, betas), reps):.3f}"
    ca, cb = coarse_grid(alphas, betas, 25)
    t_coarse = best_of(lambda: landscape(ds, ca, cb, backend="numba"), reps)
    grid = landscape(ds, alphas, betas, gradient=True, backend="numba")
    es, el, eg = max_errors(ds, grid, rng, 12 if heavy else 40)
    est = " (est.)"
    return (
        f"| {N:,} | {E} | {G}×{G} | {t_naive:.2f}{est if est_naive else ''} "
        f"| {t_numba:.3f} | **{t_naive / t_numba:.0f}×** | {t_grad:.3f} "
        f"| {t_naive / t_grad:.0f}× | {t_numpy:.2f}{est if est_numpy else ''} | {t_jax} "
        f"| {t_coarse:.3f} | {es:.1e} / {el:.1e} / {eg:.1e} |"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="smaller sizes, fewer repeats")
    args = ap.parse_args()
    if args.quick:
        sizes = [(1_000, 20, 100), (10_000, 50, 32), (100_000, 20, 16)]
        repeats, base_cells = 2, 200
    else:
        sizes = [(1_000, 20, 100), (10_000, 50, 64), (100_000, 20, 48), (100_000, 50, 32)]
        repeats, base_cells = 4, 400

    print(
        f"machine: {os.cpu_count()} cores; OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE')}"
    )
    cold, warm = cold_start()
    print(
        f"numba: import core + warm_up() in a fresh process: {cold:.2f} s with a cold cache, "
        f"{warm:.2f} s cached"
    )
    t0 = time.perf_counter()
    warm_up()
    print(f"warm_up() in this process: {time.perf_counter() - t0:.2f} s")
    jax = jax_grid()
    print("JAX: " + ("jit+vmap, x64" if jax else "not installed, skipped"))
    print()
    head = (
        "| N | E | grid | naive loop s | numba s | × naive | numba +grad s | × naive "
        "| numpy backend s | JAX s | 25×25 first paint s | max rel err s / loss / grad |"
    )
    print(head)
    print("|" + "---|" * (head.count("|") - 1))
    rng = np.random.default_rng(0)
    for N, E, G in sizes:
        print(row(rng, N, E, G, repeats, base_cells, jax))
    print()
    print("naive loop: np.prod(1 - sigmoid(αI + βD)) per cell in Python; (est.) = timed on a")
    print(f"subset of at most {base_cells} cells (numpy backend: {base_cells // 4}; fewer for big")
    print("data, ~2e8 cell·events) and scaled to the whole grid. Best of interleaved repeats.")
    print("grad = also ∂L/∂α, ∂L/∂β on the grid. Errors vs core.evaluate at sampled cells.")


if __name__ == "__main__":
    main()
