"""The JUnit XML CI reads: one run's file as it is, several runs' suites in one file."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from spec2prod_assets.report.junit import write_junit_xml


def _report(path: Path, name: str, tests: int, failures: int) -> Path:
    path.write_text(
        f'<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="{name}" tests="{tests}" '
        f'failures="{failures}" errors="0" skipped="0"><testcase classname="t" name="a"/>'
        "</testsuite></testsuites>",
        encoding="utf-8",
    )
    return path


def test_one_report_is_copied_byte_for_byte(tmp_path: Path) -> None:
    report = _report(tmp_path / "junit.xml", "pytest", 2, 0)
    written = write_junit_xml([("calc", report)], tmp_path / "ci" / "out.xml")
    assert written.read_bytes() == report.read_bytes()


def test_several_reports_become_one_file_with_every_suite_named_after_its_component(tmp_path: Path) -> None:
    first = _report(tmp_path / "a.xml", "pytest", 2, 0)
    second = _report(tmp_path / "b.xml", "pytest", 3, 1)
    root = ET.parse(write_junit_xml([("calc", first), ("text", second)], tmp_path / "out.xml")).getroot()
    assert root.tag == "testsuites"
    assert [suite.get("name") for suite in root] == ["calc: pytest", "text: pytest"]
    assert (root.get("tests"), root.get("failures")) == ("5", "1")


def test_a_report_that_is_not_junit_is_refused_naming_it(tmp_path: Path) -> None:
    good = _report(tmp_path / "a.xml", "pytest", 1, 0)
    bad = tmp_path / "b.xml"
    bad.write_text("<html/>", encoding="utf-8")
    with pytest.raises(ValueError, match=r"b\.xml is not JUnit XML: its root element is <html>"):
        write_junit_xml([("calc", good), ("text", bad)], tmp_path / "out.xml")
