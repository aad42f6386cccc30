"""OpenHandsResource: Dagster config for the OpenHands generator, from the environment, keys as EnvVars.

The generator's behaviour against a server is tested in tests/spec2prod_assets/generation/backends/.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import dagster as dg
import pytest

from resources.env_vars import EnvVarError
from resources.generators import OpenHandsResource, openhands_from_env
from spec2prod_assets.generation.backends.openhands.generator import OpenHandsGenerator
from spec2prod_assets.generation.protocol import GenerationTask
from spec2prod_assets.generation.protocol import TestGenerator as GeneratorProtocol
from tests.support.fake_openhands import (
    API_KEY,
    FakeOpenHands,
    fake_fixture,  # noqa: F401 -- a fixture: pytest finds it here
    fresh_circuit_breakers,  # noqa: F401 -- an autouse fixture
    writes_tests,
)

LLM_KEY = "sk-llm-91bd04-never-print-me"
GENERATED_TEST = "from calc.ops import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"


def make_task(root: Path) -> GenerationTask:
    workspace = root / "calc-ops"
    (workspace / "src" / "calc").mkdir(parents=True)
    (workspace / "src" / "calc" / "ops.py").write_text("def add(a, b):\n    return a + b\n")
    (workspace / "tests").mkdir()
    return GenerationTask(
        task_id="calc-ops",
        component="calc",
        module="src/calc/ops.py",
        import_name="calc.ops",
        instructions="FR-1: add two numbers.",
        workspace_dir=str(workspace),
        source_path="src/calc",
        tests_path="tests",
    )


def test_the_resource_hands_out_an_openhands_generator_with_its_whole_config() -> None:
    resource = OpenHandsResource(
        base_url="http://agent.example:8000/",
        api_key=API_KEY,
        auth_scheme="bearer",
        llm_api_key=LLM_KEY,
        working_root="/srv/spec2prod",
        timeout_s=12.0,
        max_retries=1,
        circuit_breaker_threshold=9,
    )

    generator = resource.get_generator()

    assert isinstance(generator, OpenHandsGenerator)
    assert isinstance(generator, GeneratorProtocol)
    assert generator.generator_name == "openhands"
    config = resource.model_dump()
    assert dataclasses.asdict(generator.settings) == {
        field.name: config[field.name] for field in dataclasses.fields(generator.settings)
    }
    assert set(config) == {field.name for field in dataclasses.fields(generator.settings)}


def test_keys_never_appear_in_the_reprs_of_the_resource_or_its_settings() -> None:
    resource = OpenHandsResource(
        base_url="http://agent.example:8000", api_key=API_KEY, llm_api_key=LLM_KEY, working_root="/srv/x"
    )
    settings = resource.get_generator().settings

    for text in (repr(resource), str(resource), repr(settings), str(settings)):
        assert API_KEY not in text
        assert LLM_KEY not in text


# -- configuration ---------------------------------------------------------------------------------------


def test_without_openhands_url_there_is_no_resource(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENHANDS_URL", raising=False)

    assert openhands_from_env() is None


def test_the_resource_is_built_from_the_environment_with_keys_as_env_vars(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENHANDS_URL", "http://agent.example:8000")
    monkeypatch.setenv("OPENHANDS_API_KEY", API_KEY)
    monkeypatch.setenv("OPENHANDS_LLM_MODEL", "anthropic/claude-sonnet-4-5")
    monkeypatch.setenv("OPENHANDS_LLM_API_KEY", LLM_KEY)
    monkeypatch.setenv("OPENHANDS_LLM_BASE_URL", "http://llm.example/v1")
    monkeypatch.setenv("OPENHANDS_WORKING_ROOT", "/srv/spec2prod")

    resource = openhands_from_env()

    assert resource is not None
    assert resource.base_url == "http://agent.example:8000"
    assert isinstance(resource.api_key, dg.EnvVar) and resource.api_key == "OPENHANDS_API_KEY"
    assert isinstance(resource.llm_api_key, dg.EnvVar) and resource.llm_api_key == "OPENHANDS_LLM_API_KEY"
    assert (resource.llm_model, resource.llm_base_url) == (
        "anthropic/claude-sonnet-4-5",
        "http://llm.example/v1",
    )
    assert resource.working_root == "/srv/spec2prod"


def test_a_server_url_with_credentials_is_passed_as_an_env_var(monkeypatch: pytest.MonkeyPatch) -> None:
    password = "url-pass-5e1d-never-print-me"
    monkeypatch.setenv("OPENHANDS_URL", f"https://spec2prod:{password}@agent.example:8000")

    resource = openhands_from_env()

    assert resource is not None
    assert isinstance(resource.base_url, dg.EnvVar) and resource.base_url == "OPENHANDS_URL"
    assert password not in repr(resource)


def test_plain_http_to_another_machine_is_opted_into_with_openhands_allow_insecure(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENHANDS_URL", "http://agent.example:8000")
    monkeypatch.delenv("OPENHANDS_ALLOW_INSECURE", raising=False)
    default = openhands_from_env()
    monkeypatch.setenv("OPENHANDS_ALLOW_INSECURE", "1")
    opted_in = openhands_from_env()
    monkeypatch.setenv("OPENHANDS_ALLOW_INSECURE", "perhaps")

    assert default is not None and default.allow_insecure is False
    assert opted_in is not None and opted_in.allow_insecure is True
    with pytest.raises(EnvVarError, match=r"^OPENHANDS_ALLOW_INSECURE='perhaps': must be 0 or 1$"):
        openhands_from_env()


def test_numbers_from_the_environment_are_checked_and_name_the_bad_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENHANDS_URL", "http://agent.example:8000")
    monkeypatch.setenv("OPENHANDS_MAX_ITERATIONS", "7")
    monkeypatch.setenv("OPENHANDS_TIMEOUT_S", "90.5")
    resource = openhands_from_env()
    assert resource is not None
    assert (resource.max_iterations, resource.timeout_s) == (7, 90.5)

    monkeypatch.setenv("OPENHANDS_MAX_ITERATIONS", "many")
    with pytest.raises(EnvVarError, match=r"^OPENHANDS_MAX_ITERATIONS='many': must be a whole number >= 1$"):
        openhands_from_env()
    monkeypatch.setenv("OPENHANDS_MAX_ITERATIONS", "7")
    monkeypatch.setenv("OPENHANDS_TIMEOUT_S", "-1")
    with pytest.raises(EnvVarError, match=r"^OPENHANDS_TIMEOUT_S='-1': must be a number of seconds > 0$"):
        openhands_from_env()


def test_an_unknown_auth_scheme_is_refused_rather_than_replaced_by_the_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENHANDS_URL", "http://127.0.0.1:8000")
    monkeypatch.setenv("OPENHANDS_AUTH_SCHEME", "Bearer")
    bearer = openhands_from_env()
    monkeypatch.setenv("OPENHANDS_AUTH_SCHEME", "bearr")

    assert bearer is not None and bearer.auth_scheme == "bearer"
    with pytest.raises(
        EnvVarError, match=r"^OPENHANDS_AUTH_SCHEME='bearr': must be one of session_key, bearer$"
    ):
        openhands_from_env()


def test_an_async_asset_drives_the_resource_with_keys_from_env_vars(
    fake: FakeOpenHands, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_OPENHANDS_API_KEY", API_KEY)
    monkeypatch.setenv("TEST_OPENHANDS_LLM_API_KEY", LLM_KEY)
    fake.default_outcome = writes_tests({"tests/test_generated_ops.py": GENERATED_TEST}, polls_until_done=0)
    configured = OpenHandsResource(
        base_url=fake.url,
        api_key=dg.EnvVar("TEST_OPENHANDS_API_KEY"),
        llm_api_key=dg.EnvVar("TEST_OPENHANDS_LLM_API_KEY"),
        working_root="/agent-host/workspaces",
    )
    task = make_task(tmp_path)

    @dg.asset
    async def generated(openhands: OpenHandsResource) -> dg.MaterializeResult:
        generator = openhands.get_generator()
        handle = await generator.submit(task)
        (status,) = await generator.poll([handle])
        files = await generator.collect(handle)
        return dg.MaterializeResult(
            metadata={
                "state": status.state.value,
                "files": len(files.files),
                "conversation": handle.backend_id,
            }
        )

    result = dg.materialize([generated], resources={"openhands": configured})

    metadata = result.asset_materializations_for_node("generated")[0].metadata
    assert metadata["state"].value == "succeeded"
    assert metadata["files"].value == 1
    request = fake.conversations[str(metadata["conversation"].value)].request
    assert request["agent"]["llm"]["api_key"] == LLM_KEY


def test_the_cache_identity_names_model_endpoint_and_budget_but_no_secret() -> None:
    password = "llm-url-pass-77c1-never-print-me"
    resource = OpenHandsResource(
        base_url="http://agent.example:8000",
        api_key=API_KEY,
        llm_model="anthropic/claude-sonnet-4-5",
        llm_api_key=LLM_KEY,
        llm_base_url=f"https://user:{password}@llm.example:8443/v1?token={password}",
        working_root="/srv/x",
        max_iterations=30,
    )

    identity = resource.get_generator().cache_identity

    assert "model=anthropic/claude-sonnet-4-5" in identity
    assert "llm_base_url=https://llm.example:8443/v1 " in identity and "max_iterations=30" in identity
    for secret in (API_KEY, LLM_KEY, password):
        assert secret not in identity


def test_another_model_or_step_budget_is_another_cache_identity() -> None:
    def identity(**changes: object) -> str:
        config: dict[str, object] = {"base_url": "http://agent.example:8000", "working_root": "/srv/x"}
        return OpenHandsResource(**{**config, **changes}).get_generator().cache_identity  # type: ignore[arg-type]

    assert identity(llm_model="a/one") != identity(llm_model="a/two")
    assert identity(max_iterations=10) != identity(max_iterations=20)
    assert identity(base_url="http://other-agent.example:8000") == identity()
