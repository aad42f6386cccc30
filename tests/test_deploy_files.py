"""The deployment files in deploy/ agree with each other and with the code.

The cluster profile cannot be built or started where spec2prod is built (no Docker engine, no
Kubernetes), so these checks are what stands between a typo and a user's first `docker compose up`:
every file parses, the compose services share one work-folder path, no password is written down, the
image installs the sandbox and the cluster extra, the Helm values launch runs as Kubernetes Jobs from
our code location, and every SPEC2PROD_* name the files and docs/deploy.md mention is one the code reads.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import REPO_ROOT

DEPLOY = REPO_ROOT / "deploy"
CLUSTER = DEPLOY / "cluster"
COMPOSE = CLUSTER / "docker-compose.yaml"
DOCKERFILE = CLUSTER / "Dockerfile"
HELM_VALUES = CLUSTER / "helm-values.yaml"
CLUSTER_WORKSPACE = CLUSTER / "workspace.yaml"
DEPLOY_DOC = REPO_ROOT / "docs" / "deploy.md"
PRODUCT_PACKAGES = ("spec2prod_assets", "resources", "sensors")

CODE_LOCATION_MODULE = "spec2prod_assets.definitions"
COMPOSE_SERVICES = {"postgres", "redis", "code-server", "webserver", "daemon", "worker-1", "worker-2"}
# Services whose containers run steps (run workers in the code server, Celery workers) or read the
# project for the spec sensor: all must see the work folder and the project at the same paths.
STEP_SERVICES = ("code-server", "daemon", "worker-1", "worker-2")
# `${NAME:?message}` or `${NAME:-default}` / `${NAME}`: a value compose takes from the environment.
INTERPOLATION = re.compile(r"^\$\{[A-Za-z_][A-Za-z0-9_]*(?:(?::?[?-]).*)?\}$")
SECRET_NAME = re.compile(r"PASSWORD|SECRET|API_KEY|TOKEN", re.IGNORECASE)
SPEC2PROD_NAME = re.compile(r"\bSPEC2PROD_[A-Z0-9_]*[A-Z0-9]")


def _yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return _yaml(COMPOSE)


@pytest.fixture(scope="module")
def helm() -> dict[str, Any]:
    return _yaml(HELM_VALUES)


def _yaml_files() -> list[Path]:
    return sorted(path for pattern in ("*.yaml", "*.yml") for path in DEPLOY.rglob(pattern))


def test_the_cluster_profile_ships_its_files() -> None:
    missing = [
        path.relative_to(REPO_ROOT)
        for path in (DOCKERFILE, COMPOSE, CLUSTER_WORKSPACE, HELM_VALUES, DEPLOY_DOC)
        if not path.is_file()
    ]
    assert not missing


@pytest.mark.parametrize("path", _yaml_files(), ids=lambda path: str(path.relative_to(DEPLOY)))
def test_every_yaml_file_under_deploy_parses_to_a_mapping(path: Path) -> None:
    assert isinstance(_yaml(path), dict), f"{path.relative_to(REPO_ROOT)} is not a YAML mapping"


def test_compose_has_the_documented_services(compose: dict[str, Any]) -> None:
    assert set(compose["services"]) >= COMPOSE_SERVICES


def _mounts(service: dict[str, Any]) -> dict[str, str]:
    """target path -> source (named volume or host path), from compose's short volume syntax."""
    mounts = {}
    for entry in service.get("volumes", []):
        parts = entry.split(":")
        if parts[-1] in ("ro", "rw"):
            parts.pop()
        mounts[parts[-1]] = ":".join(parts[:-1])  # a host path given as ${VAR:?message} holds a colon
    return mounts


def test_every_step_running_service_mounts_the_work_volume_at_one_path_holding_the_work_dir(
    compose: dict[str, Any],
) -> None:
    services = compose["services"]
    named_volumes = set(compose.get("volumes") or {})
    seen: dict[str, set[tuple[str, str]]] = {}
    for name in STEP_SERVICES:
        work_dir = services[name]["environment"]["SPEC2PROD_WORK_DIR"]
        holding = {
            (target, source)
            for target, source in _mounts(services[name]).items()
            if source in named_volumes and Path(work_dir).is_relative_to(target)
        }
        assert len(holding) == 1, f"{name}: no single named volume holds SPEC2PROD_WORK_DIR={work_dir}"
        seen[name] = holding
    assert len({frozenset(mount) for mount in seen.values()}) == 1, seen


