"""Line and branch coverage of one test run, in a form the funnel can compare test by test.

Paths are relative to the working tree, so a report from one copy compares with a report from another.
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
    def line_pct(self) -> float:
        return coverage_pct(len(self.executed_lines), self.statements)


class CoverageReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    modules: tuple[ModuleCoverage, ...]

    @property
    def statements(self) -> int:
        return sum(m.statements for m in self.modules)

    @property
    def line_pct(self) -> float:
        return coverage_pct(sum(len(m.executed_lines) for m in self.modules), self.statements)

    @property
    def branch_pct(self) -> float:
        return coverage_pct(
            sum(len(m.executed_branches) for m in self.modules), sum(m.branches for m in self.modules)
        )

    def covered_points(self) -> set[tuple[str, str]]:
        """Every covered line and branch as a hashable point, to tell whether new tests add any."""
        points: set[tuple[str, str]] = set()
        for module in self.modules:
            points.update((module.path, f"L{line}") for line in module.executed_lines)
            points.update((module.path, f"B{a}->{b}") for a, b in module.executed_branches)
        return points

    def uncovered_lines(self) -> dict[str, list[int]]:
        return {m.path: list(m.missing_lines) for m in self.modules if m.missing_lines}
