"""What is mutated and how a survivor is shown, on real projects' shapes: a file the project omits from
coverage is not mutated, and a mutant in a function's signature is shown at its def line."""

from __future__ import annotations

from pathlib import Path

from spec2prod_assets.mutation import run_mutation
from tests.conftest import write_files
from tests.support.layouts import layout_of

SOURCE_PATH = "src/tally"
_OPS = 'def greet(name, punct="!"):\n    return name + punct\n'
_LEGACY = "def old(a, b):\n    return a - b\n"
# Always passes `punct`, so a changed default survives.
_TESTS = 'from tally.ops import greet\n\n\ndef test_greet():\n    assert greet("a", "?") == "a?"\n'


def _tree(root: Path, files: dict[str, str]) -> Path:
    base = {f"{SOURCE_PATH}/__init__.py": "", f"{SOURCE_PATH}/ops.py": _OPS, "tests/test_ops.py": _TESTS}
    return write_files(root, base | files)


def test_a_file_the_project_omits_from_coverage_is_not_mutated(tmp_path: Path) -> None:
    omit = '[tool.coverage.run]\nomit = ["*/tally/legacy.py"]\n'
    with_legacy = _tree(tmp_path / "all", {f"{SOURCE_PATH}/legacy.py": _LEGACY})
    omitted = _tree(tmp_path / "omitted", {f"{SOURCE_PATH}/legacy.py": _LEGACY, "pyproject.toml": omit})
    layout = layout_of(SOURCE_PATH, config_files=["pyproject.toml"])

    everything = run_mutation(with_legacy, layout_of(SOURCE_PATH), work_dir=tmp_path / "w1", budget_s=60)
    scoped = run_mutation(omitted, layout, work_dir=tmp_path / "w2", budget_s=60)

    assert any(s.file.endswith("legacy.py") for s in everything.survivors)
    assert not any(s.file.endswith("legacy.py") for s in scoped.survivors)
    assert scoped.mutants_total < everything.mutants_total


def test_a_changed_default_value_is_shown_at_the_def_line(tmp_path: Path) -> None:
    report = run_mutation(
        _tree(tmp_path / "tree", {}), layout_of(SOURCE_PATH), work_dir=tmp_path / "w", budget_s=60
    )

    [survivor] = [s for s in report.survivors if "punct=" in s.change]
    assert survivor.line == 1
    assert survivor.change.startswith('def greet(name, punct="!"): → def greet(name, punct=')
    assert "no textual change" not in survivor.change
