"""numba kernels of the engine (private; :mod:`core.engine` holds the numpy twin and the API).

Absent events are NaN in I and D and are skipped (``z != z``); no zero-filled copies.

:func:`row_terms` is the model's one log-space formula for one row at one point (the
same as the numpy path's): 1 − p_i, p_i a_i and p_i (c_i − a_i a_iᵀ). :func:`points`
sums it over a block of rows for K points; :func:`grid_block` computes a grid faster,
with the recurrence below, and falls back to :func:`row_terms` where it cannot.

Grids
-----

On a grid, exp(αI + βD) = exp(αI)·exp(βD): the exponentials are taken once per
α and once per β, as tables A[i, j, l] = exp(α_l I_ij) and B[i, j, k] = exp(β_k D_ij)
that the caller fills with numpy's vectorised exp (7x faster than a scalar exp
here), so the loop over cells holds no transcendental function. With
t = a·b ≥ 0 and R = 1/p_i = Π_j (1 + t_ij), the recurrences

    Q ← Q + w,          w = t·(1 + Q)             Q = R − 1
    G ← G·(1 + t) + w·z                           G = ∂R/∂θ for θ = α (z = I) or β (z = D)

add only non-negative terms to Q, so 1 − p_i = Q/(1 + Q) keeps full relative
accuracy also for rare events (Q ≈ 1e-17), and p_i Σ_j F_ij z_ij = G/R² needs no
division per event. The innermost loop runs over β, where the cells are
independent, and LANES columns of α are carried at once so every B value
loaded from memory is used LANES times.

Where exp would over- or underflow (|αI| or |βD| > SAFE) or Q, G grow past
_BIG, the row is redone for that cell in log space with the formula of
:func:`core.evaluate` (softplus, σ, expm1).
"""

from __future__ import annotations

import math

import numpy as np
from numba import config, njit

__all__ = [
    "LANES",
    "SAFE",
    "THREADS",
    "exponents",
    "grid_block",
    "intern",
    "points",
    "rehash",
    "row_absmax",
    "row_terms",
]

# exp(±700) ≈ 1e±304 is finite and normal. A product of two such factors is
# right, or overflows (caught by _BIG), or lies below 1e-304 (an underflow that
# only matters when the whole row's 1 − p is below ~1e-290).
SAFE = 700.0
_BIG = 1e300
LANES = 4
# Threads are started by core.landscape (njit(parallel=True) would triple the
# cold compile, ~5 s instead of ~2 s); NUMBA_NUM_THREADS limits them as usual.
THREADS = config.NUMBA_NUM_THREADS


@njit(cache=True, nogil=True)
def exponents(Z: np.ndarray, theta: np.ndarray, out: np.ndarray) -> None:
    """out (n, E, G) = min(θ_g Z_ij, SAFE); the caller takes numpy's exp of it in place."""
    n, E = Z.shape
    for i in range(n):
        for j in range(E):
            z = Z[i, j]
            for g in range(theta.size):
                out[i, j, g] = min(theta[g] * z, SAFE)


@njit(cache=True, nogil=True)
def row_terms(
    I: np.ndarray, D: np.ndarray, i: int, alpha: float, beta: float, hessian: bool
) -> tuple[float, float, float, float, float, float]:
    """Row i at (α, β): (1 − p_i, p_i a_i1, p_i a_i2, p_i h_i11, p_i h_i12, p_i h_i22).

    a_i = Σ_j F_ij (I_ij, D_ij), h_i = Σ_j F_ij (1 − F_ij) z_ij z_ijᵀ − a_i a_iᵀ. One exp
    and one division per event, one log1p per row: with e = exp(−|x|) ∈ (0, 1],
    softplus(x) = max(x, 0) + log1p(e), so −log p_i = Σ_j max(x, 0) + log1p(Q) with
    Q = Π_j (1 + e_j) − 1 built by Q ← Q + e(1 + Q) (positive terms only: rare events,
    where Q ≈ Σ e ≈ 1e-17, keep full relative accuracy). σ(x) = (1 or e)/(1 + e).
    A Q that overflows (E > ~1000 events) means p_i < 1e-308: p_i = 0 then, as it is.
    The h terms are 0 unless ``hessian``.
    """
    xpos = 0.0
    Q = 0.0
    a1 = 0.0
    a2 = 0.0
    c11 = 0.0
    c12 = 0.0
    c22 = 0.0
    for j in range(I.shape[1]):
        zi = I[i, j]
        if zi != zi:  # NaN: an absent event
            continue
        zd = D[i, j]
        x = alpha * zi + beta * zd
        e = math.exp(-abs(x))
        inv = 1.0 / (1.0 + e)
        Q += e * (1.0 + Q)
        if x >= 0.0:
            xpos += x
            F = inv
        else:
            F = e * inv
        a1 += F * zi
        a2 += F * zd
        if hessian:
            dF = e * inv * inv
            c11 += dF * zi * zi
            c12 += dF * zi * zd
            c22 += dF * zd * zd
    logp = -(xpos + math.log1p(Q))
    p = math.exp(logp)
    if not hessian:
        return -math.expm1(logp), p * a1, p * a2, 0.0, 0.0, 0.0
    return (
        -math.expm1(logp),
        p * a1,
        p * a2,
        p * (c11 - a1 * a1),
        p * (c12 - a1 * a2),
        p * (c22 - a2 * a2),
    )


