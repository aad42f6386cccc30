"""Three projects nobody shaped for spec2prod reach production through `spec2prod run --json`.

- greeter (tests/fixtures/greeter_project): the commonest layout, `src/greeter/` and `tests/`, a spec that
  does not name its tests, a third-party dependency spec2prod does not install (`humanize`), and its own
  pytest (testpaths, a marker under --strict-markers, a conftest fixture), coverage (`omit`) and ruff
  (line-length 120, lint debt the spec does not ask to fix) configuration;
- inflection 0.5.1 from PyPI: a package folder at the root with its test module beside it (template spec);
- cachetools 8.0.2 from PyPI: src layout with a `tests/` package (front-matter spec).

Each project runs once (a module-scoped run shared by its assertions); what pytest and coverage.py report
for the untouched project, computed here with real subprocesses, is what the run must have found.
"""

from __future__ import annotations

import importlib.util
import json
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest

from resources.project import ProjectResource
from spec2prod_assets.deploy.state_store import ReleaseStore
from tests.real_projects.projects import (
    MUTATION_BUDGET_S,
    PROJECTS,
    CliRun,
    Project,
    cli_env,
    collected_count,
    fresh_dagster_home,
    project_pytest,
    spec2prod,
)

pytestmark = pytest.mark.e2e

RUN_TIMEOUT_S = 900
STAGES = (
    "spec",
    "baseline_tests",
    "generated_tests",
    "refactored_code",
    "release_candidate",
    "staging_deployment",
    "production_deployment",
)
# Lines of the greeter's own style (line-length 120): spec2prod's defaults would wrap each of them.
GREETER_WIDE_LINES = {
    "src/greeter/messages.py": (
        "def farewell(name: str, *, formal: bool = False, hour: int | None = None, "
        'sign_off: str = "See you soon") -> str:',
        '    readable = humanize.naturalsize(size_bytes, binary=binary_units, format="%.1f", gnu=False)',
    ),
    "tests/test_greeter.py": (
        '@pytest.mark.parametrize(("hour", "part"), '
        '[(0, "morning"), (12, "afternoon"), (17, "afternoon"), (18, "evening")])',
    ),
}
GREETER_OMITTED = "src/greeter/_legacy.py"


@dataclass(frozen=True)
class ProjectRun:
    """One project's run through the CLI and what pytest and coverage.py say about the untouched project."""

    project: Project
    root: Path
    cli: CliRun
    result: dict[str, Any]
    collected: int
    coverage_totals: dict[str, Any]
    coverage_files: tuple[str, ...]

    def metadata(self, stage: str) -> dict[str, Any]:
        stage_result = self.result["stages"][stage]
        assert stage_result["status"] == "succeeded", (
            f"{stage}: {stage_result['status']}\n{self.cli.explain()}"
        )
        metadata: dict[str, Any] = stage_result["metadata"]
        return metadata

    def production_release(self) -> Path:
        """The folder `current` names in production (the release a user's traffic would reach)."""
        store = ReleaseStore(
            ProjectResource(root=str(self.root)).deploy_path, "production", self.project.slug
        )
        release_id = store.current_id()
        assert release_id is not None, f"production has no current release of {self.project.slug}"
        return store.release_dir(release_id)


class ProjectRuns:
    """Runs each project at most once per module, on first use, in its own temporary folder."""

    def __init__(self, factory: pytest.TempPathFactory) -> None:
        self._factory = factory
        self._runs: dict[str, ProjectRun] = {}

    def get(self, slug: str) -> ProjectRun:
        if slug not in self._runs:
            self._runs[slug] = self._run(PROJECTS[slug])
        return self._runs[slug]

    def _run(self, project: Project) -> ProjectRun:
        project.require()
        base = self._factory.mktemp(f"real-{project.slug}")
        pristine = project.copy_to(base / "pristine")
        collected = collected_count(project, pristine)
        totals, files = _coverage_of(project, pristine, base / "coverage.json")
        root = project.copy_to(base / project.slug)
        env = cli_env(fresh_dagster_home(base), base / "environments")
        cli = spec2prod(
            ["run", f"specs/{project.slug}.md", "--json"], cwd=root, env=env, timeout_s=RUN_TIMEOUT_S
        )
        print(
            f"\n[real_projects] {project.slug}: spec2prod run took {cli.wall_s:.1f}s (exit {cli.returncode})"
        )
        return ProjectRun(project, root, cli, _one_result(cli), collected, totals, files)


