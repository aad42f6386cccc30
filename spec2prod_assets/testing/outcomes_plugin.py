"""A pytest plugin, loaded into every test subprocess, that streams exact per-test outcomes to the parent.

JUnit XML loses node ids and collection errors; the validation funnel needs both to drop failing
generated tests one by one. Each outcome is sent as one JSON line on a pipe the parent holds open (its
file descriptor number is in SPEC2PROD_OUTCOMES_FD) the moment the test ends: what the parent has read,
the code under test can no longer rewrite (a file written at the end could be rewritten at exit). At the
end of the session it sends the collected node ids, pytest's exit status and the coverage report itself
(pytest-cov writes it to the sandbox's private /tmp, which the parent never reads), so a rewrite at exit
reaches nothing the parent uses.
A crashed run sends no session line and is treated as a failure, never as a pass.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

OUTCOMES_FD_ENV = "SPEC2PROD_OUTCOMES_FD"
COVERAGE_REPORT_ENV = "SPEC2PROD_COVERAGE_REPORT"

_collected: list[str] = []


def _send(record: dict[str, Any]) -> None:
    target = os.environ.get(OUTCOMES_FD_ENV)
    if not target:
        return
    data = (json.dumps(record) + "\n").encode()
    fd = int(target)
    while data:
        data = data[os.write(fd, data) :]


def _message(report: pytest.CollectReport | pytest.TestReport) -> str:
    text = str(report.longrepr or "")
    return text[-2000:]


def pytest_configure(config: pytest.Config) -> None:
    """Tests claim spec ids with `@pytest.mark.spec("AC-2")` (read by `claims`): a project that runs with
    `--strict-markers` would otherwise refuse them, and any other would warn on each one."""
    config.addinivalue_line("markers", "spec(*ids): the spec ids this test checks")


def pytest_collectreport(report: pytest.CollectReport) -> None:
    if report.failed:
        _send(
            {
                "nodeid": report.nodeid,
                "outcome": "collect_error",
                "duration_s": 0.0,
                "message": _message(report),
            }
        )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    _collected[:] = [item.nodeid for item in items]


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "call" or (report.when == "setup" and not report.passed):
        outcome = report.outcome if report.when == "call" else ("skipped" if report.skipped else "error")
        message = _message(report) if not report.passed else ""
        _send(
            {"nodeid": report.nodeid, "outcome": outcome, "duration_s": report.duration, "message": message}
        )
    elif report.when == "teardown" and report.failed:
        _send(
            {
                "nodeid": report.nodeid,
                "outcome": "error",
                "duration_s": report.duration,
                "message": _message(report),
            }
        )


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """pytest-cov has written its report by now (at the end of the test loop): it goes along."""
    report = os.environ.get(COVERAGE_REPORT_ENV)
    coverage = None
    if report and Path(report).is_file():
        coverage = Path(report).read_text(encoding="utf-8")
    _send({"session": {"exit_status": int(exitstatus), "collected": _collected, "coverage_json": coverage}})
