from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from spec2prod_assets.deploy.local_deployer import LocalReleaseDeployer, PytestHealthCheck
from spec2prod_assets.deploy.model import HealthCheckFailed, promote
from spec2prod_assets.deploy_cli import add_deploy_commands
from tests.spec2prod_assets.deploy.pretend_target import DEPLOY, HEALTH, ROLLBACK, command_deployer, log_lines
from tests.support.tiny_component import COMPONENT, healthy, make_bundle, unhealthy


def _run(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="spec2prod")
    add_deploy_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    code: int = args.handler(args)
    return code


def test_releases_lists_every_release_with_current_and_bad_marked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bundle = make_bundle(tmp_path)
    root = tmp_path / "deploy"
    good = LocalReleaseDeployer(root, health_check=healthy).deploy(bundle.path, "staging", COMPONENT)
    with pytest.raises(HealthCheckFailed) as caught:
        LocalReleaseDeployer(root, health_check=unhealthy).deploy(bundle.path, "staging", COMPONENT)
    assert _run("releases", "staging", COMPONENT, "--deploy-root", str(root)) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["RELEASE", "STATE", "CREATED", "BUNDLE", "SHA256"]
    bad_line, current_line = lines[1:]
    assert bad_line.startswith(caught.value.outcome.release_id) and " bad " in bad_line
    assert current_line.startswith(good.release_id) and " current " in current_line
    assert current_line.endswith(bundle.sha256)


