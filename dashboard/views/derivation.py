"""Derivation: ∂L/∂α = (s − y)·Tr(P F Aᵀ) derived line by line, every line on live numbers.

All numbers come from ``core.derivation`` (cached in dashboard/compute.py); this page only
lays them out. Session keys of its own: deriv_dir, deriv_step. Its point inputs are bound
to ``point`` (state.py): setting one sets the point, "Follow the descent" clears it.
"""

from __future__ import annotations

import math

import numpy as np
import streamlit as st

import core
from dashboard import compute, state
from dashboard import derivation_view as view
from dashboard.ui import guard, literal
from dashboard.widgets import bound, refresh

ss = st.session_state
# Idempotent; app.py has normally done it, but a first request for /derivation can run this
# file on its own (Streamlit's pages/ folder fallback), and then nothing else has.
state.init_state()
ds: core.Dataset = ss["dataset"]
OK, BAD = ":material/check_circle:", ":material/warning:"  # Streamlit markdown icons
TOL = 1e-6


def mark(err: float) -> str:
    return OK if err < TOL else BAD


# -- the point ----------------------------------------------------------------------------

st.title("Derivation: the gradient, line by line")
st.caption(
    f"Data: **{literal(ds.name or 'uploaded')}**, n = {ds.N:,} rows × m = {ds.E} events, "
    f"y = {view.num(ds.y)}. Every number on this page is computed from these data at the "
    "point below, so each line of the derivation can be checked."
)


def _follow() -> None:
    ss["point"] = None
    refresh("point")


alpha, beta = (float(v) for v in state.current_point())
following = ss.get("point") is None
diverged = not (math.isfinite(alpha) and math.isfinite(beta))
if diverged:  # a run that blew up: its current step has no derivation to show
    alpha, beta = (float(v) for v in ss["start"])

with st.container(border=True):
    c1, c2, c3 = st.columns([1, 1, 2])
    for i, (col, label) in enumerate(((c1, "α"), (c2, "β"))):
        with col:  # while following, the inputs show the descent's point (not stored)
            bound(
                st.number_input,
                label,
                "point",
                part=i,
                default=(alpha, beta),
                step=0.1,
                format="%.5f",
            )
    with c3:
        st.button(
            "Follow the descent",
            on_click=_follow,
            disabled=following,
            help="Evaluate at the descent's current step again (Landscape & descent page)",
        )
        traj = state.current_trajectory()
        if diverged:
            where = "the descent's start, because its current step is not finite (the run diverged)"
        elif not following:
            where = "the point you set here"
        elif traj is not None:
            k = state.current_step(len(traj))
            name = next((n for n in ss.get("optimizers", []) if n in ss.get("runs", {})), "")
            where = f"step {k} of **{name}** on the Landscape page"
        else:
            where = "the descent's start (no steps run yet)"
        st.markdown(f"Evaluated at (α, β) = ({view.num(alpha)}, {view.num(beta)}): {where}.")

# -- notation -----------------------------------------------------------------------------

st.header("Notation")
st.markdown(
    "Rename I → A, N → n, E → m. Write $\\mathbf{1}_n$ for the all-ones vector of length n, "
    "$J = \\mathbf{1}_n\\mathbf{1}_m^T$ for the all-ones n×m matrix, ⊙ and ⊘ for entry-wise "
    "product and division; σ, log and exp act entry by entry. The colon is the Frobenius "
    "product, the sum of entry-wise products:"
)
st.latex(r"A : B = \sum_{i=1}^{n}\sum_{j=1}^{m} A_{ij}B_{ij} = \operatorname{Tr}(AB^{T})")
st.markdown(
    "Three rules do all the work below: the colon is symmetric, and ⊙ and : can trade "
    "places, because both are sums of entry-wise products. A product with $\\mathbf{1}_m$ "
    "on the right sums each row."
)
st.latex(
    r"A : B = B : A, \qquad (A \odot B) : C = A : (B \odot C) "
    r"= \sum_{i,j} A_{ij}B_{ij}C_{ij}, \qquad a : (M\,\mathbf{1}_m) = a\mathbf{1}_m^{T} : M"
)
st.markdown(
    "**Ragged rows.** An absent event (NaN in I and D) is simply left out of its row's "
    "product. That is the same as setting F = 0 there: the factor 1 − F is 1, G = 0, and "
    "the cell adds nothing to any sum below. The heatmaps leave such cells blank."
)

