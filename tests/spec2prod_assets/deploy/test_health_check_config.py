"""The health check runs the release's tests under the project's own pytest configuration, bundled with
the release; what that configuration would write (a JUnit report, coverage data) never lands in the
read-only release folder."""

from __future__ import annotations

from pathlib import Path

from spec2prod_assets.deploy.local_deployer import PytestHealthCheck
from tests.support.escape_component import require_sandbox
from tests.support.tiny_component import manifest_for, write_component

_STRICT_CONFIG = """\
[tool.pytest.ini_options]
addopts = "--strict-markers --junitxml=their-report.xml --cov=calc"
markers = ["smoke: the release's quick checks"]
"""
_MARKED_TEST = "import pytest\n\n\n@pytest.mark.smoke\ndef test_marked():\n    assert True\n"


def _check(tmp_path: Path) -> PytestHealthCheck:
    return PytestHealthCheck(attempts=1, interval_s=0.0, timeout_s=60, env_cache_root=tmp_path / "envs")


def test_the_projects_strict_markers_and_report_option_are_honoured_outside_the_release(
    tmp_path: Path,
) -> None:
    require_sandbox()
    release = write_component(tmp_path / "release")
    (release / "pyproject.toml").write_text(_STRICT_CONFIG)
    (release / "tests" / "test_marked.py").write_text(_MARKED_TEST)

    result = _check(tmp_path)(release, manifest_for())

    assert result.ok, result.output
    assert not (release / "their-report.xml").exists()  # written where the sandbox keeps it private


def test_a_marker_the_project_never_registered_fails_under_its_strict_markers(tmp_path: Path) -> None:
    require_sandbox()
    release = write_component(tmp_path / "release")
    (release / "pyproject.toml").write_text(_STRICT_CONFIG.replace('markers = ["smoke', 'markers = ["other'))
    (release / "tests" / "test_marked.py").write_text(_MARKED_TEST)

    result = _check(tmp_path)(release, manifest_for())

    assert not result.ok
    assert "'smoke' not found in `markers` configuration option" in result.output


def test_the_spec_marker_generated_tests_carry_passes_the_projects_strict_markers(tmp_path: Path) -> None:
    """Generated tests claim spec ids with `@pytest.mark.spec`; a project that never heard of it still
    checks its release with them."""
    require_sandbox()
    release = write_component(tmp_path / "release")
    (release / "pyproject.toml").write_text(_STRICT_CONFIG)
    (release / "tests" / "test_marked.py").write_text(_MARKED_TEST.replace("mark.smoke", 'mark.spec("AC-1")'))

    result = _check(tmp_path)(release, manifest_for())

    assert result.ok, result.output
