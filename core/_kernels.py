"""numba kernels of the engine (private; :mod:`core.engine` holds the numpy twin and the API).

Absent events are NaN in I and D: their x = αI + βD is NaN, and the row formula maps
it to e = 0 (nothing added) with a select; no zero-filled copies of the data.

The row formula (``_event`` per event, ``_finish`` per row) gives 1 − p_i, p_i a_i and
p_i (c_i − a_i a_iᵀ) with one exp per event and one per row, and no log at all.
:func:`points` runs it over blocks of 64 rows for K points, vectorised over the rows
(branch-free, with its own exp: numba has no vector math library here);
:func:`row_terms` runs it for one row, where :func:`grid_block`, which computes a grid
faster with the recurrence below, cannot.

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
_BIG, the row is redone for that cell with the row formula (:func:`row_terms`), which
has no exponent that can overflow.
"""

from __future__ import annotations

import numpy as np
from numba import config, njit, types
from numba.extending import intrinsic

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


# -- exp without SVML ------------------------------------------------------------------------
#
# numba has no vector math library here, so math.exp is a scalar call (~10 ns) and a loop
# holding one is never vectorised. exp(−|x|) below is plain arithmetic (AVX2: 4 lanes):
# k = round(y/ln 2) by the 1.5·2⁵² shifter, r = y − k·ln 2 in two parts (|r| <= ln2/2),
# exp(r) = 1 + r + r²·P(r), times 2^k built in the exponent bits (and a final 2^−64, so
# outputs down to the subnormals, y > −745.2, are right); within 1 ulp of the exact value
# (tests/test_engine.py: <= 0.98 ulp measured).
#
# Speed: the points kernel is bound by latency, not by arithmetic (the out-of-order window
# holds only ~2 iterations), so P has degree 9 (exp's degree 11), minimax for the relative
# error (truncation 3.7e-18 = 0.034·2⁻⁵³, as small as Taylor's degree 13; fitted in mpmath
# by Lawson's iteration, each coefficient rounded to double in turn and the rest refitted;
# the test re-checks it), and is evaluated by Estrin's scheme: 4 dependent FMAs instead of
# 9 (Horner). Its rounding errors are scaled by r² <= 0.12; the last steps, r + r²·P and
# 2^k·(1 + u) as one FMA, round once each.

_INV_LN2 = 1.4426950408889634
_LN2_HI = 6.93147180369123816490e-01  # 32 trailing zero bits: k·_LN2_HI is exact
_LN2_LO = 1.90821492927058770002e-10
_SHIFTER = 6755399441055744.0  # 1.5·2⁵²: y/ln2 + _SHIFTER rounds to an integer k in its low bits
_TWO_M64 = 2.0**-64
_EXP_FLOOR = -746.0  # exp(−746) rounds to 0; NaN is mapped here too
_LN2 = 0.6931471805599453
_E2, _E3, _E4, _E5, _E6, _E7 = 1 / 2, 1 / 6, 1 / 24, 1 / 120, 1 / 720, 1 / 5040
_E8, _E9, _E10, _E11 = 1 / 40320, 1 / 362880, 1 / 3628800, 1 / 39916800
_E12, _E13, _E14, _E15 = 1 / 479001600, 1 / 6227020800, 1 / 87178291200, 1 / 1307674368000
_E16, _E17 = 1 / 20922789888000, 1 / 355687428096000
# P(r) = _C2 + _C3 r + ... + _C11 r⁹ (Taylor would be 1/k!)
_C2, _C3, _C4 = 0.5000000000000011, 0.1666666666666645, 0.04166666666652806
_C5, _C6, _C7 = 0.008333333333476967, 0.0013888888943960837, 0.0001984126953669764
_C8, _C9 = 2.4801492877493568e-05, 2.7557564015772738e-06
_C10, _C11 = 2.7630301604061956e-07, 2.500613037213905e-08


