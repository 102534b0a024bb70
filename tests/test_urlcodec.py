"""The URL codec (dashboard/urlcodec.py): exact round trips, plain-words refusals."""

from __future__ import annotations

import math
import os
import struct
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import core
from dashboard import urlcodec
from dashboard.urlcodec import PARAMS, decode, encode

FAST = settings(max_examples=60, deadline=None)


def _bits(x: float) -> bytes:
    return struct.pack("<d", x)


def _same(a, b) -> bool:
    """Equal, floats bit for bit (so -0.0 is not 0.0), through tuples, lists and dicts."""
    if isinstance(a, float) or isinstance(b, float):
        return type(a) is type(b) and _bits(a) == _bits(b)
    if isinstance(a, tuple | list):
        return type(a) is type(b) and len(a) == len(b) and all(map(_same, a, b))
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return a == b


# -- strategies: every state value the codec writes ------------------------------------------

finite = st.floats(allow_nan=False, allow_infinity=False)
limit = st.floats(-urlcodec.BOX_LIMIT, urlcodec.BOX_LIMIT, allow_nan=False)


axis = st.tuples(limit, limit).map(sorted)
boxes = (
    st.tuples(axis, axis)
    .map(lambda ab: (*ab[0], *ab[1]))
    .filter(lambda box: core.validation.box_problem(box) is None)
)


def hp_values(name: str):
    fields = {}
    for spec in core.HYPERPARAMS[name]:
        lo, hi = spec.bounds
        value = st.floats(
            lo,
            min(hi, 1e300),
            exclude_min=spec.open[0],
            exclude_max=spec.open[1] and math.isfinite(hi),
            allow_nan=False,
        )
        fields[spec.name] = value
    return st.fixed_dictionaries({}, optional=fields)


hps = st.fixed_dictionaries({}, optional={n: hp_values(n) for n in core.OPTIMIZERS}).map(
    lambda hp: {n: v for n, v in hp.items() if v}
)

presets = st.builds(
    lambda name, seed: {"kind": "preset", "name": name, "seed": seed},
    st.sampled_from(list(core.PRESETS)),
    st.integers(*urlcodec.SEED_RANGE),
)


@st.composite
def generated(draw):
    src = {"kind": "generated", "name": "generated"}
    optional = {
        "N": st.integers(1, urlcodec.GEN_N_MAX),
        "E": st.integers(1, urlcodec.GEN_E_MAX),
        "alpha": finite,
        "beta": finite,
        "seed": st.integers(0, 2**31 - 1),
        "I": st.sampled_from(core.DISTRIBUTIONS),
        "D": st.sampled_from(core.DISTRIBUTIONS),
        "y": st.sampled_from(["expected", "sampled"]),
        "events": st.tuples(st.integers(0, 9), st.integers(0, 9)),
    }
    src.update(draw(st.fixed_dictionaries({}, optional=optional)))
    return src


FIELDS = {
    "source": presets | generated(),
    "box": boxes,
    "res": st.integers(*urlcodec.RES_RANGE),
    "log_color": st.booleans(),
    "arrows": st.booleans(),
    "optimizers": st.lists(st.sampled_from(core.OPTIMIZERS), unique=True),
    "start": st.tuples(finite, finite),
    "steps": st.integers(*urlcodec.STEPS_RANGE),
    "hp": hps,
}
states = st.fixed_dictionaries(FIELDS)


# -- round trips -------------------------------------------------------------------------------


@FAST
@given(states)
def test_every_state_survives_the_link_exactly(state):
    values, notices = decode(encode(state))
    assert notices == []
    want = {k: v for k, v in state.items() if not (k == "hp" and not v)}
    assert _same(values, want), (values, want)


@pytest.mark.parametrize("param", PARAMS, ids=lambda p: p.name)
@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_each_parameter_alone_round_trips(param, data):
    """format -> parse -> equal, one parameter at a time (what a hand-edited link does)."""
    want = data.draw(FIELDS[param.key])
    text = param.format(want)
    if text is None:
        return
    value = param.parse(text)
    if param.part is not None:
        want = want.get(param.part) if param.key == "hp" else want[param.part]
    elif param.name == "preset":  # the preset row makes the source; `seed` fills it in
        want = {**want, "seed": 0}
    assert _same(value, want), (text, value, want)


@FAST
@given(finite)
def test_floats_are_written_in_their_shortest_exact_form(x):
    assert _bits(float(urlcodec.num(x))) == _bits(x)
    assert len(urlcodec.num(x)) <= len(repr(x))


def test_a_beta2_just_below_one_stays_below_one():
    values, notices = decode({"hp.adam": "beta2=0.9999999"})
    assert notices == [] and values["hp"] == {"adam": {"beta2": 0.9999999}}
    assert encode({**_default_state(), "hp": values["hp"]})["hp.adam"] == "beta2=0.9999999"


def test_a_box_a_millionth_wide_stays_that_box():
    values, notices = decode({"box": "1,1.000001,0,1"})
    assert notices == [] and values["box"] == (1.0, 1.000001, 0.0, 1.0)
    assert encode({**_default_state(), "box": values["box"]})["box"] == "1,1.000001,0,1"


