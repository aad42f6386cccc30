"""Real pytest runs on tiny real components: exact outcomes, exact coverage, and no run read as a pass
unless its results are there to read."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from spec2prod_assets.testing import pytest_run as runner
from tests.conftest import write_files
from tests.support.layouts import layout_of

SOURCE_PATH = "src/shapes"

# Statements: lines 1, 2, 3, 4, 7, 8 (a `def` is a statement, run at import). One branch point, line 2,
# with two arcs: 2->3 and 2->4.
_MODULE = """\
def classify(n):
    if n < 0:
        return "negative"
    return "non-negative"


def double(n):
    return n * 2
"""
_PASSING = """\
from shapes.numbers import classify


def test_positive_is_non_negative():
    assert classify(5) == "non-negative"
"""
_FAILING = """\
from shapes.numbers import classify


def test_zero_is_called_negative():
    assert classify(0) == "negative"
"""


def _component(tree: Path, **tests: str) -> Path:
    files = {f"{SOURCE_PATH}/__init__.py": "", f"{SOURCE_PATH}/numbers.py": _MODULE}
    files |= {f"tests/{name}.py": source for name, source in tests.items()}
    return write_files(tree, files)


def _run(tree: Path, output_dir: Path, *, timeout_s: float = 60.0) -> runner.TestRun:
    return runner.run_tests(tree, layout_of(SOURCE_PATH), output_dir=output_dir, timeout_s=timeout_s)


def test_all_tests_pass(tmp_path: Path) -> None:
    tree = _component(tmp_path / "tree", test_numbers=_PASSING)
    run = _run(tree, tmp_path / "out")
    assert run.exit_code == 0
    assert (run.collected, run.passed, run.failed) == (1, 1, 0)
    assert run.all_passed
    assert run.outcome_map() == {"tests/test_numbers.py::test_positive_is_non_negative": "passed"}


def test_one_failing_test_is_reported_by_its_node_id(tmp_path: Path) -> None:
    tree = _component(tmp_path / "tree", test_numbers=_PASSING, test_zero=_FAILING)
    run = _run(tree, tmp_path / "out")
    assert run.exit_code == 1
    assert (run.passed, run.failed) == (1, 1)
    assert not run.all_passed
    failed = next(t for t in run.outcomes if t.outcome == "failed")
    assert failed.test_id == "tests/test_zero.py::test_zero_is_called_negative"
    assert "non-negative" in failed.message


def test_a_syntax_error_in_a_test_file_is_a_collect_error_that_counts_as_failed(tmp_path: Path) -> None:
    tree = _component(tmp_path / "tree", test_numbers=_PASSING, test_broken="def test_broken(:\n    pass\n")
    run = _run(tree, tmp_path / "out")
    assert run.outcome_map()["tests/test_broken.py"] == "collect_error"
    assert run.failed >= 1
    assert not run.all_passed


@pytest.mark.parametrize("exit_code", [3, 1, 0], ids=["exit-3", "exit-1", "exit-0"])
def test_a_test_process_that_dies_mid_run_is_an_error_whatever_its_exit_code(
    tmp_path: Path, exit_code: int
) -> None:
    crash = f"import os\n\n\ndef test_dies():\n    os._exit({exit_code})\n"
    tree = _component(tmp_path / "tree", test_numbers=_PASSING, test_crash=crash)
    with pytest.raises(runner.TestRunError):
        _run(tree, tmp_path / "out")


def test_a_run_past_its_timeout_is_an_error(tmp_path: Path) -> None:
    hang = "import time\n\n\ndef test_hangs():\n    time.sleep(60)\n"
    tree = _component(tmp_path / "tree", test_hang=hang)
    started = time.monotonic()
    with pytest.raises(runner.TestRunError, match="timed out"):
        _run(tree, tmp_path / "out", timeout_s=3)
    assert time.monotonic() - started < 30


def test_line_and_branch_coverage_match_a_hand_count(tmp_path: Path) -> None:
    tree = _component(tmp_path / "tree", test_numbers=_PASSING)
    coverage = _run(tree, tmp_path / "out").coverage
    assert coverage is not None
    module = next(m for m in coverage.modules if m.path == f"{SOURCE_PATH}/numbers.py")
    assert module.statements == 6
    assert module.executed_lines == (1, 2, 4, 7)
    assert module.missing_lines == (3, 8)
    assert module.branches == 2
    assert module.executed_branches == ((2, 4),)
    assert module.missing_branches == ((2, 3),)
    assert coverage.line_pct == pytest.approx(66.67)
    assert coverage.branch_pct == pytest.approx(50.0)
    assert coverage.uncovered_lines() == {f"{SOURCE_PATH}/numbers.py": [3, 8]}


def test_output_dir_must_be_fresh(tmp_path: Path) -> None:
    tree = _component(tmp_path / "tree", test_numbers=_PASSING)
    _run(tree, tmp_path / "out")
    with pytest.raises(FileExistsError):
        _run(tree, tmp_path / "out")


def test_stale_coverage_files_in_the_tree_do_not_change_the_result(tmp_path: Path) -> None:
    tree = _component(tmp_path / "tree", test_numbers=_PASSING)
    claims_full_coverage = {
        "files": {
            f"{SOURCE_PATH}/numbers.py": {
                "summary": {"num_statements": 6, "num_branches": 2},
                "executed_lines": [1, 2, 3, 4, 7, 8],
                "missing_lines": [],
                "executed_branches": [[2, 3], [2, 4]],
                "missing_branches": [],
            }
        }
    }
    for folder in (tree, tree / "tests"):
        (folder / "coverage.json").write_text(json.dumps(claims_full_coverage), encoding="utf-8")
        (folder / ".coverage").write_bytes(b"stale data from another run")
    coverage = _run(tree, tmp_path / "out").coverage
    assert coverage is not None
    assert (coverage.line_pct, coverage.branch_pct) == (pytest.approx(66.67), pytest.approx(50.0))


# A failing test that, at exit, forges a "passed" record for itself and 100 % coverage in every report it
# can find: the run must still say "failed" with the real coverage.
_FORGER = """\
import atexit, json, os
from pathlib import Path

