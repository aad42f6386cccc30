from __future__ import annotations

import functools
import multiprocessing
import os
import signal
import tarfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from spec2prod_assets.deploy.local_deployer import LocalReleaseDeployer, PytestHealthCheck
from spec2prod_assets.deploy.model import (
    Deployer,
    DeployError,
    DeployLockedError,
    HealthCheckFailed,
    HealthResult,
    PromotionRefusedError,
    promote,
)
from spec2prod_assets.deploy.state_store import RELEASE_MARKER, ReleaseStore
from spec2prod_assets.release.bundle import MANIFEST_NAME, BundleError, ReleaseManifest
from tests.support.tiny_component import (
    COMPONENT,
    healthy,
    make_bundle,
    manifest_for,
    unhealthy,
    write_raw_bundle,
)

_CHECK = PytestHealthCheck(attempts=2, interval_s=0.05, timeout_s=60)
_SPAWN = multiprocessing.get_context("spawn")


def _live(root: Path, environment: str = "staging") -> str | None:
    return ReleaseStore(root, environment, COMPONENT).current_id()


def _release_dirs(root: Path, environment: str = "staging") -> list[str]:
    releases = root / environment / COMPONENT / "releases"
    return sorted(p.name for p in releases.iterdir()) if releases.is_dir() else []


class _Verdicts:
    """A fake health check that answers from a list, one verdict per deploy."""

    def __init__(self, verdicts: list[bool]) -> None:
        self._verdicts: Iterator[bool] = iter(verdicts)

    def __call__(self, release_dir: Path, manifest: ReleaseManifest) -> HealthResult:
        return (healthy if next(self._verdicts) else unhealthy)(release_dir, manifest)


def test_deploy_switches_current_and_the_health_tests_pass_against_the_release_folder(tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path)
    deployer = LocalReleaseDeployer(tmp_path / "deploy", health_check=_CHECK)
    outcome = deployer.deploy(bundle.path, "staging", COMPONENT)
    assert outcome.healthy and not outcome.rolled_back
    assert outcome.bundle_sha256 == bundle.sha256
    assert outcome.release_id.endswith(bundle.sha256[:12])
    assert outcome.live_release_id == outcome.release_id == _live(tmp_path / "deploy")
    assert "2 passed" in outcome.health_output
    current = tmp_path / "deploy/staging/calc/current"
    assert current.is_symlink() and (current / "src/calc/__init__.py").is_file()
    assert [(e.action, e.outcome) for e in outcome.history_tail] == [("deploy", "healthy")]


def test_promote_deploys_the_healthy_staging_release_to_production(tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path)
    deployer = LocalReleaseDeployer(tmp_path / "deploy", health_check=_CHECK)
    staged = deployer.deploy(bundle.path, "staging", COMPONENT)
    promoted = promote(deployer, bundle.path, COMPONENT)
    assert promoted.healthy and promoted.action == "promote"
    assert promoted.environment == "production"
    assert promoted.bundle_sha256 == staged.bundle_sha256 == bundle.sha256
    production = deployer.healthy_release("production", COMPONENT)
    assert production is not None and production.bundle_sha256 == bundle.sha256
    assert [e.action for e in deployer.history("production", COMPONENT)] == ["promote"]


def test_health_failure_switches_back_to_the_previous_release_and_marks_the_new_one_bad(
    tmp_path: Path,
) -> None:
    good = make_bundle(tmp_path, version="1.0.0")
    broken = make_bundle(tmp_path, healthy=False, version="1.0.1")
    deployer = LocalReleaseDeployer(tmp_path / "deploy", health_check=_CHECK)
    first = deployer.deploy(good.path, "staging", COMPONENT)
    with pytest.raises(HealthCheckFailed) as caught:
        deployer.deploy(broken.path, "staging", COMPONENT)
    outcome = caught.value.outcome
    assert not outcome.healthy and outcome.rolled_back
    assert "assert -1 == 5" in outcome.health_output
    assert "failed all 2 attempts" in str(caught.value)
    assert _live(tmp_path / "deploy") == first.release_id == outcome.live_release_id
    infos = {info.release_id: info for info in deployer.releases("staging", COMPONENT)}
    assert infos[outcome.release_id].is_bad and not infos[first.release_id].is_bad
    assert [(e.action, e.outcome) for e in deployer.history("staging", COMPONENT)] == [
        ("deploy", "healthy"),
        ("deploy", "rolled_back"),
    ]
    healthy_now = deployer.healthy_release("staging", COMPONENT)
    assert healthy_now is not None and healthy_now.release_id == first.release_id