# -- the forward pass, line by line ----------------------------------------------------

st.header("The forward pass and its differentials")
c1, c2 = st.columns(2)
direction = c1.radio(
    "Differentiate with respect to",
    ["α (with A = I)", "β (with D)"],
    key="deriv_dir",
    horizontal=True,
)
x_step = c2.select_slider(
    "Step: largest change of any entry of X",
    options=[1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8],
    value=1e-5,
    key="deriv_step",
    format_func=lambda v: f"{v:.0e}",
)
h_alpha, h_beta = compute.default_step(ds, ds.fingerprint, float(x_step))
by_alpha = direction.startswith("α")
dalpha, dbeta = (h_alpha, 0.0) if by_alpha else (0.0, h_beta)
wrt, Z = ("α", "A") if by_alpha else ("β", "D")
st.markdown(
    f"Each line's differential is checked on live numbers: for the step "
    f"d{wrt} = {view.sci(dalpha or dbeta, 3)} (so no entry of X moves by more than "
    f"{x_step:.0e}), the line's *prediction* (its linearisation, fed with the predicted "
    "differential of the line above) is compared with the *actual* change "
    "(f(θ + dθ) − f(θ − dθ))/2 from two exact evaluations. This central form makes the "
    "mismatch O(dθ²), not O(dθ): a first-order formula that is right shows a relative "
    "error near dθ², ~1e-10 for the default step, far below 1e-6; a wrong one shows ~1. "
    "Try a larger step to watch the error grow as its square."
)

EXPLAIN = {
    "X": f"Both covariates enter linearly, so d{wrt} moves each present entry by {Z}ᵢⱼ·d{wrt}.",
    "F": "The logistic function satisfies σ′ = σ(1 − σ); entry by entry this is (J − F) ⊙ F ⊙ dX.",
    "G": "The log turns the row product into a row sum. d log(1 − F) = −dF/(1 − F) = "
    "dF ⊘ (F − J). losslens computes G as −softplus(X), exact even where σ rounds to 1.",
    "p": "The row product $\\prod_j (1 - F_{ij})$ is the exp of the row sum $G\\,\\mathbf{1}_m$, "
    "and exp is its own derivative: $dp = p \\odot (dG\\,\\mathbf{1}_m)$.",
    "s": "s is the expected number of rows with at least one success: n minus the total "
    "no-success probability $\\mathbf{1}_n : p = \\sum_i p_i$ (an empty row has $p_i = 1$ and "
    "adds 0).",
    "L": "The squared error against the observed count y; dL/ds = s − y.",
}
TITLE = {
    "X": "X: the linear predictor",
    "F": "F = σ(X): each event's success probability",
    "G": "G = log(1 − F): the log of each no-success probability",
    "p": "p: each row's probability of no success",
    "s": "s: the expected count",
    "L": "L: the loss",
}