@intrinsic
def _bits(typingctx, x):
    """The int64 whose bits are those of the float64 x."""
    sig = types.int64(types.float64)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(types.int64))

    return sig, codegen


@intrinsic
def _float(typingctx, n):
    """The float64 whose bits are those of the int64 n."""
    sig = types.float64(types.int64)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(types.float64))

    return sig, codegen


# fastmath "contract" only: a·b + c may become one FMA (one rounding fewer). Never the
# flags that assume no NaN or inf: NaN marks absent events.
_FAST = {"contract"}


@njit(inline="always", fastmath=_FAST, error_model="numpy")
def _exp_reduce(x):
    """exp(−|x|) = 2^−64·s·exp(r): (r, s = 2^(k + 64)). Split from _exp_finish so the
    points kernel can run the two in loops of their own (see _block)."""
    y = -abs(x)
    y = y if y > _EXP_FLOOR else _EXP_FLOOR  # NaN compares False
    t = y * _INV_LN2 + _SHIFTER
    kf = t - _SHIFTER
    r = (y - kf * _LN2_HI) - kf * _LN2_LO
    # 2^k for k in [−1077, 0] is below the normal range: s = 2^(k + 64) is normal
    k = _bits(t) - _bits(_SHIFTER)
    return r, _float((k + (1023 + 64)) << 52)


@njit(inline="always", fastmath=_FAST, error_model="numpy")
def _exp_finish(r, s):
    """2^−64·s·exp(r) for |r| <= ln2/2, s a power of 2."""
    r2 = r * r
    r4 = r2 * r2
    # Estrin: the pairs (c + c'r) are independent, then joined by r², r⁴ (the parentheses
    # fix the order: this is the tree that is short)
    s0 = (_C5 * r + _C4) * r2 + (_C3 * r + _C2)
    s1 = (_C9 * r + _C8) * r2 + (_C7 * r + _C6)
    P = ((_C11 * r + _C10) * r4 + s1) * r4 + s0
    u = P * r2 + r  # exp(r) − 1
    # s·(1 + u) is one FMA, one rounding; times 2^−64 is exact unless the result is subnormal
    return (u * s + s) * _TWO_M64


@njit(inline="always", fastmath=_FAST, error_model="numpy")
def exp_neg_abs(x: float) -> float:
    """exp(−|x|) in [0, 1]; 0 for NaN (an absent event) and for |x| >= 746. Branch-free."""
    r, s = _exp_reduce(x)
    return _exp_finish(r, s)


@njit(inline="always", fastmath=_FAST, error_model="numpy")
def _expm1_small(y: float) -> float:
    """expm1(y) for −ln 2 <= y <= 0 by its Taylor polynomial (truncation < 0.1 ulp)."""
    p = _E17 * y + _E16
    p = p * y + _E15
    p = p * y + _E14
    p = p * y + _E13
    p = p * y + _E12
    p = p * y + _E11
    p = p * y + _E10
    p = p * y + _E9
    p = p * y + _E8
    p = p * y + _E7
    p = p * y + _E6
    p = p * y + _E5
    p = p * y + _E4
    p = p * y + _E3
    p = p * y + _E2
    p = p * y + 1.0
    return p * y


# -- the row formula -----------------------------------------------------------------------
#
# One row at one point, event by event (NaN = absent): with e = exp(−|x|) ∈ [0, 1],
# softplus(x) = max(x, 0) + log1p(e), so p_i = exp(−Σ max(x, 0)) / (1 + Q) with
# Q = Π_j (1 + e_j) − 1 built by Q ← Q + e(1 + Q) (non-negative terms only: rare events,
# where Q ≈ Σ e ≈ 1e-17, keep full relative accuracy); σ(x) = (1 or e)/(1 + e) and
# σ(1 − σ) = e/(1 + e)². _event adds one event, _finish turns a row's sums into its terms;
# :func:`row_terms` (one row) and :func:`points` (blocks of rows, vectorised) both use them.


