"""The Landscape & descent page in AppTest: every control, the URL, the click on the map."""

from __future__ import annotations

import base64
import json
import sys
import threading

import numpy as np
import pytest

import core
from dashboard.compute import axes
from tests.apptest import assert_clean, button, chart_spec, decode, maps, new_app, widget


@pytest.fixture
def at():
    return new_app()


def map_data(at) -> dict:
    """What the map component received in the last run (dashboard/explore_map.py)."""
    (element,) = maps(at)
    return json.loads(element.proto.json)


def map_base(at) -> dict[str, dict]:
    """name -> trace of the grid's figure; the grid goes once per grid key, so ask again."""
    data = map_data(at)
    if data["base"] is None:
        at.session_state["_map_sent"] = None
        at.run()
        data = map_data(at)
    traces = {}
    for t in data["base"]["data"]:
        traces[f"{t.get('name')} ({t['meta']})" if t.get("meta") else t.get("name")] = t
    return traces


def map_paths(at) -> dict[str, dict]:
    """name -> {params (k+1, 2), loss (k+1,), exit} as the browser gets them (float32)."""
    out = {}
    for p in map_data(at)["paths"]:
        xy = np.frombuffer(base64.b64decode(p["xy"]), dtype=np.float32).reshape(-1, 2)
        loss = np.frombuffer(base64.b64decode(p["loss"]), dtype=np.float32)
        out[p["name"]] = {"params": xy, "loss": loss, "exit": p["exit"]}
    return out


def test_default_page_shows_the_contour_the_zero_curve_and_the_truth(at):
    assert_clean(at)
    ds = at.session_state["dataset"]
    assert ds.name == "balanced"
    t = map_base(at)
    loss = decode(t["loss (log)"]["z"]).astype(float)
    assert loss.shape == (80, 80)
    assert t["loss (log)"]["visible"] is True and t["loss (linear)"]["visible"] is False
    assert "s = y: zero loss" in t
    assert t["true (α*, β*)"]["x"] == [ds.truth[0]]
    # log colour by default: z is log10 L of core's grid, sent as float32 (a picture)
    alphas, betas = axes(at.session_state["box"], 80)
    np.testing.assert_allclose(decode(t["loss (log)"]["x"]), alphas, rtol=1e-6)
    want = core.landscape(ds, alphas, betas)
    np.testing.assert_allclose(decode(t["s = y: zero loss"]["z"]), want.s, rtol=1e-6)
    floor = max(np.percentile(want.loss[want.loss > 0], 1), 1e-12 * want.loss.max())
    np.testing.assert_allclose(loss, np.log10(np.maximum(want.loss, floor)), rtol=1e-6)
    # the zero-loss curve is white: coloring="lines" takes the colour scale, not line.color
    assert t["s = y: zero loss"]["colorscale"] == [[0, "white"], [1, "white"]]


def test_step_adds_one_step_per_click_for_every_optimizer(at):
    map_base(at)
    button(at, "Step").click().run()
    assert map_data(at)["base"] is None, "a Step must not send the grid again"
    button(at, "Step").click().run()
    assert_clean(at)
    runs = at.session_state["runs"]
    assert set(runs) == {"gd", "adam"}
    for name, run in runs.items():
        assert run.params.shape == (3, 2), name
        np.testing.assert_array_equal(run.params[0], at.session_state["start"])
    paths = map_paths(at)
    np.testing.assert_allclose(paths["gd"]["params"], runs["gd"].params, rtol=1e-6)
    assert any("reached 2 steps" in m.value for m in at.markdown)
    assert len(map_data(at)["paths"][0]["xy"]) < 100  # three float32 pairs, base64


def test_run_shows_stop_reasons_and_sends_only_the_trajectories(at):
    map_base(at)
    button(at, "Run 100 steps").click().run()
    assert_clean(at)
    run = at.session_state["runs"]["gd"]
    assert run.loss[-1] < 1e-3 * run.loss[0]  # the default start and lr do something
    assert any("**gd**: converged" in m.value for m in at.markdown)
    data = map_data(at)
    assert data["base"] is None
    assert len(json.dumps(data)) < 20_000, "the bytes of a Step: trajectories only"
    np.testing.assert_allclose(
        map_paths(at)["adam"]["loss"], at.session_state["runs"]["adam"].loss, rtol=1e-6
    )


