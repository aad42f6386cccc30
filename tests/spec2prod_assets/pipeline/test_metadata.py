"""Metadata tables are built from declared schemas: typed columns even without rows, and a row that does
not match its schema is a bug caught at once rather than a table the UI renders wrong."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from spec2prod_assets.environment import ComponentEnvironment
from spec2prod_assets.pipeline.metadata import (
    STAGE_COLUMNS,
    environment_metadata,
    layout_metadata,
    report_metadata,
    sandbox_metadata,
    table,
)
from spec2prod_assets.pipeline.metadata import test_run_metadata as run_metadata
from spec2prod_assets.report.timings import StageTiming, summarize
from spec2prod_assets.testing import pytest_run
from tests.support.layouts import layout_of

SCHEMA = dg.TableSchema(columns=[dg.TableColumn("test"), dg.TableColumn("duration_s", "float")])


def test_a_table_without_rows_keeps_its_column_types() -> None:
    empty = table(SCHEMA, [])
    assert empty.records == []
    assert [(c.name, c.type) for c in empty.schema.columns] == [("test", "string"), ("duration_s", "float")]


def test_rows_become_records_in_order() -> None:
    value = table(SCHEMA, [{"test": "a", "duration_s": 0.5}, {"test": "b", "duration_s": 1.0}])
    assert [record.data for record in value.records] == [
        {"test": "a", "duration_s": 0.5},
        {"test": "b", "duration_s": 1.0},
    ]


@pytest.mark.parametrize(
    "row",
    [{"test": "a"}, {"duration_s": 0.5, "test": "a"}, {"test": "a", "duration_s": 0.5, "extra": 1}],
    ids=["missing-column", "reordered-columns", "extra-column"],
)
def test_a_row_that_does_not_match_its_schema_is_refused(row: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="schema"):
        table(SCHEMA, [row])  # type: ignore[list-item]


def test_the_report_metadata_carries_the_contract_keys_and_a_typed_stage_table() -> None:
    stages = [
        StageTiming(stage="spec", start=10.0, end=11.0, status="SUCCESS"),
        StageTiming(stage="baseline_tests", start=11.0, end=13.0, status="SUCCESS"),
    ]
    metadata = report_metadata(summarize("run-1", stages, {"baseline_tests": ["spec"]}, "sync"))
    assert list(metadata) == [
        "execution_mode",
        "wall_s",
        "sum_stage_s",
        "critical_path_s",
        "parallel_savings_s",
        "overhead_s",
        "critical_path",
        "stages",
    ]
    assert (metadata["execution_mode"], metadata["wall_s"], metadata["critical_path"]) == (
        "sync",
        3.0,
        "spec -> baseline_tests",
    )
    assert metadata["stages"].schema == STAGE_COLUMNS
    assert [record.data["start_s"] for record in metadata["stages"].records] == [0.0, 1.0]


def test_sandboxed_stages_say_they_ran_in_bubblewrap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SPEC2PROD_SANDBOX", raising=False)
    assert sandbox_metadata() == {"sandbox": "bubblewrap"}


def test_an_opted_out_sandbox_shows_in_the_metadata(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPEC2PROD_SANDBOX", "off")
    assert sandbox_metadata() == {"sandbox": "off"}


def test_a_run_without_coverage_reports_every_measure_as_zero_numbers() -> None:
    run = pytest_run.TestRun(exit_code=5, collected=0, outcomes=(), coverage=None, duration_s=0.0)
    metadata = run_metadata(run)
    assert {k: metadata[k] for k in ("line_coverage_pct", "branch_coverage_pct", "total_coverage_pct")} == {
        "line_coverage_pct": 0.0,
        "branch_coverage_pct": 0.0,
        "total_coverage_pct": 0.0,
    }


def test_the_environment_is_named_by_its_key_with_plottable_numbers() -> None:
    environment = ComponentEnvironment(
        python=Path("/envs/abc/bin/python"),
        root=Path("/envs/abc"),
        key="abc",
        dependencies=("attrs>=23", "requests"),
        reused=True,
        duration_s=0.01,
        readable_roots=(),
    )
    assert environment_metadata(environment) == {
        "environment": "abc",
        "dependencies_count": 2,
        "environment_reused": True,
    }


def test_the_layout_says_how_many_tests_were_found_and_how() -> None:
    run = pytest_run.TestRun(exit_code=5, collected=0, outcomes=(), coverage=None, duration_s=0.0)
    layout = layout_of("src/greeter", config_files=("pyproject.toml",))
    assert layout_metadata(layout, run) == {
        "tests_found": 0,
        "tests_found_by": layout.tests_found_by,
        "test_paths": "tests",
        "config_files": "pyproject.toml",
    }