@njit(inline="always", fastmath=_FAST, error_model="numpy")
def _event(x, e, zi, zd, Q, xpos, a1, a2):
    """The row sums Q, xpos, a1, a2 after one more event at x = αI + βD (NaN: absent),
    e = exp_neg_abs(x), and σ(1 − σ), zi, zd (0 where absent) for the Hessian's sums."""
    d = 1.0 + e
    Q = Q + e * (1.0 + Q)
    pos = x >= 0.0  # False for NaN: an absent event adds nothing below
    xpos = xpos + (x if pos else 0.0)
    F = (1.0 if pos else e) / d  # a division, no product after it: it ends the longest chain
    present = x == x
    zi = zi if present else 0.0  # absent: F = 0, but 0·NaN would be NaN
    zd = zd if present else 0.0
    a1 = a1 + F * zi
    a2 = a2 + F * zd
    return Q, xpos, a1, a2, e / (d * d), zi, zd


@njit(inline="always", fastmath=_FAST, error_model="numpy")
def _finish(Q, xpos, a1, a2, c11, c12, c22):
    """(1 − p, p a1, p a2, p (c11 − a1²), p (c12 − a1 a2), p (c22 − a2²)) of one row.

    p = exp(−xpos)/(1 + Q). For xpos < ln 2, 1 − p = (Q − expm1(−xpos))/(1 + Q), a sum
    of non-negative terms (exact for rare events); above, p < 1/2 and 1 − p loses
    nothing. A Q that overflows (E > ~1000 events) means p < 1e-308: p = 0 then.
    """
    r = 1.0 + Q
    p = exp_neg_abs(xpos) / r
    small = xpos < _LN2
    q = (Q - _expm1_small(-xpos if small else 0.0)) / r if small else 1.0 - p
    q = q if Q <= _BIG else 1.0  # inf/inf is NaN
    return q, p * a1, p * a2, p * (c11 - a1 * a1), p * (c12 - a1 * a2), p * (c22 - a2 * a2)


@njit(cache=True, nogil=True)
def row_terms(
    I: np.ndarray, D: np.ndarray, i: int, alpha: float, beta: float, hessian: bool
) -> tuple[float, float, float, float, float, float]:
    """Row i at (α, β): (1 − p_i, p_i a_i1, p_i a_i2, p_i h_i11, p_i h_i12, p_i h_i22).

    a_i = Σ_j F_ij (I_ij, D_ij), h_i = Σ_j F_ij (1 − F_ij) z_ij z_ijᵀ − a_i a_iᵀ (the h
    terms are 0 unless ``hessian``). The formula of :func:`points`, one row at a time.
    """
    Q = xpos = a1 = a2 = c11 = c12 = c22 = 0.0
    for j in range(I.shape[1]):
        zi = I[i, j]
        zd = D[i, j]
        x = alpha * zi + beta * zd
        Q, xpos, a1, a2, dF, zi, zd = _event(x, exp_neg_abs(x), zi, zd, Q, xpos, a1, a2)
        if hessian:
            c11 += dF * zi * zi
            c12 += dF * zi * zd
            c22 += dF * zd * zd
    return _finish(Q, xpos, a1, a2, c11, c12, c22)


# Rows per block of the points kernel: a block of I and D, transposed, stays in L1 while
# every point passes over it (many points at once: line searches, descend_many, basin maps).
_POINT_ROWS = 64


@njit(cache=True, nogil=True)
def _transpose(Z: np.ndarray, r0: int, b: int, out: np.ndarray) -> None:
    """out[j, i] = Z[r0 + i, j] for i < b: events of one block as rows (E, _POINT_ROWS);
    NaN (absent events) in the columns from b on, so a short block can run as a full one."""
    for i in range(b):
        for j in range(Z.shape[1]):
            out[j, i] = Z[r0 + i, j]
    out[:, b:] = np.nan


