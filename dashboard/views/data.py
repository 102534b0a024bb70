"""Data: presets, generated data, uploads and samples; the sanity report; a preview."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

import core
from dashboard import cluster_view, compute, figures, state
from dashboard.cluster_view import cluster_section
from dashboard.intercept_view import offer_intercept
from dashboard.messages_view import for_browser
from dashboard.ui import fmt, guard, literal

ss = st.session_state

st.title("Data")
state.show_notices()

# How each severity looks; their order comes from core (Report.sorted).
SEVERITY = {
    "error": (st.error, ":material/error:"),
    "warning": (st.warning, ":material/warning:"),
    "note": (st.info, ":material/info:"),
    "ok": (st.success, ":material/check_circle:"),
}


def _use(ds: core.Dataset, source: dict, what: str) -> None:
    state.set_dataset(ds, source)
    st.toast(
        f"Loaded {literal(what)}: N = {ds.N:,}, E = {ds.E}, y = {fmt(ds.y)}",
        icon=":material/check_circle:",
    )


tab_preset, tab_gen, tab_upload, tab_samples = st.tabs(
    ["Presets", "Generate", "Upload files", "Sample files"]
)

with tab_preset:
    names = list(core.PRESETS)
    src = ss["source"]
    current = names.index(src["name"]) if src.get("kind") == "preset" else 0
    c1, c2 = st.columns([3, 1])
    name = c1.selectbox("Preset", names, index=current, key="data_preset")
    seed = c2.number_input("Seed", 0, 2**31 - 1, int(src.get("seed", 0)), key="data_seed")
    st.caption(core.PRESETS[name].description)
    if st.button("Load preset", type="primary", key="data_load_preset"):
        with guard(f"Loading the preset {name!r}"):
            _use(
                compute.preset(name, int(seed)),
                {"kind": "preset", "name": name, "seed": int(seed)},
                f"preset {name!r}",
            )

with tab_gen:
    st.caption(
        "Draw I and D, pick the true (α*, β*), and let y be the expected count s(α*, β*) or a "
        "sampled count (each row succeeds with probability 1 − p_i)."
    )
    c1, c2, c3, c4 = st.columns(4)
    N = c1.number_input("N (rows)", 1, 1_000_000, 500, key="gen_N")
    E = c2.number_input("E (events per row)", 1, 200, 8, key="gen_E")
    alpha = c3.number_input("true α*", -50.0, 50.0, 1.0, step=0.1, key="gen_alpha")
    beta = c4.number_input("true β*", -50.0, 50.0, -1.0, step=0.1, key="gen_beta")
    c1, c2, c3, c4 = st.columns(4)
    dist_I = c1.selectbox("I drawn from", core.DISTRIBUTIONS, index=0, key="gen_I")
    dist_D = c2.selectbox("D drawn from", core.DISTRIBUTIONS, index=2, key="gen_D")
    y_mode = c3.selectbox("y", ["expected", "sampled"], key="gen_y")
    gen_seed = c4.number_input("Seed", 0, 2**31 - 1, 0, key="gen_seed")
    ragged = st.slider(
        "Events per row (ragged rows: fewer than E are NaN-padded)",
        0,
        int(E),
        (int(E), int(E)),
        key="gen_events",
    )
    if st.button("Generate", type="primary", key="gen_go"):
        params = dict(
            N=int(N),
            E=int(E),
            alpha=float(alpha),
            beta=float(beta),
            I=dist_I,
            D=dist_D,
            y=y_mode,
            seed=int(gen_seed),
            name="generated",
        )
        if tuple(ragged) != (int(E), int(E)):
            params["events"] = tuple(int(k) for k in ragged)
        with guard("Generating data"):
            _use(core.generate(**params), {"kind": "generated", **params}, "generated data")

with tab_upload:
    st.caption(
        "One file holding both matrices (**.npz** with arrays I, D and optional y; a **long "
        "CSV or Parquet** with columns row, I, D — one line per event), or **two files** of the "
        f"same shape (wide CSV or .npy) for I and D. Up to {core.MAX_UPLOAD_MB} MB each. Files "
        "are parsed as data, never executed (pickled .npy files are refused). A **landscape "
        ".npz** (`losslens landscape … --out grid.npz`, e.g. computed on a cluster) opens on "
        "the Landscape page."
    )
    kind = st.radio("Upload", ["One file", "Two files: I and D"], horizontal=True, key="up_kind")
    if kind == "One file":
        up = st.file_uploader("Data file", type=["npz", "csv", "parquet", "pq"], key="up_one")
        ups = [up] if up is not None else []
    else:
        c1, c2 = st.columns(2)
        up_I = c1.file_uploader("I (wide CSV or .npy)", type=["csv", "npy"], key="up_I")
        up_D = c2.file_uploader("D (same shape)", type=["csv", "npy"], key="up_D")
        ups = [u for u in (up_I, up_D) if u is not None]
    y_text = st.text_input(
        "Observed count y (leave empty to use the y stored in the file)", key="up_y"
    )
    need = 1 if kind == "One file" else 2
    if st.button("Load upload", type="primary", key="up_go", disabled=len(ups) < need):
        y = None
        try:
            y = float(y_text) if y_text.strip() else None
        except ValueError:
            st.error(f"y must be a number; got {literal(repr(y_text))}. Your current data is kept.")
        else:
            try:
                if need == 1 and cluster_view.is_grid_file(ups[0].getvalue(), ups[0].name):
                    cluster_view.open_grid_file(ups[0].getvalue(), ups[0].name)
                    st.switch_page("views/landscape.py")  # where the file is explored
                if need == 1:
                    ds = core.load_bytes(ups[0].getvalue(), ups[0].name, y=y)
                else:
                    ds = core.load_pair_bytes(
                        ups[0].getvalue(), ups[0].name, ups[1].getvalue(), ups[1].name, y=y
                    )
            except core.DataError as exc:
                msg = literal(for_browser(exc))  # no Python calls for a browser user
                st.error(f"{msg}\n\nYour current data is kept.", icon=":material/error:")
            else:
                _use(
                    ds,
                    {"kind": "upload", "files": [u.name for u in ups]},
                    " + ".join(u.name for u in ups),
                )

with tab_samples:
    st.caption("Small files shipped with losslens, in the formats uploads accept.")
    for sample_name, sample in core.SAMPLES.items():
        c1, c2 = st.columns([1, 3])
        if c1.button(f"Load {sample_name}", key=f"sample_{sample_name}"):
            with guard(f"Loading the sample {sample_name!r}"):
                ds = core.load_sample(sample_name)
                _use(ds, {"kind": "sample", "name": sample_name}, f"sample {sample_name!r}")
        c2.caption(sample.description)

# -- the current data ----------------------------------------------------------------------

ds: core.Dataset = ss["dataset"]
st.divider()
st.subheader(f"Current data: {literal(ds.name or 'unnamed')}")
c1, c2, c3, c4 = st.columns(4)
c1.metric("N (rows)", f"{ds.N:,}")
c2.metric("E (events per row)", ds.E)
c3.metric("y (observed count)", fmt(ds.y))
c4.metric("true (α*, β*)", "unknown" if ds.truth is None else f"({ds.truth[0]:g}, {ds.truth[1]:g})")

st.markdown("#### Sanity report")
st.caption(
    f"Over the map's box α ∈ [{ss['box'][0]:g}, {ss['box'][1]:g}], "
    f"β ∈ [{ss['box'][2]:g}, {ss['box'][3]:g}]."
)
with guard("The sanity report"):
    rep = cluster_view.report(ds)  # on a cluster: with a progress bar and Cancel
    if rep is None:  # cancelled; the page says so and offers it again
        cluster_section()
        st.stop()
    findings = rep.sorted()
    counts = {sev: sum(f.severity == sev for f in findings) for sev in core.SEVERITIES}
    st.markdown(
        f"**{counts['error']}** errors, **{counts['warning']}** warnings, "
        f"**{counts['note']}** notes, **{counts['ok']}** checks passed."
    )
    passed = [f for f in findings if f.severity == "ok"]
    for finding in findings:
        if finding.severity != "ok":
            show, icon = SEVERITY[finding.severity]
            show(f"**{finding.title}**: {finding.message}", icon=icon)
    with st.expander(f"Checks passed ({len(passed)})", expanded=len(passed) == len(findings)):
        show, icon = SEVERITY["ok"]
        for finding in passed:
            show(f"**{finding.title}**: {finding.message}", icon=icon)
    st.download_button(
        "Report as text", rep.to_text(), file_name="losslens_report.txt", key="report_txt"
    )
    offer_intercept(ds, rep)

st.markdown("#### Preview")
if cluster_view.needs_rows(ds, "The preview and the histograms"):
    cluster_section()
    st.stop()
rows = min(ds.N, 200)
# the file's own row ids where it has them (long CSV, Parquet), else 0..N-1
index = pd.Index(ds.row_ids[:rows] if ds.row_ids is not None else range(rows), name="row")
c1, c2 = st.columns(2)
c1.caption(f"I, first {rows} of {ds.N:,} rows (empty cell = absent event)")
c1.dataframe(pd.DataFrame(ds.I[:rows], index=index), height=260)
c2.caption(f"D, first {rows} of {ds.N:,} rows")
c2.dataframe(pd.DataFrame(ds.D[:rows], index=index), height=260)
# At most ~100,000 values per histogram reach the browser (every k-th row beyond that).
step = max(1, -(-ds.N * ds.E // 100_000))
st.plotly_chart(figures.histogram_figure(ds.I[::step], ds.D[::step]), key="data_hist")
if step > 1:
    st.caption(f"Histograms of every {step}th row ({-(-ds.N // step):,} rows).")
present = int(np.count_nonzero(ds.present))
st.caption(f"{present:,} present events, {ds.N * ds.E - present:,} absent.")

cluster_section()  # data on a Dask cluster, landscape files (dashboard/cluster_view.py)
