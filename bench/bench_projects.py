"""The projects benchmarks run on: fresh copies of the bundled example, and one with many small components.

Each measured run gets a project no earlier run has touched, so nothing cached in a work folder flatters a
number unless the scenario is about that cache.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from tests.conftest import DEMO_SOURCE, copy_demo

__all__ = ["DEMO_SOURCE", "clone_calculator", "copy_demo", "demo_without_specs"]

CALCULATOR = "calculator"
_CALCULATOR_WORD = re.compile(rf"\b{CALCULATOR}\b")


def demo_without_specs(destination: Path) -> Path:
    """The example's code and tests with an empty specs/ folder: a watched project in which nothing runs
    until a benchmark drops a spec into it."""
    project = copy_demo(destination)
    for spec in (project / "specs").glob("*.md"):
        spec.unlink()
    return project


def clone_calculator(project: Path, slug: str, *, target_stage: str) -> str:
    """Copy the example's calculator component (code and tests) under `slug` into `project`; returns the
    spec text, which the caller drops into specs/ when the benchmark wants the run to start.

    Only the package name changes (imports included), so every clone costs the same work as the original.
    """
    for folder in ("src", "tests"):
        shutil.copytree(DEMO_SOURCE / folder / CALCULATOR, project / folder / slug)
        for module in (project / folder / slug).rglob("*.py"):
            module.write_text(
                _CALCULATOR_WORD.sub(slug, module.read_text(encoding="utf-8")), encoding="utf-8"
            )
    spec = (DEMO_SOURCE / "specs" / f"{CALCULATOR}.md").read_text(encoding="utf-8")
    spec = spec.replace(f"**Component ID:** {CALCULATOR}", f"**Component ID:** {slug}")
    return re.sub(r"\*\*Target Stage:\*\* \w+", f"**Target Stage:** {target_stage}", spec)
