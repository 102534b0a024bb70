"""Small UI helpers shared by the pages: the no-traceback guard, number formatting."""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import streamlit as st

import core

log = logging.getLogger("losslens")
F = TypeVar("F", bound=Callable)


@contextmanager
def guard(what: str) -> Iterator[None]:
    """Turn any error inside into a message on the page: no traceback reaches the user.

    Streamlit's own rerun/stop signals derive from BaseException and pass through.
    """
    try:
        yield
    except core.DataError as exc:
        st.error(f"{what}: {exc}", icon=":material/error:")
    except Exception as exc:  # the last line of defence: log it, say what to do
        log.exception("losslens: %s failed", what)
        st.error(
            f"{what} failed: {type(exc).__name__}: {exc}. Your data and settings are kept; "
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
