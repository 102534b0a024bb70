"""Derivation: ∂L/∂α = (s − y)·Tr(P F Aᵀ) derived line by line, every line on live numbers.

All numbers come from ``core.derivation`` (cached in dashboard/compute.py); this page only
lays them out. Session keys of its own: deriv_dir, deriv_step, deriv_follow (True after
"Follow the descent"; by default the page shows core.teaching_point). Its point inputs are
bound to ``point`` (state.py): setting one sets the point, the two buttons clear it.
"""

from __future__ import annotations

import math
import os

import numpy as np
import streamlit as st

import core
from dashboard import cluster_view, compute, explore_map, state
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


def flag(flagged: bool) -> str:
    """A check's icon: ⚠ only when it disagrees by more than its own error bound."""
    return BAD if flagged else OK


# -- the point ----------------------------------------------------------------------------

st.title("Derivation: the gradient, line by line")
st.caption(
    f"Data: **{literal(ds.name or 'uploaded')}**, n = {ds.N:,} rows × m = {ds.E} events, "
    f"y = {view.num(ds.y)}. Every number on this page is computed from these data at the "
    "point below, so each line of the derivation can be checked."
)
if cluster_view.needs_rows(ds, "The derivation (the (n, m) matrices of every line)"):
    st.stop()


@st.cache_data(show_spinner=False, max_entries=8)
def _teaching_point(_ds: core.Dataset, key: str, box: tuple, start: tuple) -> core.TeachingPoint:
    return core.teaching_point(_ds, box, start)


def _follow() -> None:
    ss["point"] = None
    ss["deriv_follow"] = True
    refresh("point")


def _teach() -> None:
    ss["point"] = None
    ss["deriv_follow"] = False
    refresh("point")


following = ss.get("point") is None and ss.get("deriv_follow", False)
teaching = ss.get("point") is None and not following
if following and ss.get("runs"):
    # The step the map shows: scrubbing there stays in the browser, so ask the tab.
    lengths = state.run_lengths()
    longest = max(n for _, n in lengths)
    with st.sidebar:  # an invisible element; the sidebar hides its spacing
        seen = explore_map.scrubbed_step(lengths, state.current_step(longest))
    if seen is not None and 0 <= seen < longest:
        ss["step_index"] = seen
tp = None
if teaching:
    with guard("The teaching point"):
        tp = _teaching_point(ds, ds.fingerprint, tuple(ss["box"]), tuple(ss["start"]))
if tp is not None:
    alpha, beta = tp.alpha, tp.beta
else:
    alpha, beta = (float(v) for v in state.current_point())
diverged = not (math.isfinite(alpha) and math.isfinite(beta))
if diverged:  # a run that blew up: its current step has no derivation to show
    alpha, beta = (float(v) for v in ss["start"])

