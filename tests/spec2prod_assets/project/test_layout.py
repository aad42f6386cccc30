"""A component's layout: its tests found the way pytest finds them, its configuration files listed."""

from __future__ import annotations

from pathlib import Path

import pytest

from spec2prod_assets.project.layout import (
    FOUND_BY_SLUG_FOLDER,
    FOUND_BY_SOURCE,
    FOUND_BY_SPEC,
    FOUND_BY_TESTS_FOLDER,
    FOUND_NOTHING,
    no_tests_warning,
    resolve_layout,
)
from spec2prod_assets.project.pytest_config import ProjectConfigError
from spec2prod_assets.spec.model import ComponentSpec
from tests.conftest import write_files
from tests.support.gap_component import gap_spec

GREETER = {"src/greeter/__init__.py": "def greet(name):\n    return f'Hello, {name}!'\n"}
GREETER_TEST = {
    "tests/test_greeter.py": "from greeter import greet\n\n\ndef test_greet():\n    assert greet('x')\n"
}


def _spec(source_path: str = "src/greeter", tests_path: str | None = None) -> ComponentSpec:
    return gap_spec("greeter").model_copy(update={"source_path": source_path, "tests_path": tests_path})


def test_the_common_src_layout_finds_tests_in_the_tests_folder(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {**GREETER, **GREETER_TEST, "pyproject.toml": '[tool.pytest.ini_options]\npythonpath = ["src"]\n'},
    )
    layout = resolve_layout(tmp_path, _spec())
    assert layout.test_paths == ("tests",)
    assert layout.tests_path == "tests"
    assert layout.tests_found_by == FOUND_BY_TESTS_FOLDER
    assert layout.import_root == "src"
    assert layout.config_files == ("pyproject.toml",)
    assert layout.pytest_config == "pyproject.toml"


def test_the_same_layout_without_any_configuration(tmp_path: Path) -> None:
    write_files(tmp_path, {**GREETER, **GREETER_TEST})
    layout = resolve_layout(tmp_path, _spec())
    assert (layout.test_paths, layout.config_files, layout.pytest_config) == (("tests",), (), None)


def test_testpaths_in_the_pytest_configuration_win_over_the_tests_folder(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {
            **GREETER,
            **GREETER_TEST,
            "checks/test_more.py": "",
            "setup.cfg": "[tool:pytest]\ntestpaths = checks\n",
        },
    )
    layout = resolve_layout(tmp_path, _spec())
    assert layout.test_paths == ("checks",)
    assert layout.tests_path == "checks"
    assert layout.tests_found_by == "testpaths in setup.cfg"


def test_testpaths_are_globbed_as_pytest_globs_them(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {
            **GREETER,
            "tests/unit/test_a.py": "",
            "tests/api/test_b.py": "",
            "pytest.ini": "[pytest]\ntestpaths = tests/*\n",
        },
    )
    assert resolve_layout(tmp_path, _spec()).test_paths == ("tests/api", "tests/unit")


def test_the_specs_tests_path_is_all_that_runs(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {
            **GREETER,
            **GREETER_TEST,
            "tests/greeter/test_x.py": "",
            "pytest.ini": "[pytest]\ntestpaths = tests\n",
        },
    )
    layout = resolve_layout(tmp_path, _spec(tests_path="tests/greeter"))
    assert (layout.test_paths, layout.tests_path, layout.tests_found_by) == (
        ("tests/greeter",),
        "tests/greeter",
        FOUND_BY_SPEC,
    )


def test_a_folder_named_for_the_component_is_its_tests_as_in_the_bundled_example(tmp_path: Path) -> None:
    write_files(tmp_path, {**GREETER, "tests/greeter/test_g.py": "", "tests/other/test_o.py": ""})
    layout = resolve_layout(tmp_path, _spec())
    assert (layout.test_paths, layout.tests_found_by) == (("tests/greeter",), FOUND_BY_SLUG_FOLDER)


def test_tests_next_to_the_code_are_found_and_new_tests_go_to_tests(tmp_path: Path) -> None:
    write_files(tmp_path, {**GREETER, "src/greeter/test_core.py": ""})
    layout = resolve_layout(tmp_path, _spec())
    assert (layout.test_paths, layout.tests_path, layout.tests_found_by) == (
        ("src/greeter",),
        "tests",
        FOUND_BY_SOURCE,
    )


