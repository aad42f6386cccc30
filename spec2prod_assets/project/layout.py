"""Where a component's code, tests and configuration live in its project, found the way pytest finds them.

A spec rarely names its tests folder, and a default that pytest itself would not use (`tests/<slug>` in a
project whose tests are in `tests/`) silently runs none of the project's tests. So the tests are, in order:
the spec's `tests_path`; the `testpaths` of the project's pytest configuration; `tests/<slug>` (one folder per
component, as in the bundled example) or else `tests/`; and in every case but the first, test files that
sit next to the code. `tests_found_by` says which rule applied, so a run that found nothing says why.

The project's configuration files travel with every working copy (and the release bundle), so pytest,
coverage.py and ruff read the project's settings in the copy exactly as they would in the project.
"""

from __future__ import annotations

import fnmatch
import glob
import os
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

from pydantic import BaseModel, ConfigDict

from spec2prod_assets.project.pytest_config import ProjectConfigError, PytestConfig, read_pytest_config
from spec2prod_assets.spec.model import ComponentSpec
from spec2prod_assets.storage.safe_paths import check_relative_path, is_inside_folder
from spec2prod_assets.storage.working_copies import import_root

# Files at the project root that pytest, coverage.py or ruff read.
PROJECT_CONFIG_FILES = (
    "pyproject.toml",
    "setup.cfg",
    "tox.ini",
    "pytest.ini",
    ".pytest.ini",
    ".coveragerc",
    "ruff.toml",
    ".ruff.toml",
)
CONFTEST = "conftest.py"
DEFAULT_TESTS_FOLDER = "tests"

FOUND_BY_SPEC = "the spec's tests_path"
FOUND_BY_SLUG_FOLDER = "the tests/<component> folder"
FOUND_BY_TESTS_FOLDER = "the tests/ folder"
FOUND_BY_SOURCE = "test files next to the code"
FOUND_NOTHING = (
    "nothing: no testpaths in the pytest configuration, no tests/ folder, no test files next to the code"
)


class ComponentLayout(BaseModel):
    """A component's paths inside its project (and inside every working copy, which keeps the layout)."""

    model_config = ConfigDict(frozen=True)

    spec_path: str
    source_path: str
    tests_path: str
    """The folder generated tests are written to."""
    test_paths: tuple[str, ...]
    """What pytest runs: the project's own tests."""
    config_files: tuple[str, ...]
    """Project files copied into every working tree: tool settings and the conftest.py files on the way."""
    import_root: str
    """The PYTHONPATH entry under which `import <package>` finds the component."""
    tests_found_by: str
    pytest_config: str | None = None
    """The configuration file pytest uses in the project (relative), or None when it has none."""
    python: str | None = None
    """The component environment's interpreter; None: spec2prod's own."""
    readable_roots: tuple[str, ...] = ()
    """Folders the sandbox keeps visible read-only (the component's environment)."""

    def existing_test_paths(self, tree: Path) -> list[str]:
        """The test paths present in `tree`, plus the generated-tests folder when the tree has one.

        A path missing from the copy is left out: pytest then reports "no tests" rather than failing on it.
        """
        return _outermost(p for p in (*self.test_paths, self.tests_path) if (tree / p).exists())

    def with_environment(self, python: str | Path, readable_roots: tuple[str, ...] = ()) -> ComponentLayout:
        """The same layout, run with the component environment's interpreter."""
        return self.model_copy(update={"python": str(python), "readable_roots": readable_roots})


def resolve_layout(project_root: Path, spec: ComponentSpec) -> ComponentLayout:
    """The component's layout in `project_root`; `ProjectConfigError` names a configuration pytest would
    refuse or a test path outside the project."""
    config = read_pytest_config(project_root)
    test_paths, found_by = _test_paths(project_root, spec, config)
    # Generated tests never go into the source folder: they would join the code that is linted and bundled.
    test_folders = [
        p for p in test_paths if p != spec.source_path and not is_inside_folder(p, spec.source_path)
    ]
    tests_path = spec.tests_path or (_first_folder(project_root, test_folders) or DEFAULT_TESTS_FOLDER)
    config_files = [name for name in PROJECT_CONFIG_FILES if (project_root / name).is_file()]
    config_files += _conftests_on_the_way(project_root, [*test_paths, spec.source_path, tests_path])
    return ComponentLayout(
        spec_path=spec.spec_path,
        source_path=spec.source_path,
        tests_path=tests_path,
        test_paths=tuple(test_paths),
        config_files=tuple(dict.fromkeys(config_files)),
        import_root=import_root(spec.source_path),
        tests_found_by=found_by,
        pytest_config=config.path,
    )


