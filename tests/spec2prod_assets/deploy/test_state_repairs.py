"""Deploy state that a crash, a full disk or a hand edit left wrong: every case ends with a clear report or
a repair, never with a bad release live, a crash, or an environment that no deploy can get past."""

from __future__ import annotations

import errno
import shutil
from pathlib import Path

import pytest

from spec2prod_assets.deploy.local_deployer import LocalReleaseDeployer
from spec2prod_assets.deploy.model import DeployError, HealthCheckFailed
from spec2prod_assets.deploy.state_store import RELEASE_MARKER, ReleaseStore, check_release_id
from tests.support.tiny_component import COMPONENT, healthy, make_bundle, unhealthy

_ENV = "staging"


def _store(root: Path) -> ReleaseStore:
    return ReleaseStore(root, _ENV, COMPONENT)


def _two_healthy_releases(tmp_path: Path) -> tuple[Path, str, str]:
    root = tmp_path / "deploy"
    deployer = LocalReleaseDeployer(root, health_check=healthy)
    first = deployer.deploy(make_bundle(tmp_path, version="1.0.0").path, _ENV, COMPONENT).release_id
    second = deployer.deploy(make_bundle(tmp_path, version="1.0.1").path, _ENV, COMPONENT).release_id
    return root, first, second


def _fail_a_deploy(tmp_path: Path, root: Path) -> HealthCheckFailed:
    broken = make_bundle(tmp_path, version="9.9.9")
    with pytest.raises(HealthCheckFailed) as caught:
        LocalReleaseDeployer(root, health_check=unhealthy).deploy(broken.path, _ENV, COMPONENT)
    return caught.value


def test_a_full_disk_when_marking_bad_still_leaves_the_previous_release_live(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, _, live = _two_healthy_releases(tmp_path)

    def disk_full(self: ReleaseStore, release_id: str, reason: str) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(ReleaseStore, "mark_bad", disk_full)
    failed = _fail_a_deploy(tmp_path, root)
    assert _store(root).current_id() == live == failed.outcome.live_release_id
    assert "could not mark" in failed.outcome.message and "No space left" in failed.outcome.message
    healthy_now = _store(root).healthy_release()
    assert healthy_now is not None and healthy_now.release_id == live


def test_a_dangling_current_is_never_switched_back_to(tmp_path: Path) -> None:
    root, first, second = _two_healthy_releases(tmp_path)
    shutil.rmtree(_store(root).release_dir(second))
    failed = _fail_a_deploy(tmp_path, root)
    assert _store(root).current_id() == first == failed.outcome.live_release_id
    assert (root / _ENV / COMPONENT / "current" / RELEASE_MARKER).is_file()


def test_a_later_failure_never_switches_back_to_a_release_marked_bad(tmp_path: Path) -> None:
    root, first, second = _two_healthy_releases(tmp_path)
    _store(root).mark_bad(second, "a deploy died after marking it bad, before switching back")
    failed = _fail_a_deploy(tmp_path, root)
    assert _store(root).current_id() == first == failed.outcome.live_release_id


def test_a_torn_history_line_does_not_hide_the_next_entry(tmp_path: Path) -> None:
    root, _, _ = _two_healthy_releases(tmp_path)
    store = _store(root)
    with store.history_file.open("ab") as handle:
        handle.write(b'{"time": "2026-01-01T00:00:00+00:00", "environ')
    third = LocalReleaseDeployer(root, health_check=healthy).deploy(
        make_bundle(tmp_path, version="1.0.2").path, _ENV, COMPONENT
    )
    assert store.history()[-1].release_id == third.release_id
    read = store.read_history()
    assert len(read.entries) == 3
    assert [problem.split(":")[0] for problem in read.skipped] == [f"{store.history_file} line 3"]


def test_a_history_line_with_a_non_utf8_byte_is_skipped_and_reported(tmp_path: Path) -> None:
    root, _, _ = _two_healthy_releases(tmp_path)
    store = _store(root)
    lines = store.history_file.read_bytes().splitlines(keepends=True)
    store.history_file.write_bytes(lines[0].replace(b"healthy", b"h\xffalthy") + lines[1])
    third = LocalReleaseDeployer(root, health_check=healthy).deploy(
        make_bundle(tmp_path, version="1.0.2").path, _ENV, COMPONENT
    )
    read = store.read_history()
    assert len(read.entries) == 2 and read.entries[-1].release_id == third.release_id
    assert read.skipped == (f"{store.history_file} line 1: not UTF-8 text; skipped",)
    assert [entry.release_id for entry in third.history_tail][-1] == third.release_id


def test_a_current_that_is_not_a_symlink_is_reported_and_moved_aside_by_the_next_deploy(
    tmp_path: Path,
) -> None:
    root, _, _ = _two_healthy_releases(tmp_path)
    store = _store(root)
    store.current_link.unlink()
    store.current_link.mkdir()
    (store.current_link / "hand-made.txt").write_text("someone copied a release here")
    assert store.current_id() is None
    assert any("current" in problem and "not a symlink" in problem for problem in store.problems())
    assert [info.is_current for info in store.infos()] == [False, False]

    outcome = LocalReleaseDeployer(root, health_check=healthy).deploy(
        make_bundle(tmp_path, version="1.0.2").path, _ENV, COMPONENT
    )
    assert store.current_id() == outcome.release_id and store.current_link.is_symlink()
    [moved] = store.dir.glob("current.not-a-link-*")
    assert (moved / "hand-made.txt").is_file()
    assert "moved it to" in outcome.message and moved.name in outcome.message


def test_a_corrupt_release_json_is_reported_and_does_not_block_the_environment(tmp_path: Path) -> None:
    root, first, second = _two_healthy_releases(tmp_path)
    store = _store(root)
    (store.release_dir(first) / RELEASE_MARKER).write_bytes(b'{"release_id": \xff')
    assert [info.release_id for info in store.infos()] == [second]
    assert any(first in problem and "corrupt" in problem for problem in store.problems())

    outcome = LocalReleaseDeployer(root, health_check=healthy).deploy(
        make_bundle(tmp_path, version="1.0.2").path, _ENV, COMPONENT
    )
    assert outcome.healthy and store.current_id() == outcome.release_id
    assert not store.release_dir(first).exists()
    assert first in outcome.message and "corrupt" in outcome.message


def test_a_stray_tmp_folder_is_removed_by_the_next_deploy(tmp_path: Path) -> None:
    root, _, _ = _two_healthy_releases(tmp_path)
    stray = _store(root).dir / ".history.jsonl.abc.tmp"
    stray.mkdir()
    (stray / "inside").write_text("x")
    outcome = LocalReleaseDeployer(root, health_check=healthy).deploy(
        make_bundle(tmp_path, version="1.0.2").path, _ENV, COMPONENT
    )
    assert outcome.healthy and not stray.exists()


@pytest.mark.parametrize(
    ("environment", "component"), [("staging\n", COMPONENT), (_ENV, "calc\n")], ids=["env", "component"]
)
def test_a_name_with_a_trailing_newline_is_refused(tmp_path: Path, environment: str, component: str) -> None:
    with pytest.raises(DeployError, match="must be letters, digits"):
        ReleaseStore(tmp_path, environment, component)


def test_a_release_id_with_a_trailing_newline_is_refused() -> None:
    with pytest.raises(DeployError, match="is not a release id"):
        check_release_id("20990101T000000000000-abcdefabcdef\n")
