"""`generated_tests` materialized by Dagster on a copy of the bundled example, with fake generators.

The upstream assets, the funnel and the IO manager are real; only the generator backend is a fake, so
the test can make it crash or return exactly one good test.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from textwrap import dedent
from typing import Any

import dagster as dg
import pytest

from resources.project import ProjectResource
from spec2prod_assets.pipeline.partitions import specs_partitions
from tests.conftest import REPO_ROOT
from tests.support.fake_generators import CrashingGenerator, OneFileGenerator, Script
from tests.support.pipeline_steps import materialize_stages

DEMO = REPO_ROOT / "examples" / "demo"
PARTITION = "calculator"

GOOD_TEST = dedent(
    """\
    import pytest

    from calculator import divide


    def test_divide_by_zero_raises_value_error():
        with pytest.raises(ValueError):
            divide(1, 0)
    """
)

FUNNEL_KEYS = (
    "tests_generated",
    "tests_collected",
    "tests_passing",
    "tests_reliable",
    "tests_accepted",
    "coverage_before_pct",
    "coverage_after_pct",
)


@pytest.fixture
def project(tmp_path: Path) -> ProjectResource:
    root = tmp_path / "project"
    shutil.copytree(DEMO, root, ignore=shutil.ignore_patterns(".spec2prod", "__pycache__", ".coverage*"))
    return ProjectResource(root=str(root), work_dir=str(tmp_path / "work"), test_timeout_s=60.0)


def _materialize(project: ProjectResource, generator: object) -> dg.ExecuteInProcessResult:
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(specs_partitions.name, [PARTITION])
    return materialize_stages(
        ["spec", "baseline_tests", "generated_tests"],
        project=project,
        partition=PARTITION,
        instance=instance,
        resources={"test_generator": generator},
        run_config={
            "ops": {
                "generated_tests": {
                    "config": {"poll_interval_s": 0.05, "deadline_s": 30.0, "reliability_runs": 2}
                }
            }
        },
    )


def _metadata(result: dg.ExecuteInProcessResult) -> dict[str, Any]:
    (materialization,) = result.asset_materializations_for_node("generated_tests")
    return {key: value.value for key, value in materialization.metadata.items()}


def _data_versions(result: dg.ExecuteInProcessResult) -> dict[str, str | None]:
    return {
        event.asset_key.to_user_string(): event.materialization.tags.get("dagster/data_version")
        for event in result.get_asset_materialization_events()
        if event.materialization.tags is not None
    }


def test_a_crashing_generator_degrades_to_zero_accepted_tests_and_the_run_succeeds(
    project: ProjectResource,
) -> None:
    result = _materialize(project, CrashingGenerator())

    assert result.success
    metadata = _metadata(result)
    assert metadata["tests_accepted"] == 0
    assert metadata["tests_generated"] == 0
    assert "degraded_reason" in metadata
    assert "submit failed" in metadata["degraded_reason"]
    assert "connection refused" in metadata["degraded_reason"]
    assert metadata["generator"] == "crashing"
    assert metadata["tasks_succeeded"] == 0
    assert metadata["coverage_after_pct"] == metadata["coverage_before_pct"]
    assert isinstance(metadata["duration_s"], float)


def test_one_good_generated_test_shows_the_whole_funnel_in_the_metadata(project: ProjectResource) -> None:
    generator = OneFileGenerator(
        name="one-good-test",
        content=GOOD_TEST,
        escaping_path="src/calculator/test_sneaky.py",
        default_script=Script(cost_usd=0.02, tokens=1000),
    )

    result = _materialize(project, generator)

    assert result.success
    metadata = _metadata(result)
    assert metadata["generator"] == "one-good-test"
    assert metadata["tasks_submitted"] == metadata["tasks_succeeded"] == 1  # only operations.py has gaps
    assert [metadata[key] for key in FUNNEL_KEYS[:5]] == [1, 1, 1, 1, 1]
    assert metadata["coverage_after_pct"] > metadata["coverage_before_pct"]
    assert metadata["cost_usd"] == 0.02
    for key in ("submission_s", "collection_s", "duration_s", *FUNNEL_KEYS[5:]):
        assert isinstance(metadata[key], float), key
    for key in FUNNEL_KEYS[:5]:
        assert isinstance(metadata[key], int), key
    assert "degraded_reason" not in metadata

    rejected = metadata["rejected_tests"]
    assert [column.name for column in rejected.schema.columns] == ["test", "stage", "reason"]
    (row,) = [record.data for record in rejected.records]
    assert row["test"] == "src/calculator/test_sneaky.py (whole file)"
    assert row["stage"] == "path"
    assert "outside the tests folder" in row["reason"]

    value = result.output_for_node("generated_tests")
    (accepted,) = value.funnel.accepted_files
    assert Path(value.funnel.accepted_dir).is_relative_to(project.work_path)
    assert (Path(value.funnel.accepted_dir) / accepted).read_text() == GOOD_TEST
    assert f"`{accepted}::test_divide_by_zero_raises_value_error`" in metadata["accepted_tests"]
    # The project's own tests are untouched: generated tests live in the work folder only.
    assert sorted(p.name for p in (project.root_path / "tests" / "calculator").iterdir()) == [
        "test_operations.py"
    ]


def test_a_rerun_of_unchanged_inputs_submits_nothing_and_reuses_the_funnels_verdict(
    project: ProjectResource,
) -> None:
    def generator() -> OneFileGenerator:
        return OneFileGenerator(
            name="one-good-test", content=GOOD_TEST, default_script=Script(cost_usd=0.02, tokens=1000)
        )

    cold_result = _materialize(project, generator())
    warm_result = _materialize(project, generator())

    cold, warm = _metadata(cold_result), _metadata(warm_result)
    # Dagster's own notion of "unchanged": every asset of the rerun has the data version it had before.
    versions = _data_versions(cold_result)
    assert set(versions) == {"spec", "baseline_tests", "generated_tests"} and None not in versions.values()
    assert _data_versions(warm_result) == versions
    assert (cold["tasks_submitted"], cold["cache_hits"], cold["funnel_cached"]) == (1, 0, False)
    assert (warm["tasks_submitted"], warm["cache_hits"], warm["funnel_cached"]) == (0, 1, True)
    assert warm["cost_usd"] == 0.0
    assert [warm[key] for key in FUNNEL_KEYS[:5]] == [cold[key] for key in FUNNEL_KEYS[:5]]
    value = warm_result.output_for_node("generated_tests")
    (accepted,) = value.funnel.accepted_files
    assert (Path(value.funnel.accepted_dir) / accepted).read_text() == GOOD_TEST


def test_a_changed_byte_in_the_components_code_asks_the_generator_again(project: ProjectResource) -> None:
    def generator() -> OneFileGenerator:
        return OneFileGenerator(name="one-good-test", content=GOOD_TEST, default_script=Script())

    before = _data_versions(_materialize(project, generator()))
    module = project.root_path / "src" / "calculator" / "operations.py"
    module.write_text(module.read_text(encoding="utf-8") + "\n# changed\n", encoding="utf-8")

    result = _materialize(project, generator())

    metadata = _metadata(result)
    after = _data_versions(result)
    assert after["spec"] == before["spec"]
    assert after["baseline_tests"] != before["baseline_tests"]
    assert (metadata["tasks_submitted"], metadata["cache_hits"], metadata["funnel_cached"]) == (1, 0, False)