def _one_result(cli: CliRun) -> dict[str, Any]:
    """The run's entry in the one document `--json` prints: `{"success", "runs": [...], "junit_xml"}`."""
    try:
        document = json.loads(cli.stdout)
    except json.JSONDecodeError as exc:
        pytest.fail(f"--json did not print one JSON document ({exc})\n{cli.explain()}")
    [result] = document["runs"]
    assert isinstance(result, dict)
    return result


def _coverage_of(project: Project, root: Path, report: Path) -> tuple[dict[str, Any], tuple[str, ...]]:
    """coverage.py's own totals and measured files for the project's suite, its configuration in force."""
    project_pytest(project, root, [f"--cov={project.source_path}", f"--cov-report=json:{report}", "-q"])
    data = json.loads(report.read_text(encoding="utf-8"))
    report.unlink()
    (root / ".coverage").unlink(missing_ok=True)
    return data["totals"], tuple(sorted(data["files"]))


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProjectRuns]:
    yield ProjectRuns(tmp_path_factory)


@pytest.mark.parametrize("slug", list(PROJECTS))
def test_project_reaches_production(runs: ProjectRuns, slug: str) -> None:
    run = runs.get(slug)
    assert run.cli.returncode == 0, run.cli.explain()
    assert run.result["success"] is True, run.cli.explain()
    assert run.result["failures"] == [], run.cli.explain()
    assert run.result["target_stage"] == "production"
    assert {stage: run.result["stages"][stage]["status"] for stage in STAGES} == dict.fromkeys(
        STAGES, "succeeded"
    ), run.cli.explain()


@pytest.mark.parametrize("slug", list(PROJECTS))
def test_baseline_ran_every_test_pytest_collects(runs: ProjectRuns, slug: str) -> None:
    run = runs.get(slug)
    baseline = run.metadata("baseline_tests")
    assert run.collected > 0
    assert (baseline["tests_passed"], baseline["tests_failed"]) == (run.collected, 0), run.cli.explain()


@pytest.mark.parametrize("slug", list(PROJECTS))
def test_baseline_coverage_is_what_coverage_py_reports(runs: ProjectRuns, slug: str) -> None:
    run = runs.get(slug)
    baseline = run.metadata("baseline_tests")
    totals = run.coverage_totals
    assert baseline["statements"] == totals["num_statements"]
    expected_pct = round(100.0 * totals["covered_lines"] / totals["num_statements"], 2)
    assert baseline["line_coverage_pct"] == pytest.approx(expected_pct, abs=0.01)


@pytest.mark.parametrize("slug", list(PROJECTS))
def test_production_serves_the_release_candidate(runs: ProjectRuns, slug: str) -> None:
    run = runs.get(slug)
    candidate_sha = run.metadata("release_candidate")["bundle_sha256"]
    production = run.metadata("production_deployment")
    assert production["healthy"] is True
    assert production["bundle_sha256"] == candidate_sha
    store = ReleaseStore(ProjectResource(root=str(run.root)).deploy_path, "production", slug)
    [live] = [info for info in store.infos() if info.is_current]
    assert (live.bundle_sha256, live.is_bad) == (candidate_sha, False)


@pytest.mark.parametrize("slug", list(PROJECTS))
def test_release_candidate_junit_xml_holds_the_whole_suite(runs: ProjectRuns, slug: str) -> None:
    """The project's own tests and the accepted generated ones, none failed, in the run's JUnit XML."""
    run = runs.get(slug)
    junit = run.result["junit_xml"]
    assert junit is not None, run.cli.explain()
    cases = ElementTree.parse(junit).getroot().iter("testcase")
    outcomes = [tuple(child.tag for child in case) for case in cases]
    accepted = run.metadata("generated_tests")["tests_accepted"]
    assert len(outcomes) >= run.collected + (1 if accepted else 0)
    assert [o for o in outcomes if {"failure", "error"} & set(o)] == []


def test_greeter_tests_were_found_from_its_testpaths(runs: ProjectRuns) -> None:
    """The spec names no tests folder: `tests/` comes from `[tool.pytest.ini_options] testpaths`."""
    run = runs.get("greeter")
    baseline = run.metadata("baseline_tests")
    assert (baseline["test_paths"], baseline["tests_found"]) == ("tests", run.collected)
    assert "testpaths" in baseline["tests_found_by"]
    outcomes = _outcomes(baseline)
    assert len(outcomes) == run.collected
    assert all(test.startswith("tests/test_greeter.py::") for test in outcomes), sorted(outcomes)


