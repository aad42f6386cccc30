"""Quality gates stated in prose: "Test coverage >= 85%", "No lint errors", "Mutation score >= 60%",
"Every acceptance criterion has a passing test".

Templates put gates in a "Success Criteria", "Definition of Done" or "Quality Gates" list, in words. A bullet
is cut into clauses (at `,`, `;` and "and") and each clause is read as at most one gate, first match wins:

- a clause that mentions mutation ("mutation", "mutants", "mutmut") and states a number sets the mutation
  score ("Mutation score >= 60%", "at least 60% of mutants killed");
- else one that mentions coverage and states a number sets the coverage threshold (and, when it says so,
  whether line or branch coverage is meant);
- else one that says every / each / all (acceptance) criteria and mentions tests ("Every acceptance
  criterion has a passing test", "all acceptance criteria are covered by tests") asks for a passing test
  per criterion; "not" or "n't" in the clause turns that reading off;
- else one that mentions lint (ruff, flake8, pylint) states the lint gate; which one is read from the
  whole bullet: "No lint violations" asks for none, "No new lint violations" is the default and sets
  nothing.

A clause that plainly states a threshold but not as a number ("at least ninety percent") is an error
rather than a silent fallback to the default. A bullet whose every clause is a gate is only a gate: no test
could claim "Test coverage >= 80%", so the caller does not make it an acceptance criterion.
"""

from __future__ import annotations

import re

from spec2prod_assets.spec.draft import Draft
from spec2prod_assets.spec.field_values import coverage_threshold, mutation_score, read_percent
from spec2prod_assets.spec.model import CoverageKind, clipped

_CLAUSE_SPLIT_RE = re.compile(r"[;,]|\band\b", re.IGNORECASE)
_LINT_RE = re.compile(r"\b(?:lint\w*|ruff|flake8|pylint)\b", re.IGNORECASE)
# "No new lint violations" is the default gate (never more than the baseline), not a demand for none.
_LINT_RELATIVE_RE = re.compile(r"\b(?:new|baseline|increase\w*|more than|regress\w*)\b", re.IGNORECASE)
_BRANCH_RE = re.compile(r"\bbranch(?:es)?\b", re.IGNORECASE)
_LINE_RE = re.compile(r"\b(?:line|statement)s?\b", re.IGNORECASE)
_MUTATION_RE = re.compile(r"\bmutation|\bmutants?\b|\bmutmut\b", re.IGNORECASE)
_EVERY_CRITERION_RE = re.compile(
    r"\b(?:every|each|all)\s+(?:of\s+)?(?:the\s+)?(?:acceptance\s+)?criteri(?:on|a)\b", re.IGNORECASE
)
_TESTS_RE = re.compile(r"\btest(?:s|ed)?\b", re.IGNORECASE)
_NEGATION_RE = re.compile(r"\bnot\b|n't\b", re.IGNORECASE)
# Words that promise a threshold; with no number next to them the clause cannot be read.
_THRESHOLD_CUE_RE = re.compile(
    r"%|\bper\s?cent\b|\bat least\b|\bminimum\b|\bno less than\b|>=|≥|=>|>|\bor (?:more|higher|better)\b"
    r"|\b(?:ten|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred)\b",
    re.IGNORECASE,
)
_COVERAGE_HINT = "the gate reads one coverage kind and one threshold; keep one"
_MUTATION_HINT = "the gate reads one mutation score; keep one"


def read_gates(text: str, line: int, draft: Draft) -> bool:
    """Set the gates `text` states; True when it states nothing but gates (then it is no criterion)."""
    clauses = [clause.strip() for clause in _CLAUSE_SPLIT_RE.split(text)]
    gates = [_read_clause(clause, line, draft) for clause in clauses if clause]
    if _LINT_RE.search(text) and not _LINT_RELATIVE_RE.search(text):
        draft.set("lint_clean", True, line)
    return bool(gates) and all(gates)


def _read_clause(clause: str, line: int, draft: Draft) -> bool:
    """Read one clause as the first gate it can be; True when it is a gate statement."""
    if _MUTATION_RE.search(clause):
        return _read_mutation_clause(clause, line, draft)
    if "coverage" in clause.casefold():
        return _read_coverage_clause(clause, line, draft)
    if _EVERY_CRITERION_RE.search(clause) and _TESTS_RE.search(clause) and not _NEGATION_RE.search(clause):
        draft.set("criteria_tested", True, line)
        return True
    return _LINT_RE.search(clause) is not None


def _stated_percent(clause: str, what: str, line: int, draft: Draft) -> str | None:
    """The clause's number as `field_values` reads it ("60%" or "60"), or None when it states none."""
    percent = read_percent(clause)
    if percent is None:
        if _THRESHOLD_CUE_RE.search(clause):
            raise draft.error(
                f"cannot read a {what} in {clipped(clause, 80)!r}; write a number such as '90%'", line
            )
        return None
    return f"{percent.number}%" if percent.marked else percent.number


def _read_mutation_clause(clause: str, line: int, draft: Draft) -> bool:
    written = _stated_percent(clause, "mutation score", line, draft)
    if written is None:
        return False
    draft.set("mutation_score", mutation_score(written, line, draft), line, hint=_MUTATION_HINT)
    return True


def _read_coverage_clause(clause: str, line: int, draft: Draft) -> bool:
    written = _stated_percent(clause, "coverage threshold", line, draft)
    if written is None:
        return False
    draft.set("coverage_threshold", coverage_threshold(written, line, draft), line, hint=_COVERAGE_HINT)
    if _BRANCH_RE.search(clause):
        draft.set("coverage_kind", CoverageKind.BRANCH, line, hint=_COVERAGE_HINT)
    elif _LINE_RE.search(clause):
        draft.set("coverage_kind", CoverageKind.LINE, line, hint=_COVERAGE_HINT)
    return True
