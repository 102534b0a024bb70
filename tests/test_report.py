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
    make_preset,
    sanity_report,
)

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
