"""A real SIGKILL of a child process at the points a crash hurts most; after each, the next deploy
succeeds and the state is consistent: nothing unchecked counts as healthy, nothing bad is switched back
to, and the history says what happened."""

from __future__ import annotations

import functools
import multiprocessing
import os
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from spec2prod_assets.deploy.local_deployer import LocalReleaseDeployer
from spec2prod_assets.deploy.model import HealthCheckFailed, PromotionRefusedError, promote
from spec2prod_assets.deploy.state_store import ReleaseStore
from spec2prod_assets.release import bundle as bundle_module
from spec2prod_assets.release.bundle import build_bundle, verify_bundle
from tests.spec2prod_assets.deploy.pretend_target import command_deployer
from tests.support.tiny_component import (
    COMPONENT,
    healthy,
    make_bundle,
    manifest_for,
    unhealthy,
    write_component,
)

_SPAWN = multiprocessing.get_context("spawn")
_ENV = "staging"


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _kill_at(step: str, reached: str) -> None:
    if step == reached:
        _die()


def _run_killed(target: Callable[..., None], *args: Any) -> None:
    child = _SPAWN.Process(target=target, args=args)
    child.start()
    child.join(60)
    if child.exitcode is None:
        child.kill()
        child.join(10)
    assert child.exitcode == -signal.SIGKILL


def _store(root: Path) -> ReleaseStore:
    return ReleaseStore(root, _ENV, COMPONENT)


# --- mid-bundle -------------------------------------------------------------------------------------


def _bundle_and_die(tree: str, out_dir: str) -> None:
    real = bundle_module._add_member
    added: list[str] = []

    def add_then_die(tar: Any, name: str, data: bytes) -> None:
        real(tar, name, data)
        added.append(name)
        if len(added) == 2:
            tar.fileobj.flush()
            _die()

    bundle_module._add_member = add_then_die  # type: ignore[assignment]
    build_bundle(Path(tree), manifest_for(), Path(out_dir))


def test_a_bundle_build_killed_midway_leaves_a_temporary_the_next_build_removes(tmp_path: Path) -> None:
    tree = write_component(tmp_path / "tree")
    out_dir = tmp_path / "bundles"
    _run_killed(_bundle_and_die, str(tree), str(out_dir))
    assert [path.name for path in out_dir.iterdir() if path.name.startswith(".bundle-")] != []
    assert list(out_dir.glob("*.tar.gz")) == []

    bundle = build_bundle(tree, manifest_for(), out_dir)
    assert [path.name for path in out_dir.iterdir()] == [bundle.path.name]
    assert verify_bundle(bundle.path) == bundle.manifest
    outcome = LocalReleaseDeployer(tmp_path / "deploy", health_check=healthy).deploy(
        bundle.path, _ENV, COMPONENT
    )
    assert outcome.healthy


# --- mid-history-append -----------------------------------------------------------------------------


