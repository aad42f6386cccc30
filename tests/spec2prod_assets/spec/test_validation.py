"""`validate_spec_file`: one line per problem, in a fraction of a second, without importing Dagster."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from spec2prod_assets.spec.model import SpecError
from spec2prod_assets.spec.validation import validate_spec_file
from tests.conftest import REPO_ROOT

DEMO = REPO_ROOT / "examples" / "demo"


def project(tmp_path: Path, front_matter: str, *folders: str) -> Path:
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "x.md").write_text(
        f"---\nname: Text Stats\n{front_matter}requirements: [Count words.]\n---\n", encoding="utf-8"
    )
    for folder in folders:
        (tmp_path / folder).mkdir(parents=True)
    return tmp_path / "specs" / "x.md"


def problem(spec_file: Path, root: Path) -> str:
    with pytest.raises(SpecError) as caught:
        validate_spec_file(spec_file, root)
    return str(caught.value)


@pytest.mark.parametrize("spec_file", sorted(DEMO.glob("specs/*.md")), ids=lambda path: path.name)
def test_the_bundled_specs_are_valid(spec_file: Path) -> None:
    assert validate_spec_file(spec_file, DEMO).spec_path == f"specs/{spec_file.name}"


def test_a_missing_source_folder_is_one_line_with_the_near_miss(tmp_path: Path) -> None:
    spec_file = project(tmp_path, "source_path: src/textstats\n", "src/text_stats")

    assert problem(spec_file, tmp_path) == (
        f"specs/x.md: source path 'src/textstats' does not exist under the project root {tmp_path.resolve()}"
        "; did you mean 'src/text_stats'?"
    )


def test_a_missing_default_source_folder_says_how_to_name_one(tmp_path: Path) -> None:
    spec_file = project(tmp_path, "", "lib")

    assert problem(spec_file, tmp_path).endswith(
        "source path 'src/text_stats' does not exist under the project root "
        f"{tmp_path.resolve()}; name the code's folder with 'source_path:' in the spec"
    )


def test_a_named_tests_folder_must_exist(tmp_path: Path) -> None:
    spec_file = project(tmp_path, "tests_path: tests/text_stats\n", "src/text_stats", "tests")

    assert problem(spec_file, tmp_path).startswith("specs/x.md: tests path 'tests/text_stats' does not exist")


def test_an_unnamed_tests_folder_is_not_checked(tmp_path: Path) -> None:
    spec_file = project(tmp_path, "", "src/text_stats")

    assert validate_spec_file(spec_file, tmp_path).tests_path is None


def test_a_typo_and_a_fraction_are_one_line_each_and_fast(tmp_path: Path) -> None:
    spec_file = project(tmp_path, "coverge_threshold: 95\n", "src/text_stats")
    started = time.perf_counter()

    message = problem(spec_file, tmp_path)

    assert time.perf_counter() - started < 1.0
    assert message == "specs/x.md:3: unknown key 'coverge_threshold'; did you mean 'coverage_threshold'?"
    spec_file.write_text("---\nname: T\ncoverage_threshold: 0.8\nrequirements: [a]\n---\n", encoding="utf-8")
    assert "\n" not in problem(spec_file, tmp_path)


def test_importing_the_validator_does_not_import_dagster() -> None:
    code = (
        "import sys, spec2prod_assets.spec.validation\n"
        "print(any(name.split('.')[0] == 'dagster' for name in sys.modules))"
    )

    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120, check=True
    )

    assert result.stdout.strip() == "False"