d = None
with guard("The derivation"):
    d = compute.derive(ds, ds.fingerprint, alpha, beta, dalpha, dbeta)
    for k, line in enumerate(d.lines, start=1):
        dname = view.DIFFERENTIAL[line.name]
        with st.container(border=True):
            left, right = st.columns([1, 1])
            with left:
                st.markdown(f"**{k}. {TITLE[line.name]}**")
                st.latex(line.latex)
                st.markdown(EXPLAIN[line.name])
                if line.applies:
                    st.markdown(
                        f"Check of {dname}: relative error **{view.sci(line.rel_error)}** "
                        f"{mark(line.rel_error)}"
                    )
                else:
                    st.markdown(
                        f"Check of {dname}: relative error {view.sci(line.rel_error)}, "
                        "not a test here."
                    )
                    st.info(line.note, icon=":material/info:")
            with right:
                if line.name in ("X", "F", "G"):
                    st.plotly_chart(
                        view.matrix_figure(line.value, f"{line.name} at (α, β)"),
                        key=f"deriv_fig_{line.name}",
                        config={"displayModeBar": False},
                    )
                    note = view.truncation_note(np.shape(line.value))
                    if note:
                        st.caption(note)
                    with st.expander(f"predicted {dname} against the actual change"):
                        st.dataframe(
                            view.entries_table(line),
                            hide_index=True,
                            column_config={
                                c: st.column_config.NumberColumn(format="%.10e")
                                for c in (f"predicted {dname}", "actual change")
                            },
                        )
                elif line.name == "p":
                    st.dataframe(
                        view.vector_table(d),
                        hide_index=True,
                        height=250,
                        column_config={
                            c: st.column_config.NumberColumn(format="%.6e")
                            for c in ("p_i", "predicted dp_i", "actual change")
                        },
                    )
                    note = view.truncation_note(np.shape(line.value))
                    if note:
                        st.caption(note)
                else:
                    st.markdown(
                        f"{line.name} = **{view.num(float(line.value), 12)}**  \n"
                        f"predicted {dname} = {view.num(float(line.predicted), 12)}  \n"
                        f"actual change = {view.num(float(line.actual), 12)}"
                    )
                    if line.name == "L":
                        st.caption(f"s − y = {view.num(d.s - d.y, 12)}")

    st.subheader("All line checks at a glance")
    st.dataframe(
        view.lines_table(d),
        hide_index=True,
        column_config={
            "predicted (first order)": st.column_config.NumberColumn(format="%.10e"),
            "actual (central change)": st.column_config.NumberColumn(format="%.10e"),
            "relative error": st.column_config.NumberColumn(format="%.2e"),
        },
    )
    worst = d.max_rel_error
    skipped = [line.name for line in d.lines if not line.applies]
    st.markdown(
        f"Worst line: relative error **{view.sci(worst)}** {mark(worst)} (tolerance {TOL:.0e})"
        + (f"; line {', '.join(skipped)} is not a test at this point." if skipped else ".")
    )

# -- back-substitution -------------------------------------------------------------------

st.header("Back-substitution")
st.markdown(
    "Start from dL and replace each differential by its line above, using the rules of "
    "the Frobenius product to move factors across the colon. Every form is evaluated "
    f"literally, for the same step d{wrt}: they are the same number dL."
)
if d is not None:
    with guard("The back-substitution"):
        for k, step in enumerate(d.chain):
            c1, c2 = st.columns([3, 1])
            with c1:
                st.latex(step.latex)
            c2.markdown(f"({k})  `{step.value:.15e}`")
        st.markdown(
            f"Largest difference between the forms: **{view.sci(d.chain_spread)}** of the "
            f"scale Σ|terms| = {view.sci(d.chain_scale, 3)} {mark(d.chain_spread)}"
        )
        r = d.s - d.y
        st.markdown("Dividing by the step gives the gradient; the same steps with D give β:")
        for k, (theta, Z) in enumerate(((r"\alpha", "A"), (r"\beta", "D"))):
            st.latex(
                rf"\frac{{\partial L}}{{\partial {theta}}} = (s - y)\,"
                rf"\operatorname{{Tr}}(PF{Z}^{{T}}) = "
                + view.tex_num(r)
                + r" \times "
                + view.tex_num(d.trace[k])
                + " = "
                + view.tex_num(d.grad[k])
            )
        st.caption(
            "P = Diag(p) is never formed: Tr(P F Aᵀ) = Σᵢ pᵢ Σⱼ Fᵢⱼ Aᵢⱼ, the diagonal of an "
            "n×n product computed row by row."
        )

# -- gradient check ------------------------------------------------------------------------