# Rows per block of the points kernel: a block of I and D stays in L1 while every point
# passes over it (many points at once: line searches, descend_many, basin maps).
_POINT_ROWS = 64


@njit(cache=True, nogil=True)
def points(
    I: np.ndarray,
    D: np.ndarray,
    alphas: np.ndarray,
    betas: np.ndarray,
    hessian: bool,
    out: np.ndarray,
) -> None:
    """Add this block of rows' sums at K points to out (K, 6): s, ∇s, ∇²s (11, 12, 22).

    I, D (n, E) with NaN where absent; alphas, betas (K,). Releases the GIL, so
    threads can each take a block of rows (the sums add).
    """
    n = I.shape[0]
    K = alphas.size
    acc = np.zeros((K, 6))
    block = np.zeros(6)
    for r0 in range(0, n, _POINT_ROWS):
        r1 = min(n, r0 + _POINT_ROWS)
        for k in range(K):
            # a block's sum first, then the running total: rounding grows like
            # (block + n / block)·eps instead of n·eps over 10⁶ rows
            block[:] = 0.0
            for i in range(r0, r1):
                t = row_terms(I, D, i, alphas[k], betas[k], hessian)
                for m in range(6):
                    block[m] += t[m]
            for m in range(6):
                acc[k, m] += block[m]
    out += acc


@njit(cache=True, nogil=True)
def row_absmax(Z: np.ndarray, out: np.ndarray) -> None:
    """out (n,) = max_j |Z_ij| over present events (0 for an empty row)."""
    for i in range(Z.shape[0]):
        m = 0.0
        for j in range(Z.shape[1]):
            z = abs(Z[i, j])
            if z > m:  # NaN compares False
                m = z
        out[i] = m