def _deploy_and_die_mid_append(root: str, bundle: str) -> None:
    real_write = os.write

    def torn_write(fd: int, data: Any) -> int:
        if b'"outcome":' in bytes(data):
            real_write(fd, bytes(data)[: len(data) // 2])
            os.fsync(fd)
            _die()
        return real_write(fd, data)

    os.write = torn_write
    LocalReleaseDeployer(Path(root), health_check=healthy).deploy(Path(bundle), _ENV, COMPONENT)


def test_a_deploy_killed_mid_history_append_costs_only_its_own_line(tmp_path: Path) -> None:
    root = tmp_path / "deploy"
    deployer = LocalReleaseDeployer(root, health_check=healthy)
    first = deployer.deploy(make_bundle(tmp_path, version="1.0.0").path, _ENV, COMPONENT)
    killed = make_bundle(tmp_path, version="1.0.1")
    _run_killed(_deploy_and_die_mid_append, str(root), str(killed.path))
    store = _store(root)
    interrupted = store.current_id()
    assert interrupted is not None and interrupted.endswith(killed.sha256[:12])
    assert not store.history_file.read_bytes().endswith(b"\n")
    assert deployer.healthy_release(_ENV, COMPONENT) is None

    last = deployer.deploy(make_bundle(tmp_path, version="1.0.2").path, _ENV, COMPONENT)
    read = store.read_history()
    assert [(e.release_id, e.outcome) for e in read.entries] == [
        (first.release_id, "healthy"),
        (interrupted, "failed"),
        (last.release_id, "healthy"),
    ]
    assert len(read.skipped) == 1 and "line 2: not a history entry" in read.skipped[0]
    assert deployer.rollback(_ENV, COMPONENT).release_id == first.release_id


# --- between a failed health check and the switch back ----------------------------------------------


def _fail_and_die_at(root: str, bundle: str, step: str) -> None:
    LocalReleaseDeployer(
        Path(root), health_check=unhealthy, on_step=functools.partial(_kill_at, step)
    ).deploy(Path(bundle), _ENV, COMPONENT)


@pytest.mark.parametrize("step", ["before_switch_back", "after_switch_back"])
def test_a_deploy_killed_around_the_switch_back_is_never_switched_back_to(tmp_path: Path, step: str) -> None:
    root = tmp_path / "deploy"
    good = LocalReleaseDeployer(root, health_check=healthy).deploy(
        make_bundle(tmp_path, version="1.0.0").path, _ENV, COMPONENT
    )
    broken = make_bundle(tmp_path, version="1.0.1")
    _run_killed(_fail_and_die_at, str(root), str(broken.path), step)
    store = _store(root)
    expected_live = broken.sha256[:12] if step == "before_switch_back" else good.release_id
    assert (store.current_id() or "").endswith(expected_live)
    with pytest.raises(PromotionRefusedError):
        promote(LocalReleaseDeployer(root, health_check=healthy), broken.path, COMPONENT)

    with pytest.raises(HealthCheckFailed) as caught:
        LocalReleaseDeployer(root, health_check=unhealthy).deploy(
            make_bundle(tmp_path, version="1.0.2").path, _ENV, COMPONENT
        )
    assert caught.value.outcome.rolled_back
    assert store.current_id() == good.release_id == caught.value.outcome.live_release_id

    after = LocalReleaseDeployer(root, health_check=healthy).deploy(broken.path, _ENV, COMPONENT)
    assert after.healthy and store.current_id() == after.release_id
    outcomes = [e.outcome for e in store.history()]
    assert outcomes[0] == "healthy" and outcomes[-2:] == ["rolled_back", "healthy"]
    assert store.read_history().skipped == ()


# --- the command deployer, after its command and before anything else -------------------------------


def _command_deploy_and_die(target: str, bundle: str) -> None:
    deployer = command_deployer(Path(target), on_step=functools.partial(_kill_at, "after_command"))
    deployer.deploy(Path(bundle), _ENV, COMPONENT)


def test_a_command_deployer_killed_after_its_command_leaves_records_in_step(tmp_path: Path) -> None:
    target = tmp_path / "target"
    deployer = command_deployer(target)
    first = deployer.deploy(make_bundle(tmp_path, version="1.0.0").path, _ENV, COMPONENT)
    killed = make_bundle(tmp_path, version="1.0.1")
    _run_killed(_command_deploy_and_die, str(target), str(killed.path))
    assert (target / "live").read_text().strip() == killed.sha256
    store = ReleaseStore(target / "state", _ENV, COMPONENT)
    interrupted = store.current_id()
    assert interrupted is not None and interrupted.endswith(killed.sha256[:12])
    assert deployer.healthy_release(_ENV, COMPONENT) is None
    with pytest.raises(PromotionRefusedError):
        promote(deployer, killed.path, COMPONENT)

    last = deployer.deploy(make_bundle(tmp_path, version="1.0.2").path, _ENV, COMPONENT)
    assert last.healthy and store.current_id() == last.release_id
    assert [(e.release_id, e.outcome) for e in store.history()] == [
        (first.release_id, "healthy"),
        (interrupted, "failed"),
        (last.release_id, "healthy"),
    ]
    assert "was live with no recorded outcome" in last.message
    assert deployer.rollback(_ENV, COMPONENT).release_id == first.release_id