st.header("Gradient check and the Hessian")
with guard("The gradient check"):
    gc = compute.gradient_check(ds, ds.fingerprint, alpha, beta)
    st.markdown(
        "The analytic gradient against central differences (f(θ + h) − f(θ − h))/2h with "
        f"h = ({view.sci(gc.h[0], 3)}, {view.sci(gc.h[1], 3)}). The differences use only "
        "the forward pass; the subtraction s₊ − s₋ is done as −Σᵢ(p₊ᵢ − p₋ᵢ) with each "
        "pᵢ difference from expm1 of the log p difference, so it keeps its digits also "
        "when s is within rounding of n or p of 1."
    )
    st.dataframe(
        view.gradcheck_table(gc),
        hide_index=True,
        column_config={
            "analytic": st.column_config.NumberColumn(format="%.12e"),
            "central difference": st.column_config.NumberColumn(format="%.12e"),
            "relative error": st.column_config.NumberColumn(format="%.2e"),
        },
    )
    worst = float(max(gc.rel_error.max(), gc.rel_error_s.max()))
    if gc.resolved.all():
        st.markdown(f"Worst relative error: **{view.sci(worst)}** {mark(worst)}")
    else:
        which = " and ".join(n for n, ok in zip(("∂L/∂α", "∂L/∂β"), gc.resolved) if not ok)
        st.info(
            f"{which} is below the rounding noise of the differences here "
            f"(noise ≈ {view.sci(float(gc.noise.max()))}): the point is on or next to the "
            "curve s = y, where ∇L = (s − y)∇s vanishes and s − y is rounding, so the "
            "relative error of ∇L says nothing about the formula. ∇s still checks: "
            f"relative error {view.sci(float(gc.rel_error_s.max()))} "
            f"{mark(float(gc.rel_error_s.max()))}.",
            icon=":material/info:",
        )
    HESS_FMT = {c: st.column_config.NumberColumn(format="%.10e") for c in ("α", "β")}
    c1, c2 = st.columns(2)
    with c1:
        st.markdown("**Exact Hessian** (from `core.evaluate`)")
        st.dataframe(view.matrix_table(gc.hessian), hide_index=True, column_config=HESS_FMT)
    with c2:
        st.markdown("**Central differences of ∇L**")
        st.dataframe(view.matrix_table(gc.numeric_hessian), hide_index=True, column_config=HESS_FMT)
    st.markdown(
        f"Relative error of the Hessian: **{view.sci(gc.rel_error_hessian)}** "
        f"{mark(gc.rel_error_hessian)}"
    )
    st.markdown(view.hessian_words(gc))

    traj = state.current_trajectory()
    if traj is not None and len(traj) > 1:
        budget = int(np.clip(2_000_000 // max(1, ds.N * ds.E), 2, 200))
        tc = compute.trajectory_check(ds, ds.fingerprint, np.asarray(traj, dtype=float), budget)
        k = state.current_step(len(traj))
        st.plotly_chart(
            view.trajectory_figure(tc, current=k if following else None),
            key="deriv_traj_fig",
        )
        resolved = tc.rel_error[tc.resolved]
        st.caption(
            f"{tc.index.size} of {len(traj)} steps checked"
            + (f" ({tc.dropped} non-finite steps left out)" if tc.dropped else "")
            + (
                f"; worst relative error of ∇L where resolved: {view.sci(float(resolved.max()))}"
                if resolved.size
                else ""
            )
            + f", of ∇s: {view.sci(float(tc.rel_error_s.max()))}. Open markers: ∇L below "
            "the rounding noise of the differences (on the valley floor)."
        )
    else:
        st.caption("Run the descent on the Landscape page to check the gradient along its path.")

# -- the three questions ------------------------------------------------------------------

st.header("The three questions")
with guard("The questions"):
    forms = compute.s_forms(ds, ds.fingerprint, alpha, beta)

    st.subheader("1. Is there a more concise way to take a row product?")
    st.markdown(
        "In numpy the direct one is `np.prod(1 - F, axis=1)`. The better one is the form "
        "the derivation uses: the exp of a row sum of logs, `np.exp(G.sum(axis=1))` with "
        "G = log(1 − F). It is also the stable one. A product of many factors near 1 loses "
        "the small parts that matter: when every Fᵢⱼ is below ~1e-16, 1 − Fᵢⱼ rounds to 1, "
        "the product is exactly 1 and s = n − Σp comes out as 0. In log space s = "
        "−Σᵢ expm1(log pᵢ) keeps every digit. And log(1 − σ(x)) must not be computed as "
        "written: for x ≳ 37, σ(x) rounds to 1, 1 − σ(x) to 0 and the log to −∞. Since "
        "1 − σ(x) = 1/(1 + eˣ), log(1 − σ(x)) = −log(1 + eˣ) = −softplus(x), which "
        "losslens evaluates as −(max(x, 0) + log1p(e^(−|x|))): exact for every x."
    )
    table = view.stability_table(core.one_minus_sigmoid_table())
    st.dataframe(
        table,
        hide_index=True,
        column_config={
            c: st.column_config.NumberColumn(format="%.6e")
            for c in table.columns
            if c not in ("x", "log of that")
        },
    )
    st.markdown(
        f"On the current data: s from the log form = **{view.num(forms.s, 15)}**, from "
        f"`np.prod` = **{view.num(forms.s_prod, 15)}** (relative difference "
        f"{view.sci(forms.rel_diff)}). Try the *rare events* preset at very negative α "
        "and β to see the product lose everything."
    )

    st.subheader("2. How do I get dm/dg, a vector differentiated by a matrix?")
    st.markdown(
        "It is a third-order object: n·n·m numbers ∂mᵢ/∂gₖⱼ, almost all zero because row i "
        "of the product depends only on row i of the matrix. You never need it. Work with "
        "differentials instead: write how a small change of each quantity follows from a "
        "small change of the one before, as ordinary matrix expressions "
        r"($dp = p \odot (dG\,\mathbf{1}_m)$ above is the whole of 'dm/dg'), "
        "then substitute back until dL is a multiple of "
        "dα. The multiplier is the gradient. The Frobenius product lets every factor be "
        "moved next to dα, so no tensor ever appears."
    )

    st.subheader("3. Is there a more direct way to the derivative of s?")
    st.markdown(
        "Yes, stop the back-substitution at ds: "
        r"$ds = -\mathbf{1}_n : dp = \operatorname{Tr}(PFA^{T})\,d\alpha"
        r" + \operatorname{Tr}(PFD^{T})\,d\beta$. "
        "Each present event contributes its success probability Fᵢⱼ times its covariate, "
        "weighted by its row's no-success probability pᵢ:"
    )
    st.latex(
        r"\frac{\partial s}{\partial \alpha} = \operatorname{Tr}(PFA^{T}) = "
        r"\sum_{i} p_i \sum_{j} F_{ij} A_{ij} = "
        + view.tex_num(forms.grad_s[0])
        + r", \qquad \frac{\partial s}{\partial \beta} = \operatorname{Tr}(PFD^{T}) = "
        + view.tex_num(forms.grad_s[1])
    )
    st.markdown(
        "and then ∂L/∂α = (s − y)·∂s/∂α by the chain rule: the loss only rescales the "
        "gradient of s."
    )

    st.subheader("A note on the question's g = sigm(f)")
    st.markdown(
        "The question defines f = sigm(αI + βD) and then g = sigm(f): that applies the "
        "sigmoid twice. Its forward pass applies it once, and so does the derivation here "
        "(F = σ(X), factors 1 − F). The two are different models: since f lies in (0, 1), "
        "sigm(f) lies in (½, σ(1) ≈ 0.731), so every event would succeed with probability "
        "above one half whatever α and β. On the current data σ(F) ranges over "
        f"[{view.num(forms.g_min)}, {view.num(forms.g_max)}], and s would be "
        f"**{view.num(forms.s_double, 10)}** instead of **{view.num(forms.s, 10)}**. Drop the "
        "second sigmoid: m should use 1 − f."
    )
