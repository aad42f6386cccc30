"""The parsed form of a component spec: what every later stage reads instead of the Markdown."""

from __future__ import annotations

import re
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator

from spec2prod_assets.storage.safe_paths import check_relative_path


class SpecError(ValueError):
    """A spec that cannot be used; the message names the file, the line and what is wrong."""

    def __init__(self, path: str, problem: str, line: int | None = None) -> None:
        self.path = clipped(path, MAX_PATH_CHARS)
        self.line = line
        self.problem = clipped(problem, MAX_PROBLEM_CHARS)
        where = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(f"{where}: {self.problem}")


# A message lands in logs, the sensor cursor and the UI: a value quoted in it must not make it megabytes.
MAX_PROBLEM_CHARS = 600
MAX_PATH_CHARS = 300
MAX_SLUG_CHARS = 64
MAX_NAME_CHARS = 200
# Control characters (NUL above all) pass YAML and Markdown but break file names, tags and reports.
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def clipped(text: str, limit: int) -> str:
    """`text` cut to about `limit` characters, saying how much was cut."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text) - limit} more characters)"


def control_character_problem(text: str) -> str | None:
    """Why `text` is unusable as spec text (it holds a control character), or None."""
    found = _CONTROL_RE.search(text)
    if found is None:
        return None
    return f"contains the control character U+{ord(found.group()):04X}; remove it"


class Stage(StrEnum):
    """How far a component goes; each stage is one Dagster job."""

    DEV = "dev"
    STAGING = "staging"
    PRODUCTION = "production"


class RequirementKind(StrEnum):
    FUNCTIONAL = "functional"
    NON_FUNCTIONAL = "non_functional"


class Priority(StrEnum):
    MUST = "must"
    SHOULD = "should"
    COULD = "could"


def _plain_text(value: str) -> str:
    problem = control_character_problem(value)
    if problem:
        raise ValueError(f"{clipped(value, 40)!r} {problem}")
    return value


class Requirement(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    text: str
    kind: RequirementKind = RequirementKind.FUNCTIONAL
    priority: Priority = Priority.MUST

    _text_is_text = field_validator("id", "text")(_plain_text)


class AcceptanceCriterion(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    text: str

    _text_is_text = field_validator("id", "text")(_plain_text)


class CoverageKind(StrEnum):
    """Which coverage.py measure the gate reads: statements only, or statements and branches together
    (coverage.py's own total when branch measurement is on)."""

    LINE = "line"
    BRANCH = "branch"


class QualityGates(BaseModel):
    """The release's gates. Lint: by default the refactor may not add violations (a project's existing lint
    debt does not block it); `lint_clean` asks for none at all.

    The mutation and traceability gates are off unless the spec asks: mutation testing runs the tests once
    per mutant, far too slow to impose on every component, and a project's existing tests claim no
    criterion ids, so requiring a passing test per acceptance criterion would block every release that
    has not yet been annotated.
    """

    model_config = ConfigDict(frozen=True)

    coverage_threshold_pct: float = Field(default=80.0, ge=0.0, le=100.0)
    coverage_kind: CoverageKind = CoverageKind.LINE
    lint_clean: bool = False
    # The lowest share of mutants the tests must kill, in percent; None: no mutation gate.
    mutation_score_pct: float | None = Field(default=None, ge=0.0, le=100.0)
    # Every acceptance criterion needs at least one passing test that claims its id.
    criteria_tested: bool = False


SLUG_PATTERN = r"^[a-z0-9][a-z0-9_-]*$"
_SLUG_RE = re.compile(SLUG_PATTERN)


def slugify(name: str) -> str:
    """Lower-case, `_`-joined words: a valid partition key and Python package name alike."""
    slug = re.sub(r"[^a-z0-9]+", "_", name.strip().lower()).strip("_")
    return slug


class ComponentSpec(BaseModel):
    """One component as its spec describes it; immutable once parsed."""

    model_config = ConfigDict(frozen=True)

    name: str
    slug: str
    version: str = "0.1.0"
    summary: str = ""
    requirements: tuple[Requirement, ...]
    acceptance_criteria: tuple[AcceptanceCriterion, ...] = ()
    api: tuple[str, ...] = ()
    quality_gates: QualityGates = QualityGates()
    source_path: str
    tests_path: str | None = Field(
        default=None,
        description="The tests, when the spec names them; None: found the way pytest finds them.",
    )
    allow_no_tests: bool = False
    dependencies: tuple[str, ...] = ()
    owners: tuple[str, ...] = ()
    # Production only when the spec says so: the sensor must never deploy an unmarked spec to production.
    target_stage: Stage = Stage.STAGING
    spec_path: str = Field(description="The spec file, relative to the project root.")
    spec_sha256: str

    @field_validator("slug")
    @classmethod
    def _slug_is_a_key(cls, value: str) -> str:
        if len(value) > MAX_SLUG_CHARS:
            raise ValueError(
                f"the component id {clipped(value, 40)!r} is {len(value)} characters long, more than "
                f"{MAX_SLUG_CHARS}; give a shorter 'Component ID'"
            )
        if not _SLUG_RE.match(value):
            raise ValueError(f"slug {value!r} must be lower-case letters, digits, '_' or '-'")
        return value

    @field_validator("name")
    @classmethod
    def _name_is_short(cls, value: str) -> str:
        if len(value) > MAX_NAME_CHARS:
            raise ValueError(f"the name is {len(value)} characters long, more than {MAX_NAME_CHARS}")
        return value

    @field_validator(
        "name", "version", "summary", "api", "source_path", "tests_path", "dependencies", "owners"
    )
    @classmethod
    def _no_control_characters(cls, value: str | tuple[str, ...] | None) -> str | tuple[str, ...] | None:
        for text in () if value is None else (value,) if isinstance(value, str) else value:
            problem = control_character_problem(text)
            if problem:
                raise ValueError(f"{clipped(text, 40)!r} {problem}")
        return value

    @field_validator("source_path", "tests_path")
    @classmethod
    def _inside_project(cls, value: str | None) -> str | None:
        return None if value is None else check_relative_path(value)
