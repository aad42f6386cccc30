"""The spec sensor in the real `dagster dev`: drop a spec in, get one run; edit it, get exactly one more.

Nothing here calls the sensor or the jobs directly: the test writes files into the watched project and
reads the outcome from the webserver's GraphQL API, as the UI does.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import pytest

from tests.conftest import write_files
from tests.e2e.conftest import DEV_JOB_ASSETS, DagsterDev

SLUG = "temperature"

COMPONENT = {
    "src/temperature/__init__.py": (
        '"""Temperature conversions."""\n\n'
        "from temperature.convert import to_celsius, to_fahrenheit\n\n"
        '__all__ = ["to_celsius", "to_fahrenheit"]\n'
    ),
    "src/temperature/convert.py": (
        '"""Celsius and Fahrenheit."""\n\n\n'
        "def to_fahrenheit(celsius: float) -> float:\n"
        "    return celsius * 9 / 5 + 32\n\n\n"
        "def to_celsius(fahrenheit: float) -> float:\n"
        "    return (fahrenheit - 32) * 5 / 9\n"
    ),
    "tests/temperature/test_convert.py": (
        "from temperature import to_fahrenheit\n\n\n"
        "def test_boiling_point() -> None:\n"
        "    assert to_fahrenheit(100) == 212\n"
    ),
}

SPEC = """# Temperature

**Component ID:** temperature
**Version:** {version}
**Target Stage:** dev

## Overview
Converts temperatures between Celsius and Fahrenheit for the weather widget.

## Requirements
- FR-1: `to_fahrenheit` converts degrees Celsius to Fahrenheit. (Must)
- FR-2: `to_celsius` converts degrees Fahrenheit to Celsius. (Must)

## Acceptance Criteria
- AC-1: `to_fahrenheit(100) == 212`.

## Success Criteria
- Test coverage >= 50%
"""


def run_key(spec_file: Path) -> str:
    return f"{SLUG}:{hashlib.sha256(spec_file.read_bytes()).hexdigest()[:16]}"


@pytest.mark.e2e
def test_new_spec_runs_once_and_an_edit_runs_exactly_once_more(dagster_dev: DagsterDev) -> None:
    # The code first, then the spec: the sensor must never see a spec whose source is missing.
    write_files(dagster_dev.project_root, COMPONENT)
    spec_file = dagster_dev.project_root / "specs" / f"{SLUG}.md"
    spec_file.write_text(SPEC.format(version="0.1.0"), encoding="utf-8")

    first = dagster_dev.wait_for_run(SLUG)

    assert first.status == "SUCCESS", dagster_dev.log_tail()
    assert first.tags["dagster/sensor_name"] == "spec_sensor"
    assert first.tags["dagster/run_key"] == run_key(spec_file)
    assert first.tags["spec2prod/spec_path"] == f"specs/{SLUG}.md"
    assert dagster_dev.materialized_assets(first.run_id) == dict.fromkeys(DEV_JOB_ASSETS, SLUG)

    spec_file.write_text(SPEC.format(version="0.2.0"), encoding="utf-8")
    second = dagster_dev.wait_for_run(SLUG, count=2)

    assert second.status == "SUCCESS", dagster_dev.log_tail()
    assert second.tags["dagster/run_key"] == run_key(spec_file) != first.tags["dagster/run_key"]
    assert dagster_dev.materialized_assets(second.run_id) == dict.fromkeys(DEV_JOB_ASSETS, SLUG)
    later_ticks = dagster_dev.wait_for_ticks_after(time.time(), ticks=2)
    assert all(not tick.run_ids for tick in later_ticks)
    assert [run.run_id for run in dagster_dev.runs(SLUG)] == [first.run_id, second.run_id]
