"""One field's raw value (YAML scalar or the text after a bold label) -> its typed value, or a `SpecError`.

Front matter and body share these coercions so a value means the same wherever it is written, and each
failure names the line the value came from. Doubtful values are refused with what to write instead: a
threshold of 0.8 (a fraction, or 0.8 %?) or one in words, a dependency pip could not read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from packaging.requirements import InvalidRequirement, Requirement

from spec2prod_assets.spec.model import CoverageKind, Stage, clipped
from spec2prod_assets.spec.schema import STAGE_SPELLINGS
from spec2prod_assets.storage.safe_paths import check_relative_path

if TYPE_CHECKING:
    from spec2prod_assets.spec.draft import Draft

BOOLEANS = {"true": True, "yes": True, "false": False, "no": False}
FLAG_KEYS = ("lint_clean", "criteria_tested", "allow_no_tests")
PATH_KEYS = ("source_path", "tests_path")
# What a spec writes when there is nothing to list.
NOTHING = frozenset({"none", "n/a", "-"})
_PERCENT_RE = re.compile(r"([-+]?\d+(?:\.\d+)?)\s*(?:%|percent\b)", re.IGNORECASE)
_COMPARED_NUMBER_RE = re.compile(
    r"(?:>=|≥|=>|>|=|:|\bat least|\bminimum(?: of)?)\s*([-+]?\d+(?:\.\d+)?)\b", re.IGNORECASE
)
_BARE_NUMBER_RE = re.compile(r"[-+]?\d+(?:\.\d+)?")
# A list in one line: split at commas that start a new name, not inside `requests>=2,<3`.
_LIST_SPLIT_RE = re.compile(r",\s*(?=[A-Za-z@])")
# "Python >= 3.11", "python3.11+": the interpreter, which a template often lists with the packages.
_PYTHON_RE = re.compile(r"python(?:\s*\d+(?:\.\d+)*)?(?![\w.-])", re.IGNORECASE)


@dataclass(frozen=True)
class Percent:
    """A number read from text, as written, and whether a `%` or "percent" marked it as a percentage."""

    number: str
    marked: bool


def read_percent(text: str) -> Percent | None:
    """The percentage a line states: `>= 80%`, `85 %`, `at least 75% coverage`, `: 90`, or just `90`."""
    marked = _PERCENT_RE.search(text)
    if marked is not None:
        return Percent(marked.group(1), True)
    match = _COMPARED_NUMBER_RE.search(text) or _BARE_NUMBER_RE.fullmatch(text.strip())
    if match is None:
        return None
    return Percent(match.group(1) if match.groups() else match.group(0), False)


def field_value(key: str, value: Any, line: int, draft: Draft) -> Any:
    """Turn a raw field into its typed value, failing at the field's own line."""
    if key == "coverage_threshold":
        return coverage_threshold(value, line, draft)
    if key == "mutation_score":
        return mutation_score(value, line, draft)
    if key in FLAG_KEYS:
        flag = BOOLEANS.get(value.strip().casefold()) if isinstance(value, str) else value
        if not isinstance(flag, bool):
            raise draft.error(f"{_title(key)} must be true or false, not {value!r}", line)
        return flag
    if key == "owners":
        return owners(value, line, draft)
    text = "" if value is None else str(value).strip()
    if not text or isinstance(value, dict | list):
        raise draft.error(f"{_title(key)} must be a non-empty text value", line)
    if key == "target_stage":
        return _stage(text, line, draft)
    if key == "coverage_kind":
        return coverage_kind(text, line, draft)
    if key in PATH_KEYS:
        try:
            return check_relative_path(text)
        except ValueError as exc:
            raise draft.error(f"{_title(key)}: {exc}", line) from None
    return text


def _title(key: str) -> str:
    return key.replace("_", " ")


