"""Every spec checked and every stage decided before anything runs: one line per problem, the project each
spec belongs to, and a stage beyond a spec's target only when asked for."""

from __future__ import annotations

from pathlib import Path

import pytest

from spec2prod_assets.run_plan import StageBeyondTargetError, plan_run, plan_runs, project_root_for, stage_for
from spec2prod_assets.spec.model import Stage
from tests.conftest import write_files


def _spec(name: str, *, target: str = "production", source: str = "src/pkg", extra: str = "") -> str:
    return (
        f"---\nname: {name}\nsource_path: {source}\ntarget_stage: {target}\n{extra}"
        "requirements: [it works]\n---\n"
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return write_files(
        tmp_path / "project",
        {
            "src/pkg/__init__.py": "",
            "specs/good.md": _spec("Good"),
            "specs/staging_only.md": _spec("Staging Only", target="staging"),
        },
    )


def test_without_a_stage_each_spec_goes_to_its_own_target(project: Path) -> None:
    planned = plan_run(
        project / "specs" / "staging_only.md", project_root=None, stage=None, beyond_target=False
    )
    assert planned.stage is Stage.STAGING


def test_a_stage_before_the_target_is_fine(project: Path) -> None:
    planned = plan_run(
        project / "specs" / "staging_only.md", project_root=None, stage=Stage.DEV, beyond_target=False
    )
    assert planned.stage is Stage.DEV


def test_a_stage_beyond_the_target_is_refused_in_one_line_naming_the_flag(project: Path) -> None:
    with pytest.raises(StageBeyondTargetError) as caught:
        plan_run(
            project / "specs" / "staging_only.md",
            project_root=None,
            stage=Stage.PRODUCTION,
            beyond_target=False,
        )
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("specs/staging_only.md: stage production goes beyond the spec's target stage")
    assert "--beyond-target" in message


def test_a_stage_beyond_the_target_goes_ahead_when_asked_for(project: Path) -> None:
    spec = plan_run(
        project / "specs" / "staging_only.md", project_root=None, stage=None, beyond_target=False
    ).spec
    assert stage_for(spec, Stage.PRODUCTION, beyond_target=True) is Stage.PRODUCTION


def test_every_bad_spec_is_one_problem_and_the_good_ones_are_still_planned(project: Path) -> None:
    write_files(
        project,
        {
            "specs/typo.md": _spec("Typo", extra="coverge_threshold: 95\n"),
            "specs/fraction.md": _spec("Fraction", extra="coverage_threshold: 0.8\n"),
            "specs/missing.md": _spec("Missing", source="src/nowhere"),
        },
    )
    specs = [project / "specs" / f"{name}.md" for name in ("typo", "good", "fraction", "missing")]
    planned, problems = plan_runs(specs, project_root=None, stage=None, beyond_target=False)
    assert [run.spec.slug for run in planned] == ["good"]
    assert [problem.split(":")[1].strip() for problem in problems] == [
        "specs/typo.md",
        "specs/fraction.md",
        "specs/missing.md",
    ]
    assert all(problem.startswith("bad spec: ") and "\n" not in problem for problem in problems)


def test_two_specs_claiming_one_component_id_are_a_problem(project: Path) -> None:
    write_files(project, {"specs/again.md": _spec("Good")})
    _, problems = plan_runs(
        [project / "specs" / "good.md", project / "specs" / "again.md"],
        project_root=None,
        stage=None,
        beyond_target=False,
    )
    assert problems == [
        "bad spec: specs/good.md, specs/again.md: 2 specs share the component id 'good'; rename one"
    ]


def test_the_same_spec_given_twice_is_planned_once(project: Path) -> None:
    spec = project / "specs" / "good.md"
    planned, problems = plan_runs([spec, spec], project_root=None, stage=None, beyond_target=False)
    assert len(planned) == 1 and problems == []


def test_a_spec_belongs_to_the_folder_holding_its_specs_folder(project: Path) -> None:
    assert project_root_for(project / "specs" / "good.md", None) == project


def test_project_root_wins_over_where_the_spec_sits(project: Path, tmp_path: Path) -> None:
    assert project_root_for(project / "specs" / "good.md", tmp_path) == tmp_path


def test_a_spec_outside_any_specs_folder_belongs_to_the_configured_project(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SPEC2PROD_PROJECT_ROOT", str(project))
    assert project_root_for(tmp_path / "loose.md", None) == project