with st.container(border=True):
    c1, c2, c3 = st.columns([1, 1, 2])
    for i, (col, label) in enumerate(((c1, "α"), (c2, "β"))):
        with col:  # until set, the inputs show the point in use (not stored)
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
        b1, b2 = st.columns(2)
        b1.button(
            "Teaching point",
            on_click=_teach,
            disabled=teaching,
            help="A point where every check below is a real test (the default)",
        )
        b2.button(
            "Follow the descent",
            on_click=_follow,
            disabled=following,
            help="Evaluate at the descent's current step (Landscape & descent page)",
        )
        traj = state.current_trajectory()
        if diverged:
            where = "the descent's start, because its current step is not finite (the run diverged)"
        elif tp is not None:
            where = "the teaching point"
        elif not following:
            where = "the point you set here"
        elif traj is not None:
            k = state.current_step(len(traj))
            name = next((n for n in ss.get("optimizers", []) if n in ss.get("runs", {})), "")
            where = f"step {k} of **{name}** on the Landscape page"
        else:
            where = "the descent's start (no steps run yet)"
        st.markdown(f"Evaluated at (α, β) = ({view.num(alpha)}, {view.num(beta)}): {where}.")
    if tp is not None and not diverged:
        st.caption(view.teaching_words(tp))

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
    "error near dθ², ~1e-10 for the default step; a wrong one shows ~1. The actual change "
    "is itself known only so well (its dθ² part, measured from the change at dθ/2, plus "
    "rounding, which at |α| ≈ 1e5 is ~1e-6 of dX): a line is flagged ⚠ only when it "
    "misses by more than that bound. Try a larger step: the error grows as its square, "
    "and so does the bound."
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
                if line.applies or line.flagged:
                    st.markdown(
                        f"Check of {dname}: relative error **{view.sci(line.rel_error)}**, "
                        f"within the actual change's own error bound {view.sci(line.bound)} "
                        f"{flag(line.flagged)}"
                        if not line.flagged
                        else f"Check of {dname}: relative error **{view.sci(line.rel_error)}**"
                        f", beyond the actual change's error bound {view.sci(line.bound)}: "
                        f"this line's formula is wrong {flag(True)}"
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
            "error bound": st.column_config.NumberColumn(format="%.2e"),
        },
    )
    worst = d.max_rel_error
    skipped = [line.name for line in d.lines if not line.applies]
    st.markdown(
        f"Worst line: relative error **{view.sci(worst)}** {flag(bool(d.flagged))} "
        "(each line is compared with the error bound of its own actual change: the "
        "second-order part, estimated from the change at half the step, plus rounding)"
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

# -- backprop ----------------------------------------------------------------------------

st.header("The same gradient by backpropagation")
st.markdown(
    "An autodiff engine takes the question's own chain f → g → m → s → L (with f = αI + βD: "
    "one sigmoid, see the note at the end) and runs it backwards. Each node gets its "
    "*adjoint* x̄ = ∂L/∂x from the node after it by a vector–Jacobian product, without ever "
    "forming the Jacobian. Beside it, the differential route of this page, on the same "
    "numbers:"
)
with guard("The backprop view"):
    bp = core.backprop(ds, alpha, beta)
    left, right = st.columns(2)
    with left:
        st.markdown("**Reverse mode (adjoints)**")
        for nd in bp.nodes:
            st.latex(nd.rule)
        st.latex(
            r"\frac{\partial L}{\partial \alpha} = \sum_{ij} \bar f_{ij} I_{ij} = "
            + view.tex_num(bp.grad[0])
        )
    with right:
        st.markdown("**Differentials (this page)**")
        for tex in (
            r"dL = (s - y)\,ds",
            r"ds = -\mathbf{1}_n : dp",
            r"dp = p \odot (dG\,\mathbf{1}_m)",
            r"dG = dF \oslash (F - J)",
            r"dF = (J - F) \odot F \odot dX",
        ):
            st.latex(tex)
        st.latex(
            r"\frac{\partial L}{\partial \alpha} = (s - y)\operatorname{Tr}(PFA^{T}) = "
            + view.tex_num(bp.reference[0])
        )
    st.dataframe(view.backprop_table(bp), hide_index=True)
    st.markdown(
        f"Both routes give ∇L = ({view.num(bp.grad[0])}, {view.num(bp.grad[1])}); they "
        f"differ by **{view.sci(bp.rel_diff)}** relative, rounding. Reading down the "
        "adjoints: s̄ = s − y is the loss's only contribution, m̄ = −s̄ for every row, "
        "ḡᵢⱼ = (s − y)·pᵢ/(1 − gᵢⱼ) (the Jacobian of question 2 below, times m̄, "
        "summed over its one block), and f̄ = ḡ ⊙ g ⊙ (1 − g) = (s − y)·pᵢ·Fᵢⱼ: the "
        "matrix PF of the derivation times s − y. Summing it against I is Tr(PFAᵀ)."
    )

# -- gradient check ------------------------------------------------------------------------

st.header("Gradient check and the Hessian")
# A deliberately wrong gradient, for tests of this page only (core.WRONG_GRADIENTS names).
BROKEN = os.environ.get("LOSSLENS_BREAK_GRADIENT", "")
with guard("The gradient check"):
    if BROKEN:
        wrong = core.wrong_gradient(BROKEN)
        gc = core.gradient_check(ds, alpha, beta, gradient=wrong)
        st.warning(
            f"Test mode: the analytic gradient below is deliberately wrong ({BROKEN}).",
            icon=":material/science:",
        )
    else:
        wrong = None
        gc = compute.gradient_check(ds, ds.fingerprint, alpha, beta)
    st.markdown(
        "The analytic gradient against central differences (f(θ + h) − f(θ − h))/2h at "
        f"h = ({view.sci(gc.h[0], 3)}, {view.sci(gc.h[1], 3)}), h/2 and h/4, combined by "
        "Richardson extrapolation, which cancels their h² error. The difference between "
        "the extrapolations of (h, h/2) and (h/2, h/4) bounds what is left of it; add the "
        "rounding each difference carries, and the reference has its own **error bound**. "
        "A derivative is flagged only when it misses the reference by more than that: near "
        "the valley floor a plain central difference is off by up to 1e-4 (its h² error "
        "over a tiny s − y), which is the difference's fault, not the formula's. The "
        "differences use only the forward pass, with s₊ − s₋ formed as −Σᵢ(p₊ᵢ − p₋ᵢ) from "
        "expm1 of the log p differences, so they keep their digits also when s is within "
        "rounding of n or p of 1."
    )
    st.dataframe(
        view.gradcheck_table(gc),
        hide_index=True,
        column_config={
            "analytic": st.column_config.NumberColumn(format="%.12e"),
            "central difference": st.column_config.NumberColumn(format="%.12e"),
            "relative error": st.column_config.NumberColumn(format="%.2e"),
            "error bound": st.column_config.NumberColumn(format="%.2e"),
        },
    )
    worst = float(max(gc.rel_error.max(), gc.rel_error_s.max()))
    wrong_here = bool(gc.flagged.any() or gc.flagged_s.any())
    if wrong_here:
        st.markdown(
            f"Worst relative error: **{view.sci(worst)}** {flag(True)}: a derivative differs "
            "from its reference by more than the reference's own error bound. The gradient "
            "formula is wrong."
        )
    elif gc.resolved.all():
        st.markdown(
            f"Worst relative error: **{view.sci(worst)}** {flag(False)}, within the error "
            f"bound of the references (at most {view.sci(float(gc.resolution.max()))} "
            "relative)."
        )
    else:
        which = " and ".join(n for n, ok in zip(("∂L/∂α", "∂L/∂β"), gc.resolved) if not ok)
        st.info(
            f"{which}: cannot resolve here. Its reference is known only to "
            f"±{view.sci(float(gc.resolution.max()))} of itself, below the rounding noise "
            "of any step's differences: the point is on or next to the curve s = y, where "
            "∇L = (s − y)∇s vanishes and s − y is rounding, so no step can test the "
            "formula there. ∇s still checks: relative error "
            f"{view.sci(float(gc.rel_error_s.max()))} {flag(bool(gc.flagged_s.any()))}.",
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
        # Each checked step costs 13 evaluations (three steps of differences).
        budget = int(np.clip(800_000 // max(1, ds.N * ds.E), 2, 200))
        path = np.asarray(traj, dtype=float)
        if wrong is None:
            tc = compute.trajectory_check(ds, ds.fingerprint, path, budget)
        else:
            tc = core.trajectory_check(ds, path, max_points=budget, gradient=wrong)
        k = state.current_step(len(traj))
        st.plotly_chart(
            view.trajectory_figure(tc, current=k if following else None),
            key="deriv_traj_fig",
        )
        n_flag = int(tc.flagged.sum())
        st.caption(
            f"{tc.index.size} of {len(traj)} steps checked"
            + (f" ({tc.dropped} non-finite steps left out)" if tc.dropped else "")
            + (
                f"; ⚠ {n_flag} differ from their reference by more than its error bound."
                if n_flag
                else "; none differs from its reference by more than its error bound."
            )
            + " The grey band is that bound, relative; open markers: ∇L cannot be resolved "
            "there (the valley floor), red crosses: flagged."
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
        "Literally: it is a third-order object, one number ∂mᵢ/∂gₖₗ for every row i of m and "
        "every entry (k, l) of g. With m the question's row products (p here, with g = F):"
    )
    st.latex(r"\frac{\partial m_i}{\partial g_{kl}} = -\,\delta_{ik} \prod_{j \ne l} (1 - g_{ij})")
    st.markdown(
        "δᵢₖ is 1 when i = k and 0 otherwise: row i of m depends only on row i of g, so the "
        "object is **block diagonal**: one block of m numbers per row, zeros everywhere "
        "else. Each entry of a block is minus the product of the row's *other* factors. "
        "Here it is on live numbers, for the first rows and events (the products run over "
        "all events of the row; blank: an absent event, with no g to differentiate by):"
    )
    jac = core.jacobian_slice(ds, alpha, beta, rows=3, events=4)
    st.plotly_chart(
        view.jacobian_figure(jac), key="deriv_jacobian_fig", config={"displayModeBar": False}
    )
    st.markdown(
        f"On these data the whole object has n·n·m = {jac.full_size:,} entries, of which at "
        f"most {jac.nonzero:,} (one per present event) are not zero. The differential form "
        "never builds it. Multiplying it by a vector from the left is all the chain rule "
        r"needs, and that product is a matrix of the size of g: "
        r"$\sum_i \bar m_i\,\partial m_i/\partial g_{kl} = -\bar m_k \prod_{j\ne l}(1-g_{kj})$. "
        "The derivation writes the same thing as "
        r"$dp = p \odot (dG\,\mathbf{1}_m)$ with G = log(1 − F): the log turns the "
        "product into a row sum, whose derivative is a row of ones, and the Frobenius "
        "product moves every factor next to dα. No tensor appears, and the work is one "
        "pass over the n×m entries."
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