def test_greeter_runs_in_an_environment_with_its_dependency(runs: ProjectRuns) -> None:
    """`humanize` comes from the project's pyproject.toml, installed offline from the local wheelhouse."""
    assert importlib.util.find_spec("humanize") is None, (
        "spec2prod's own environment must not provide humanize"
    )
    run = runs.get("greeter")
    stages = ("baseline_tests", "generated_tests", "refactored_code", "release_candidate")
    environments = {stage: run.metadata(stage)["environment"] for stage in stages}
    assert len(set(environments.values())) == 1, environments
    assert run.metadata("baseline_tests")["dependencies_count"] == 1
    manifest = json.loads((run.production_release() / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["dependencies"] == ["humanize==4.17.0"]


def test_greeter_marked_tests_pass_under_strict_markers_with_its_conftest_fixture(runs: ProjectRuns) -> None:
    """`wording` is registered only in the project's config (`--strict-markers` in its addopts), `visitor`
    only in its tests/conftest.py: both tests fail unless that configuration is in force."""
    outcomes = _outcomes(runs.get("greeter").metadata("baseline_tests"))
    marked = ("test_morning_greeting_strips_the_name", "test_small_counts_are_spelled_out")
    assert {name: outcomes.get(f"tests/test_greeter.py::{name}") for name in marked} == dict.fromkeys(
        marked, "passed"
    )


def test_greeter_keeps_its_own_line_length_in_production(runs: ProjectRuns) -> None:
    run = runs.get("greeter")
    release = run.production_release()
    for relative, lines in GREETER_WIDE_LINES.items():
        text = (release / relative).read_text(encoding="utf-8")
        for line in lines:
            assert line in text.splitlines(), f"{relative} in production lost its 120-wide line {line!r}"


def test_greeter_bundle_holds_the_project_files_as_formatted_by_its_own_ruff(runs: ProjectRuns) -> None:
    run = runs.get("greeter")
    bundle = Path(run.metadata("release_candidate")["bundle"])
    with tarfile.open(bundle) as archive:
        member = next(m for m in archive.getmembers() if m.name.endswith("src/greeter/messages.py"))
        extracted = archive.extractfile(member)
        assert extracted is not None
        text = extracted.read().decode("utf-8")
    assert GREETER_WIDE_LINES["src/greeter/messages.py"][0] in text.splitlines()


def test_greeter_coverage_leaves_out_what_its_config_omits(runs: ProjectRuns) -> None:
    run = runs.get("greeter")
    assert GREETER_OMITTED not in run.coverage_files  # coverage.py itself omits it
    baseline = run.metadata("baseline_tests")
    assert "_legacy.py" not in str(baseline["uncovered_lines"])
    assert "_legacy.py" not in json.dumps(run.metadata("release_candidate"))


def test_greeter_lint_debt_does_not_block_the_release(runs: ProjectRuns) -> None:
    """Two violations under the project's ruff rules (E741, F841); the spec does not ask for clean code."""
    refactor = runs.get("greeter").metadata("refactored_code")
    assert refactor["lint_violations_before"] == 2
    assert refactor["lint_violations_after"] <= refactor["lint_violations_before"]


@pytest.mark.parametrize("slug", list(PROJECTS))
def test_mutation_scores_of_both_suites_are_measured_on_real_code_within_the_budget(
    runs: ProjectRuns, slug: str
) -> None:
    """Before generation, the project's own suite; in the release, the release suite on the same mutants
    (sampled when the budget does not pay for all of them, and saying so)."""
    run = runs.get(slug)
    generated, release = run.metadata("generated_tests"), run.metadata("release_candidate")
    assert release["mutants_run"] > 0, release.get("mutation")
    assert "baseline_mutation_score_pct" in generated, generated.get("baseline_mutation")
    assert release["mutants_run_before"] == release["mutants_run"]  # compared on the same mutants
    assert release["mutation_score_pct"] >= release["mutation_score_before_pct"]
    if release["mutation_sampled"]:
        assert "budget" in release["mutation"], release["mutation"]
    else:
        assert release["mutants_run"] == release["mutants_total"]
    assert generated["baseline_mutation_s"] < MUTATION_BUDGET_S + 10 + 15  # one mutant's timeout, slack


def test_greeter_generation_had_uncovered_lines_to_work_on(runs: ProjectRuns) -> None:
    generated = runs.get("greeter").metadata("generated_tests")
    assert generated["tasks_submitted"] >= 1
    assert generated["coverage_before_pct"] < 100.0


def _outcomes(baseline: dict[str, Any]) -> dict[str, str]:
    """`{test id: outcome}` from the baseline's `test_outcomes` table: in `--json`, a list of records."""
    records = baseline["test_outcomes"]
    assert isinstance(records, list) and all(isinstance(r, dict) for r in records), (
        f"test_outcomes is not a list of records in --json: {json.dumps(records)[:300]}"
    )
    return {record["test"]: record["outcome"] for record in records}