@njit(cache=True, nogil=True)
def grid_block(
    I: np.ndarray,
    D: np.ndarray,
    zmax_I: np.ndarray,
    zmax_D: np.ndarray,
    alphas: np.ndarray,
    l0: int,
    l1: int,
    A: np.ndarray,
    betas: np.ndarray,
    B: np.ndarray,
    want_grad: bool,
    s: np.ndarray,
    gs_alpha: np.ndarray,
    gs_beta: np.ndarray,
) -> None:
    """Add this block of rows' Σ_i (1 − p_i) to s[:, l0:l1], and ∇s when want_grad.

    I, D (n, E), NaN where absent; zmax_I, zmax_D (n,) = max_j |I_ij|, max_j |D_ij|;
    alphas (Ga,); A (n, E, l1 - l0) = exp(α_l I_ij) for l0 <= l < l1;
    betas (Gb,); B (n, E, Gb) = exp(β_k D_ij). Where an event is absent, or an
    exponent exceeds SAFE in size, the tables may hold anything: such cells are
    skipped or redone in log space;
    s, gs_alpha, gs_beta (Gb, Ga), owned by the calling thread. Releases the GIL.
    """
    n, E = I.shape
    Gb = betas.size
    bmax = 0.0
    for k in range(Gb):
        bmax = max(bmax, abs(betas[k]))
    for block in range((l1 - l0 + LANES - 1) // LANES):
        # LANES columns; a short last block repeats its last column (not written twice).
        cols = np.empty(LANES, np.int64)
        for m in range(LANES):
            cols[m] = min(l0 + block * LANES + m, l1 - 1)
        a = np.empty(LANES)
        Q = np.empty((LANES, Gb))
        GI = np.zeros((LANES, Gb))
        GD = np.zeros((LANES, Gb))
        acc_s = np.zeros((LANES, Gb))
        acc_a = np.zeros((LANES, Gb))
        acc_b = np.zeros((LANES, Gb))
        amax = 0.0
        for m in range(LANES):
            amax = max(amax, abs(alphas[cols[m]]))
        for i in range(n):
            if amax * zmax_I[i] > SAFE:  # exp(α I_ij) out of range: all of this row in log space
                for m in range(LANES):
                    for k in range(Gb):
                        t = row_terms(I, D, i, alphas[cols[m]], betas[k], False)
                        acc_s[m, k] += t[0]
                        acc_a[m, k] += t[1]
                        acc_b[m, k] += t[2]
                continue
            Q[:] = 0.0
            if want_grad:
                GI[:] = 0.0
                GD[:] = 0.0
            for j in range(E):
                zi = I[i, j]
                if zi != zi:  # NaN: an absent event
                    continue
                zd = D[i, j]
                for m in range(LANES):
                    a[m] = A[i, j, cols[m] - l0]
                if want_grad:
                    for k in range(Gb):
                        b = B[i, j, k]
                        for m in range(LANES):
                            t = a[m] * b
                            w = t * (1.0 + Q[m, k])
                            Q[m, k] += w
                            GI[m, k] = GI[m, k] * (1.0 + t) + w * zi
                            GD[m, k] = GD[m, k] * (1.0 + t) + w * zd
                else:
                    for k in range(Gb):
                        b = B[i, j, k]
                        for m in range(LANES):
                            t = a[m] * b
                            Q[m, k] += t * (1.0 + Q[m, k])
            # Usually every cell of the row is in range: then a branch-free loop.
            in_range = bmax * zmax_D[i] <= SAFE
            if in_range:
                n_big = 0
                for m in range(LANES):
                    for k in range(Gb):
                        n_big += 0 if Q[m, k] <= _BIG else 1  # NaN counts as big
                        if want_grad:
                            n_big += 0 if abs(GI[m, k]) <= _BIG and abs(GD[m, k]) <= _BIG else 1
                in_range = n_big == 0
            if in_range:
                for m in range(LANES):
                    for k in range(Gb):
                        r = 1.0 + Q[m, k]
                        acc_s[m, k] += Q[m, k] / r
                        if want_grad:
                            acc_a[m, k] += GI[m, k] / r / r
                            acc_b[m, k] += GD[m, k] / r / r
                continue
            for m in range(LANES):
                for k in range(Gb):
                    q = Q[m, k]
                    # NaN fails q <= _BIG too; |β|·max|D| bounds every |β D_ij| exactly
                    ok = q <= _BIG and abs(betas[k]) * zmax_D[i] <= SAFE
                    if want_grad:
                        ok = ok and abs(GI[m, k]) <= _BIG and abs(GD[m, k]) <= _BIG
                    if ok:
                        r = 1.0 + q
                        acc_s[m, k] += q / r
                        if want_grad:
                            acc_a[m, k] += GI[m, k] / r / r
                            acc_b[m, k] += GD[m, k] / r / r
                    else:
                        t = row_terms(I, D, i, alphas[cols[m]], betas[k], False)
                        acc_s[m, k] += t[0]
                        acc_a[m, k] += t[1]
                        acc_b[m, k] += t[2]
        for m in range(LANES):
            if m > 0 and cols[m] == cols[m - 1]:
                break
            for k in range(Gb):
                s[k, cols[m]] += acc_s[m, k]
                if want_grad:
                    gs_alpha[k, cols[m]] += acc_a[m, k]
                    gs_beta[k, cols[m]] += acc_b[m, k]


# -- interning the row ids of long files (core._longfiles) ----------------------------------
#
# A hash table of the distinct byte strings met so far: open addressing, linear probing,
# slots hold code + 1 (0 = empty), the slot from the top bits of a salted FNV-1a hash
# times a Fibonacci constant (the top bits depend on every byte; the salt, drawn per
# file, keeps a file from choosing ids that all collide).

_FNV_PRIME = np.uint64(1099511628211)
_FIB = np.uint64(11400714819323198485)


@njit(cache=True, nogil=True)
def _slot(data: np.ndarray, a: int, b: int, salt: np.uint64, shift: np.uint64) -> int:
    h = salt
    for i in range(a, b):
        h = (h ^ np.uint64(data[i])) * _FNV_PRIME
    return np.int64((h * _FIB) >> shift)


@njit(cache=True, nogil=True)
def intern(
    data: np.ndarray,
    offs: np.ndarray,
    codes: np.ndarray,
    table: np.ndarray,
    store: np.ndarray,
    store_offs: np.ndarray,
    n_distinct: int,
    salt: np.uint64,
    bits: int,
) -> int:
    """Code of each string ``data[offs[k]:offs[k + 1]]`` (k < codes.size) in order of first
    appearance; a new string is appended to ``store`` / ``store_offs`` (the caller makes
    room). ``table`` (2**bits,) int32 is at most 3/4 full afterwards (the caller sizes it).
    Returns the new number of distinct strings."""
    mask = table.size - 1
    shift = np.uint64(64 - bits)
    for k in range(codes.size):
        a, b = offs[k], offs[k + 1]
        slot = _slot(data, a, b, salt, shift)
        while True:
            c = table[slot] - 1
            if c < 0:  # not met before: a new row
                c = n_distinct
                s0 = store_offs[c]
                store[s0 : s0 + b - a] = data[a:b]
                store_offs[c + 1] = s0 + b - a
                table[slot] = c + 1
                n_distinct += 1
                break
            s0, s1 = store_offs[c], store_offs[c + 1]
            if s1 - s0 == b - a:
                i = 0
                while i < b - a and store[s0 + i] == data[a + i]:
                    i += 1
                if i == b - a:
                    break
            slot = (slot + 1) & mask
        codes[k] = c
    return n_distinct


@njit(cache=True, nogil=True)
def rehash(
    store: np.ndarray,
    store_offs: np.ndarray,
    n_distinct: int,
    table: np.ndarray,
    salt: np.uint64,
    bits: int,
) -> None:
    """Fill an empty, larger ``table`` (2**bits,) with the ``n_distinct`` strings of ``store``."""
    mask = table.size - 1
    shift = np.uint64(64 - bits)
    for c in range(n_distinct):
        slot = _slot(store, store_offs[c], store_offs[c + 1], salt, shift)
        while table[slot] != 0:
            slot = (slot + 1) & mask
        table[slot] = c + 1
