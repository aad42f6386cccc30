"""`spec2prod register`: the partitions CI needs before `dagster job execute`, on the instance it names."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from spec2prod_assets.cli import main
from tests.conftest import SPECS_PARTITION


def _specs(project: Path) -> list[str]:
    return [str(path) for path in sorted((project / "specs").glob("*.md"))]


def _partitions() -> list[str]:
    with dg.DagsterInstance.get() as instance:
        return sorted(instance.get_dynamic_partitions(SPECS_PARTITION))


def test_register_without_dagster_home_exits_2_and_says_why(
    demo_project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    assert main(["register", *_specs(demo_project)]) == 2
    assert "DAGSTER_HOME" in capsys.readouterr().err


def test_register_adds_one_partition_per_spec(
    demo_project: Path, dagster_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["register", *_specs(demo_project)]) == 0
    assert _partitions() == ["calculator", "text_stats"]
    assert capsys.readouterr().out.splitlines() == ["calculator\tregistered", "text_stats\tregistered"]


def test_register_twice_changes_nothing(
    demo_project: Path, dagster_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["register", *_specs(demo_project)])
    capsys.readouterr()
    assert main(["register", *_specs(demo_project)]) == 0
    assert _partitions() == ["calculator", "text_stats"]
    assert capsys.readouterr().out.splitlines() == [
        "calculator\talready registered",
        "text_stats\talready registered",
    ]


def test_register_refuses_a_bad_spec_with_exit_2(
    demo_project: Path, dagster_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = demo_project / "specs" / "broken.md"
    bad.write_text("no title, no requirements\n", encoding="utf-8")
    assert main(["register", str(bad)]) == 2
    assert "bad spec" in capsys.readouterr().err
    assert _partitions() == []
