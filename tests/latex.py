"""A static check of the LaTeX the derivation shows: balanced braces, commands KaTeX knows.

(The browser test then checks that KaTeX really renders it without error marks.)
"""

from __future__ import annotations

import re

KATEX_COMMANDS = {
    *("alpha", "beta", "sigma", "partial", "sum", "prod", "times", "odot", "oslash"),
    *("quad", "qquad", "implies", "Rightarrow", "log", "exp", "mathbf", "tfrac", "frac"),
    *("operatorname", "big", "Big", "left", "right", ",", ";"),
    *("bar", "delta", "ne"),  # the Jacobian and backprop sections
}


def check_latex(tex: str) -> None:
    """Assert ``tex`` has balanced braces and \\left/\\right, and only known commands."""
    depth = 0
    for ch in re.sub(r"\\[{}$]", "", tex):
        depth += {"{": 1, "}": -1}.get(ch, 0)
        assert depth >= 0, f"unbalanced '}}' in {tex!r}"
    assert depth == 0, f"unclosed '{{' in {tex!r}"
    unknown = set(re.findall(r"\\([A-Za-z]+|[^A-Za-z\s])", tex)) - KATEX_COMMANDS
    assert not unknown, f"commands {unknown} in {tex!r}: check that KaTeX knows them"
    assert tex.count(r"\left") == tex.count(r"\right"), f"unpaired \\left/\\right in {tex!r}"