def no_tests_warning(layout: ComponentLayout, allow_no_tests: bool) -> str:
    """The log line for a baseline that collected no test: loud, and saying where spec2prod looked."""
    looked = ", ".join(layout.test_paths) or "no test path exists"
    consequence = (
        "the spec allows that (allow_no_tests)"
        if allow_no_tests
        else "the release will fail its existing_tests_ran check unless the spec sets allow_no_tests: true"
    )
    return (
        f"NO TESTS FOUND for {layout.spec_path}: the baseline collected 0 of the project's own tests "
        f"(tests found by {layout.tests_found_by}; looked in: {looked}). "
        f"Name them with tests_path in the spec; {consequence}."
    )


def _test_paths(project_root: Path, spec: ComponentSpec, config: PytestConfig) -> tuple[list[str], str]:
    if spec.tests_path is not None:
        return [spec.tests_path], FOUND_BY_SPEC
    found: list[str] = []
    found_by = ""
    configured = _configured_testpaths(project_root, config)
    if configured:
        found, found_by = configured, f"testpaths in {config.path}"
    elif (project_root / DEFAULT_TESTS_FOLDER / spec.slug).is_dir():
        found, found_by = [f"{DEFAULT_TESTS_FOLDER}/{spec.slug}"], FOUND_BY_SLUG_FOLDER
    elif (project_root / DEFAULT_TESTS_FOLDER).is_dir():
        found, found_by = [DEFAULT_TESTS_FOLDER], FOUND_BY_TESTS_FOLDER
    beside: list[str] = []
    covered = any(p == spec.source_path or is_inside_folder(spec.source_path, p) for p in found)
    if not covered and _has_test_files(project_root / spec.source_path, config.python_files):
        beside.append(spec.source_path)
    if not configured:
        # Without testpaths pytest collects from the root down: a module's test file beside its package
        # (`inflection/` + `test_inflection.py`) is one of the project's tests.
        beside += _test_files_in(project_root, import_root(spec.source_path), config.python_files)
    if beside:
        found += beside
        found_by = f"{found_by} + {FOUND_BY_SOURCE}" if found_by else FOUND_BY_SOURCE
    return _outermost(found), found_by or FOUND_NOTHING


def _test_files_in(project_root: Path, folder: str, patterns: tuple[str, ...]) -> list[str]:
    """The test files directly in `folder` (not below it), as paths relative to the project root."""
    base = project_root / folder
    if not base.is_dir():
        return []
    return sorted(
        PurePosixPath(folder, path.name).as_posix().removeprefix("./")
        for path in base.iterdir()
        if path.is_file() and any(fnmatch.fnmatch(path.name, pattern) for pattern in patterns)
    )


def _configured_testpaths(project_root: Path, config: PytestConfig) -> list[str]:
    """`testpaths` expanded as pytest expands them (glob patterns, relative to the project root)."""
    found: list[str] = []
    for entry in config.args("testpaths"):
        try:
            relative = check_relative_path(entry)
        except ValueError as exc:
            raise ProjectConfigError(f"{config.path}: testpaths entry {entry!r}: {exc}") from exc
        for match in sorted(glob.glob(relative, root_dir=project_root, recursive=True)):
            path = check_relative_path(match)
            if not (project_root / path).resolve().is_relative_to(project_root.resolve()):
                raise ProjectConfigError(
                    f"{config.path}: testpaths entry {entry!r} leads outside the project"
                )
            found.append(path)
    return found


def _has_test_files(source: Path, patterns: tuple[str, ...]) -> bool:
    if not source.is_dir():
        return False
    for _folder, dirs, files in os.walk(source):
        dirs[:] = [d for d in dirs if d != "__pycache__" and not d.startswith(".")]
        if any(fnmatch.fnmatch(name, pattern) for name in files for pattern in patterns):
            return True
    return False


def _first_folder(project_root: Path, paths: list[str]) -> str | None:
    return next((p for p in paths if (project_root / p).is_dir()), None)


def _conftests_on_the_way(project_root: Path, paths: list[str]) -> list[str]:
    """conftest.py at the root and in every folder between the root and each path (a folder's own
    conftest.py is copied with the folder)."""
    found: list[str] = []
    for path in paths:
        parents = list(reversed(PurePosixPath(path).parents))  # ".", "tests", "tests/unit", ...
        for folder in parents:
            candidate = (PurePosixPath(folder) / CONFTEST).as_posix()
            if (project_root / candidate).is_file():
                found.append(candidate)
    return list(dict.fromkeys(found))


def _outermost(paths: Iterable[str]) -> list[str]:
    """`paths` without duplicates or paths inside another of them (pytest would collect them twice)."""
    unique = list(dict.fromkeys(paths))
    return [p for p in unique if not any(is_inside_folder(p, other) for other in unique if other != p)]