def test_every_step_running_service_sees_the_project_read_only_at_its_project_root(
    compose: dict[str, Any],
) -> None:
    for name in STEP_SERVICES:
        service = compose["services"][name]
        root = service["environment"]["SPEC2PROD_PROJECT_ROOT"]
        entries = [entry for entry in service["volumes"] if entry.rsplit(":", 2)[-2:] == [root, "ro"]]
        assert entries, f"{name}: the project is not mounted read-only at {root}"


def _literal_secrets(compose: dict[str, Any]) -> list[str]:
    found = []
    for name, service in compose["services"].items():
        environment = service.get("environment") or {}
        for key, value in environment.items():
            text = "" if value is None else str(value)
            if SECRET_NAME.search(key) and text and not INTERPOLATION.match(text):
                found.append(f"{name}.{key}")
            userinfo = re.search(r"://[^/@\s:]+:([^@\s]+)@", text)
            if userinfo and not INTERPOLATION.match(userinfo.group(1)):
                found.append(f"{name}.{key} (password in the URL)")
    return found


def test_compose_writes_down_no_password(compose: dict[str, Any]) -> None:
    assert not _literal_secrets(compose)
    password = compose["services"]["postgres"]["environment"]["POSTGRES_PASSWORD"]
    assert re.fullmatch(r"\$\{POSTGRES_PASSWORD:\?.+\}", password), "an unset password must stop compose"


def test_the_secret_check_catches_a_literal_password() -> None:
    """The check above must be able to fail: a literal value and a URL password are both found."""
    leaky = {
        "services": {
            "db": {"environment": {"POSTGRES_PASSWORD": "hunter2"}},
            "app": {"environment": {"SPEC2PROD_POSTGRES_URL": "postgresql://u:hunter2@db:5432/x"}},
        }
    }
    assert len(_literal_secrets(leaky)) == 2


def test_the_webserver_and_daemon_load_the_code_server_that_compose_starts(
    compose: dict[str, Any],
) -> None:
    command = compose["services"]["code-server"]["command"]
    assert CODE_LOCATION_MODULE in command
    port = int(command[command.index("-p") + 1])
    [location] = _yaml(CLUSTER_WORKSPACE)["load_from"]
    assert location["grpc_server"]["host"] == "code-server"
    assert location["grpc_server"]["port"] == port


def test_compose_celery_workers_start_with_the_team_celery_config(compose: dict[str, Any]) -> None:
    for name in ("worker-1", "worker-2"):
        command = compose["services"][name]["command"]
        assert command[:3] == ["dagster-celery", "worker", "start"]
        config = command[command.index("-y") + 1]
        assert config.endswith("/deploy/team/celery.yaml"), config
    if not (DEPLOY / "team" / "celery.yaml").is_file():
        pytest.skip("deploy/team/celery.yaml is not written yet")


def test_compose_runs_and_celery_workers_use_the_same_broker_and_backend(compose: dict[str, Any]) -> None:
    """Runs submit to and wait on SPEC2PROD_CELERY_BROKER (broker and result backend in one); workers take
    both from deploy/team/celery.yaml. A different backend would leave every step waiting."""
    celery_yaml = DEPLOY / "team" / "celery.yaml"
    if not celery_yaml.is_file():
        pytest.skip("deploy/team/celery.yaml is not written yet")
    worker_config = _yaml(celery_yaml)["execution"]["config"]
    for name in ("code-server", "worker-1", "worker-2"):
        env = compose["services"][name]["environment"]
        broker = env["SPEC2PROD_CELERY_BROKER"]
        assert env.get(worker_config["broker"]["env"]) == broker, name
        assert env.get(worker_config["backend"]["env"]) == broker, name


def _dockerfile_runs() -> str:
    """The Dockerfile's RUN instructions, continuation lines joined, comments dropped."""
    lines = [
        line
        for line in DOCKERFILE.read_text(encoding="utf-8").splitlines()
        if not line.lstrip().startswith("#")
    ]
    return "\n".join(lines).replace("\\\n", " ")


def test_the_image_installs_bubblewrap_with_apt() -> None:
    assert re.search(r"^RUN .*apt-get install\b[^\n]*\bbubblewrap\b", _dockerfile_runs(), re.MULTILINE)


def test_the_image_installs_the_project_with_the_cluster_extra() -> None:
    assert re.search(r"^RUN .*pip install\b[^\n]*\.\[cluster\]", _dockerfile_runs(), re.MULTILINE)