def test_tests_next_to_the_code_join_the_tests_folder(tmp_path: Path) -> None:
    write_files(tmp_path, {**GREETER, **GREETER_TEST, "src/greeter/core_test.py": ""})
    layout = resolve_layout(tmp_path, _spec())
    assert layout.test_paths == ("tests", "src/greeter")
    assert layout.tests_found_by == f"{FOUND_BY_TESTS_FOLDER} + {FOUND_BY_SOURCE}"


def test_the_projects_python_files_setting_decides_what_counts_as_a_test_next_to_the_code(
    tmp_path: Path,
) -> None:
    write_files(
        tmp_path,
        {**GREETER, "src/greeter/check_core.py": "", "tox.ini": "[pytest]\npython_files = check_*.py\n"},
    )
    assert resolve_layout(tmp_path, _spec()).test_paths == ("src/greeter",)


def test_a_test_module_beside_a_package_at_the_root_is_found_as_pytest_finds_it(tmp_path: Path) -> None:
    """inflection's layout: `inflection/` and `test_inflection.py` side by side, no config, no tests/."""
    write_files(
        tmp_path,
        {
            "inflection/__init__.py": "def camelize(s):\n    return s.title()\n",
            "test_inflection.py": "import inflection\n\n\ndef test_camelize():\n    assert inflection\n",
            "setup.py": "",
        },
    )
    layout = resolve_layout(tmp_path, _spec(source_path="inflection"))
    assert layout.test_paths == ("test_inflection.py",)
    assert layout.tests_found_by == FOUND_BY_SOURCE
    assert layout.tests_path == "tests"


def test_a_test_module_beside_the_package_is_not_taken_when_testpaths_say_otherwise(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {
            **GREETER,
            "src/test_stray.py": "",
            "checks/test_more.py": "",
            "pytest.ini": "[pytest]\ntestpaths = checks\n",
        },
    )
    assert resolve_layout(tmp_path, _spec()).test_paths == ("checks",)


def test_no_tests_anywhere_says_where_it_looked(tmp_path: Path) -> None:
    write_files(tmp_path, GREETER)
    layout = resolve_layout(tmp_path, _spec())
    assert (layout.test_paths, layout.tests_path, layout.tests_found_by) == ((), "tests", FOUND_NOTHING)
    warning = no_tests_warning(layout, allow_no_tests=False)
    assert warning.startswith("NO TESTS FOUND") and "allow_no_tests" in warning and FOUND_NOTHING in warning


def test_conftest_files_on_the_way_to_the_tests_and_tool_configs_are_listed(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {
            **GREETER,
            "conftest.py": "",
            "tests/conftest.py": "",
            "tests/unit/test_a.py": "",
            "tests/unit/conftest.py": "",  # copied with its folder
            "other/conftest.py": "",  # not on the way
            "pyproject.toml": '[tool.pytest.ini_options]\ntestpaths = ["tests/unit"]\n',
            ".coveragerc": "[run]\nbranch = true\n",
            "ruff.toml": "line-length = 100\n",
        },
    )
    layout = resolve_layout(tmp_path, _spec())
    assert layout.config_files == (
        "pyproject.toml",
        ".coveragerc",
        "ruff.toml",
        "conftest.py",
        "tests/conftest.py",
    )


def test_a_testpaths_entry_outside_the_project_is_refused(tmp_path: Path) -> None:
    write_files(tmp_path, {**GREETER, "pytest.ini": "[pytest]\ntestpaths = ../elsewhere\n"})
    with pytest.raises(ProjectConfigError, match=r"pytest\.ini: testpaths entry '\.\./elsewhere'"):
        resolve_layout(tmp_path, _spec())


def test_the_test_paths_a_copy_holds_include_the_generated_tests_folder(tmp_path: Path) -> None:
    write_files(tmp_path, {**GREETER, "src/greeter/test_core.py": ""})
    layout = resolve_layout(tmp_path, _spec())
    tree = write_files(tmp_path / "tree", {"src/greeter/test_core.py": ""})
    assert layout.existing_test_paths(tree) == ["src/greeter"]
    write_files(tree, {"tests/test_gen.py": ""})
    assert layout.existing_test_paths(tree) == ["src/greeter", "tests"]
