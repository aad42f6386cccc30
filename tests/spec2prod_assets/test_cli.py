"""`spec2prod register`: the partitions CI needs before `dagster job execute`, on the instance it names."""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg
import pytest

from spec2prod_assets.cli import STAGE_CHOICES, main
from spec2prod_assets.spec.model import Stage
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


def test_register_goes_on_past_bad_specs_with_one_line_each(
    demo_project: Path, dagster_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    specs = demo_project / "specs"
    (specs / "feb30.md").write_text(
        "---\nname: X\ncreated: 2024-02-30\nrequirements: [a]\n---\n", encoding="utf-8"
    )
    (specs / "bomb.md").write_text(
        "---\nname: X\nbuild: !!int abc\nrequirements: [a]\n---\n", encoding="utf-8"
    )

    code = main(["register", str(specs / "feb30.md"), str(specs / "bomb.md")])
    out, err = capsys.readouterr()

    assert code == 2
    assert err.splitlines() == [
        "spec2prod: bad spec: specs/feb30.md:3: the front matter is not usable YAML: "
        "'2024-02-30' is not a valid timestamp",
        "spec2prod: bad spec: specs/bomb.md:3: the front matter is not usable YAML: 'abc' is not a valid int",
    ]
    assert "Traceback" not in out + err


def test_register_registers_the_good_specs_beside_a_bad_one(
    demo_project: Path, dagster_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = _specs(demo_project)
    bad = demo_project / "specs" / "broken.md"
    bad.write_text("---\nname: X\ncreated: 2024-13-01\nrequirements: [a]\n---\n", encoding="utf-8")

    code = main(["register", str(bad), *good])

    assert code == 2
    assert _partitions() == ["calculator", "text_stats"]
    out, err = capsys.readouterr()
    assert out.splitlines() == ["calculator\tregistered", "text_stats\tregistered"]
    assert err.count("\n") == 1 and "specs/broken.md:3" in err


@pytest.mark.timeout(30)
def test_register_refuses_a_fifo_at_once(
    demo_project: Path, dagster_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fifo = demo_project / "specs" / "waiting.md"
    os.mkfifo(fifo)

    assert main(["register", str(fifo)]) == 2
    assert "specs/waiting.md: the spec is not a regular file but a FIFO" in capsys.readouterr().err


def test_run_reports_every_bad_spec_on_one_line_and_exits_2(
    demo_project: Path, dagster_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    specs = demo_project / "specs"
    (specs / "a.md").write_text(
        "---\nname: X\ncoverage: " + "9" * 400 + "\nrequirements: [a]\n---\n", "utf-8"
    )
    (specs / "b.md").write_text("# B\x00\n## Requirements\n- a\n", encoding="utf-8")

    code = main(["run", str(specs / "a.md"), str(specs / "b.md")])
    err = capsys.readouterr().err

    assert code == 2
    assert err.splitlines() == [
        "spec2prod: bad spec: specs/a.md:3: coverage threshold inf is outside 0..100",
        "spec2prod: bad spec: specs/b.md:1: the spec contains a NUL character; save it as plain text",
    ]


def test_the_stage_choices_are_the_spec_models_stages() -> None:
    assert list(STAGE_CHOICES) == [stage.value for stage in Stage]


def test_register_uses_the_project_of_the_spec_from_any_folder(
    demo_project: Path,
    dagster_home: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(dagster_home)
    assert main(["register", str(demo_project / "specs" / "calculator.md")]) == 0
    assert capsys.readouterr().out == "calculator\tregistered\n"
