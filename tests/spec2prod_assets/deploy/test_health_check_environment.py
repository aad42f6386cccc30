"""The health check runs the release's tests in the component's own environment, built from the
dependencies its manifest records: a release needing a third-party package is checked with it."""

from __future__ import annotations

from pathlib import Path

import pytest

from spec2prod_assets.deploy.local_deployer import LocalReleaseDeployer, PytestHealthCheck
from spec2prod_assets.environment import EnvironmentBuildError
from spec2prod_assets.release.bundle import ReleaseManifest, build_bundle
from tests.spec2prod_assets.environment.local_wheels import offline_uv, write_wheel
from tests.support.escape_component import require_sandbox
from tests.support.tiny_component import COMPONENT, manifest_for, write_component

_NEEDS_TINYDEP = "import tinydep\n\n\ndef test_shout():\n    assert tinydep.shout('up') == 'UP!'\n"


@pytest.fixture
def release(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A release whose tests import `tinydep`, a package only a local wheelhouse holds."""
    wheelhouse = tmp_path / "wheelhouse"
    write_wheel(
        wheelhouse, "tinydep", "1.0", {"tinydep/__init__.py": "def shout(t):\n    return t.upper() + '!'\n"}
    )
    offline_uv(monkeypatch, wheelhouse, tmp_path / "uv-cache")
    tree = write_component(tmp_path / "release")
    (tree / "tests" / "test_needs_tinydep.py").write_text(_NEEDS_TINYDEP)
    return tree


def _manifest(dependencies: tuple[str, ...]) -> ReleaseManifest:
    return manifest_for().model_copy(update={"dependencies": dependencies})


def test_the_recorded_dependencies_make_the_release_healthy(release: Path, tmp_path: Path) -> None:
    require_sandbox()
    check = PytestHealthCheck(attempts=1, interval_s=0.0, timeout_s=60, env_cache_root=tmp_path / "envs")
    result = check(release, _manifest(("tinydep==1.0",)))
    assert result.ok, result.output


def test_without_the_recorded_dependency_the_release_is_unhealthy(release: Path, tmp_path: Path) -> None:
    require_sandbox()
    check = PytestHealthCheck(attempts=1, interval_s=0.0, timeout_s=60, env_cache_root=tmp_path / "envs")
    result = check(release, _manifest(()))
    assert not result.ok
    assert "No module named 'tinydep'" in result.output


def test_an_environment_that_cannot_be_built_says_why(release: Path, tmp_path: Path) -> None:
    check = PytestHealthCheck(attempts=1, interval_s=0.0, timeout_s=60, env_cache_root=tmp_path / "envs")
    with pytest.raises(EnvironmentBuildError, match="nosuchpackage-zz"):
        check(release, _manifest(("nosuchpackage-zz==1.0",)))


def test_a_deployed_bundle_carries_its_dependencies_to_the_health_check(
    release: Path, tmp_path: Path
) -> None:
    require_sandbox()
    bundle = build_bundle(release, _manifest(("tinydep==1.0",)), tmp_path / "bundles")
    check = PytestHealthCheck(attempts=1, interval_s=0.0, timeout_s=60, env_cache_root=tmp_path / "envs")
    outcome = LocalReleaseDeployer(tmp_path / "deploy", health_check=check).deploy(
        bundle.path, "staging", COMPONENT
    )
    assert outcome.healthy
    assert bundle.manifest.dependencies == ("tinydep==1.0",)


def test_a_manifest_with_an_invalid_dependency_is_refused() -> None:
    with pytest.raises(ValueError, match="is not a valid requirement"):
        ReleaseManifest.model_validate({**manifest_for().model_dump(), "dependencies": ["tinydep ==>> 1"]})
