"""The view <-> URL codec, pure (no streamlit): one table of (URL parameter, state key,
parse, format).

    params = encode(state)               # {"box": "-3,3,-2,2", "res": "80", ...}
    values, notices = decode(params)     # {"box": (-3.0, 3.0, -2.0, 2.0), ...}, ["Ignored ..."]

Round trips are exact: ``decode(encode(state))`` gives back every value of ``state``,
floats bit for bit (they are written in their shortest exact form, ``repr``).
A value that cannot be parsed, or that core would refuse (a box it cannot draw,
an out-of-range hyper-parameter), is left out of ``values`` and explained in a
notice; the caller keeps its default, and the next ``encode`` drops it from the URL.

Table rules (:data:`PARAMS`, read in order):
- a row fills ``values[key]``; when two rows fill the same key the first one in the
  link wins (``preset`` over ``gen``);
- a row with a ``part`` fills ``values[key][part]`` of a dict an earlier row of the
  same link made (``seed`` needs ``preset``; ``hp`` starts as an empty dict);
- ``format`` gets the whole ``state[key]`` and returns the URL text, or None to leave
  the parameter out.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import core
from core.errors import DataError
from core.optimizers import check_hyperparams
from core.validation import BOX_LIMIT, box_problem

RES_RANGE = (10, 300)
STEPS_RANGE = (1, 5000)
SEED_RANGE = (0, 2**31 - 1)
GEN_N_MAX, GEN_E_MAX = 1_000_000, 200
MAX_SHOWN = 80  # characters of a refused URL value quoted back in a notice


@dataclass(frozen=True)
class Param:
    """One URL parameter: ``parse`` text -> value (ValueError in plain words when it is
    bad); ``format`` state[key] -> text (None: not in the URL)."""

    name: str
    key: str
    parse: Callable[[str], Any]
    format: Callable[[Any], str | None]
    part: str | None = None


# -- numbers ---------------------------------------------------------------------------


def num(v: float) -> str:
    """The shortest text that parses back to exactly ``v`` ("3", not "3.0")."""
    text = repr(float(v))
    return text[:-2] if text.endswith(".0") else text


def _floats(n: int) -> Callable[[str], tuple[float, ...]]:
    def parse(text: str) -> tuple[float, ...]:
        try:
            parts = [float(v) for v in text.split(",")]
        except ValueError:
            parts = []
        if len(parts) != n or not all(math.isfinite(v) for v in parts):
            raise ValueError(f"expected {n} finite numbers separated by commas")
        return tuple(parts)

    return parse


def _floats_text(values: Any) -> str:
    return ",".join(num(v) for v in values)


def _box(text: str) -> tuple[float, float, float, float]:
    box = _floats(4)(text)
    problem = box_problem(box, limit=BOX_LIMIT)
    if problem is not None:
        raise ValueError(problem)
    return box  # type: ignore[return-value]


def _int_in(lo: int, hi: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or not lo <= value <= hi:
            raise ValueError(f"expected a whole number from {lo} to {hi}")
        return value

    return parse


def _bool(text: str) -> bool:
    if text not in ("0", "1"):
        raise ValueError("expected 0 or 1")
    return text == "1"


# -- optimizers and their hyper-parameters -----------------------------------------------


def _optimizers(text: str) -> list[str]:
    names = [v for v in text.split(",") if v]
    if text and (not names or any(v not in core.OPTIMIZERS for v in names)):
        raise ValueError(f"expected optimizers among {', '.join(core.OPTIMIZERS)}")
    return list(dict.fromkeys(names))


def _hp(name: str) -> Callable[[str], dict[str, float]]:
    """Parser of ``hp.<name>=lr=0.1,beta1=0.9``, checked as core checks them."""
    known = [spec.name for spec in core.HYPERPARAMS[name]]

    def parse(text: str) -> dict[str, float]:
        out: dict[str, float] = {}
        for item in text.split(","):
            key, _, value = item.partition("=")
            if key not in known:
                raise ValueError(f"{name} takes {', '.join(known)} (name=number, comma-separated)")
            try:
                out[key] = float(value)
            except ValueError:
                raise ValueError(f"{key} must be a number") from None
        try:
            return check_hyperparams(name, out)
        except DataError as exc:
            raise ValueError(str(exc).rstrip(".")) from None

    return parse


def _hp_text(name: str) -> Callable[[Mapping[str, Mapping[str, float]]], str | None]:
    def format(hp: Mapping[str, Mapping[str, float]]) -> str | None:
        values = hp.get(name) or {}
        return ",".join(f"{k}={num(v)}" for k, v in values.items()) or None

    return format


# -- the data source -----------------------------------------------------------------------


def _preset(text: str) -> dict[str, Any]:
    if text not in core.PRESETS:
        raise ValueError(f"no such preset (known: {', '.join(core.PRESETS)})")
    return {"kind": "preset", "name": text, "seed": 0}


def _if_preset(field: str) -> Callable[[Mapping[str, Any]], str | None]:
    return lambda src: str(src[field]) if src.get("kind") == "preset" else None


_GEN_NUMBERS: dict[str, Callable[[str], float | int]] = {
    "N": int,
    "E": int,
    "alpha": float,
    "beta": float,
    "seed": int,
}


def _gen(text: str) -> dict[str, Any]:
    """Source of core.generate from ``N=200,E=8,alpha=1,beta=-1,I=normal,...``."""
    words = {"I": core.DISTRIBUTIONS, "D": core.DISTRIBUTIONS, "y": ("expected", "sampled")}
    out: dict[str, Any] = {"kind": "generated", "name": "generated"}
    for item in filter(None, text.split(",")):  # "": every parameter at its default
        key, _, value = item.partition("=")
        if key in _GEN_NUMBERS:
            try:
                number = _GEN_NUMBERS[key](value)
            except ValueError:
                raise ValueError(f"{key} must be a number") from None
            if not math.isfinite(number):
                raise ValueError(f"{key} must be finite")
            out[key] = number
        elif key in words:
            if value not in words[key]:
                raise ValueError(f"{key} must be one of {', '.join(words[key])}")
            out[key] = value
        elif key == "events":
            lo, _, hi = value.partition("-")
            try:
                out["events"] = (int(lo), int(hi))
            except ValueError:
                raise ValueError("events must look like 2-8") from None
        else:
            raise ValueError(f"unknown generator parameter (known: {', '.join(_GEN_KEYS)})")
    if not 1 <= out.get("N", 200) <= GEN_N_MAX or not 1 <= out.get("E", 8) <= GEN_E_MAX:
        raise ValueError(f"N must be 1 to {GEN_N_MAX:,} and E 1 to {GEN_E_MAX}")
    return out


_GEN_KEYS = (*_GEN_NUMBERS, "I", "D", "y", "events")


def _gen_text(src: Mapping[str, Any]) -> str | None:
    if src.get("kind") != "generated":
        return None
    parts = []
    for key, value in src.items():
        if key in ("kind", "name"):
            continue
        if key == "events":
            parts.append(f"events={value[0]}-{value[1]}")
        elif isinstance(value, float):
            parts.append(f"{key}={num(value)}")
        else:
            parts.append(f"{key}={value}")
    return ",".join(parts)


def _sample(text: str) -> dict[str, Any]:
    """A sample file shipped in assets/ (core.SAMPLES): every server has it, so a link
    reopens it (unlike an upload)."""
    if text not in core.SAMPLES:
        raise ValueError(f"no such sample file (known: {', '.join(core.SAMPLES)})")
    return {"kind": "sample", "name": text}


def _if_sample(src: Mapping[str, Any]) -> str | None:
    return str(src["name"]) if src.get("kind") == "sample" else None


def _intercept_text(src: Mapping[str, Any]) -> str | None:
    """``intercept=1`` after a sample whose D was replaced by 1 (the Data page's remedy)."""
    return "1" if src.get("kind") == "sample" and src.get("intercept") else None


def _cluster(text: str) -> dict[str, Any]:
    """``data=cluster``: the partitioned data this server was started with
    (``losslens app --data DIR``); the path stays on the server, out of the link."""
    if text != "cluster":
        raise ValueError("expected data=cluster (the data on this server's Dask cluster)")
    return {"kind": "cluster"}


def _cluster_text(src: Mapping[str, Any]) -> str | None:
    return "cluster" if src.get("kind") == "cluster" else None


def _upload(text: str) -> dict[str, Any]:
    """An upload cannot come back from a link: its bytes never leave the session that
    uploaded them (no store of users' files on the server). Refused, so it is said."""
    raise ValueError(
        "uploaded files are kept only in the session that uploaded them, so this link shows "
        "the default data (with the link's box and start); upload the file again on the "
        "Data page to see it"
    )


def _upload_text(src: Mapping[str, Any]) -> str | None:
    return (",".join(src.get("files", ())) or "file") if src.get("kind") == "upload" else None


# -- the table ---------------------------------------------------------------------------------

PARAMS: tuple[Param, ...] = (
    Param("preset", "source", _preset, _if_preset("name")),
    Param("seed", "source", _int_in(*SEED_RANGE), _if_preset("seed"), part="seed"),
    Param("gen", "source", _gen, _gen_text),
    Param("sample", "source", _sample, _if_sample),
    Param("intercept", "source", _bool, _intercept_text, part="intercept"),
    Param("upload", "source", _upload, _upload_text),
    Param("data", "source", _cluster, _cluster_text),
    Param("box", "box", _box, _floats_text),
    Param("res", "res", _int_in(*RES_RANGE), str),
    Param("log", "log_color", _bool, lambda v: "1" if v else "0"),
    Param("arrows", "arrows", _bool, lambda v: "1" if v else "0"),
    Param("opt", "optimizers", _optimizers, ",".join),
    Param("start", "start", _floats(2), _floats_text),
    Param("steps", "steps", _int_in(*STEPS_RANGE), str),
    *(Param(f"hp.{name}", "hp", _hp(name), _hp_text(name), part=name) for name in core.OPTIMIZERS),
)


def shown(text: str) -> str:
    """``text`` as an inline code span, so Markdown shows it literally (no links, no
    emphasis, no LaTeX), cut to :data:`MAX_SHOWN` characters."""
    text = text if len(text) <= MAX_SHOWN else text[: MAX_SHOWN - 1] + "…"
    fence = "`"
    while fence in text:
        fence += "`"
    pad = " " if text.startswith("`") or text.endswith("`") else ""  # CommonMark's rule
    return f"{fence}{pad}{text}{pad}{fence}"


def refused(param: str, value: str, why: str) -> str:
    """The notice for a URL value that was not used."""
    return f"Ignored {shown(f'{param}={value}')} in the link: {why}."


def decode(params: Mapping[str, str]) -> tuple[dict[str, Any], list[str]]:
    """State values from URL parameters (see the table rules above), and notices for the
    values that were refused. Unknown parameters are ignored, except ``hp.<unknown>``."""
    values: dict[str, Any] = {"hp": {}}
    notices: list[str] = []
    for p in PARAMS:
        if p.name not in params:
            continue
        text = params[p.name]
        try:
            value = p.parse(text)
        except (ValueError, TypeError) as exc:
            notices.append(refused(p.name, text, str(exc)))
            continue
        if p.part is None:
            values.setdefault(p.key, value)
        elif isinstance(values.get(p.key), dict):
            values[p.key][p.part] = value
    known = {p.name for p in PARAMS}
    for name, text in params.items():
        if name.startswith("hp.") and name not in known:
            notices.append(
                refused(name, text, f"no such optimizer (known: {', '.join(core.OPTIMIZERS)})")
            )
    if not values["hp"]:
        del values["hp"]
    return values, notices


def encode(state: Mapping[str, Any]) -> dict[str, str]:
    """The URL parameters that reopen ``state`` (it holds every key of the table)."""
    out: dict[str, str] = {}
    for p in PARAMS:
        text = p.format(state[p.key])
        if text is not None:
            out[p.name] = text
    return out
