"""Loader messages in a browser user's terms.

core's messages end with the fix for a Python or command-line user ("load_pair(I_file,
D_file, y=COUNT)", "(command line: --y COUNT)"), which is right for the API and the CLI.
On the Data page the same fix is a control of the page: :func:`for_browser` rewrites
those hints, and keeps the rest of the message (what was wrong, and where) as it is.
"""

from __future__ import annotations

import re

_PAIR = "upload it together with its partner: choose 'Two files: I and D' above"
_ALONE = "upload it alone: choose 'One file' above"
# (pattern, replacement), applied in order; patterns match core's wording exactly.
RULES: tuple[tuple[str, str], ...] = (
    (r"\s*\(command line: [^)]*\)", ""),
    (r"load it with its partner(?: as a pair)?: load_pair\([^)]*\)", _PAIR),
    (
        r"give I and D as two \.npy files with load_pair\([^)]*\)",
        "upload I and D as two .npy files (choose 'Two files: I and D' above)",
    ),
    (r"load it alone with load_dataset\(path\)", _ALONE),
    (r"pass y=COUNT", "enter y in the box 'Observed count y' above"),
    (
        r"(?:store it in the file|save both in one \.npz|and optionally y): "
        r"np\.savez\([^)]*\)",
        "store I, D and y in one .npz file (arrays I, D, y)",
    ),
)


def for_browser(message: object) -> str:
    """``message`` (a DataError or its text) with the Python and CLI hints in page terms."""
    text = str(message)
    for pattern, replacement in RULES:
        text = re.sub(pattern, replacement, text)
    return text