def _stage(text: str, line: int, draft: Draft) -> Stage:
    stage = STAGE_SPELLINGS.get(text.casefold())
    if stage is None:
        allowed = ", ".join(member.value for member in Stage)
        raise draft.error(f"unknown target stage {text!r}; use one of: {allowed}", line)
    return stage


def coverage_kind(text: str, line: int, draft: Draft) -> CoverageKind:
    words = text.casefold().split()
    kind = words[0] if words and words[1:] in ([], ["coverage"]) else ""
    if kind in ("line", "lines", "statement", "statements"):
        return CoverageKind.LINE
    if kind in ("branch", "branches"):
        return CoverageKind.BRANCH
    raise draft.error(f"unknown coverage kind {text!r}; use line or branch", line)


def coverage_threshold(value: Any, line: int, draft: Draft) -> float:
    return percentage(value, "coverage threshold", line, draft)


def mutation_score(value: Any, line: int, draft: Draft) -> float:
    return percentage(value, "mutation score", line, draft)


def percentage(value: Any, what: str, line: int, draft: Draft) -> float:
    """A percentage in 0..100; a fraction (0.8) and words ("ninety") are refused, never guessed.

    `what` names the key in the error ("coverage threshold"), so each gate's mistakes read alike.
    """
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise draft.error(f"{what} {value!r} is not a percentage; write a number such as 90", line)
    if isinstance(value, int) or (isinstance(value, float) and not 0 < value <= 1):
        # An integer too big for a float is as far outside 0..100 as infinity is.
        return _in_range(float(value) if abs(value) < 10**300 else float("inf"), what, line, draft)
    percent = read_percent(str(value))
    if percent is None:
        raise draft.error(
            f"{what} {clipped(str(value), 80)!r} is not a percentage; write a number such as 90 or '90%'",
            line,
        )
    number = float(percent.number)
    if not percent.marked and "." in percent.number and 0 < number <= 1:
        as_percent = f"{float(Decimal(percent.number) * 100):g}"
        raise draft.error(
            f"{what} {percent.number} looks like a fraction; write {as_percent} for {as_percent}%", line
        )
    return _in_range(number, what, line, draft)


def _in_range(number: float, what: str, line: int, draft: Draft) -> float:
    if not 0.0 <= number <= 100.0:
        raise draft.error(f"{what} {number:g} is outside 0..100", line)
    return number


def owners(value: Any, line: int, draft: Draft) -> tuple[str, ...]:
    """`alice`, `alice, bob` or a YAML list of names -> the names, in order, each once."""
    names = value.split(",") if isinstance(value, str) else value
    if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
        raise draft.error(
            f"owners must be a name, names joined by ',', or a list of names, not {value!r}", line
        )
    found = tuple(dict.fromkeys(name.strip() for name in names if name.strip()))
    if not found:
        raise draft.error("owners is empty; name at least one owner or leave the key out", line)
    return found


def dependency_list(text: str, line: int, draft: Draft) -> list[str]:
    """A one-line list (`**Dependencies:** requests>=2.31, click`); 'None' lists nothing."""
    if text.strip().casefold().rstrip(".") in NOTHING:
        return []
    return [dependency(part, line, draft) for part in _LIST_SPLIT_RE.split(text) if part.strip()]


def dependency(text: str, line: int, draft: Draft) -> str:
    """One PEP 508 requirement as written (`requests>=2.31`), checked the way pip will read it."""
    text = text.strip()
    if _PYTHON_RE.match(text):
        raise draft.error(
            f"dependency {clipped(text, 80)!r} names the Python interpreter, not a package; leave it out",
            line,
        )
    try:
        Requirement(text)
    except InvalidRequirement as exc:
        reason = str(exc).split("\n", 1)[0]
        raise draft.error(
            f"dependency {clipped(text, 80)!r} is not a PEP 508 requirement ({clipped(reason, 120)}); "
            "write one package as pip reads it, such as 'requests>=2.31' (or 'None' when there are none)",
            line,
        ) from None
    return text
