"""The pipeline on the bundled example with the real OpenHands agent server as the test generator.

The agent loop, its tools and the workspace are the real server's (1.58.0 from `.venv-openhands`); only
the model is scripted (tests/support/scripted_llm.py), chosen by a marker that the test puts in the
calculator spec's overview, which the task text carries. Our resource submits and collects, and the
validation funnel accepts or rejects what the agent wrote.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from resources.generators import OpenHandsResource
from resources.project import ProjectResource
from tests.conftest import copy_demo
from tests.support.agent_server import AgentServer, missing_reason
from tests.support.pipeline_steps import materialize_stages
from tests.support.scripted_llm import (
    PRICED_MODEL,
    Reply,
    Script,
    ScriptedLLM,
    create_file,
    endless_script,
    finish,
    locate_workspace,
    script_marker,
)

_MISSING = missing_reason()
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.openhands_real,
    pytest.mark.skipif(
        _MISSING is not None and os.environ.get("OPENHANDS_REAL_REQUIRED") != "1", reason=_MISSING or ""
    ),
]

LLM_KEY = "sk-scripted-llm-key-for-pipeline-tests"
TESTS = "tests/calculator"
GOOD_TESTS = """import pytest

from calculator import clamp, divide, multiply, percentage, power


def test_multiply_returns_the_product():
    assert multiply(3, 4) == 12


def test_divide_returns_the_quotient():
    assert divide(6, 3) == 2


def test_divide_by_zero_raises():
    with pytest.raises(ValueError):
        divide(1, 0)


def test_power_of_a_negative_base_with_a_fraction_raises():
    with pytest.raises(ValueError):
        power(-8, 0.5)


def test_power_returns_the_power():
    assert power(2, 3) == 8


def test_percentage_of_a_quarter():
    assert percentage(1, 4) == 25.0


def test_percentage_of_zero_whole_raises():
    with pytest.raises(ValueError):
        percentage(1, 0)


def test_clamp_keeps_values_in_range():
    assert clamp(5, 0, 3) == 3
    assert clamp(-5, 0, 3) == 0
    assert clamp(2, 0, 3) == 2


def test_clamp_rejects_an_empty_range():
    with pytest.raises(ValueError):
        clamp(1, 3, 0)
"""
FAILING_TEST = (
    "from calculator import multiply\n\n\ndef test_multiply_is_wrong():\n    assert multiply(2, 2) == 5\n"
)


def project_for(tmp_path: Path, script: str) -> Path:
    """A copy of the example whose calculator spec asks the scripted model for `script`."""
    project = copy_demo(tmp_path / "demo")
    spec_file = project / "specs" / "calculator.md"
    text = spec_file.read_text(encoding="utf-8")
    overview = "A small arithmetic library used by the billing service."
    spec_file.write_text(text.replace(overview, f"{overview} {script_marker(script)}"), encoding="utf-8")
    return project


def openhands(agent_server: AgentServer, scripted_llm: ScriptedLLM, **overrides: Any) -> OpenHandsResource:
    settings: dict[str, Any] = {
        "base_url": agent_server.base_url,
        "api_key": agent_server.api_key,
        "llm_model": PRICED_MODEL,
        "llm_api_key": LLM_KEY,
        "llm_base_url": scripted_llm.base_url,
        "working_root": str(agent_server.home / "workspaces"),
        "max_iterations": 10,
        "timeout_s": 120.0,
    }
    return OpenHandsResource(**(settings | overrides))


def generate_for_calculator(project: Path, generator: OpenHandsResource) -> dict[str, Any]:
    """Materialize spec -> baseline_tests -> generated_tests; generated_tests' metadata as plain values."""
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("specs", ["calculator"])
        root = ProjectResource(root=str(project))
        result = materialize_stages(
            ["spec", "baseline_tests", "generated_tests"],
            project=root,
            partition="calculator",
            instance=instance,
            resources={"test_generator": generator},
            run_config={
                "ops": {"generated_tests": {"config": {"poll_interval_s": 0.5, "deadline_s": 180.0}}}
            },
        )
        assert result.success
        metadata = result.asset_materializations_for_node("generated_tests")[0].metadata
        return {key: getattr(value, "value", value) for key, value in metadata.items()}


def rejected_rows(metadata: dict[str, Any]) -> list[dict[str, Any]]:
    return [dict(record.data) for record in metadata["rejected_tests"].records]


