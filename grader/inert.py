"""Student text made inert: nothing a submission writes can drive a terminal or a viewer.

An exception message, a file name or an output line from a submission reaches the grader's
table, logs, GitHub annotations, the job summary, JSON and the HTML report. Control characters
in it (an escape sequence that retitles the terminal, clears the screen or draws a fake green
"passed"; a carriage return that overwrites a line) are shown as visible escapes instead, so
`cat` of any output prints exactly what the student wrote, byte for byte readable.
"""

from __future__ import annotations

import re

# C0 controls but tab and newline, DEL, and the C1 controls (U+0080-U+009F, which include CSI).
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _visible(match: re.Match[str]) -> str:
    return f"\\x{ord(match.group()):02x}"


def inert_text(text: str) -> str:
    """`text` with every control character but newline and tab written as `\\xNN`."""
    return _CONTROLS.sub(_visible, text)
