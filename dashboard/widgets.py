"""The one way to bind a widget to session state: :func:`bound`.

Streamlit drops a widget's own key when a run does not draw it (e.g. on another
page), so each widget gets a private key ``w_<state key>[.<part>...]`` seeded from
the durable state value, and a callback copies changes back. The URL is written
once at the end of the run (app.py), not here.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

import streamlit as st

_MISSING = object()
Part = Hashable | tuple[Hashable, ...] | None


def _path(part: Part) -> tuple[Hashable, ...]:
    if part is None:
        return ()
    return part if isinstance(part, tuple) else (part,)


def widget_key(key: str, part: Part = None) -> str:
    return ".".join(["w_" + key, *map(str, _path(part))])


def _get(value: Any, path: tuple[Hashable, ...]) -> Any:
    for p in path:
        if value is None:
            return _MISSING
        if isinstance(value, dict):
            value = value.get(p, _MISSING)
        else:
            value = value[p]
        if value is _MISSING:
            return _MISSING
    return _MISSING if value is None else value


def _replace(value: Any, path: tuple[Hashable, ...], new: Any) -> Any:
    """A copy of ``value`` with the item at ``path`` set to ``new`` (tuples stay tuples)."""
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, tuple):
        items = list(value)
        items[head] = _replace(items[head], rest, new)
        return tuple(items)
    out = dict(value or {})
    out[head] = _replace(out.get(head), rest, new)
    return out


def bound(
    widget: Callable[..., Any],
    label: str,
    key: str,
    *,
    part: Part = None,
    default: Any = None,
    check: Callable[[Any], str | None] | None = None,
    on_set: Callable[[], None] | None = None,
    **kwargs: Any,
) -> Any:
    """Draw ``widget`` showing ``st.session_state[key]`` (or its item ``part``: an index of
    a tuple, a key of a dict, or a tuple of those); a change writes the new value back.

    default : stands in for ``st.session_state[key]`` where it holds nothing at ``part``
        (it is None, or a dict without that key): shown, re-read every run, stored only
        once the user changes the widget.
    check : the new ``st.session_state[key]`` -> None when fine, else a notice; a refused
        value leaves state as it was and the widget shows the state again.
    on_set : called after a change was stored (e.g. to drop trajectories it invalidates).
    """
    ss = st.session_state
    path = _path(part)
    wkey = widget_key(key, part)
    stored = _get(ss[key], path)
    if stored is _MISSING:
        ss[wkey] = _get(default, path)
    elif wkey not in ss:
        ss[wkey] = stored

    def copy() -> None:
        base = ss[key] if ss[key] is not None else default
        candidate = _replace(base, path, ss[wkey])
        problem = None if check is None else check(candidate)
        if problem is not None:
            ss["notices"].append(problem)
            ss.pop(wkey, None)
            return
        ss[key] = candidate
        if on_set is not None:
            on_set()

    return widget(label, key=wkey, on_change=copy, **kwargs)


def refresh(*keys: str) -> None:
    """Re-seed the widgets of ``keys`` from state after code changed the state."""
    ss = st.session_state
    for key in keys:
        prefix = widget_key(key)
        for wkey in [k for k in ss if k == prefix or str(k).startswith(prefix + ".")]:
            del ss[wkey]