@njit(inline="always", fastmath=_FAST, error_model="numpy")
def _row(ti, td, i, alpha, beta, ex, Q, xp, a1, a2):
    """_event for row i of a block, e = ex[i] (its sums in place); returns σ(1 − σ), zi, zd."""
    zi, zd = ti[i], td[i]
    x = alpha * zi + beta * zd
    Q[i], xp[i], a1[i], a2[i], dF, zi, zd = _event(x, ex[i], zi, zd, Q[i], xp[i], a1[i], a2[i])
    return dF, zi, zd


@njit(cache=True, nogil=True, fastmath=_FAST, error_model="numpy")
def _block(TI, TD, b, alpha, beta, hessian, acc, out):
    """Add the sums of one block's b rows at (α, β) to out (6,).

    TI, TD (E, _POINT_ROWS): the block's I and D transposed, so the loop over rows is
    innermost, contiguous and independent (LLVM vectorises it); acc (9, _POINT_ROWS)
    holds each row's running sums, and two rows of scratch for one event. All _POINT_ROWS
    rows are run (those from b on are absent events): a fixed trip count, no remainder loop.
    """
    Q, xp, a1, a2 = acc[0], acc[1], acc[2], acc[3]
    c11, c12, c22, ex, sc = acc[4], acc[5], acc[6], acc[7], acc[8]  # ex, sc: scratch
    acc[:] = 0.0
    for j in range(TI.shape[0]):
        ti, td = TI[j], TD[j]
        # x → exp → division → sums is one long chain of dependent operations per row, and
        # the out-of-order window holds only ~3 rows' worth of it: the loop waits on
        # latency, not on arithmetic. Cut into four loops over the rows (x; exp's
        # reduction; its polynomial; the rest), each with a short chain, through L1:
        # 2.52 -> 1.94 ns per event, 3.28 -> 2.35 with the Hessian (one thread). Cutting
        # the last loop (at the division) or the polynomial's scaling off made it slower
        # or no faster; rows i and i + 32 in one iteration, instead, gained less.
        for i in range(_POINT_ROWS):
            ex[i] = alpha * ti[i] + beta * td[i]  # x
        for i in range(_POINT_ROWS):
            ex[i], sc[i] = _exp_reduce(ex[i])  # r, 2^(k + 64)
        for i in range(_POINT_ROWS):
            ex[i] = _exp_finish(ex[i], sc[i])  # e = exp(−|x|)
        if not hessian:  # a loop of its own: no loads and stores of the c sums
            for i in range(_POINT_ROWS):
                _row(ti, td, i, alpha, beta, ex, Q, xp, a1, a2)
            continue
        for i in range(_POINT_ROWS):
            dF, zi, zd = _row(ti, td, i, alpha, beta, ex, Q, xp, a1, a2)
            c11[i] += dF * zi * zi
            c12[i] += dF * zi * zd
            c22[i] += dF * zd * zd
    for i in range(b):
        Q[i], xp[i], a1[i], a2[i], c11[i], c12[i] = _finish(
            Q[i], xp[i], a1[i], a2[i], c11[i], c12[i], c22[i]
        )
    # a block's sum first, then the running total: rounding grows like
    # (block + n / block)·eps instead of n·eps over 10⁶ rows
    for m in range(6):
        if m >= 3 and not hessian:
            break
        t = 0.0
        row = acc[m]
        for i in range(b):
            t += row[i]
        out[m] += t


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
    n, E = I.shape
    K = alphas.size
    TI = np.empty((E, _POINT_ROWS))
    TD = np.empty((E, _POINT_ROWS))
    acc = np.empty((9, _POINT_ROWS))
    total = np.zeros((K, 6))
    for r0 in range(0, n, _POINT_ROWS):
        b = min(n - r0, _POINT_ROWS)
        _transpose(I, r0, b, TI)
        _transpose(D, r0, b, TD)
        for k in range(K):
            _block(TI, TD, b, alphas[k], betas[k], hessian, acc, total[k])
    out += total


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
    skipped or redone with :func:`row_terms`;
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
            if amax * zmax_I[i] > SAFE:  # exp(α I_ij) out of range: all of this row by row_terms
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