def test_history_shows_deploy_and_promote(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    bundle = make_bundle(tmp_path)
    root = tmp_path / "deploy"
    deployer = LocalReleaseDeployer(root, health_check=healthy)
    deployer.deploy(bundle.path, "staging", COMPONENT)
    promote(deployer, bundle.path, COMPONENT)
    monkeypatch.setenv("SPEC2PROD_DEPLOY_ROOT", str(root))
    assert _run("history", "staging", COMPONENT) == 0
    assert _run("history", "production", COMPONENT) == 0
    staging, production = capsys.readouterr().out.splitlines()
    assert staging.split()[1:4:2] == ["deploy", "healthy"]
    assert production.split()[1:4:2] == ["promote", "healthy"]


def test_rollback_makes_the_previous_release_live_after_a_real_health_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "deploy"
    deployer = LocalReleaseDeployer(root, health_check=PytestHealthCheck(attempts=1, timeout_s=60))
    first = deployer.deploy(make_bundle(tmp_path, version="1.0.0").path, "staging", COMPONENT)
    deployer.deploy(make_bundle(tmp_path, version="1.0.1").path, "staging", COMPONENT)
    assert _run("rollback", "staging", COMPONENT, "--deploy-root", str(root)) == 0
    assert f"rolled back to {first.release_id}" in capsys.readouterr().out
    healthy_now = deployer.healthy_release("staging", COMPONENT)
    assert healthy_now is not None and healthy_now.release_id == first.release_id


def test_rollback_without_an_earlier_release_fails_with_a_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "deploy"
    LocalReleaseDeployer(root, health_check=healthy).deploy(make_bundle(tmp_path).path, "staging", COMPONENT)
    assert _run("rollback", "staging", COMPONENT, "--deploy-root", str(root)) == 1
    assert "no earlier healthy release to roll back to" in capsys.readouterr().err


def test_an_unknown_environment_fails_with_a_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run("releases", "nowhere", COMPONENT, "--deploy-root", str(tmp_path)) == 1
    assert f"nothing is deployed to nowhere/{COMPONENT} under {tmp_path}" in capsys.readouterr().err


def test_the_deploy_root_defaults_to_the_configured_project_work_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SPEC2PROD_DEPLOY_ROOT", raising=False)
    monkeypatch.setenv("SPEC2PROD_PROJECT_ROOT", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    root = tmp_path / ".spec2prod" / "deploy"
    LocalReleaseDeployer(root, health_check=healthy).deploy(make_bundle(tmp_path).path, "staging", COMPONENT)
    assert _run("releases", "staging", COMPONENT) == 0
    assert "current" in capsys.readouterr().out


def test_history_skips_a_torn_line_shows_the_entries_around_it_and_warns(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "deploy"
    deployer = LocalReleaseDeployer(root, health_check=healthy)
    deployer.deploy(make_bundle(tmp_path).path, "staging", COMPONENT)
    history = root / "staging" / COMPONENT / "history.jsonl"
    with history.open("ab") as handle:
        handle.write(b'{"time": "2026-\xff')
    last = deployer.deploy(make_bundle(tmp_path, version="1.0.1").path, "staging", COMPONENT)
    assert _run("history", "staging", COMPONENT, "--deploy-root", str(root)) == 0
    captured = capsys.readouterr()
    assert len(captured.out.splitlines()) == 2 and last.release_id in captured.out.splitlines()[-1]
    assert captured.err == f"spec2prod history: warning: {history} line 2: not UTF-8 text; skipped\n"


def test_releases_with_a_current_that_is_not_a_symlink_lists_and_warns(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "deploy"
    release = LocalReleaseDeployer(root, health_check=healthy).deploy(
        make_bundle(tmp_path).path, "staging", COMPONENT
    )
    current = root / "staging" / COMPONENT / "current"
    current.unlink()
    current.write_text("not a link\n")
    assert _run("releases", "staging", COMPONENT, "--deploy-root", str(root)) == 0
    captured = capsys.readouterr()
    assert captured.out.splitlines()[1].startswith(release.release_id)
    assert "current" not in captured.out.splitlines()[1]
    assert captured.err == (
        f"spec2prod releases: warning: {current} is a file, not a symlink to a release; "
        "the next deploy moves it aside\n"
    )


def test_an_environment_name_with_a_trailing_newline_fails_with_a_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run("history", "staging\n", COMPONENT, "--deploy-root", str(tmp_path)) == 1
    assert "environment 'staging\\n' must be letters" in capsys.readouterr().err


def test_rollback_uses_the_configured_command_deployer(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "target"
    deployer = command_deployer(target)
    first = deployer.deploy(make_bundle(tmp_path, version="1.0.0").path, "staging", COMPONENT)
    deployer.deploy(make_bundle(tmp_path, version="1.0.1").path, "staging", COMPONENT)
    for name, value in {
        "SPEC2PROD_DEPLOYER": "command",
        "SPEC2PROD_DEPLOY_COMMAND": DEPLOY,
        "SPEC2PROD_HEALTH_COMMAND": HEALTH,
        "SPEC2PROD_ROLLBACK_COMMAND": ROLLBACK,
        "SPEC2PROD_DEPLOY_STATE_ROOT": str(target / "state"),
        "SPEC2PROD_DEPLOY_WORKING_DIR": str(target),
    }.items():
        monkeypatch.setenv(name, value)

    assert _run("rollback", "staging", COMPONENT, "--project-root", str(tmp_path)) == 0

    assert f"rolled back to {first.release_id}" in capsys.readouterr().out
    assert log_lines(target)[-2:] == [f"rollback to {first.release_id}", f"health {first.release_id}"]


def test_the_deploy_commands_read_the_project_of_the_current_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "project"
    (project / "specs").mkdir(parents=True)
    (project / "src").mkdir()
    LocalReleaseDeployer(project / ".spec2prod" / "deploy", health_check=healthy).deploy(
        make_bundle(tmp_path).path, "staging", COMPONENT
    )
    monkeypatch.chdir(project / "src")
    assert _run("releases", "staging", COMPONENT) == 0
    assert "current" in capsys.readouterr().out


def test_project_root_names_the_project_from_anywhere(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "project"
    LocalReleaseDeployer(project / ".spec2prod" / "deploy", health_check=healthy).deploy(
        make_bundle(tmp_path).path, "staging", COMPONENT
    )
    monkeypatch.chdir(tmp_path)
    assert _run("history", "staging", COMPONENT, "--project-root", str(project)) == 0
    assert " deploy " in capsys.readouterr().out


def test_outside_any_project_the_deploy_commands_say_so_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert _run("rollback", "staging", COMPONENT) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("spec2prod rollback: error: No project:") and "SPEC2PROD_PROJECT_ROOT" in err


def test_a_malformed_deployer_variable_is_one_line_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SPEC2PROD_DEPLOYER", "kubectl")
    assert _run("releases", "staging", COMPONENT, "--project-root", str(tmp_path)) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "SPEC2PROD_DEPLOYER='kubectl'" in err
