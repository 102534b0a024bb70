"""The derivation page under Streamlit's AppTest, and its pure view functions."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import core
from dashboard import derivation_view as view
from tests.latex import check_latex
from tests.numeric import assert_close

APP = Path(__file__).resolve().parent.parent / "dashboard" / "app.py"
TOL = 1e-6


@pytest.fixture
def page() -> AppTest:
    """The app on the derivation page, on the default data (a coarse map keeps the
    landing page, which runs first, quick)."""
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.query_params["res"] = "10"
    at.run()
    at.switch_page("views/derivation.py").run()
    _assert_clean(at)
    return at


def _assert_clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def _table(at: AppTest, first_column: str):
    """The page's dataframe whose first column is ``first_column``."""
    for df in at.dataframe:
        if df.value.columns[0] == first_column:
            return df.value
    raise AssertionError(f"no table starting with {first_column!r} on the page")


def _markdown(at: AppTest) -> str:
    return "\n".join(m.value for m in at.markdown)


def _point(at: AppTest) -> tuple[float, float]:
    m = re.search(r"Evaluated at \(α, β\) = \(([-\d.e+]+), ([-\d.e+]+)\)", _markdown(at))
    assert m, "the page does not say where it is evaluated"
    return float(m.group(1)), float(m.group(2))


def _check_numbers_against_core(at: AppTest, alpha: float, beta: float, by_alpha=True) -> None:
    ds = at.session_state["dataset"]
    h = core.default_step(ds)
    steps = {"dalpha": h[0], "dbeta": 0.0} if by_alpha else {"dalpha": 0.0, "dbeta": h[1]}
    d = core.derive(ds, alpha, beta, **steps)
    lines = _table(at, "line")
    assert lines["line"].tolist() == ["X", "F", "G", "p", "s", "L"]
    assert_close(
        "line errors shown", lines["relative error"], [ln.rel_error for ln in d.lines], rtol=1e-12
    )
    assert (lines["relative error"] < TOL).all(), lines
    assert (lines["check"] == "applies").all()
    gc = core.gradient_check(ds, alpha, beta)
    checks = _table(at, "derivative")
    assert_close("gradient shown", checks["analytic"], [*gc.grad, *gc.grad_s], rtol=1e-15)
    assert_close(
        "differences shown", checks["central difference"], [*gc.numeric, *gc.numeric_s], rtol=1e-15
    )
    assert (checks["relative error"] < TOL).all(), checks
    text = _markdown(at)
    shown = float(re.search(r"Worst line: relative error \*\*([\d.e+-]+)\*\*", text).group(1))
    assert shown == pytest.approx(d.max_rel_error, rel=0.06) and shown < TOL
    spread = re.search(r"Largest difference between the forms: \*\*([\d.e+-]+)\*\*", text)
    assert float(spread.group(1)) < 1e-12
    hess = re.search(r"Relative error of the Hessian: \*\*([\d.e+-]+)\*\*", text)
    assert float(hess.group(1)) < TOL


def test_default_data_every_check_below_tolerance(page):
    alpha, beta = page.session_state["start"]
    assert _point(page) == pytest.approx((alpha, beta))
    _check_numbers_against_core(page, alpha, beta)
    assert "the teaching point" in _markdown(page)
    assert any("the descent's start, chosen because every check" in c.value for c in page.caption)
    # Core's own numbers on the default data, not just what the page shows.
    ds = page.session_state["dataset"]
    assert core.derive(ds, alpha, beta).max_rel_error < TOL
    gc = core.gradient_check(ds, alpha, beta)
    assert gc.resolved.all() and gc.rel_error.max() < TOL and gc.rel_error_hessian < TOL


def test_renders_on_every_preset(page):
    assert len(core.PRESETS) >= 5
    for name in core.PRESETS:
        page.session_state["dataset"] = core.make_preset(name)
        page.run()
        _assert_clean(page)
        assert f"**{name}**" in page.caption[0].value
        worst = float(
            re.search(r"Worst line: relative error \*\*([\d.e+-]+)\*\*", _markdown(page)).group(1)
        )
        assert worst < TOL, name


def test_default_point_makes_every_check_a_real_test_and_says_why(page):
    """After a run to the valley floor the default stays where every line is a test."""
    ds = page.session_state["dataset"]
    run = core.descend(ds, "newton", page.session_state["start"], 30)
    page.session_state["runs"] = {"newton": run}
    page.session_state["optimizers"] = ["newton"]
    page.run()
    _assert_clean(page)
    lines = _table(page, "line")
    assert (lines["check"] == "applies").all(), lines
    assert ":material/warning:" not in _markdown(page)
    assert not page.info  # no "cannot resolve here"
    # Following the descent lands on the floor, where L is no test; the button returns.
    next(b for b in page.button if b.label == "Follow the descent").click().run()
    assert "not a test here (see the line)" in _table(page, "line")["check"].tolist()
    assert ":material/warning:" not in _markdown(page)  # no test is not a failed test
    next(b for b in page.button if b.label == "Teaching point").click().run()
    assert "the teaching point" in _markdown(page)
    assert (_table(page, "line")["check"] == "applies").all()


