"""The must-show of issue 10: a component whose tests try every escape goes through the pipeline's
baseline run, every attempt fails inside the sandbox, the project and a deploy root are byte-for-byte
unchanged, the verdict is the true one (5 passed, 1 failed) and no process of the run is left running."""

from __future__ import annotations

import socket
import time
import uuid
from pathlib import Path

import dagster as dg
import pytest

from resources.project import ProjectResource
from tests.conftest import SPECS_PARTITION, tree_digest
from tests.support.escape_component import COMPONENT, processes_with, require_sandbox, write_escape_component
from tests.support.pipeline_steps import materialize_stages

pytestmark = pytest.mark.e2e


def test_every_escape_fails_inside_the_sandbox_and_the_verdict_is_true(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    require_sandbox()
    home = tmp_path / "home"
    home.mkdir()
    (home / ".secret").write_text("api-key")
    monkeypatch.setenv("HOME", str(home))
    deploy_root = tmp_path / "deploy"
    (deploy_root / "releases" / "r1").mkdir(parents=True)
    (deploy_root / "releases" / "r1" / "app.py").write_text("live = True\n")
    marker = f"escape-marker-{uuid.uuid4().hex}"
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.setblocking(False)
        project = tmp_path / "project"
        write_escape_component(
            project,
            targets={
                "project_file": str(project / "src" / COMPONENT / "__init__.py"),
                "deploy_file": str(deploy_root / "releases" / "r1" / "app.py"),
                "home_file": str(home / "stolen.txt"),
                "home_secret": str(home / ".secret"),
                "work_dir": str(tmp_path / "work"),
                "port": listener.getsockname()[1],
                "marker": marker,
            },
        )
        project_before, deploy_before = tree_digest(project), tree_digest(deploy_root)
        resource = ProjectResource(root=str(project), work_dir=str(tmp_path / "work"))
        with dg.DagsterInstance.ephemeral() as instance:
            instance.add_dynamic_partitions(SPECS_PARTITION, [COMPONENT])
            result = materialize_stages(
                ["spec", "baseline_tests"], project=resource, partition=COMPONENT, instance=instance
            )
        with pytest.raises(BlockingIOError):
            listener.accept()  # nobody connected from inside the sandbox
    assert result.success, [e.message for e in result.all_events if e.is_failure]
    [event] = [
        e for e in result.get_asset_materialization_events() if e.asset_key == dg.AssetKey("baseline_tests")
    ]
    metadata = {k: v.value for k, v in event.materialization.metadata.items()}
    assert (metadata["tests_passed"], metadata["tests_failed"]) == (5, 1)
    assert isinstance(metadata["line_coverage_pct"], float)  # a real report, not the forged {"totals": ...}
    assert tree_digest(project) == project_before
    assert tree_digest(deploy_root) == deploy_before
    assert not (home / "stolen.txt").exists()
    time.sleep(0.3)
    assert processes_with(marker) == [], "a detached child of the tests outlived the run"
