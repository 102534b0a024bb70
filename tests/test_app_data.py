"""The Data page in AppTest: presets, generation, uploads good and bad, samples, the report."""

from __future__ import annotations

import io
import re

import numpy as np
import pytest

import core
from dashboard import ui
from tests.apptest import assert_clean, button, maps, new_app, widget


@pytest.fixture
def at():
    app = new_app()
    app.switch_page("views/data.py").run()
    assert_clean(app)
    return app


def _tab(at, label):
    for tab in at.tabs:
        if tab.label == label:
            return tab
    raise AssertionError(label)


def test_report_preview_and_histograms_of_the_default_data(at):
    ds = at.session_state["dataset"]
    assert widget(at.metric, "N (rows)").value == f"{ds.N:,}"
    boxes = [*at.success, *at.info, *at.warning]
    titles = " ".join(b.value for b in boxes)
    assert "Size" in titles or "size" in titles.lower()
    assert len(at.dataframe) == 2  # I and D previews
    assert at.get("plotly_chart")


def test_loading_a_preset_replaces_data_view_and_runs(at):
    at.session_state["runs"] = {"gd": object()}
    widget(at.selectbox, "Preset").set_value("collinear")
    widget(at.number_input, "Seed").set_value(5)
    button(at, "Load preset").click().run()
    assert_clean(at)
    ss = at.session_state
    assert ss["dataset"].name == "collinear"
    assert ss["source"] == {"kind": "preset", "name": "collinear", "seed": 5}
    assert ss["runs"] == {}
    assert ss["box"] == core.default_box(ss["dataset"])
    assert at.query_params["preset"] in ("collinear", ["collinear"])
    text = " ".join(w.value for w in [*at.warning, *at.info, *at.success])
    assert "flat" in text.lower()  # the report names the flat direction


def test_generate_with_parameters(at):
    widget(at.number_input, "N (rows)").set_value(123)
    widget(at.number_input, "E (events per row)").set_value(4)
    widget(at.number_input, "true α*").set_value(0.5)
    widget(at.selectbox, "y").set_value("sampled")
    button(at, "Generate").click().run()
    assert_clean(at)
    ds = at.session_state["dataset"]
    assert (ds.N, ds.E, ds.truth[0]) == (123, 4, 0.5)
    assert ds.y == round(ds.y)


def test_upload_one_good_file(at):
    data = (core.ASSETS / "exposure_long.csv").read_bytes()
    at.file_uploader(key="up_one").upload("exposure_long.csv", data, "text/csv").run()
    button(at, "Load upload").click().run()
    assert_clean(at)
    ds = at.session_state["dataset"]
    want = core.load_sample("exposure_long")
    assert (ds.N, ds.E, ds.y) == (want.N, want.E, want.y)
    assert at.session_state["source"]["kind"] == "upload"


def test_the_preview_shows_the_files_own_row_ids(at):
    data = b"row,I,D,y\ncase-9,1,2,1\ncase-2,0.5,1,1\ncase-9,3,4,1\n"
    at.file_uploader(key="up_one").upload("ids.csv", data, "text/csv").run()
    button(at, "Load upload").click().run()
    assert_clean(at)
    frames = [d.value for d in at.dataframe]
    assert frames and all(list(f.index) == ["case-9", "case-2"] for f in frames[:2])


@pytest.mark.parametrize(
    "name, payload, message",
    [
        ("broken.csv", b"row,I,D\n0,1.0,abc\n", "abc"),
        ("empty.csv", b"", "empty"),
        ("evil.npz", b"PK\x03\x04garbage", "evil.npz"),
    ],
)
def test_a_bad_upload_shows_the_message_and_keeps_the_data(at, name, payload, message):
    before = at.session_state["dataset"]
    at.file_uploader(key="up_one").upload(name, payload, "application/octet-stream").run()
    button(at, "Load upload").click().run()
    assert not at.exception
    errors = " ".join(e.value for e in at.error)
    assert message in errors and "current data is kept" in errors
    assert at.session_state["dataset"] is before