def test_a_click_on_the_map_sets_the_start_and_clears_the_runs(at):
    button(at, "Step").click().run()
    at.session_state["map_click"] = {"alpha": 1.25, "beta": -2.5}
    at.run()
    assert_clean(at)
    assert at.session_state["start"] == (1.25, -2.5)
    assert at.session_state["runs"] == {}
    assert widget(at.number_input, "start α").value == 1.25
    assert at.query_params["start"] == ["1.25,-2.5"] or at.query_params["start"] == "1.25,-2.5"
    assert map_data(at)["start"] == [1.25, -2.5]
    button(at, "Step").click().run()  # the click is not taken twice
    assert at.session_state["runs"]["gd"].params.shape == (2, 2)


def test_a_path_that_leaves_the_box_gets_an_exit_marker():
    at = new_app({"opt": "gd", "hp.gd": "lr=5"})
    button(at, "Step").click().run()
    assert_clean(at)
    amin, amax, bmin, bmax = at.session_state["box"]
    where = map_paths(at)["gd"]["exit"]
    assert where is not None
    a, b = where
    assert amin <= a <= amax and bmin <= b <= bmax
    assert min(abs(a - amin), abs(a - amax), abs(b - bmin), abs(b - bmax)) < 1e-9


def test_typed_start_and_optimizer_choice(at):
    widget(at.number_input, "start α").set_value(0.5).run()
    widget(at.multiselect, "Optimizers (side by side)").set_value(["newton", "backtracking"]).run()
    button(at, "Step").click().run()
    assert_clean(at)
    runs = at.session_state["runs"]
    assert set(runs) == {"newton", "backtracking"}
    assert runs["newton"].params[0][0] == 0.5


def test_hyperparameter_override_is_used_and_resettable(at):
    widget(at.number_input, "lr").set_value(0.0).run()  # gd's lr (first optimizer)
    button(at, "Step").click().run()
    assert_clean(at)
    run = at.session_state["runs"]["gd"]
    np.testing.assert_array_equal(run.params[1], run.params[0])  # lr = 0 moves nothing
    assert "hp.gd" in at.query_params


def test_link_view_log_colour_arrows_and_3d():
    at = new_app({"log": "0", "arrows": "1"})
    widget(at.toggle, "3D surface").set_value(True).run()
    assert_clean(at)
    data = map_data(at)
    assert data["log"] is False and data["arrows"] is True  # the browser switches the view
    t = map_base(at)
    ds = at.session_state["dataset"]
    alphas, betas = axes(at.session_state["box"], 80)
    want = core.landscape(ds, alphas, betas).loss
    np.testing.assert_allclose(decode(t["loss (linear)"]["z"]), want, rtol=1e-6)
    assert "−∇L" in t
    surface = chart_spec(at, "surface")
    assert surface["data"][0]["type"] == "surface"
    box = at.session_state["box"]
    assert surface["layout"]["scene"]["xaxis"]["range"] == [box[0], box[1]]


def test_resolution_and_box_change_the_grid(at):
    widget(at.slider, "Resolution (points per axis)").set_value(30).run()
    widget(at.number_input, "α min").set_value(-1.0).run()
    assert_clean(at)
    t = map_base(at)
    alphas = decode(t["loss (log)"]["x"])
    assert alphas.shape == (30,) and alphas[0] == -1.0
    assert at.query_params["res"] in ("30", ["30"])


def test_an_empty_box_is_refused_and_the_old_box_kept(at):
    old = at.session_state["box"]
    widget(at.number_input, "α min").set_value(old[1] + 1).run()
    assert at.session_state["box"] == old
    assert any("α min < α max" in w.value for w in at.warning)


def test_moving_optimizer_controls_never_recomputes_the_landscape(monkeypatch):
    calls = []
    module = sys.modules["core.landscape"]  # `core.landscape` is the function
    real = module.landscape

    def counting(*args, **kwargs):
        if threading.current_thread().name != "losslens-warm-up":  # numba's warm-up grid
            calls.append(1)
        return real(*args, **kwargs)

    # Patched where it is defined, so the calls inside core.landscape_progressive count too.
    monkeypatch.setattr(module, "landscape", counting)
    at = new_app()
    first = len(calls)
    assert first >= 1
    button(at, "Step").click().run()
    widget(at.number_input, "start β").set_value(-1.0).run()
    widget(at.multiselect, "Optimizers (side by side)").set_value(["adam"]).run()
    button(at, "Run 100 steps").click().run()
    assert_clean(at)
    # suggest_start may use core.landscape only when data change; the map grid is cached
    assert len(calls) == first


