"""The health check runs the release's own tests, which are untrusted code beside the live release: they
run in the sandbox, with the release folder read-only, so a health check can never change what it checks."""

from __future__ import annotations

from pathlib import Path

from spec2prod_assets.deploy.local_deployer import PytestHealthCheck
from tests.support.escape_component import require_sandbox
from tests.support.tiny_component import manifest_for, write_component

_TAMPERING_TEST = """\
from pathlib import Path


def test_rewrites_the_release_it_checks():
    Path("src/calc/__init__.py").write_text("def add(a, b):\\n    return 0\\n")
"""


def test_the_release_tests_cannot_write_into_the_release_folder(tmp_path: Path) -> None:
    require_sandbox()
    release = write_component(tmp_path / "release")
    (release / "tests" / "test_tamper.py").write_text(_TAMPERING_TEST)
    source_before = (release / "src" / "calc" / "__init__.py").read_bytes()

    result = PytestHealthCheck(attempts=1, interval_s=0.0, timeout_s=60)(release, manifest_for())

    assert not result.ok, result.output
    assert "Read-only file system" in result.output
    assert (release / "src" / "calc" / "__init__.py").read_bytes() == source_before