def test_a_pickled_npy_pair_is_refused(at, tmp_path):
    buf = io.BytesIO()
    np.save(buf, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    at.radio(key="up_kind").set_value("Two files: I and D").run()
    at.file_uploader(key="up_I").upload("I.npy", buf.getvalue()).run()
    at.file_uploader(key="up_D").upload("D.npy", buf.getvalue()).run()
    widget(at.text_input, "Observed count y (leave empty to use the y stored in the file)").input(
        "3"
    )
    button(at, "Load upload").click().run()
    assert not at.exception
    assert any("I.npy" in e.value for e in at.error)
    assert at.session_state["dataset"].name == "balanced"


def test_two_file_upload_needs_y_and_then_loads(at):
    at.radio(key="up_kind").set_value("Two files: I and D").run()
    for key, fname in (("up_I", "wide_I.csv"), ("up_D", "wide_D.csv")):
        at.file_uploader(key=key).upload(fname, (core.ASSETS / fname).read_bytes()).run()
    button(at, "Load upload").click().run()
    assert any("y" in e.value for e in at.error)  # no y in wide files: say how to give it
    widget(at.text_input, "Observed count y (leave empty to use the y stored in the file)").input(
        "24"
    )
    button(at, "Load upload").click().run()
    assert_clean(at)
    assert at.session_state["dataset"].y == 24.0


def test_text_for_y_is_a_message(at):
    at.file_uploader(key="up_one").upload(
        "exposure_long.csv", (core.ASSETS / "exposure_long.csv").read_bytes()
    ).run()
    widget(at.text_input, "Observed count y (leave empty to use the y stored in the file)").input(
        "many"
    )
    button(at, "Load upload").click().run()
    assert any("y must be a number" in e.value for e in at.error)


@pytest.mark.parametrize("sample", list(core.SAMPLES))
def test_every_sample_loads_with_one_click(at, sample):
    button(at, f"Load {sample}").click().run()
    if core.SAMPLES[sample].source:  # real data: its report's error is the point of it
        assert not at.exception, [e.value for e in at.exception]
    else:
        assert_clean(at)
    ds = at.session_state["dataset"]
    want = core.load_sample(sample)
    assert (ds.N, ds.E, ds.y) == (want.N, want.E, want.y)


def test_the_landscape_page_follows_the_new_data(at):
    button(at, "Load exposure_long").click().run()
    at.switch_page("views/landscape.py").run()
    assert_clean(at)
    assert at.session_state["dataset"].name == core.load_sample("exposure_long").name
    button(at, "Step").click().run()
    assert_clean(at)


def test_generated_data_round_trips_through_the_link(at):
    widget(at.number_input, "N (rows)").set_value(77)
    widget(at.number_input, "true β*").set_value(-0.5)
    widget(at.selectbox, "I drawn from").set_value("uniform")
    button(at, "Generate").click().run()
    q = at.query_params["gen"]
    link = q[0] if isinstance(q, list) else q
    assert "N=77" in link and "I=uniform" in link and "preset" not in at.query_params
    again = new_app({"gen": link})
    assert_clean(again)
    ds, before = again.session_state["dataset"], at.session_state["dataset"]
    assert (ds.N, ds.truth, ds.y) == (before.N, before.truth, before.y)
    np.testing.assert_array_equal(ds.I, before.I)


@pytest.mark.parametrize(
    "gen, message",
    [
        ("N=abc", "N must be a number"),
        ("I=cauchy", "I must be one of"),
        ("N=5000000", "N must be 1 to 1,000,000"),
        ("colour=red", "unknown generator parameter"),
        ("E=4,events=3-9", "events"),
    ],
)
def test_a_bad_generator_link_falls_back_with_a_notice(gen, message):
    at = new_app({"gen": gen})
    assert not at.exception
    assert any(message in w.value for w in at.warning), [w.value for w in at.warning]
    assert at.session_state["dataset"].name == "balanced"


# -- text from users is text ---------------------------------------------------------------

HOSTILE_NAMES = [
    "![p](http://127.0.0.1:9/x.png).csv",
    ":red[**Your session expired: log in again**].csv",
    "[Click here](http://127.0.0.1:9/login) $x^2$ <b>.csv",
]


def _markup(value: str) -> list[str]:
    """Markup that would act in ``value`` once code spans and escaped characters are dropped."""
    bare = re.sub(r"\\.", "", re.sub(r"(`+)(?!`).*?(?<!`)\1(?!`)", "", value))
    return [m for m in ("![", "](", ":red[", "**", "$", "<b>", "[Click") if m in bare]


def _plain(value: str) -> str:
    """What Markdown shows of ``value`` (escapes and code fences undone)."""
    return re.sub(r"\\(.)", r"\1", re.sub(r"(`+) ?(.*?) ?\1", r"\2", value))


def _shown(at) -> list[str]:
    """Every Markdown-bearing value on the page."""
    kinds = ("error", "warning", "info", "success", "subheader", "markdown", "caption", "toast")
    return [e.value for kind in kinds for e in at.get(kind)]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_a_hostile_file_name_is_shown_literally(at, name):
    data = (core.ASSETS / "exposure_long.csv").read_bytes()
    at.file_uploader(key="up_one").upload(name, data, "text/csv").run()
    button(at, "Load upload").click().run()
    assert_clean(at)
    # the toast (and the subheader) quote the name: escaped, it acts as no markup
    shown = [v for v in _shown(at) if re.search(r"127|session|Click", v)]
    assert shown and all(_plain(name.removesuffix(".csv")) in _plain(v) for v in shown[-1:])
    assert not [v for v in shown if _markup(v)], shown
    # and refused: the name opens the error, escaped
    at.file_uploader(key="up_one").upload(name, b"\x00\x01", "text/csv").run()
    button(at, "Load upload").click().run()
    (error,) = at.error
    assert _plain(error.value).startswith(name) and not _markup(error.value)


def test_a_hostile_cell_in_a_message_is_shown_literally(at):
    cell = "![p](http://127.0.0.1:9/x.png)"
    at.file_uploader(key="up_one").upload("x.csv", f"row,I,D\n0,1,{cell}\n".encode()).run()
    button(at, "Load upload").click().run()
    (error,) = at.error
    assert f"holds '{cell}'" in _plain(error.value) and not _markup(error.value)


def test_literal_escapes_every_markup_character_and_nothing_else():
    assert ui.literal("a.b, 'c' = d; 1-2 + e/f? 50%") == "a.b, 'c' = d; 1-2 + e/f? 50%"
    assert ui.literal(r"[x](y) !*_~`#<>&$|:\ ") == r"\[x\]\(y\) \!\*\_\~\`\#\<\>\&\$\|\:\\ "
    # GFM links bare URLs, www. names and e-mail addresses even when escaped: code spans
    assert ui.literal("see ![p](http://h/x.png).csv, www.x.org") == (
        "see `![p](http://h/x.png).csv,` `www.x.org`"
    )
    assert ui.literal("a`b@c ``x``://") == "``a`b@c`` ``` ``x``:// ```"


# -- links say what they mean ------------------------------------------------------------------


def test_a_link_to_big_generated_data_waits_for_a_click(monkeypatch):
    """?gen=N=1000000,E=20 generated 20M cells on open (89 s, 2.5 GB)."""
    from dashboard import link_budget

    monkeypatch.setattr(link_budget, "GEN_BUDGET_CELLS", 1000)
    at = new_app({"gen": "N=300,E=4,seed=3", "box": "-1,2,-2,1"})
    assert_clean(at)
    assert at.session_state["dataset"].name == "balanced"  # the default, not generated yet
    (info,) = [i.value for i in at.info if "This link asks to generate" in i.value]
    assert "N = 300 rows × E = 4 events: 1,200 cells" in info
    button(at, "Generate the link's data").click().run()
    assert_clean(at)
    ds = at.session_state["dataset"]
    assert (ds.name, ds.N, ds.E) == ("generated", 300, 4)
    assert at.session_state["box"] == (-1.0, 2.0, -2.0, 1.0)  # the link's view came with it
    assert not [i for i in at.info if "This link asks" in i.value]


def test_a_link_to_a_big_map_waits_for_a_click(monkeypatch):
    """?preset=large&res=300&arrows=1 computed for over 120 s on open."""
    from dashboard import link_budget

    monkeypatch.setattr(link_budget, "MAP_BUDGET", 1600 * 30 * 30 - 1)
    at = new_app({"preset": "balanced", "res": "30", "arrows": "1"})
    assert_clean(at)
    (info,) = [i.value for i in at.info if "This link asks for a" in i.value]
    assert "a 30 × 30 map of 200 rows × 8 events: 1.4e+06 cell evaluations" in info
    assert not maps(at)  # nothing computed yet
    button(at, "Compute the map").click().run()
    assert_clean(at)
    assert maps(at) and not [i for i in at.info if "This link asks" in i.value]


def test_a_small_link_and_the_users_own_views_never_wait(monkeypatch):
    from dashboard import link_budget

    monkeypatch.setattr(link_budget, "MAP_BUDGET", 1600 * 30 * 30 - 1)
    at = new_app({"preset": "balanced", "res": "20"})
    assert_clean(at)
    assert maps(at) and not [i for i in at.info if "This link asks" in i.value]
    widget(at.slider, "Resolution (points per axis)").set_value(40).run()  # the user's own
    assert_clean(at)
    assert maps(at) and not [i for i in at.info if "This link asks" in i.value]


@pytest.mark.parametrize("intercept", [False, True])
def test_a_link_made_after_loading_a_sample_reopens_it_with_its_box_and_start(at, intercept):
    """Samples ship in assets/: a link reopens one (it got the "upload again" notice)."""
    button(at, "Load gapminder_long").click().run()
    if intercept:
        button(at, "Add an intercept (D = 1)").click().run()
    at.session_state["box"] = (-1.5, 2.5, -0.75, 3.0)  # a view of the user's own
    at.session_state["start"] = (0.25, 1.5)
    at.run()
    link = {k: v[0] if isinstance(v, list) else v for k, v in at.query_params.items()}
    assert link.get("sample") == "gapminder_long" and "upload" not in link, link
    opened = new_app(link)
    assert not opened.exception, [e.value for e in opened.exception]
    assert not opened.warning, [w.value for w in opened.warning]  # no "upload again"
    ss, before = opened.session_state, at.session_state
    ds, want = ss["dataset"], before["dataset"]
    assert ds.name == want.name and (ds.N, ds.E, ds.y) == (want.N, want.E, want.y)
    np.testing.assert_array_equal(ds.D, want.D)  # D = 1 again when the link has the intercept
    assert list(ds.row_ids) == list(want.row_ids)
    assert ss["source"] == before["source"]
    assert tuple(ss["box"]) == (-1.5, 2.5, -0.75, 3.0) and tuple(ss["start"]) == (0.25, 1.5)


def test_a_link_made_after_an_upload_says_so_on_open(at):
    data = (core.ASSETS / "exposure_long.csv").read_bytes()
    at.file_uploader(key="up_one").upload("exposure_long.csv", data, "text/csv").run()
    button(at, "Load upload").click().run()
    link = {k: v for k, v in at.query_params.items()}
    assert link.get("upload") in ("exposure_long.csv", ["exposure_long.csv"]), link
    opened = new_app({k: v[0] if isinstance(v, list) else v for k, v in link.items()})
    assert_clean(opened)
    text = " ".join(w.value for w in opened.warning)
    assert "uploaded files are kept only in the session that uploaded them" in text
    assert opened.session_state["dataset"].name == "balanced"
