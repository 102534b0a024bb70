"""Small UI helpers shared by the pages: the no-traceback guard, number formatting, and
:func:`literal`, the one way user text (file names, cells, headers, dataset names, URL
values, messages quoting them) reaches a Markdown element."""

from __future__ import annotations

import functools
import logging
import math
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import streamlit as st

import core

log = logging.getLogger("losslens")
F = TypeVar("F", bound=Callable)


# What can start markup in Streamlit's Markdown, backslash-escaped (CommonMark lets any ASCII
# punctuation be): links and images ([ ] ( ) !), emphasis (* _ ~), code (`), headings (#),
# HTML and entities (< > &), LaTeX ($), tables (|), and the :red[...] / :material/x:
# directives (:). Dots, commas and quotes stay as they are, so messages read as before.
_ESCAPE = str.maketrans({c: "\\" + c for c in "\\[]()!*_~`#<>&$|:"})


# GFM turns a bare URL, www. name or e-mail address into a link after escapes are undone;
# inside a code span nothing is a link, so such words are shown as code.
_LINKISH = re.compile(r"\S*(?:://|www\.|@)\S*", re.IGNORECASE)


def literal(text: object) -> str:
    """``text`` for st.markdown, st.error, st.toast, st.subheader & co.: shown as typed.

    A file named ``![p](http://host/x.png).csv`` shows those characters (as code: it holds
    a URL); it is no image for the browser to fetch, no link, and ``:red[**expired**]`` is
    no red heading.
    """
    text, out, pos = str(text), [], 0
    for m in _LINKISH.finditer(text):
        out += [text[pos : m.start()].translate(_ESCAPE), _code(m.group())]
        pos = m.end()
    return "".join(out) + text[pos:].translate(_ESCAPE)


def _code(word: str) -> str:
    """``word`` as an inline code span, fenced by more backticks than it holds in a row."""
    fence = "`" * (max((len(r) for r in re.findall("`+", word)), default=0) + 1)
    pad = " " if word.startswith("`") or word.endswith("`") else ""  # CommonMark's rule
    return f"{fence}{pad}{word}{pad}{fence}"


@contextmanager
def guard(what: str) -> Iterator[None]:
    """Turn any error inside into a message on the page: no traceback reaches the user.

    Streamlit's own rerun/stop signals derive from BaseException and pass through.
    """
    try:
        yield
    except core.DataError as exc:
        st.error(f"{what}: {literal(exc)}", icon=":material/error:")
    except Exception as exc:  # the last line of defence: log it, say what to do
        log.exception("losslens: %s failed", what)
        st.error(
            f"{what} failed: {type(exc).__name__}: {literal(exc)}. Your data and settings are "
            "kept; "
            "try another setting, or reload the page to start afresh.",
            icon=":material/error:",
        )


def guarded(what: str) -> Callable[[F], F]:
    """Decorator form of :func:`guard` (for fragments and page bodies)."""

    def wrap(fn: F) -> F:
        @functools.wraps(fn)
        def inner(*args, **kwargs):
            with guard(what):
                return fn(*args, **kwargs)

        return inner  # type: ignore[return-value]

    return wrap


def fmt(x: float, digits: int = 6) -> str:
    """A number for people: plain when moderate, scientific when tiny or huge."""
    if x == 0:
        return "0"
    if not math.isfinite(x):
        return str(x)
    ax = abs(x)
    if 1e-3 <= ax < 1e6:
        return f"{x:.{digits}g}"
    return f"{x:.{max(digits - 2, 2)}e}"