def test_link_reopens_the_view():
    at = new_app(
        {
            "preset": "collinear",
            "seed": "3",
            "box": "-3,3,-2,2",
            "res": "40",
            "log": "0",
            "opt": "adam,newton",
            "start": "1,-1.5",
            "steps": "20",
            "hp.adam": "lr=0.01",
        }
    )
    assert_clean(at)
    ss = at.session_state
    assert ss["dataset"].name == "collinear"
    assert ss["source"] == {"kind": "preset", "name": "collinear", "seed": 3}
    assert ss["box"] == (-3.0, 3.0, -2.0, 2.0) and ss["res"] == 40
    assert ss["optimizers"] == ["adam", "newton"] and ss["start"] == (1.0, -1.5)
    assert ss["hp"]["adam"] == {"lr": 0.01}
    assert not ss["log_color"]
    button(at, "Run 20 steps").click().run()
    assert dict(at.session_state["runs"]["adam"].hyperparams)["lr"] == 0.01
    assert len(at.session_state["runs"]["adam"].params) <= 21


def test_bad_link_values_fall_back_with_a_notice():
    at = new_app({"res": "abc", "box": "1,0,0,1", "opt": "sgd", "preset": "nope", "start": "x"})
    assert_clean(at)
    warnings = " ".join(w.value for w in at.warning)
    for param in ("res=abc", "box=1,0,0,1", "opt=sgd", "preset=nope", "start=x"):
        assert param in warnings, param
    assert "expected a whole number from 10 to 300" in warnings
    assert "expected 2 finite numbers separated by commas" in warnings
    assert "invalid literal" not in warnings  # no Python-speak in front of users
    ss = at.session_state
    assert ss["res"] == 80 and ss["optimizers"] == ["gd", "adam"]
    assert ss["dataset"].name == "balanced"


def test_basin_map(at):
    widget(at.slider, "Starts per axis").set_value(6).run()
    widget(at.slider, "Steps").set_value(50).run()
    button(at, "Compute basin map").click().run()
    assert_clean(at)
    t = chart_spec(at, "basin_chart")["data"]
    z = decode(t[0]["z"])
    assert z.shape == (6, 6)
    assert any("starts converged" in c.value for c in at.caption)


def test_a_wild_step_size_is_a_message_not_a_traceback(at):
    widget(at.multiselect, "Optimizers (side by side)").set_value(["gd"]).run()
    widget(at.number_input, "lr").set_value(1e6).run()
    button(at, "Run 100 steps").click().run()
    assert_clean(at)
    reasons = [m.value for m in at.markdown if "**gd**:" in m.value]
    assert reasons and "try a smaller lr" in reasons[0], reasons


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("α min", -1e308, "within ±10,000"),
        ("α max", 1e5, "within ±10,000"),
    ],
)
def test_a_box_that_cannot_be_drawn_is_refused(at, field, value, message):
    old = at.session_state["box"]
    widget(at.number_input, field).set_value(value).run()
    assert_clean(at)
    assert at.session_state["box"] == old
    assert any(message in w.value for w in at.warning)
    assert maps(at)  # the map is still there


def test_an_invalid_hyperparameter_is_refused_and_the_run_still_works(at):
    widget(at.multiselect, "Optimizers (side by side)").set_value(["adam"]).run()
    widget(at.number_input, "eps").set_value(0.0).run()  # adam's eps must be > 0
    assert any("eps must lie in (0" in w.value for w in at.warning)
    assert "eps" not in at.session_state["hp"].get("adam", {})
    button(at, "Step").click().run()
    assert_clean(at)
    assert at.session_state["runs"]["adam"].params.shape == (2, 2)


def test_a_basin_map_is_not_recomputed_behind_the_users_back(at, monkeypatch):
    widget(at.slider, "Starts per axis").set_value(5).run()
    widget(at.slider, "Steps").set_value(20).run()
    button(at, "Compute basin map").click().run()
    calls = []
    real = core.descend_many
    monkeypatch.setattr(core, "descend_many", lambda *a, **k: calls.append(1) or real(*a, **k))
    widget(at.number_input, "β max").set_value(1.0).run()
    assert_clean(at)
    assert calls == []
    assert any("press **Compute** again" in c.value for c in at.caption)