def test_a_failed_first_deploy_leaves_no_current(tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path)
    deployer = LocalReleaseDeployer(tmp_path / "deploy", health_check=unhealthy)
    with pytest.raises(HealthCheckFailed) as caught:
        deployer.deploy(bundle.path, "staging", COMPONENT)
    assert not caught.value.outcome.rolled_back
    assert caught.value.outcome.live_release_id is None
    assert "current removed" in caught.value.outcome.message
    assert not (tmp_path / "deploy/staging/calc/current").exists()
    assert deployer.healthy_release("staging", COMPONENT) is None


def test_a_health_check_that_raises_counts_as_a_failure(tmp_path: Path) -> None:
    def explode(release_dir: Path, manifest: ReleaseManifest) -> HealthResult:
        raise OSError("no such interpreter")

    bundle = make_bundle(tmp_path)
    deployer = LocalReleaseDeployer(tmp_path / "deploy", health_check=explode)
    with pytest.raises(HealthCheckFailed, match="no such interpreter"):
        deployer.deploy(bundle.path, "staging", COMPONENT)


def test_promotion_of_a_bundle_other_than_the_healthy_staging_one_is_refused(tmp_path: Path) -> None:
    staged = make_bundle(tmp_path, version="1.0.0")
    other = make_bundle(tmp_path, version="2.0.0")
    deployer = LocalReleaseDeployer(tmp_path / "deploy", health_check=healthy)
    deployer.deploy(staged.path, "staging", COMPONENT)
    with pytest.raises(PromotionRefusedError) as caught:
        promote(deployer, other.path, COMPONENT)
    assert other.sha256 in str(caught.value) and staged.sha256 in str(caught.value)
    assert not (tmp_path / "deploy/production").exists()


def test_promotion_without_a_healthy_staging_release_is_refused(tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path)
    deployer = LocalReleaseDeployer(tmp_path / "deploy", health_check=unhealthy)
    with pytest.raises(HealthCheckFailed):
        deployer.deploy(bundle.path, "staging", COMPONENT)
    with pytest.raises(PromotionRefusedError, match="staging has no healthy release"):
        promote(deployer, bundle.path, COMPONENT)


def _hold_lock(
    root: str, ready: multiprocessing.synchronize.Event, release: multiprocessing.synchronize.Event
) -> None:
    with ReleaseStore(Path(root), "staging", COMPONENT).locked(
        "20990101T000000000000-abcdefabcdef", "deploy"
    ):
        ready.set()
        release.wait(30)


def test_a_concurrent_deploy_is_refused_at_once_naming_the_holder(tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path)
    deployer = LocalReleaseDeployer(tmp_path / "deploy", health_check=healthy)
    ready, release = _SPAWN.Event(), _SPAWN.Event()
    holder = _SPAWN.Process(target=_hold_lock, args=(str(tmp_path / "deploy"), ready, release))
    holder.start()
    try:
        assert ready.wait(30)
        with pytest.raises(DeployLockedError) as caught:
            deployer.deploy(bundle.path, "staging", COMPONENT)
        assert f"pid {holder.pid}" in str(caught.value)
        assert "20990101T000000000000-abcdefabcdef" in str(caught.value)
        assert _release_dirs(tmp_path / "deploy") == []
    finally:
        release.set()
        holder.join(30)
    assert deployer.deploy(bundle.path, "staging", COMPONENT).healthy


def test_pruning_keeps_the_newest_releases_current_and_the_rollback_target(tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path)
    deployer = LocalReleaseDeployer(
        tmp_path / "deploy", keep_releases=2, health_check=_Verdicts([True, True, False, False, False])
    )
    ids = []
    for _ in range(5):
        try:
            ids.append(deployer.deploy(bundle.path, "staging", COMPONENT).release_id)
        except HealthCheckFailed as failed:
            ids.append(failed.outcome.release_id)
    rollback_target, current, pruned, *newest = ids
    assert _live(tmp_path / "deploy") == current
    assert _release_dirs(tmp_path / "deploy") == sorted([rollback_target, current, *newest])
    assert pruned not in _release_dirs(tmp_path / "deploy")