@pytest.mark.parametrize("kind", core.WRONG_GRADIENTS)
def test_a_broken_gradient_is_flagged_on_the_page(page, monkeypatch, kind):
    monkeypatch.setenv("LOSSLENS_BREAK_GRADIENT", kind)
    page.run()
    _assert_clean(page)
    text = _markdown(page)
    assert "The gradient formula is wrong" in text and ":material/warning:" in text
    verdicts = _table(page, "derivative")["verdict"].tolist()
    assert "⚠ differs beyond the bound" in verdicts
    assert any("deliberately wrong" in w.value for w in page.warning)


def test_jacobian_and_backprop_on_live_numbers(page):
    alpha, beta = _point(page)
    ds = page.session_state["dataset"]
    text = _markdown(page)
    jac = core.jacobian_slice(ds, alpha, beta)
    assert f"n·n·m = {jac.full_size:,} entries" in text
    table = _table(page, "node")
    assert table["node"].tolist() == ["L", "s", "m", "g", "f"]
    bp = core.backprop(ds, alpha, beta)
    assert bp.rel_diff < 1e-13
    assert f"∇L = ({view.num(bp.grad[0])}, {view.num(bp.grad[1])})" in text
    assert any(r"\delta_{ik}" in el.value for el in page.latex)


def test_setting_the_point_and_following_again(page):
    start = page.session_state["start"]
    page.number_input(key="w_point.0").set_value(0.5).run()
    _assert_clean(page)
    assert page.session_state["point"] == (0.5, pytest.approx(start[1]))
    assert _point(page) == pytest.approx((0.5, start[1]))
    assert "the point you set here" in _markdown(page)
    page.number_input(key="w_point.1").set_value(-0.25).run()
    assert page.session_state["point"] == (0.5, -0.25)
    _check_numbers_against_core(page, 0.5, -0.25)
    follow = next(b for b in page.button if b.label == "Follow the descent")
    assert not follow.disabled
    follow.click().run()
    _assert_clean(page)
    assert page.session_state["point"] is None
    assert _point(page) == pytest.approx(start)
    assert page.number_input(key="w_point.0").value == pytest.approx(start[0])


def test_follows_the_descent_and_checks_its_path(page):
    path = np.array([[-1.0, 1.0], [-0.5, 0.6], [0.2, 0.1], [0.4, -0.2]])
    page.session_state["runs"] = {"gd": SimpleNamespace(params=path)}
    page.session_state["optimizers"] = ["gd"]
    page.session_state["step_index"] = 2
    page.run()
    assert "the teaching point" in _markdown(page)  # a run does not move the default
    next(b for b in page.button if b.label == "Follow the descent").click().run()
    _assert_clean(page)
    assert page.session_state["deriv_follow"] is True
    assert _point(page) == pytest.approx((0.2, 0.1))
    assert "step 2 of **gd**" in _markdown(page)
    _check_numbers_against_core(page, 0.2, 0.1)
    figures = page.get("plotly_chart")
    assert len(figures) == 5  # X, F, G, the Jacobian and the path check
    assert any("steps checked" in c.value for c in page.caption)


def test_on_the_zero_loss_curve_the_page_says_what_does_not_apply(page):
    base = page.session_state["dataset"]
    page.session_state["dataset"] = base.with_y(core.evaluate(base, 0.5, -0.5).s)
    page.session_state["point"] = (0.5, -0.5)
    page.run()
    _assert_clean(page)
    lines = _table(page, "line")
    assert lines["check"].tolist() == ["applies"] * 5 + ["not a test here (see the line)"]
    assert (lines["relative error"][:5] < TOL).all()
    info = " ".join(i.value for i in page.info)
    assert "dL vanishes to first order" in info
    assert "cannot resolve here" in info and "∇s still checks" in info
    text = _markdown(page)
    assert "line L is not a test at this point" in text
    worst = float(re.search(r"Worst line: relative error \*\*([\d.e+-]+)\*\*", text).group(1))
    assert worst < TOL


def test_a_diverged_run_falls_back_to_the_start(page):
    path = np.array([[-1.0, 1.0], [50.0, -80.0], [np.inf, np.nan]])
    page.session_state["runs"] = {"gd": SimpleNamespace(params=path)}
    page.session_state["optimizers"] = ["gd"]
    page.session_state["step_index"] = -1
    page.session_state["deriv_follow"] = True
    page.run()
    _assert_clean(page)
    assert _point(page) == pytest.approx(page.session_state["start"])
    assert "the run diverged" in _markdown(page)
    assert any("non-finite steps left out" in c.value for c in page.caption)