def test_a_basin_map_reports_progress_and_is_kept_once_finished(at, monkeypatch):
    fractions = []
    real = core.descend_many

    def watched(*args, progress=None, **kwargs):
        def spy(f: float) -> None:
            fractions.append(f)
            progress(f)

        return real(*args, progress=spy, **kwargs)

    monkeypatch.setattr(core, "descend_many", watched)
    widget(at.slider, "Starts per axis").set_value(6).run()
    widget(at.slider, "Steps").set_value(30).run()
    button(at, "Compute basin map").click().run()
    assert_clean(at)
    assert fractions and fractions == sorted(fractions) and fractions[-1] == 1.0
    n_before = len(fractions)
    button(at, "Compute basin map").click().run()  # the same map again: from the cache
    assert_clean(at)
    assert len(fractions) == n_before and chart_spec(at, "basin_chart")["data"]


def test_data_whose_own_box_cannot_be_drawn_falls_back_to_a_box_around_zero():
    at = new_app({"gen": "N=50,E=3,alpha=900000,beta=0"})
    assert_clean(at)
    ss = at.session_state
    assert ss["dataset"].truth == (900000.0, 0.0)
    assert ss["start"] is not None and ss["box"] is not None
    assert map_base(at)["loss (log)"]["z"]


def _param(at, name):
    value = at.query_params[name]
    return value[-1] if isinstance(value, list) else value


def test_link_hyperparameters_survive_exactly_and_bad_ones_leave_the_link():
    at = new_app(
        {"hp.adam": "beta2=0.9999999", "hp.gd": "lr=-1", "hp.newton": "bogus=1", "res": "10"}
    )
    warnings = " ".join(w.value for w in at.warning)
    assert "lr must be in [0, inf)" in warnings and "newton takes lr" in warnings
    assert at.session_state["hp"] == {"adam": {"beta2": 0.9999999}}
    assert _param(at, "hp.adam") == "beta2=0.9999999"
    assert "hp.gd" not in at.query_params and "hp.newton" not in at.query_params
    button(at, "Step").click().run()
    assert_clean(at)
    assert dict(at.session_state["runs"]["adam"].hyperparams)["beta2"] == 0.9999999


def test_the_url_follows_the_state_on_every_page():
    at = new_app({"box": "1,1.000001,0,1", "res": "10"})
    assert_clean(at)
    assert at.session_state["box"] == (1.0, 1.000001, 0.0, 1.0)
    assert _param(at, "box") == "1,1.000001,0,1"
    at.switch_page("views/data.py").run()
    assert _param(at, "box") == "1,1.000001,0,1" and _param(at, "preset") == "balanced"


def test_heavy_jobs_take_turns_and_the_waiting_one_says_so():
    import threading
    import time

    from dashboard import compute

    holding, release = threading.Event(), threading.Event()

    def other_user():
        with compute.heavy_job():
            holding.set()
            release.wait(5)

    thread = threading.Thread(target=other_user)
    thread.start()
    holding.wait(5)
    said = []
    threading.Timer(0.3, release.set).start()
    t0 = time.monotonic()
    with compute.heavy_job(waiting=said.append, poll=0.05):
        waited = time.monotonic() - t0
    thread.join(5)
    assert waited >= 0.25 and said, (waited, said)
    assert said[0].startswith("Waiting for another user's job")
    before = len(said)
    with compute.heavy_job(waiting=said.append):  # free again: no wait, no message
        pass
    assert len(said) == before


def test_a_running_basin_map_has_a_cancel_button_that_stops_it(at, monkeypatch):
    widget(at.slider, "Starts per axis").set_value(6).run()
    widget(at.slider, "Steps").set_value(30).run()
    button(at, "Compute basin map").click().run()
    assert_clean(at)
    assert not [b for b in at.button if b.key == "basin_cancel"], "a finished map has none"

    # A run that ends while the map computes (AppTest cannot click during a run): the
    # page as the user sees it then, with its Cancel button.
    real = core.descend_many

    def interrupted(*args, progress=None, **kwargs):
        def spy(f: float) -> None:
            progress(f)
            raise RuntimeError("the run ends here")

        return real(*args, progress=spy, **kwargs)

    monkeypatch.setattr(core, "descend_many", interrupted)
    widget(at.slider, "Steps").set_value(40).run()
    button(at, "Compute basin map").click().run()
    cancel = [b for b in at.button if b.key == "basin_cancel"]
    assert cancel, "Cancel is on the page while the map computes"
    monkeypatch.setattr(core, "descend_many", real)
    cancel[0].click().run()
    assert_clean(at)
    assert "basin_request" not in at.session_state
    assert any("Basin map cancelled" in m.value for m in at.info)
    assert not [b for b in at.button if b.key == "basin_cancel"]
    button(at, "Compute basin map").click().run()  # and it starts again
    assert_clean(at)
    assert chart_spec(at, "basin_chart")["data"]
