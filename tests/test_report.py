"""The sanity report: each finding fires when it should, with the right number behind it."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from core import (
    SEVERITIES,
    DataError,
    Dataset,
    Finding,
    Report,
    default_box,
    evaluate,
    evaluate_points,
    make_preset,
    s_limit,
    s_range_plane,
    sanity_report,
    with_intercept,
)
from core.report import CHECKS

NAN = np.nan


def close(got, want, rel=1e-12, what=""):
    assert abs(got - want) <= rel * abs(want), f"{what}: report {got!r} vs evaluate {want!r}"


# ----------------------------------------------------------------------------- presets


def test_balanced_preset_is_clean():
    report = sanity_report(make_preset("balanced"))
    assert report.worst == "note", report.to_text()
    for code in ("collinear", "saturation", "y_range", "empty_rows", "duplicates"):
        assert report[code].severity == "ok", report[code]


def test_collinear_preset_reports_the_flat_direction():
    report = sanity_report(make_preset("collinear"))
    flat = report["collinear"]
    assert flat.severity == "warning" and report.worst == "warning"
    close(flat.value, 2.0, what="c in D = c·I")
    assert "α + 2β" in flat.message and "(2, −1)" in flat.message
    assert report["correlation"].severity == "note"


def test_rare_events_preset_reports_small_s():
    ds = make_preset("rare events")
    report = sanity_report(ds)
    assert report["rare"].severity == "note" and report["rare"].value == ds.y
    s_true = report["truth"].value
    assert s_true < 0.01
    close(s_true, evaluate(ds, *ds.truth).s, what="s at the truth")


def test_saturated_preset_reports_vanishing_gradients():
    report = sanity_report(make_preset("saturated sigmoids"))
    assert report["saturation"].severity == "warning"
    assert report["saturation"].value >= 0.5
    assert "|X| > 30" in report["saturation"].message


def test_ragged_preset_reports_padding_and_a_whole_count():
    ds = make_preset("ragged exposure log")
    report = sanity_report(ds)
    N, E, present = report["size"].value
    assert (N, E) == (300, 12) and present == int(ds.present.sum()) < N * E
    assert f"{N * E - present} cells absent" in report["size"].message
    assert report["y_whole"].severity == "ok"


def test_large_preset_report():
    report = sanity_report(make_preset("large"))
    assert report["size"].value[0] == 100_000
    assert report["y_range"].severity == "ok"


# ----------------------------------------------------------------------------- single findings


def ds_of(I, D, y=1.0, **kw):
    return Dataset(np.array(I, dtype=float), np.array(D, dtype=float), y, **kw)


def test_no_events_is_an_error():
    report = sanity_report(ds_of([[NAN, NAN]], [[NAN, NAN]], 0.0))
    assert report.worst == "error" and report.codes == ("size",)
    assert "s is 0 for every (α, β)" in report["size"].message


def test_y_outside_what_s_can_ever_reach_is_an_error():
    ds = ds_of([[1.0, NAN], [NAN, NAN], [2.0, 1.0]], [[1.0, NAN], [NAN, NAN], [0.5, 0.5]], 2.5)
    report = sanity_report(ds)
    assert report["y_range"].severity == "error"
    assert "outside [0, 2]" in report["y_range"].message  # 2 rows with an event, not N = 3
    assert report["empty_rows"].value == 1
    assert sanity_report(ds.with_y(-1))["y_range"].severity == "error"


@pytest.mark.parametrize("y", [0.0, 2.0])
def test_y_at_a_bound_is_reached_only_at_infinity(y):
    ds = ds_of([[1.0], [2.0]], [[0.5], [1.0]], y)
    finding = sanity_report(ds)["y_range"]
    assert finding.severity == "warning" and "only in the limit" in finding.message


def test_y_out_of_the_box_points_to_where_to_widen():
    I = np.abs(np.linspace(0.1, 2, 12)).reshape(6, 2)
    ds = ds_of(I, I[::-1] + 0.3, 5.9)
    report = sanity_report(ds, box=(-1, 0, -1, 0))
    finding = report["y_range"]
    assert finding.severity == "warning"
    assert "above the largest s in the box" in finding.message
    assert "(α, β) = (0, 0)" in finding.message  # s grows with α and β when I, D > 0
    low = sanity_report(ds.with_y(0.01), box=(0, 1, 0, 1))["y_range"]
    assert "below the smallest s" in low.message and "(α, β) = (0, 0)" in low.message


def test_s_range_matches_evaluate_at_the_corners_when_s_is_monotone(rng):
    I, D = rng.random((40, 5)), rng.random((40, 5)) + 0.5  # >= 0: s increases in α and β
    ds = ds_of(I, D, 10.0)
    box = (-2.0, 1.5, -3.0, 0.5)
    finding = sanity_report(ds, box=box)["s_range"]
    smin, smax = finding.value
    close(smin, evaluate(ds, box[0], box[2]).s, what="min s at (amin, bmin)")
    close(smax, evaluate(ds, box[1], box[3]).s, what="max s at (amax, bmax)")
    assert "the exact extremes" in finding.message
    mixed = sanity_report(ds_of(I - 0.5, D, 10.0), box=box)["s_range"]
    assert "need not be monotone" in mixed.message


def test_duplicates_count_rows_with_the_same_values_and_the_same_gaps():
    I = [[1.0, NAN], [1.0, NAN], [1.0, 0.0], [1.0, NAN], [2.0, 3.0]]
    D = [[2.0, NAN], [2.0, NAN], [2.0, 0.0], [2.0, NAN], [2.0, 3.0]]
    finding = sanity_report(ds_of(I, D))["duplicates"]
    # Rows 1 and 3 repeat row 0; row 2 has a 0 where row 0 has a gap: different.
    assert finding.value == 2 and finding.severity == "note"


def test_zero_and_constant_columns():
    report = sanity_report(ds_of([[0.0, 0.0], [0.0, NAN]], [[1.0, 2.0], [3.0, NAN]]))
    assert report["scale_I"].severity == "warning"
    assert "α has no effect on s" in report["scale_I"].message
    assert "collinear" not in report and "correlation" not in report
    const = sanity_report(ds_of([[1.0, 2.0], [3.0, 4.0]], [[5.0, 5.0], [5.0, 5.0]]))
    assert const["scale_D"].severity == "note" and "correlation" not in const


def test_unused_event_columns_are_noted():
    report = sanity_report(ds_of([[1.0, NAN, 2.0]], [[1.0, NAN, 0.0]]))
    assert report["empty_columns"].value == 1
    assert "column 1" in report["empty_columns"].message


def test_very_different_scales_are_noted(rng):
    I = rng.normal(size=(30, 3))
    report = sanity_report(ds_of(I, 100.0 * rng.normal(size=(30, 3))), box=(-0.1, 0.1, -0.1, 0.1))
    assert report["scales"].severity == "note" and 50 < report["scales"].value < 200
    assert "stretched along α" in report["scales"].message


def test_saturation_fraction_is_exact():
    ds = ds_of([[40.0], [1.0], [1.0], [1.0]], [[0.0], [0.0], [0.0], [0.0]])
    finding = sanity_report(ds, box=(-1, 1, -1, 1))["saturation"]
    assert finding.value == 0.25 and finding.severity == "note"
    assert "25% of the events" in finding.message
    assert sanity_report(ds, box=(-0.5, 0.5, -1, 1))["saturation"].severity == "ok"


def test_near_collinear_is_correlated_but_not_flat(rng):
    I = rng.random((50, 4)) + 0.5
    report = sanity_report(ds_of(I, -0.5 * I + 0.01 * rng.normal(size=I.shape)))
    assert report["correlation"].severity == "note" and report["correlation"].value < -0.95
    assert report["collinear"].severity == "ok"
    close(report["collinear"].value, -0.5, rel=0.02, what="best c")


def test_non_integer_y_is_a_note():
    ds = ds_of([[1.0]], [[1.0]], 0.4)
    assert sanity_report(ds)["y_whole"].severity == "note"
    assert sanity_report(ds.with_y(1.0))["y_whole"].severity != "note"


# ----------------------------------------------------------------------------- the table of checks

# A clean base: every check passes (worst is "ok") over the default box (-3, 3, -3, 3).
I_OK = [[1.0, 2.0], [0.5, 1.5], [2.0, 0.3]]
D_OK = [[0.2, 1.0], [1.1, 0.4], [0.7, 0.9]]
NAN_ROW = [[NAN, NAN]]
# Each row has an event and its mirror image (−I, −D): in every direction one of the two
# tends to σ = 1, and at (0, 0) each row gives 1 − ¼. So s ≥ 3 on the whole plane.
I_PM = [[1.0, -1.0], [2.0, -2.0], [-0.5, 0.5], [1.5, -1.5]]
D_PM = [[0.2, -0.2], [-1.0, 1.0], [0.7, -0.7], [0.1, -0.1]]


def base(I=I_OK, D=D_OK, y=1.0, **kw):
    return ds_of(I, D, y, **kw)


# (id, data set, box or None, finding code, its severity or None when absent, other
# non-ok codes the same data must raise). Every row raises exactly the finding it names,
# plus the listed companions that cannot be avoided (D = c·I is always correlated; a y
# between 0 and 1 is never whole).
CHECK_ROWS = [
    ("clean", base(), None, "size", "ok", ()),
    ("no events", ds_of(NAN_ROW, NAN_ROW, 0.0), None, "size", "error", ()),
    ("a row of NaN", base(I_OK + NAN_ROW, D_OK + NAN_ROW), None, "empty_rows", "note", ()),
    ("clean", base(), None, "empty_rows", "ok", ()),
    (
        "a column of NaN",
        base([[*r, NAN] for r in I_OK], [[*r, NAN] for r in D_OK]),
        None,
        "empty_columns",
        "note",
        (),
    ),
    ("clean", base(), None, "empty_columns", None, ()),
    ("I = 0", base(np.zeros((3, 2))), None, "scale_I", "warning", ()),
    ("I = 1", base(np.ones((3, 2))), None, "scale_I", "note", ()),
    ("clean", base(), None, "scale_I", "ok", ()),
    ("D = 0", base(D=np.zeros((3, 2))), None, "scale_D", "warning", ()),
    ("D = 1", base(D=np.ones((3, 2))), None, "scale_D", "note", ()),
    ("clean", base(), None, "scale_D", "ok", ()),
    (
        "D 100 times I",
        base(D=100 * np.array(D_OK)),
        (-0.03, 0.03, -0.03, 0.03),
        "scales",
        "note",
        (),
    ),
    ("clean", base(), None, "scales", "ok", ()),
    ("I = 0", base(np.zeros((3, 2))), None, "scales", None, ("scale_I",)),
    (
        "D ≈ −I/2",
        base(D=-0.5 * np.array(I_OK) + [[0.01, -0.02], [0.0, 0.02], [-0.01, 0.0]]),
        None,
        "correlation",
        "note",
        (),
    ),
    ("clean", base(), None, "correlation", "ok", ()),
    ("D = 2I", base(D=2 * np.array(I_OK)), None, "collinear", "warning", ("correlation",)),
    ("clean", base(), None, "collinear", "ok", ()),
    (
        "I, D ≥ 12",
        base(12 + np.array(I_OK), 12 + np.array(D_OK)),
        None,
        "saturation",
        "warning",
        (),
    ),
    ("one event of 40", base([[40.0, 1.0], *I_OK[1:]]), (-1, 1, -1, 1), "saturation", "note", ()),
    ("clean", base(), None, "saturation", "ok", ()),
    ("clean", base(), None, "s_range", "ok", ()),
    ("y above N", base(y=4.0), None, "y_range", "error", ()),
    ("y below 0", base(y=-1.0), None, "y_range", "error", ()),
    ("y = N", base(y=3.0), None, "y_range", "warning", ()),
    ("y = 0", base(y=0.0), None, "y_range", "warning", ()),
    ("y under the box", base(y=1.0), (0, 1, 0, 1), "y_range", "warning", ()),
    ("no intercept", ds_of(I_PM, D_PM, 1.0), None, "y_range", "error", ()),
    ("clean", base(), None, "y_range", "ok", ()),
    ("y = 1.5", base(y=1.5), None, "y_whole", "note", ()),
    ("clean", base(), None, "y_whole", "ok", ()),
    ("y = 0.5", base(y=0.5), None, "rare", "note", ("y_whole",)),
    ("clean", base(), None, "rare", None, ()),
    ("a row twice", base([*I_OK, I_OK[0]], [*D_OK, D_OK[0]]), None, "duplicates", "note", ()),
    ("clean", base(), None, "duplicates", "ok", ()),
    ("clean", base(), None, "one_equation", "ok", ()),
    ("known truth", base(truth=(0.5, -1.0)), None, "truth", "ok", ()),
    ("clean", base(), None, "truth", None, ()),
]


@pytest.mark.parametrize(
    ("ds", "box", "code", "severity", "companions"),
    [row[1:] for row in CHECK_ROWS],
    ids=[f"{row[3]}-{row[4]}-{row[0]}" for row in CHECK_ROWS],
)
def test_each_check_fires_on_its_own(ds, box, code, severity, companions):
    report = sanity_report(ds, box=box)
    if severity is None:
        assert code not in report
    else:
        assert report[code].severity == severity, report[code]
    flagged = {f.code for f in report if f.severity != "ok"}
    want = set(companions) | ({code} if severity not in (None, "ok") else set())
    assert flagged == want, report.to_text()


def test_the_table_covers_every_check():
    # A check is named after the code of its finding: a new check needs a row here.
    assert {row[3] for row in CHECK_ROWS} == {check.__name__.lstrip("_") for check in CHECKS}


# ----------------------------------------------------------------------------- the Report object


def test_report_object_and_text():
    ds = make_preset("collinear", N=50)
    report = sanity_report(ds)
    assert isinstance(report, Report) and len(report) == len(report.codes) > 5
    assert all(isinstance(f, Finding) for f in report)
    assert report.box == default_box(ds) == (-4.0, 2.0, -3.5, 2.5)
    with pytest.raises(KeyError, match="no finding 'nope'"):
        report["nope"]
    text = report.to_text()
    assert text.startswith("Sanity report: collinear")
    for finding in report:
        assert finding.title in text
    assert text.rstrip().endswith("worst: warning (1 warning, 3 notes)")
    with pytest.raises(ValueError, match="severity must be one of"):
        Finding("x", "fatal", "t", "m")


def test_sorted_puts_the_worst_first_and_keeps_check_order_within_a_severity():
    mk = lambda code, sev: Finding(code, sev, f"title {code}", f"message {code}")  # noqa: E731
    findings = (mk("a", "ok"), mk("b", "warning"), mk("c", "note"), mk("d", "error"))
    findings += (mk("e", "warning"), mk("f", "ok"), mk("g", "note"))
    report = Report(findings, (0.0, 1.0, 0.0, 1.0))
    assert [f.code for f in report.sorted()] == ["d", "b", "e", "c", "g", "a", "f"]
    assert report.codes == tuple("abcdefg")  # the findings themselves keep the check order
    text = report.to_text()
    heads = [line.split(maxsplit=1) for line in text.splitlines()[3:-2] if line[:1] != " "]
    assert [h[0] for h in heads] == ["ERROR", "WARNING", "WARNING", "NOTE", "NOTE", "OK", "OK"]
    assert [h[1] for h in heads] == [f"title {c}" for c in "dbecgaf"]
    assert text.endswith("worst: error (1 error, 2 warnings, 2 notes)")


def test_a_real_report_reads_worst_first():
    report = sanity_report(base(D=2 * np.array(I_OK), y=0.5))  # collinear, correlated, rare
    ranks = [SEVERITIES.index(f.severity) for f in report.sorted()]
    assert ranks == sorted(ranks, reverse=True) and ranks[0] == SEVERITIES.index("warning")
    assert sorted(report.sorted(), key=report.findings.index) == list(report)


@pytest.mark.parametrize(
    ("box", "message"),
    [
        ((1, 0, 0, 1), r"got \(1, 0, 0, 1\): expected α min < α max and β min < β max"),
        ((0, 1, 0, np.inf), r"expected finite numbers"),
        ((0, 1, 0), r"^box must be \(alpha_min, alpha_max, beta_min, beta_max\).*expected four"),
        ("abcd", r"got 'abcd': expected four numbers"),
    ],
)
def test_bad_box(box, message):
    with pytest.raises(DataError, match=message):
        sanity_report(make_preset("balanced", N=5), box=box)


cell = st.one_of(st.just(NAN), st.just(0.0), st.just(1.0), st.floats(-1e3, 1e3, allow_nan=False))


@given(
    st.integers(1, 6).flatmap(
        lambda E: st.lists(
            st.lists(st.tuples(cell, cell), min_size=E, max_size=E), min_size=1, max_size=8
        )
    ),
    st.floats(-2, 10),
)
def test_any_data_gives_a_report_without_warnings(rows, y):
    I = np.array([[a for a, _ in row] for row in rows])
    D = np.array([[b if a == a else NAN for a, b in row] for row in rows])  # gaps aligned
    D = np.where(np.isnan(I), NAN, np.nan_to_num(D))
    report = sanity_report(Dataset(I, D, y))  # RuntimeWarnings in core are errors here
    assert report.worst in SEVERITIES and report.findings
    assert all(f.severity in SEVERITIES for f in report)
    if not np.isnan(I).all():
        smin, smax = report["s_range"].value
        assert 0 <= smin <= smax <= report["size"].value[0]


# ------------------------------------------------------------------- the range of s over the plane


def test_y_below_every_s_of_the_plane_is_an_error_with_the_remedy():
    """Every row has events of both signs in I and D: s ≥ 1 everywhere, y = 0.5 unreachable."""
    I = [[1.0, -1.0], [2.0, -0.5], [-1.5, 1.0]]
    D = [[-1.0, 0.5], [1.0, -2.0], [0.3, -0.7]]
    ds = ds_of(I, D, 0.5)  # s ≥ 1 everywhere
    finding = sanity_report(ds, box=(-50, 50, -50, 50))["y_range"]
    assert finding.severity == "error", finding
    assert "unreachable for every (α, β)" in finding.title
    assert "No box helps" in finding.message and "no intercept" in finding.message
    assert "constant D = 1" in finding.message and "do not centre I" in finding.message
    low, high = finding.value
    assert low > 0.5
    # The plane's range contains what any point gives, also far outside any box.
    rng = np.random.default_rng(0)
    th, r = rng.uniform(0, 2 * np.pi, 5000), 10 ** rng.uniform(-3, 4, 5000)
    s = evaluate_points(ds, r * np.cos(th), r * np.sin(th)).s
    assert low - 1e-9 <= s.min() and s.max() <= high + 1e-9
    # With an intercept the same y is reachable, and the finding is the box's again.
    fixed = sanity_report(with_intercept(ds))["y_range"]
    assert fixed.severity != "error", fixed


def test_limits_along_directions_count_rows_with_a_positive_event():
    ds = ds_of([[1.0, -1.0], [2.0, NAN]], [[0.0, 0.0], [0.0, NAN]], 1.0)
    # θ = 0: z = I; row 0 has +1 (→ 1), row 1 has +2 (→ 1). θ = π: row 0 only (−(−1) > 0).
    assert s_limit(ds, [0.0, np.pi]).tolist() == [2.0, 1.0]
    # θ = π/2: z = D = 0 everywhere: every event a tie, row contributes 1 − 2^−k.
    assert s_limit(ds, [np.pi / 2]).tolist() == pytest.approx([0.75 + 0.5])
    r = s_range_plane(ds)
    # Inside, s dips below the limit 1 along θ = π: row 1 fades before row 0 saturates.
    assert r.exact and r.high == 2.0 and r.low < 0.9 and r.low_at[0] == "point"
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=20000) * 3, rng.normal(size=20000) * 3
    assert evaluate_points(ds, a, b).s.min() >= r.low - 1e-9  # the search found the bottom
    assert r.reachable(1.5) and not r.reachable(r.low - 0.01)


def test_y_reads_the_same_in_the_report_as_on_every_page():
    from core import make_preset
    from dashboard.ui import fmt

    for y in (116.1202869400, 3.0, 0.000123456, 2.5e7):
        ds = make_preset("balanced").with_y(y)
        text = sanity_report(ds).to_text()
        assert f"y = {fmt(ds.y)}" in text, (fmt(ds.y), text)