def _default_state():
    return {
        "source": {"kind": "preset", "name": "balanced", "seed": 0},
        "box": (-3.0, 3.0, -3.0, 3.0),
        "res": 80,
        "log_color": True,
        "arrows": False,
        "optimizers": ["gd", "adam"],
        "start": (0.5, -0.5),
        "steps": 100,
        "hp": {},
    }


# -- refusals ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "param, text, message",
    [
        ("hp.gd", "lr=-1", "lr must be in [0, inf)"),
        ("hp.adam", "beta1=1", "beta1 must be in [0, 1)"),
        ("hp.adam", "bogus=1", "adam takes lr, beta1, beta2, eps"),
        ("hp.adam", "lr=abc", "lr must be a number"),
        ("hp.adam", "lr=nan", "lr must be in"),
        ("hp.sgd", "lr=1", "no such optimizer"),
    ],
)
def test_refused_hyperparameters_are_dropped_with_a_notice(param, text, message):
    values, notices = decode({param: text, "hp.newton": "lr=0.5"})
    assert len(notices) == 1 and message in notices[0], notices
    assert f"`{param}={text}`" in notices[0]
    assert values["hp"] == {"newton": {"lr": 0.5}}  # the good ones are kept


def test_a_seed_without_a_preset_means_nothing_and_a_preset_wins_over_gen():
    assert decode({"seed": "4"}) == ({}, [])
    values, _ = decode({"preset": "collinear", "seed": "4", "gen": "N=5"})
    assert values["source"] == {"kind": "preset", "name": "collinear", "seed": 4}
    values, _ = decode({"seed": "4", "gen": "N=5,seed=1"})
    assert values["source"]["seed"] == 1


@pytest.mark.parametrize(
    "value",
    ["[x](javascript:alert(1))", "**bold** $x^2$", "a`b", "`", "x" * 500],
)
def test_a_refused_value_is_quoted_as_code_not_rendered(value):
    _, notices = decode({"res": value})
    (notice,) = notices
    text = notice.removeprefix("Ignored ").split(" in the link:")[0]
    fence = text[: len(text) - len(text.lstrip("`"))]
    assert fence and text.endswith(fence)  # one code span around all of it
    inner = text[len(fence) : -len(fence)]
    assert fence not in inner
    assert len(inner) <= urlcodec.MAX_SHOWN + 2
    assert value[:20] not in notice.split(" in the link:")[1]  # the reason does not echo it


def test_the_codec_does_not_import_streamlit():
    code = "import sys, dashboard.urlcodec; assert 'streamlit' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, env={**os.environ})


def test_a_link_made_after_an_upload_says_the_upload_is_not_in_it():
    """It silently opened the default preset with the upload's box and start."""
    state = {
        "source": {"kind": "upload", "files": ["exposure.csv"]},
        "box": (-1.0, 1.0, -2.0, 2.0),
        "res": 80,
        "log_color": True,
        "arrows": False,
        "optimizers": ["gd"],
        "start": (0.5, -0.5),
        "steps": 100,
        "hp": {},
    }
    params = encode(state)
    assert params["upload"] == "exposure.csv" and "preset" not in params and "gen" not in params
    values, notices = decode(params)
    assert "source" not in values and values["box"] == (-1.0, 1.0, -2.0, 2.0)
    (notice,) = notices
    assert notice.startswith("Ignored `upload=exposure.csv` in the link: uploaded files are kept")
    assert "shows the default data" in notice and "upload the file again" in notice


@pytest.mark.parametrize("intercept", [False, True])
def test_a_sample_file_round_trips_through_the_link(intercept):
    """Samples ship in assets/, so a link reopens them (they came back as an upload)."""
    source = {"kind": "sample", "name": "gapminder_long"}
    if intercept:
        source["intercept"] = True
    params = encode({**_default_state(), "source": source})
    assert params["sample"] == "gapminder_long" and "upload" not in params
    assert params.get("intercept") == ("1" if intercept else None)
    values, notices = decode(params)
    assert notices == [] and values["source"] == source


def test_an_unknown_sample_is_refused_with_a_notice():
    values, notices = decode({"sample": "![p](http://127.0.0.1:8799/x.png)", "box": "0,1,0,1"})
    assert "source" not in values and values["box"] == (0.0, 1.0, 0.0, 1.0)
    (notice,) = notices
    assert notice.startswith("Ignored `sample=![p](http://127.0.0.1:8799/x.png)` in the link")
    assert "no such sample file (known: balanced, exposure_long" in notice


def test_cluster_data_go_into_the_link_as_data_cluster_without_the_path():
    """The server's own partitioned data: the link names it, not where it lies."""
    source = {"kind": "cluster", "path": "/srv/events/secret"}
    params = encode({**_default_state(), "source": source})
    assert params["data"] == "cluster" and "secret" not in "".join(params.values())
    assert not {"preset", "seed", "sample", "upload"} & params.keys()
    values, notices = decode(params)
    assert notices == [] and values["source"] == {"kind": "cluster"}
    values, notices = decode({"data": "/etc/passwd"})
    assert "source" not in values and "expected data=cluster" in notices[0]