def test_differentiating_by_beta(page):
    page.radio(key="deriv_dir").set_value("β (with D)").run()
    _assert_clean(page)
    latex = [el.value for el in page.latex]
    assert any(r"D\,d\beta" in t for t in latex)
    assert not any(r"A\,d\alpha" in t for t in latex if "dX = " not in t)
    _check_numbers_against_core(page, *page.session_state["start"], by_alpha=False)


def test_a_large_step_shows_the_second_order_error(page):
    page.select_slider(key="deriv_step").set_value(1e-2).run()
    _assert_clean(page)
    errors = _table(page, "line")["relative error"]
    assert errors.max() > 1e-7  # O(step²) with step 1e-2, visibly above the default's ~1e-10


# -- LaTeX ------------------------------------------------------------------------------------


def _all_math(at: AppTest) -> list[str]:
    out = [el.value.strip().strip("$") for el in at.latex]
    for m in at.markdown:
        text = m.value
        assert text.count("$") % 2 == 0, f"unpaired $ in {text!r}"
        out += re.findall(r"\$([^$]+)\$", text)
    return out


def test_every_formula_on_the_page_is_balanced(page):
    seen = _all_math(page)
    page.radio(key="deriv_dir").set_value("β (with D)").run()
    seen += _all_math(page)
    assert len(seen) > 20
    for tex in seen:
        check_latex(tex)
    with pytest.raises(AssertionError):
        check_latex(r"\frac{a}{b")
    with pytest.raises(AssertionError):
        check_latex(r"\eqalign{a}")


# -- pure view functions ----------------------------------------------------------------------


def test_matrix_figure_is_truncated_with_a_note():
    M = np.arange(30 * 14, dtype=float).reshape(30, 14)
    M[0, 0] = np.nan
    fig = view.matrix_figure(M, "X")
    z = np.asarray(fig.data[0].z, dtype=float)
    assert z.shape == (12, 10)
    assert np.isnan(z[0, 0]) and fig.data[0].text[0][0] == ""
    assert view.truncation_note(M.shape) == (
        "Showing the first 12 of 30 rows and the first 10 of 14 columns; every check uses "
        "all of them."
    )
    assert view.truncation_note((5, 3)) is None
    assert view.truncation_note((40,)) == (
        "Showing the first 12 of 40 rows; every check uses all of them."
    )


def test_numbers_for_people_and_for_latex():
    assert view.sci(3.456e-11) == "3.5e-11"
    assert view.num(0.5) == "0.5" and view.num(0.0) == "0"
    assert view.tex_num(-1.23456789e-7) == r"-1.2346 \times 10^{-7}"
    assert view.tex_num(2.5) == "2.5"
    check_latex(view.tex_num(6.02e23))


def test_hessian_words_name_the_valley(rng):
    I = rng.normal(size=(20, 4))
    D = rng.exponential(size=(20, 4))
    base = core.Dataset(I, D, 0.0)
    on_curve = base.with_y(core.evaluate(base, 0.3, -0.2).s)
    words = view.hessian_words(core.gradient_check(on_curve, 0.3, -0.2))
    assert "rank one" in words and "zero-loss curve" in words
    far = view.hessian_words(core.gradient_check(base.with_y(19.0), 0.3, -0.2))
    assert "zero-loss curve s = y, where H is" not in far


def test_tables_carry_cores_numbers(rng):
    I = rng.normal(size=(15, 3))
    ds = core.Dataset(I, rng.normal(size=(15, 3)), 4.0)
    d = core.derive(ds, 0.2, 0.3)
    table = view.lines_table(d)
    assert table["relative error"].tolist() == [ln.rel_error for ln in d.lines]
    chain = view.chain_table(d)
    assert (chain["|form − (0)| / scale"] < 1e-12).all()
    entries = view.entries_table(d.line("F"))
    assert len(entries) == 8
    np.testing.assert_array_equal(
        entries["predicted dF"], d.line("F").predicted[0:3, :].ravel()[:8]
    )


def test_heat_map_cells_are_short_and_keep_their_value():
    from dashboard.derivation_view import cell_text

    rng = np.random.default_rng(5)
    values = np.concatenate(
        [
            rng.uniform(-1, 1, 500) * 10.0 ** rng.integers(-12, 12, 500),
            [0.0, 1.0, -1.0, 0.01, 0.00999, 99.4, 99.6, 100.0, -0.5, 1e300, -1e-300],
        ]
    )
    for v in values:
        text = cell_text(float(v))
        # Four or five characters; more only for a one-digit mantissa with a long exponent.
        assert len(text) <= 5 or re.fullmatch(r"-?\de-?\d+", text), (v, text)
        back = float(text.replace(".", "0.", 1) if text.lstrip("-").startswith(".") else text)
        assert back == pytest.approx(v, rel=0.5 if "e" in text else 0.05, abs=0), (v, text)
    assert cell_text(float("nan")) == "" and cell_text(0.0) == "0"
    assert [cell_text(v) for v in (-0.933, 6.27e-05, 0.0204, -24.2)] == [
        "-.93", "6e-5", ".02", "-24"
    ]  # fmt: skip
