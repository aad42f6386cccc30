"""A tiny real component (a package and its tests) and bundles of it, shared by the deployment tests.

Its tests really run under pytest: one checks the arithmetic (broken in the unhealthy variant), one
that the code was imported from the folder pytest runs in, i.e. from the release and not the source.
"""

from __future__ import annotations

import hashlib
import io
import tarfile
from pathlib import Path

from spec2prod_assets.deploy.model import HealthResult
from spec2prod_assets.release.bundle import Bundle, ReleaseManifest, build_bundle

COMPONENT = "calc"

_TESTS = """\
from pathlib import Path

import calc


def test_add():
    assert calc.add(2, 3) == 5


def test_code_comes_from_the_release_folder():
    assert Path(calc.__file__).resolve().is_relative_to(Path.cwd().resolve())
"""


def write_component(tree: Path, *, healthy: bool = True, version: str = "1.0.0") -> Path:
    package = tree / "src" / COMPONENT
    package.mkdir(parents=True)
    operator = "+" if healthy else "-"
    (package / "__init__.py").write_text(
        f'VERSION = "{version}"\n\n\ndef add(a, b):\n    return a {operator} b\n'
    )
    (tree / "tests").mkdir()
    (tree / "tests" / "test_calc.py").write_text(_TESTS)
    return tree


def manifest_for(version: str = "1.0.0") -> ReleaseManifest:
    return ReleaseManifest(
        component=COMPONENT,
        version=version,
        spec_sha256="0" * 64,
        source_revision="test-revision",
        created_by_run="test-run",
        tests_passed=2,
        tests_failed=0,
        line_coverage_pct=100.0,
        source_path=f"src/{COMPONENT}",
        tests_path="tests",
    )


def make_bundle(base: Path, *, healthy: bool = True, version: str = "1.0.0") -> Bundle:
    """A bundle of its own tree under `base`; versions differ in content, so in sha256."""
    tree = write_component(
        base / f"tree-{version}-{'ok' if healthy else 'broken'}", healthy=healthy, version=version
    )
    return build_bundle(tree, manifest_for(version), base / "bundles")


def write_raw_bundle(out_dir: Path, members: list[tuple[tarfile.TarInfo, bytes]]) -> Path:
    """A tar.gz with exactly these members, named by its real sha256 so only the members are wrong."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for info, data in members:
            info.size = len(data) if info.isreg() else 0
            tar.addfile(info, io.BytesIO(data) if info.isreg() else None)
    content = buffer.getvalue()
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{hashlib.sha256(content).hexdigest()}.tar.gz"
    path.write_bytes(content)
    return path


def healthy(release_dir: Path, manifest: ReleaseManifest) -> HealthResult:
    return HealthResult(ok=True, attempts=1, summary="passed on attempt 1 of 1", output="fake: ok")


def unhealthy(release_dir: Path, manifest: ReleaseManifest) -> HealthResult:
    return HealthResult(ok=False, attempts=1, summary="failed all 1 attempts", output="fake: broken")