def test_the_image_puts_the_team_instance_config_in_dagster_home() -> None:
    text = _dockerfile_runs()
    assert re.search(r"^ENV DAGSTER_HOME=\S+", text, re.MULTILINE)
    assert re.search(r'cp deploy/team/dagster\.yaml "?\$DAGSTER_HOME', text)
    if not (DEPLOY / "team" / "dagster.yaml").is_file():
        pytest.skip("deploy/team/dagster.yaml is not written yet")


def test_helm_launches_each_run_as_a_kubernetes_job(helm: dict[str, Any]) -> None:
    assert helm["runLauncher"]["type"] == "K8sRunLauncher"
    assert "k8sRunLauncher" in helm["runLauncher"]["config"]


def test_helm_user_deployment_serves_our_code_location(helm: dict[str, Any]) -> None:
    user = helm["dagster-user-deployments"]
    assert user["enabled"] is True
    [deployment] = user["deployments"]
    args = deployment.get("codeServerArgs") or deployment.get("dagsterApiGrpcArgs") or []
    assert args[args.index("-m") + 1] == CODE_LOCATION_MODULE


def test_helm_run_pods_mount_the_shared_work_volume_where_compose_does(
    helm: dict[str, Any], compose: dict[str, Any]
) -> None:
    launcher = helm["runLauncher"]["config"]["k8sRunLauncher"]
    claims = {
        volume["name"]: volume["persistentVolumeClaim"]["claimName"]
        for volume in launcher["volumes"]
        if "persistentVolumeClaim" in volume
    }
    helm_mounts = {mount["mountPath"] for mount in launcher["volumeMounts"] if mount["name"] in claims}
    compose_targets = set(_mounts(compose["services"]["worker-1"]))
    assert helm_mounts == compose_targets


def test_helm_queues_runs_and_limits_the_pool(helm: dict[str, Any]) -> None:
    coordinator = helm["dagsterDaemon"]["runCoordinator"]
    assert coordinator["enabled"] is True
    assert coordinator["type"] == "QueuedRunCoordinator"
    concurrency = helm["concurrency"]
    assert concurrency["enabled"] is True
    assert concurrency["runs"]["maxConcurrentRuns"] >= 1
    assert concurrency["pools"]["defaultLimit"] >= 1


def _names_read_by_the_code() -> str:
    return "\n".join(
        path.read_text(encoding="utf-8")
        for package in PRODUCT_PACKAGES
        for path in sorted((REPO_ROOT / package).rglob("*.py"))
    )


def _env_sources(node: Any) -> set[str]:
    """Names in Dagster's `{env: NAME}` config values: the instance or executor reads them."""
    if isinstance(node, dict):
        found = {node["env"]} if set(node) == {"env"} and isinstance(node["env"], str) else set()
        return found.union(*(_env_sources(value) for value in node.values()))
    if isinstance(node, list):
        return set().union(*(_env_sources(value) for value in node))
    return set()


def _names_read_by_dagster_config() -> set[str]:
    """Variables that Dagster itself reads from the profiles' instance and executor files."""
    return set().union(*(_env_sources(_yaml(path)) for path in _yaml_files() if path.parent != CLUSTER))


def _documented_names() -> dict[str, set[str]]:
    """SPEC2PROD_* name -> the files under deploy/cluster/ and docs/deploy.md that mention it."""
    sources = [path for path in sorted(CLUSTER.rglob("*")) if path.is_file()] + [DEPLOY_DOC]
    names: dict[str, set[str]] = {}
    for path in sources:
        for name in SPEC2PROD_NAME.findall(path.read_text(encoding="utf-8")):
            names.setdefault(name, set()).add(str(path.relative_to(REPO_ROOT)))
    return names


def test_every_spec2prod_variable_the_deploy_files_name_is_read_by_the_code() -> None:
    code = _names_read_by_the_code()
    config = _names_read_by_dagster_config()
    documented = _documented_names()
    assert "SPEC2PROD_WORK_DIR" in documented  # the scan found the names at all
    unknown = {
        name: sorted(files)
        for name, files in documented.items()
        if name not in config and not re.search(rf"\b{re.escape(name)}\b", code)
    }
    assert not unknown, (
        f"named in the deploy files, read nowhere in {PRODUCT_PACKAGES} "
        f"nor as {{env: NAME}} in deploy/local|team: {unknown}"
    )


def test_env_references_in_dagster_config_are_found() -> None:
    """The config scan above must see nested `{env: NAME}` values and nothing else."""
    config = {"storage": {"postgres": {"postgres_url": {"env": "A"}}}, "x": [{"env": "B"}, {"env": 1}]}
    assert _env_sources(config) == {"A", "B"}
