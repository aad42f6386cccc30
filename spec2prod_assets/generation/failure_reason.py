"""The one line that says why a test or a test run failed, for rejection reasons a person reads in a table.

pytest's report of a failure is dozens of lines; the funnel keeps, per rejected test, the line that
names the cause: the exception pytest raised, or the assertion that did not hold.
"""

from __future__ import annotations

import re

_EXCEPTION_LINE_RE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt)\b")


def first_line(value: object) -> str:
    """The one line that says why: an exception line (`SyntaxError: ...`) in pytest's last block of
    `E ` lines if there is one, else that block's first line (`assert -1 == 1`), else the first line."""
    lines = [line.strip() for line in str(value).strip().splitlines() if line.strip()]
    block: list[str] = []
    for index, line in enumerate(lines):
        if line.startswith("E "):
            if index == 0 or not lines[index - 1].startswith("E "):
                block = []
            block.append(line.removeprefix("E").strip())
    exceptions = [line for line in block if _EXCEPTION_LINE_RE.match(line)]
    chosen = exceptions[-1] if exceptions else (block[0] if block else (lines[0] if lines else ""))
    return chosen[:300]
