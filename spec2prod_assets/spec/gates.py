"""Quality gates stated in prose: "Test coverage >= 85%", "Branch coverage of at least 70%", "No lint errors".

Templates put gates in a "Success Criteria", "Definition of Done" or "Quality Gates" list, in words; each
clause that talks about coverage and states a number sets the threshold (and, when it says so, whether
line or branch coverage is meant). A clause that plainly states a threshold but not as a number ("at
least ninety percent") is an error rather than a silent fallback to the default.
"""

from __future__ import annotations

import re

from spec2prod_assets.spec.draft import Draft
from spec2prod_assets.spec.field_values import coverage_threshold, read_percent
from spec2prod_assets.spec.model import CoverageKind, clipped

_CLAUSE_SPLIT_RE = re.compile(r"[;,]|\band\b", re.IGNORECASE)
_LINT_RE = re.compile(r"\b(?:lint\w*|ruff|flake8|pylint)\b", re.IGNORECASE)
# "No new lint violations" is the default gate (never more than the baseline), not a demand for none.
_LINT_RELATIVE_RE = re.compile(r"\b(?:new|baseline|increase\w*|more than|regress\w*)\b", re.IGNORECASE)
_BRANCH_RE = re.compile(r"\bbranch(?:es)?\b", re.IGNORECASE)
_LINE_RE = re.compile(r"\b(?:line|statement)s?\b", re.IGNORECASE)
# Words that promise a threshold; with no number next to them the clause cannot be read.
_THRESHOLD_CUE_RE = re.compile(
    r"%|\bper\s?cent\b|\bat least\b|\bminimum\b|\bno less than\b|>=|≥|=>|>|\bor (?:more|higher|better)\b"
    r"|\b(?:ten|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred)\b",
    re.IGNORECASE,
)
_COVERAGE_HINT = "the gate reads one coverage kind and one threshold; keep one"


def read_gates(text: str, line: int, draft: Draft) -> None:
    """Coverage and lint gates, clause by clause ("coverage >= 80% and branch coverage >= 70%")."""
    for clause in _CLAUSE_SPLIT_RE.split(text):
        if "coverage" in clause.casefold():
            _read_coverage_clause(clause.strip(), line, draft)
    if _LINT_RE.search(text) and not _LINT_RELATIVE_RE.search(text):
        draft.set("lint_clean", True, line)


def _read_coverage_clause(clause: str, line: int, draft: Draft) -> None:
    percent = read_percent(clause)
    if percent is None:
        if _THRESHOLD_CUE_RE.search(clause):
            raise draft.error(
                f"cannot read a coverage threshold in {clipped(clause, 80)!r}; write a number such as '90%'",
                line,
            )
        return
    threshold = coverage_threshold(f"{percent.number}%" if percent.marked else percent.number, line, draft)
    draft.set("coverage_threshold", threshold, line, hint=_COVERAGE_HINT)
    if _BRANCH_RE.search(clause):
        draft.set("coverage_kind", CoverageKind.BRANCH, line, hint=_COVERAGE_HINT)
    elif _LINE_RE.search(clause):
        draft.set("coverage_kind", CoverageKind.LINE, line, hint=_COVERAGE_HINT)