def _healthy_bad_healthy(tmp_path: Path) -> tuple[LocalReleaseDeployer, str, str, str]:
    """Three deploys to staging: healthy, failing its health check (so marked bad), healthy; the next
    health check (of a rollback) passes. Returns the deployer and the three release ids."""
    bundle = make_bundle(tmp_path)
    deployer = LocalReleaseDeployer(tmp_path / "deploy", health_check=_Verdicts([True, False, True, True]))
    first = deployer.deploy(bundle.path, "staging", COMPONENT)
    with pytest.raises(HealthCheckFailed) as caught:
        deployer.deploy(bundle.path, "staging", COMPONENT)
    third = deployer.deploy(bundle.path, "staging", COMPONENT)
    return deployer, first.release_id, caught.value.outcome.release_id, third.release_id


def test_rollback_goes_to_the_previous_healthy_release_skipping_bad_ones(tmp_path: Path) -> None:
    deployer, first, bad, third = _healthy_bad_healthy(tmp_path)
    outcome = deployer.rollback("staging", COMPONENT)
    assert bad not in (first, outcome.release_id)
    assert outcome.action == "rollback" and outcome.healthy
    assert outcome.release_id == first == _live(tmp_path / "deploy")
    assert third != outcome.release_id


def test_rollback_to_a_named_release_and_refusals(tmp_path: Path) -> None:
    deployer, first, bad, live = _healthy_bad_healthy(tmp_path)
    with pytest.raises(DeployError, match="is marked bad"):
        deployer.rollback("staging", COMPONENT, bad)
    with pytest.raises(DeployError, match="is already live"):
        deployer.rollback("staging", COMPONENT, live)
    with pytest.raises(DeployError, match="no release 20990101T000000000000-abcdefabcdef"):
        deployer.rollback("staging", COMPONENT, "20990101T000000000000-abcdefabcdef")
    assert deployer.rollback("staging", COMPONENT, first).release_id == first
    assert _live(tmp_path / "deploy") == first


def test_rollback_without_an_earlier_healthy_release_is_refused(tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path)
    deployer = LocalReleaseDeployer(tmp_path / "deploy", health_check=healthy)
    first = deployer.deploy(bundle.path, "staging", COMPONENT)
    with pytest.raises(DeployError, match="no earlier healthy release"):
        deployer.rollback("staging", COMPONENT)
    assert _live(tmp_path / "deploy") == first.release_id


def _kill_at(step: str, reached: str) -> None:
    if step == reached:
        os.kill(os.getpid(), signal.SIGKILL)


def _deploy_and_die(root: str, bundle: str, step: str) -> None:
    deployer = LocalReleaseDeployer(
        Path(root), health_check=healthy, on_step=functools.partial(_kill_at, step)
    )
    deployer.deploy(Path(bundle), "staging", COMPONENT)


def _start_killed_deploy(root: Path, bundle: Path, step: str) -> None:
    child = _SPAWN.Process(target=_deploy_and_die, args=(str(root), str(bundle), step))
    child.start()
    child.join(60)
    assert child.exitcode == -signal.SIGKILL


@pytest.mark.parametrize(
    ("step", "left_behind"),
    [
        ("before_unpack", "nothing"),
        ("after_unpack", "an unmarked folder"),
        ("before_switch", "a marked release"),
    ],
)
def test_a_deploy_killed_before_the_switch_leaves_the_old_release_live(
    tmp_path: Path, step: str, left_behind: str
) -> None:
    root = tmp_path / "deploy"
    releases = root / "staging/calc/releases"
    old = make_bundle(tmp_path, version="1.0.0")
    new = make_bundle(tmp_path, version="2.0.0")
    deployer = LocalReleaseDeployer(root, health_check=_CHECK)
    live = deployer.deploy(old.path, "staging", COMPONENT).release_id

    _start_killed_deploy(root, new.path, step)

    assert _live(root) == live
    assert (root / "staging/calc/current/src/calc/__init__.py").read_text().startswith('VERSION = "1.0.0"')
    healthy_now = deployer.healthy_release("staging", COMPONENT)
    assert healthy_now is not None and healthy_now.release_id == live
    leftovers = [name for name in _release_dirs(root) if name != live]
    marked = [name for name in leftovers if (releases / name / RELEASE_MARKER).is_file()]
    listed = [info.release_id for info in deployer.releases("staging", COMPONENT)]
    if left_behind == "nothing":
        assert leftovers == [] and listed == [live]
    elif left_behind == "an unmarked folder":
        assert len(leftovers) == 1 and marked == [] and listed == [live]
    else:
        assert len(leftovers) == 1 and marked == leftovers and listed == [*marked, live]

    after = deployer.deploy(new.path, "staging", COMPONENT)
    assert after.healthy and _live(root) == after.release_id
    assert all((releases / name / RELEASE_MARKER).is_file() for name in _release_dirs(root))


