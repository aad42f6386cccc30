"""The project's own pytest and coverage configuration is law in the working copy; spec2prod only adds its
plugin, coverage and output options, and the numbers match what coverage.py itself reports."""

from __future__ import annotations

import json
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from spec2prod_assets.runtime.processes import clean_env, run_command
from spec2prod_assets.testing import pytest_run as runner
from tests.conftest import write_files
from tests.support.layouts import layout_of

SOURCE_PATH = "src/greeter"
_GREETER = """\
def greet(name, loud=False):
    if not name:
        raise ValueError("no name")
    text = f"Hello, {name}!"
    if loud:
        text = text.upper()
    return text
"""
_SKIPPED = "def never_measured():\n    return 1\n"
# Uses a marker declared only in the project's config (with --strict-markers) and a fixture from its conftest.
_TESTS = """\
import pytest

from greeter.core import greet


@pytest.mark.smoke
def test_greets(name):
    assert greet(name) == "Hello, Ada!"
"""
_PLAIN_TEST = "from greeter.core import greet\n\n\ndef test_greets():\n    assert greet('Ada')\n"
_CONFTEST = "import pytest\n\n\n@pytest.fixture\ndef name():\n    return 'Ada'\n"
_PYPROJECT = """\
[tool.pytest.ini_options]
pythonpath = ["src"]
markers = ["smoke: quick checks"]
addopts = '''-ra --strict-markers -p no:cacheprovider --cov=greeter --cov-report=term-missing
    --junitxml=theirs.xml --cov-fail-under=100'''

[tool.coverage.run]
omit = ["*/skipped.py"]
"""


def _project(tree: Path, pyproject: str = _PYPROJECT) -> Path:
    return write_files(
        tree,
        {
            f"{SOURCE_PATH}/__init__.py": "",
            f"{SOURCE_PATH}/core.py": _GREETER,
            f"{SOURCE_PATH}/skipped.py": _SKIPPED,
            "tests/test_greeter.py": _TESTS,
            "conftest.py": _CONFTEST,
            "pyproject.toml": pyproject,
        },
    )


def _layout() -> runner.ComponentLayout:
    return layout_of(
        SOURCE_PATH, config_files=("pyproject.toml", "conftest.py"), pytest_config="pyproject.toml"
    )


def test_a_typical_project_configuration_runs_as_the_project_runs_it(tmp_path: Path) -> None:
    tree = _project(tmp_path / "tree")
    run = runner.run_tests(tree, _layout(), output_dir=tmp_path / "out", timeout_s=60, junit_xml=True)
    # The marker is declared (--strict-markers), the fixture comes from conftest.py, --cov-fail-under=100
    # does not turn a passing run into a failure: the spec's gate decides coverage.
    assert run.outcome_map() == {"tests/test_greeter.py::test_greets": "passed"}
    assert run.exit_code == 0
    assert run.coverage is not None
    assert [m.path for m in run.coverage.modules] == [f"{SOURCE_PATH}/__init__.py", f"{SOURCE_PATH}/core.py"]
    # Our JUnit XML wins over the project's --junitxml.
    assert run.junit_xml == str(tmp_path / "out" / "junit.xml")
    cases = ET.parse(run.junit_xml).getroot().iter("testcase")
    assert [case.get("name") for case in cases] == ["test_greets"]


def test_a_project_without_configuration_reads_none_from_folders_above_the_copy(tmp_path: Path) -> None:
    # A pytest.ini above the working copy (the work folder's parents) would deselect every test.
    write_files(tmp_path, {"pytest.ini": "[pytest]\naddopts = -k nothing_matches\n"})
    tree = write_files(
        tmp_path / "tree",
        {
            f"{SOURCE_PATH}/__init__.py": "",
            f"{SOURCE_PATH}/core.py": _GREETER,
            "tests/test_greeter.py": _PLAIN_TEST,
        },
    )
    run = runner.run_tests(tree, layout_of(SOURCE_PATH), output_dir=tmp_path / "out", timeout_s=60)
    assert run.outcome_map() == {"tests/test_greeter.py::test_greets": "passed"}


@pytest.mark.parametrize("config_file", ["pyproject.toml", ".coveragerc"])
def test_coverage_numbers_match_coverage_pys_own_report_of_the_same_data(
    tmp_path: Path, config_file: str
) -> None:
    pyproject = '[tool.pytest.ini_options]\npythonpath = ["src"]\nmarkers = ["smoke: quick checks"]\n'
    if config_file == "pyproject.toml":
        pyproject += '\n[tool.coverage.run]\nomit = ["*/skipped.py"]\n'
    tree = _project(tmp_path / "tree", pyproject)
    if config_file == ".coveragerc":
        (tree / ".coveragerc").write_text("[run]\nomit = */skipped.py\n")
    run = runner.run_tests(tree, _layout(), output_dir=tmp_path / "out", timeout_s=60)
    assert run.coverage is not None

    own = tmp_path / "own.json"
    report = run_command(
        [
            sys.executable,
            "-m",
            "coverage",
            "json",
            f"--data-file={tmp_path / 'out' / '.coverage'}",
            "-o",
            str(own),
        ],
        cwd=tree,
        timeout_s=60,
        env=clean_env(),
    )
    assert report.ok, report.tail()
    totals = json.loads(own.read_text())["totals"]
    coverage = run.coverage
    assert SOURCE_PATH + "/skipped.py" not in {m.path for m in coverage.modules}  # the project's omit
    assert (coverage.statements, coverage.covered_statements) == (
        totals["num_statements"],
        totals["covered_lines"],
    )
    assert (coverage.branches, coverage.covered_branches) == (
        totals["num_branches"],
        totals["covered_branches"],
    )
    assert coverage.total_pct == round(totals["percent_covered"], 2)
    assert coverage.line_pct == round(100 * totals["covered_lines"] / totals["num_statements"], 2)
    assert coverage.branch_pct == round(100 * totals["covered_branches"] / totals["num_branches"], 2)
    # Not all the same number: the measures really differ on this code.
    assert len({coverage.line_pct, coverage.branch_pct, coverage.total_pct}) == 3
