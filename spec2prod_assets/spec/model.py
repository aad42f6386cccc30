"""The parsed form of a component spec: what every later stage reads instead of the Markdown."""

from __future__ import annotations

import re
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator

from spec2prod_assets.storage.safe_paths import check_relative_path


class SpecError(ValueError):
    """A spec that cannot be used; the message names the file, the line and what is wrong."""

    def __init__(self, path: str, problem: str, line: int | None = None) -> None:
        self.path = path
        self.line = line
        self.problem = problem
        where = f"{path}:{line}" if line is not None else path
        super().__init__(f"{where}: {problem}")


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


class Requirement(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    text: str
    kind: RequirementKind = RequirementKind.FUNCTIONAL
    priority: Priority = Priority.MUST


class AcceptanceCriterion(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    text: str


class QualityGates(BaseModel):
    model_config = ConfigDict(frozen=True)

    coverage_threshold_pct: float = Field(default=80.0, ge=0.0, le=100.0)
    lint_clean: bool = True


_SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


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
    tests_path: str
    target_stage: Stage = Stage.PRODUCTION
    spec_path: str = Field(description="The spec file, relative to the project root.")
    spec_sha256: str

    @field_validator("slug")
    @classmethod
    def _slug_is_a_key(cls, value: str) -> str:
        if not _SLUG_RE.match(value):
            raise ValueError(f"slug {value!r} must be lower-case letters, digits, '_' or '-'")
        return value

    @field_validator("source_path", "tests_path")
    @classmethod
    def _inside_project(cls, value: str) -> str:
        return check_relative_path(value)
