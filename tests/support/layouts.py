"""Component layouts for tests that run a stage on a hand-made tree (no spec, no project to resolve)."""

from __future__ import annotations

from collections.abc import Sequence

from spec2prod_assets.project.layout import FOUND_BY_SPEC, ComponentLayout
from spec2prod_assets.storage.working_copies import import_root


def layout_of(
    source_path: str,
    tests_path: str = "tests",
    *,
    test_paths: Sequence[str] | None = None,
    config_files: Sequence[str] = (),
    pytest_config: str | None = None,
    spec_path: str = "specs/component.md",
) -> ComponentLayout:
    """The layout a spec naming `source_path` and `tests_path` resolves to."""
    return ComponentLayout(
        spec_path=spec_path,
        source_path=source_path,
        tests_path=tests_path,
        test_paths=tuple(test_paths if test_paths is not None else (tests_path,)),
        config_files=tuple(config_files),
        import_root=import_root(source_path),
        tests_found_by=FOUND_BY_SPEC,
        pytest_config=pytest_config,
    )
