"""Metadata tables are built from declared schemas: typed columns even without rows, and a row that does
not match its schema is a bug caught at once rather than a table the UI renders wrong."""

from __future__ import annotations

import dagster as dg
import pytest

from spec2prod_assets.pipeline.metadata import STAGE_COLUMNS, report_metadata, sandbox_metadata, table
from spec2prod_assets.report.timings import StageTiming, summarize

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
