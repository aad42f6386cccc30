"""Line and branch coverage of one test run, in a form the funnel can compare test by test.

Paths are relative to the working tree, so a report from one copy compares with a report from another.
The three percentages are computed as coverage.py computes its own (`Numbers`): covered = measured minus
missing, summed over files, so they match what `coverage report`/`coverage json` print for the same data
(line: statements only; branch: branches only; total: statements and branches together, coverage.py's
total when branch measurement is on).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


def coverage_pct(covered: int, total: int) -> float:
    """Percent covered, to two places; nothing to cover counts as fully covered, as coverage.py does."""
    return round(100.0 * covered / total, 2) if total else 100.0


class ModuleCoverage(BaseModel):
    model_config = ConfigDict(frozen=True)

    path: str
    statements: int
    executed_lines: tuple[int, ...]
    missing_lines: tuple[int, ...]
    branches: int
    executed_branches: tuple[tuple[int, int], ...]
    missing_branches: tuple[tuple[int, int], ...]

    @property
    def covered_statements(self) -> int:
        return self.statements - len(self.missing_lines)

    @property
    def covered_branches(self) -> int:
        return self.branches - len(self.missing_branches)

    @property
    def line_pct(self) -> float:
        return coverage_pct(self.covered_statements, self.statements)


class CoverageReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    modules: tuple[ModuleCoverage, ...]

    @property
    def statements(self) -> int:
        return sum(m.statements for m in self.modules)

    @property
    def covered_statements(self) -> int:
        return sum(m.covered_statements for m in self.modules)

    @property
    def branches(self) -> int:
        return sum(m.branches for m in self.modules)

    @property
    def covered_branches(self) -> int:
        return sum(m.covered_branches for m in self.modules)

    @property
    def line_pct(self) -> float:
        return coverage_pct(self.covered_statements, self.statements)

    @property
    def branch_pct(self) -> float:
        return coverage_pct(self.covered_branches, self.branches)

    @property
    def total_pct(self) -> float:
        """coverage.py's own total: statements and branches counted together."""
        return coverage_pct(self.covered_statements + self.covered_branches, self.statements + self.branches)

    def pct(self, kind: str) -> float:
        """The measure a coverage gate reads: "line" (statements) or "branch" (coverage.py's total with
        branches), as `QualityGates.coverage_kind` names it."""
        if kind == "line":
            return self.line_pct
        if kind == "branch":
            return self.total_pct
        raise ValueError(f"unknown coverage kind {kind!r}; use 'line' or 'branch'")

    def covered_points(self) -> set[tuple[str, str]]:
        """Every covered line and branch as a hashable point, to tell whether new tests add any."""
        points: set[tuple[str, str]] = set()
        for module in self.modules:
            points.update((module.path, f"L{line}") for line in module.executed_lines)
            points.update((module.path, f"B{a}->{b}") for a, b in module.executed_branches)
        return points

    def uncovered_lines(self) -> dict[str, list[int]]:
        return {m.path: list(m.missing_lines) for m in self.modules if m.missing_lines}
