"""The layout of the work folder, where every run writes and nothing else does.

Assets, `run_workflow` and the deploy commands find each other's files by path alone (no Python values
cross processes), so every path under the work folder is spelled here and nowhere else:

    <work>/<slug>/runs/<run id>/<stage>/          one fresh folder per pipeline stage of a run
    <work>/<slug>/runs/<run id>/workflow_report.json
    <work>/<slug>/bundles/                        the immutable release bundles
    <work>/<partition>/assets/<asset>.json        asset values (the artifact IO manager)
    <work>/deploy/                                local deploy environments (unless configured elsewhere)
    <work>/cache/<kind>/<key>/                    content-addressed results shared by all runs of the
                                                  project (generation tasks, funnel verdicts): entry.json
                                                  and the files it lists, keyed by the sha256 of the inputs
    <project>/.spec2prod/dagster_home/            the instance `run_workflow` uses when $DAGSTER_HOME is unset
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

WORK_FOLDER_NAME = ".spec2prod"


@dataclass(frozen=True)
class WorkFolder:
    """One project's work folder; computing a path creates nothing except where a method says so."""

    path: Path

    @classmethod
    def inside(cls, project_root: Path) -> WorkFolder:
        """The default: `<project>/.spec2prod`, so a project carries its own runs."""
        return cls(project_root / WORK_FOLDER_NAME)

    @property
    def deploy(self) -> Path:
        return self.path / "deploy"

    @property
    def dagster_home(self) -> Path:
        return self.path / "dagster_home"

    def cache(self, kind: str) -> Path:
        """The folder of one kind of cache entry. Caches sit beside the specs' folders, not inside one, so
        a rerun of any spec (or another spec with the same module) finds what an earlier run stored."""
        if not re.fullmatch(r"[a-z0-9][a-z0-9_-]*", kind):
            raise ValueError(f"cache kind {kind!r} must be a lowercase name like 'generation-tasks'")
        return self.path / "cache" / kind

    def bundles(self, slug: str) -> Path:
        return self.path / slug / "bundles"

    def run(self, slug: str, run_id: str) -> Path:
        return self.path / slug / "runs" / run_id

    def report(self, slug: str, run_id: str) -> Path:
        return self.run(slug, run_id) / "workflow_report.json"

    def new_stage_dir(self, slug: str, run_id: str, stage: str) -> Path:
        """Create and return the folder of one pipeline stage of one run. It must not exist yet: a stage
        never works on top of files an earlier attempt left behind."""
        path = self.run(slug, run_id) / stage
        path.mkdir(parents=True, exist_ok=False)
        return path

    def asset_value(self, partition: str, asset: str) -> Path:
        return self.path / partition / "assets" / f"{asset}.json"


def numbered_pytest_run(stage_dir: Path, number: int, label: str) -> Path:
    """The results folder of the `number`th pytest run inside a stage, named so runs sort in order."""
    return stage_dir / "runs" / f"{number:02d}-{label}"
