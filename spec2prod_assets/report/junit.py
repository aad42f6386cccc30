"""The JUnit XML a CI system reads: the release candidates' own reports, in one file where CI asked.

One run: its file, byte for byte. Several runs (`spec2prod run a.md b.md --junit-xml out.xml`): one
`<testsuites>` holding every run's `<testsuite>` elements, each named after its component, since CI
tools read one file per step.
"""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path

from spec2prod_assets.storage.atomic_files import write_text_atomically


def write_junit_xml(reports: Sequence[tuple[str, Path]], destination: Path) -> Path:
    """Copy or merge the `(component, report)` pairs into `destination`; raises `ValueError` for a report
    that is not JUnit XML, `OSError` for one that cannot be read."""
    if len(reports) == 1:
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(reports[0][1], destination)
        return destination
    merged = ET.Element("testsuites")
    for component, report in reports:
        for suite in _suites(report):
            suite.set("name", f"{component}: {suite.get('name', 'pytest')}")
            merged.append(suite)
    for total in ("tests", "failures", "errors", "skipped"):
        merged.set(total, str(sum(int(suite.get(total, "0")) for suite in merged)))
    return write_text_atomically(destination, ET.tostring(merged, encoding="unicode", xml_declaration=True))


def _suites(report: Path) -> list[ET.Element]:
    try:
        root = ET.parse(report).getroot()
    except ET.ParseError as exc:
        raise ValueError(f"{report} is not readable JUnit XML: {exc}") from None
    if root.tag == "testsuite":
        return [root]
    if root.tag == "testsuites":
        return root.findall("testsuite")
    raise ValueError(f"{report} is not JUnit XML: its root element is <{root.tag}>")
