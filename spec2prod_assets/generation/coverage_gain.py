"""Which generated tests cover a line or branch that nothing before them covered.

Per-test coverage comes from coverage.py's dynamic contexts in one run of the baseline and the
candidate tests together. Tests are judged in order, each against the baseline and the tests judged
before it, so a test that only repeats an earlier one's lines gains nothing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from coverage import CoverageData

from spec2prod_assets.storage.working_copies import relative_to_tree
from spec2prod_assets.testing.coverage_report import CoverageReport, coverage_pct


@dataclass(frozen=True)
class CoverageGains:
    gained: dict[str, int]
    """Test id -> how many new lines and branches it covered (0: none)."""
    line_pct: float
    """Line coverage of the baseline plus the tests that gained something."""
    branch_pct: float


def coverage_gains(
    report: CoverageReport, data_file: Path, tree: Path, tests: Sequence[str], before: CoverageReport
) -> CoverageGains:
    """`report` and `data_file` (recorded with `--cov-context=test`) are of the run of the baseline and
    `tests` in `tree`; `before` is the baseline's own coverage."""
    data = CoverageData(basename=str(data_file))
    data.read()
    branch_arcs = {
        (m.path, arc) for m in report.modules for arc in (*m.executed_branches, *m.missing_branches)
    }
    covered = set(before.covered_points())
    gained: dict[str, int] = {}
    for test in tests:
        new = _points_of_test(data, tree, test, branch_arcs) - covered
        covered |= new
        gained[test] = len(new)
    statements = {m.path: set(m.executed_lines) | set(m.missing_lines) for m in report.modules}
    lines = sum(
        1 for path, point in covered if point.startswith("L") and int(point[1:]) in statements.get(path, ())
    )
    branches = sum(1 for path, point in covered if point.startswith("B"))
    total_lines = sum(len(s) for s in statements.values())
    return CoverageGains(
        gained=gained,
        line_pct=coverage_pct(lines, total_lines),
        branch_pct=coverage_pct(branches, len(branch_arcs)),
    )


def _points_of_test(
    data: CoverageData, tree: Path, test_id: str, branch_arcs: set[tuple[str, tuple[int, int]]]
) -> set[tuple[str, str]]:
    """Lines and branches executed while `test_id` ran, in `CoverageReport.covered_points` form."""
    data.set_query_contexts([re.escape(test_id) + r"(\[.*\])?\|"])
    points: set[tuple[str, str]] = set()
    for filename in data.measured_files():
        relative = relative_to_tree(filename, tree)
        points.update((relative, f"L{line}") for line in data.lines(filename) or ())
        for a, b in data.arcs(filename) or ():
            if (relative, (a, b)) in branch_arcs:
                points.add((relative, f"B{a}->{b}"))
    return points
