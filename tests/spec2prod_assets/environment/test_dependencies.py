"""What a component declares it needs, read from temporary projects the way spec2prod reads real ones."""

from __future__ import annotations

from pathlib import Path

import pytest

from spec2prod_assets.environment.dependencies import DependencyError, component_dependencies


def _write(root: Path, name: str, text: str) -> Path:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_a_project_without_declarations_needs_only_what_the_spec_says(tmp_path: Path) -> None:
    assert component_dependencies(tmp_path, ["attrs>=23"]) == ("attrs>=23",)


def test_project_dependencies_and_test_extras_are_read(tmp_path: Path) -> None:
    _write(
        tmp_path,
        "pyproject.toml",
        '[project]\nname = "greeter"\ndependencies = ["requests>=2", "click"]\n'
        '[project.optional-dependencies]\ntest = ["hypothesis"]\ndocs = ["sphinx"]\n',
    )
    assert component_dependencies(tmp_path, []) == ("click", "hypothesis", "requests>=2")


def test_dependency_groups_named_for_tests_are_read_with_their_includes(tmp_path: Path) -> None:
    _write(
        tmp_path,
        "pyproject.toml",
        '[project]\nname = "greeter"\n[dependency-groups]\nlint = ["ruff"]\n'
        'Dev = [{include-group = "lint"}, "freezegun"]\nrelease = ["twine"]\n',
    )
    assert component_dependencies(tmp_path, []) == ("freezegun", "ruff")


def test_a_dev_extra_naming_the_project_itself_reads_that_extra_instead(tmp_path: Path) -> None:
    _write(
        tmp_path,
        "pyproject.toml",
        '[project]\nname = "My_Greeter"\n[project.optional-dependencies]\n'
        'dev = ["my-greeter[speed]", "pytest-mock"]\nspeed = ["orjson"]\n',
    )
    assert component_dependencies(tmp_path, []) == ("orjson", "pytest-mock")


def test_requirements_files_with_comments_continuations_and_includes(tmp_path: Path) -> None:
    _write(tmp_path, "requirements.txt", "# runtime\nrequests >= 2  # http\n-r extra/base.txt\n\n")
    _write(tmp_path, "extra/base.txt", "click \\\n  ==8.1.7\n--requirement=more.txt\n")
    _write(tmp_path, "extra/more.txt", "attrs; python_version >= '3.8'\n")
    _write(tmp_path, "requirements-dev.txt", "pytest-mock\n")
    assert component_dependencies(tmp_path, []) == (
        'attrs; python_version >= "3.8"',
        "click==8.1.7",
        "pytest-mock",
        "requests>=2",
    )


def test_duplicates_from_several_sources_appear_once(tmp_path: Path) -> None:
    _write(tmp_path, "pyproject.toml", '[project]\nname = "g"\ndependencies = ["requests>=2"]\n')
    _write(tmp_path, "requirements.txt", "requests >=2\n")
    assert component_dependencies(tmp_path, ["requests>=2", "Requests>=2.1"]) == (
        "Requests>=2.1",
        "requests>=2",
    )


@pytest.mark.parametrize(
    ("line", "hint"),
    [
        ("-e .", "never installs the project itself"),
        ("--index-url https://example.invalid/simple", "UV_"),
        ("-c constraints.txt", "constraint files are not supported"),
    ],
)
def test_an_option_that_cannot_be_honoured_names_file_and_line(tmp_path: Path, line: str, hint: str) -> None:
    _write(tmp_path, "requirements.txt", f"requests\n{line}\n")
    with pytest.raises(DependencyError) as caught:
        component_dependencies(tmp_path, [])
    message = str(caught.value)
    assert message.startswith(f"{tmp_path / 'requirements.txt'}:2: option ")
    assert hint in message and "\n" not in message


def test_a_per_requirement_hash_is_refused(tmp_path: Path) -> None:
    _write(tmp_path, "requirements.txt", "requests==2.31.0 --hash=sha256:abc\n")
    with pytest.raises(
        DependencyError, match=r"requirements.txt:1: per-requirement option '--hash=sha256:abc'"
    ):
        component_dependencies(tmp_path, [])


def test_an_include_cycle_is_refused(tmp_path: Path) -> None:
    _write(tmp_path, "requirements.txt", "-r requirements-b.txt\n")
    _write(tmp_path, "requirements-b.txt", "-r requirements.txt\n")
    with pytest.raises(DependencyError, match="a -r cycle"):
        component_dependencies(tmp_path, [])


def test_a_missing_include_is_named(tmp_path: Path) -> None:
    _write(tmp_path, "requirements.txt", "-r nowhere.txt\n")
    with pytest.raises(DependencyError, match=r"nowhere\.txt: cannot be read"):
        component_dependencies(tmp_path, [])


def test_a_bad_requirement_in_pyproject_names_the_file(tmp_path: Path) -> None:
    _write(tmp_path, "pyproject.toml", '[project]\nname = "g"\ndependencies = ["requests >>= 2"]\n')
    with pytest.raises(
        DependencyError, match=r"pyproject.toml \[project\].dependencies: 'requests >>= 2' is not"
    ):
        component_dependencies(tmp_path, [])


def test_a_bad_spec_dependency_names_the_spec(tmp_path: Path) -> None:
    with pytest.raises(
        DependencyError, match=r"the spec's dependencies: '\./lib' is not a valid requirement"
    ):
        component_dependencies(tmp_path, ["./lib"])


def test_a_pyproject_that_is_not_toml_is_named(tmp_path: Path) -> None:
    _write(tmp_path, "pyproject.toml", "[project\n")
    with pytest.raises(DependencyError, match=r"pyproject\.toml: cannot be read as TOML"):
        component_dependencies(tmp_path, [])


def test_a_dependency_group_including_a_missing_group_is_named(tmp_path: Path) -> None:
    _write(tmp_path, "pyproject.toml", '[dependency-groups]\ntest = [{include-group = "absent"}]\n')
    with pytest.raises(DependencyError, match="dependency group 'test' includes 'absent'"):
        component_dependencies(tmp_path, [])


def test_dynamic_dependencies_are_read_from_the_files_setuptools_names(tmp_path: Path) -> None:
    _write(
        tmp_path,
        "pyproject.toml",
        '[project]\nname = "g"\ndynamic = ["dependencies"]\n'
        '[tool.setuptools.dynamic]\ndependencies = {file = ["deps/base.in"]}\n',
    )
    _write(tmp_path, "deps/base.in", "requests>=2\n")
    assert component_dependencies(tmp_path, []) == ("requests>=2",)


def test_dynamic_dependencies_that_cannot_be_read_are_refused(tmp_path: Path) -> None:
    _write(tmp_path, "pyproject.toml", '[project]\nname = "g"\ndynamic = ["dependencies", "version"]\n')
    with pytest.raises(DependencyError, match="dependencies are dynamic and spec2prod cannot read them"):
        component_dependencies(tmp_path, [])
