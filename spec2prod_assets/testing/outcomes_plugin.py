"""A pytest plugin, loaded into every test subprocess, that writes exact per-test outcomes as JSON.

JUnit XML loses node ids and collection errors; the validation funnel needs both to drop failing
generated tests one by one. The file is written once, at the end of the session, so a crashed run
leaves no file and is treated as a failure, never as a pass.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

OUTCOMES_ENV = "SPEC2PROD_OUTCOMES_FILE"

_records: list[dict[str, Any]] = []
_collected = 0


def _message(report: pytest.CollectReport | pytest.TestReport) -> str:
    text = str(report.longrepr or "")
    return text[-2000:]


def pytest_collectreport(report: pytest.CollectReport) -> None:
    if report.failed:
        _records.append(
            {
                "nodeid": report.nodeid,
                "outcome": "collect_error",
                "duration_s": 0.0,
                "message": _message(report),
            }
        )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    global _collected
    _collected = len(items)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "call" or (report.when == "setup" and not report.passed):
        outcome = report.outcome if report.when == "call" else ("skipped" if report.skipped else "error")
        _records.append(
            {
                "nodeid": report.nodeid,
                "outcome": outcome,
                "duration_s": report.duration,
                "message": _message(report) if not report.passed else "",
            }
        )
    elif report.when == "teardown" and report.failed:
        _records.append(
            {
                "nodeid": report.nodeid,
                "outcome": "error",
                "duration_s": report.duration,
                "message": _message(report),
            }
        )


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    target = os.environ.get(OUTCOMES_ENV)
    if not target:
        return
    payload = {"exit_status": int(exitstatus), "collected": _collected, "tests": _records}
    Path(target).write_text(json.dumps(payload), encoding="utf-8")