from shapes.numbers import classify


def _forge():
    fd = os.environ.get("SPEC2PROD_OUTCOMES_FD")
    if fd:
        line = {"nodeid": "tests/test_forger.py::test_fails", "outcome": "passed", "duration_s": 0.0}
        os.write(int(fd), (json.dumps(line) + "\\n").encode())
    forged = '{"files": {}, "totals": {"percent_covered": 100}}'
    for name in ("COVERAGE_FILE", "SPEC2PROD_COVERAGE_REPORT"):
        try:
            Path(os.environ.get(name, "/x/y")).parent.joinpath("coverage.json").write_text(forged)
        except OSError:
            pass


atexit.register(_forge)


def test_fails():
    assert classify(0) == "negative"
"""


def test_results_rewritten_at_exit_do_not_change_the_verdict_or_the_coverage(tmp_path: Path) -> None:
    tree = _component(tmp_path / "tree", test_forger=_FORGER)
    run = _run(tree, tmp_path / "out")
    assert run.outcome_map() == {"tests/test_forger.py::test_fails": "failed"}
    assert run.coverage is not None and run.coverage.modules


def test_a_forged_session_line_that_disagrees_with_the_exit_status_is_refused(tmp_path: Path) -> None:
    forged = (
        "import json, os\n\n\ndef test_forges_the_session():\n"
        "    line = {'session': {'exit_status': 0, 'collected': [], 'coverage_json': None}}\n"
        "    os.write(int(os.environ['SPEC2PROD_OUTCOMES_FD']), (json.dumps(line) + '\\n').encode())\n"
        "    assert False\n"
    )
    tree = _component(tmp_path / "tree", test_forged=forged)
    with pytest.raises(runner.TestRunError, match="refused"):
        _run(tree, tmp_path / "out")