def test_a_deploy_killed_after_the_switch_leaves_no_healthy_release_to_promote(tmp_path: Path) -> None:
    root = tmp_path / "deploy"
    old = make_bundle(tmp_path, version="1.0.0")
    new = make_bundle(tmp_path, version="2.0.0")
    deployer = LocalReleaseDeployer(root, health_check=healthy)
    deployer.deploy(old.path, "staging", COMPONENT)

    _start_killed_deploy(root, new.path, "after_switch")

    assert deployer.healthy_release("staging", COMPONENT) is None
    with pytest.raises(PromotionRefusedError):
        promote(deployer, new.path, COMPONENT)
    assert deployer.deploy(new.path, "staging", COMPONENT).healthy


def _bad_checksum(tmp_path: Path) -> Path:
    bundle = make_bundle(tmp_path, version="2.0.0")
    data = bytearray(bundle.path.read_bytes())
    data[-10] ^= 0xFF
    bundle.path.write_bytes(bytes(data))
    return bundle.path


def _raw_with(bad: tarfile.TarInfo) -> Callable[[Path], Path]:
    def build(tmp_path: Path) -> Path:
        manifest = manifest_for().model_dump_json().encode()
        return write_raw_bundle(
            tmp_path / "raw", [(tarfile.TarInfo(MANIFEST_NAME), manifest), (bad, b"x = 1\n")]
        )

    return build


def _symlink(name: str, target: str) -> tarfile.TarInfo:
    link = tarfile.TarInfo(name)
    link.type = tarfile.SYMTYPE
    link.linkname = target
    return link


@pytest.mark.parametrize(
    "corrupt",
    [
        _bad_checksum,
        _raw_with(tarfile.TarInfo("../../escaped.py")),
        _raw_with(tarfile.TarInfo("/tmp/spec2prod-absolute-member.py")),
        _raw_with(_symlink("src/calc/secrets.py", "/etc/passwd")),
    ],
    ids=["bad-checksum", "dotdot-member", "absolute-member", "symlink-member"],
)
def test_a_corrupted_bundle_is_refused_before_anything_moves(
    tmp_path: Path, corrupt: Callable[[Path], Path]
) -> None:
    root = tmp_path / "deploy"
    deployer = LocalReleaseDeployer(root, health_check=healthy)
    live = deployer.deploy(make_bundle(tmp_path, version="1.0.0").path, "staging", COMPONENT).release_id
    before = (_release_dirs(root), deployer.history("staging", COMPONENT))
    bad = corrupt(tmp_path)
    with pytest.raises(BundleError, match=bad.name.replace(".", r"\.")):
        deployer.deploy(bad, "staging", COMPONENT)
    assert (_release_dirs(root), deployer.history("staging", COMPONENT)) == before
    assert _live(root) == live
    assert not (tmp_path / "escaped.py").exists()
    assert not Path("/tmp/spec2prod-absolute-member.py").exists()


def test_a_bundle_of_another_component_is_refused(tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path)
    deployer = LocalReleaseDeployer(tmp_path / "deploy", health_check=healthy)
    with pytest.raises(DeployError, match="is for component 'calc', not 'other'"):
        deployer.deploy(bundle.path, "staging", "other")
    assert not (tmp_path / "deploy").exists()


def test_the_local_deployer_satisfies_the_deployer_protocol(tmp_path: Path) -> None:
    assert isinstance(LocalReleaseDeployer(tmp_path), Deployer)