def test_the_whole_pipeline_takes_the_calculator_to_production_with_tests_from_openhands(
    agent_server: AgentServer, scripted_llm: ScriptedLLM, tmp_path: Path
) -> None:
    scripted_llm.scripts["pipeline-success"] = Script(
        (locate_workspace(TESTS), create_file(f"{TESTS}/test_openhands_calculator.py", GOOD_TESTS), finish())
    )
    project = project_for(tmp_path, "pipeline-success")
    home = tmp_path / "dagster_home"
    home.mkdir()
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "OPENHANDS_URL": agent_server.base_url,
        "OPENHANDS_API_KEY": agent_server.api_key,
        "OPENHANDS_LLM_MODEL": PRICED_MODEL,
        "OPENHANDS_LLM_API_KEY": LLM_KEY,
        "OPENHANDS_LLM_BASE_URL": scripted_llm.base_url,
        "OPENHANDS_WORKING_ROOT": str(agent_server.home / "workspaces"),
    }
    cli = Path(sys.executable).with_name("spec2prod")
    run = subprocess.run(
        [str(cli), "run", str(project / "specs" / "calculator.md"), "--stage", "production"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]

    instance = dg.DagsterInstance.from_config(str(home))
    event = instance.get_latest_materialization_event(dg.AssetKey("generated_tests"))
    assert event is not None and event.asset_materialization is not None
    metadata = {k: getattr(v, "value", v) for k, v in event.asset_materialization.metadata.items()}
    assert metadata["generator"] == "openhands"
    assert metadata["tests_accepted"] >= 1
    assert metadata["coverage_after_pct"] >= 80.0 > metadata["coverage_before_pct"]
    assert metadata["cost_usd"] > 0
    assert set(metadata["conversation_ids"]) == {"calculator-calculator-operations"}
    # Secrets never reach metadata, reports or logs.
    assert LLM_KEY not in repr(metadata) and agent_server.api_key not in repr(metadata)
    assert agent_server.api_key not in run.stdout + run.stderr
    production = instance.get_latest_materialization_event(dg.AssetKey("production_deployment"))
    assert production is not None and production.asset_materialization is not None
    assert production.asset_materialization.metadata["healthy"].value is True


def test_a_failing_test_from_the_agent_is_rejected_by_the_funnel(
    agent_server: AgentServer, scripted_llm: ScriptedLLM, tmp_path: Path
) -> None:
    scripted_llm.scripts["pipeline-failing"] = Script(
        (locate_workspace(TESTS), create_file(f"{TESTS}/test_wrong.py", FAILING_TEST), finish())
    )

    metadata = generate_for_calculator(
        project_for(tmp_path, "pipeline-failing"), openhands(agent_server, scripted_llm)
    )

    assert metadata["tasks_succeeded"] == 1
    assert (metadata["tests_generated"], metadata["tests_accepted"]) == (1, 0)
    assert [row["stage"] for row in rejected_rows(metadata)] == ["pass"]


def test_an_agent_that_ends_without_a_finish_action_gives_no_tests(
    agent_server: AgentServer, scripted_llm: ScriptedLLM, tmp_path: Path
) -> None:
    scripted_llm.scripts["pipeline-nofinish"] = Script(
        (locate_workspace(TESTS), create_file(f"{TESTS}/test_unfinished.py", GOOD_TESTS), Reply("Done."))
    )

    metadata = generate_for_calculator(
        project_for(tmp_path, "pipeline-nofinish"), openhands(agent_server, scripted_llm)
    )

    assert (metadata["tasks_succeeded"], metadata["tests_accepted"]) == (0, 0)
    assert "ended without FinishAction" in metadata["degraded_reason"]


def test_an_agent_that_hits_max_iterations_gives_no_tests(
    agent_server: AgentServer, scripted_llm: ScriptedLLM, tmp_path: Path
) -> None:
    scripted_llm.scripts["pipeline-endless"] = endless_script()

    metadata = generate_for_calculator(
        project_for(tmp_path, "pipeline-endless"), openhands(agent_server, scripted_llm, max_iterations=3)
    )

    assert (metadata["tasks_succeeded"], metadata["tests_accepted"]) == (0, 0)
    assert "MaxIterationsReached" in metadata["degraded_reason"]


def test_files_the_agent_writes_outside_the_tests_folder_are_rejected(
    agent_server: AgentServer, scripted_llm: ScriptedLLM, tmp_path: Path
) -> None:
    scripted_llm.scripts["pipeline-outside"] = Script(
        (
            locate_workspace(TESTS),
            create_file("src/calculator/backdoor.py", "OPEN = True\n"),
            create_file(f"{TESTS}/test_openhands_calculator.py", GOOD_TESTS),
            finish(),
        )
    )
    project = project_for(tmp_path, "pipeline-outside")

    metadata = generate_for_calculator(project, openhands(agent_server, scripted_llm))

    assert metadata["tests_accepted"] >= 1
    path_rejections = [row for row in rejected_rows(metadata) if row["stage"] == "path"]
    assert [row["test"] for row in path_rejections] == ["src/calculator/backdoor.py (whole file)"]
    assert not (project / "src" / "calculator" / "backdoor.py").exists()
