"""Coverage percentages: the one rule for turning counts into a percentage."""

from __future__ import annotations

from spec2prod_assets.testing.coverage_report import CoverageReport, ModuleCoverage, coverage_pct


def test_a_percentage_is_rounded_to_two_places() -> None:
    assert coverage_pct(1, 3) == 33.33


def test_nothing_to_cover_counts_as_fully_covered() -> None:
    assert coverage_pct(0, 0) == 100.0


def test_report_percentages_add_up_over_modules() -> None:
    def module(path: str, executed: int, missing: int) -> ModuleCoverage:
        return ModuleCoverage(
            path=path,
            statements=executed + missing,
            executed_lines=tuple(range(1, executed + 1)),
            missing_lines=tuple(range(executed + 1, executed + missing + 1)),
            branches=2,
            executed_branches=((1, 2),),
            missing_branches=((1, 3),),
        )

    report = CoverageReport(modules=(module("a.py", 3, 1), module("b.py", 1, 3)))
    assert report.statements == 8
    assert report.line_pct == 50.0
    assert report.branch_pct == 50.0
