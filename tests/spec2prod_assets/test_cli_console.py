"""The installed `spec2prod` console script, run as a person or CI runs it: a real process, a real project
in a temporary folder, the current folder inside it.

Bad input is one line per problem and exit 2 with nothing run; `--help`, `--version`, `validate` and
`schema` never import Dagster; a failed run says why on the console, in `--json` and in the report.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import dagster as dg
import pytest

from tests.conftest import MUTATION_OFF, write_files

CONSOLE_SCRIPT = Path(sys.executable).with_name("spec2prod")
GOOD_SPEC = (
    "---\nname: Greeter\nsource_path: src/greeter\ntarget_stage: dev\nrequirements: [greet says hello]\n---\n"
)
BAD_SPECS = {
    "typo": (
        "coverge_threshold: 95\n",
        "unknown key 'coverge_threshold'; did you mean 'coverage_threshold'?",
    ),
    "fraction": (
        "coverage_threshold: 0.8\n",
        "coverage threshold 0.8 looks like a fraction; write 80 for 80%",
    ),
    "missing": ("", "source path 'src/nowhere' does not exist under the project root"),
}
CODE = 'def greet(name: str) -> str:\n    return f"Hello, {name}!"\n'
TESTS = (
    "from greeter import greet\n\n\ndef test_greet() -> None:\n    assert greet('Ada') == 'Hello, Ada!'\n\n\n"
    "def test_greet_politely() -> None:\n    assert greet('Ada') == 'Good day, Ada.'\n"
)


def _bad_spec(kind: str) -> str:
    extra, _ = BAD_SPECS[kind]
    source = "src/nowhere" if kind == "missing" else "src/greeter"
    return f"---\nname: {kind}\nsource_path: {source}\n{extra}requirements: [a]\n---\n"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project in the usual layout whose own tests fail one of two (fully covering the code)."""
    return write_files(
        tmp_path / "project",
        {"specs/greeter.md": GOOD_SPEC, "src/greeter/__init__.py": CODE, "tests/test_greeter.py": TESTS},
    )


@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n", encoding="utf-8")
    return home


def spec2prod(
    *args: str, cwd: Path, home: Path | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    variables = {k: v for k, v in os.environ.items() if not k.startswith(("SPEC2PROD_", "DAGSTER_HOME"))}
    variables |= MUTATION_OFF | env | ({"DAGSTER_HOME": str(home)} if home else {})
    return subprocess.run(
        [str(CONSOLE_SCRIPT), *args], cwd=cwd, env=variables, capture_output=True, text=True, timeout=600
    )


def _runs(home: Path) -> int:
    with dg.DagsterInstance.from_config(str(home)) as instance:
        return instance.get_runs_count()


def test_help_shows_the_defaults_and_the_exit_codes(tmp_path: Path) -> None:
    completed = spec2prod("run", "--help", cwd=tmp_path)
    assert completed.returncode == 0
    assert "(default: auto)" in completed.stdout
    assert "default: None" not in completed.stdout
    assert "exit codes:" in completed.stdout and "2  bad input, nothing was run" in completed.stdout


def test_version_is_the_installed_distributions(tmp_path: Path) -> None:
    completed = spec2prod("--version", cwd=tmp_path)
    assert (completed.returncode, completed.stdout) == (
        0,
        f"spec2prod {importlib.metadata.version('spec2prod')}\n",
    )


@pytest.mark.parametrize(
    "argv", [["--help"], ["--version"], ["validate"], ["validate", "--json"], ["schema"]]
)
def test_the_quick_commands_never_import_dagster(project: Path, argv: list[str]) -> None:
    code = (
        "import sys\nfrom spec2prod_assets.cli import main\n"
        f"try:\n    main({argv!r})\nexcept SystemExit:\n    pass\n"
        "print('dagster imported' if 'dagster' in sys.modules else 'no dagster', file=sys.stderr)"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code], cwd=project, capture_output=True, text=True, timeout=120
    )
    assert completed.stderr.splitlines()[-1] == "no dagster", completed.stderr


def test_validate_checks_every_spec_of_the_project_one_line_per_bad_one(project: Path) -> None:
    write_files(project, {f"specs/{kind}.md": _bad_spec(kind) for kind in BAD_SPECS})
    completed = spec2prod("validate", cwd=project / "src")
    assert completed.returncode == 2
    assert completed.stdout.splitlines() == ["ok  specs/greeter.md  (greeter, target dev)"]
    lines = completed.stderr.splitlines()
    assert len(lines) == len(BAD_SPECS)
    for line, kind in zip(lines, sorted(BAD_SPECS), strict=True):
        assert line.startswith(f"spec2prod: bad spec: specs/{kind}.md")
        assert BAD_SPECS[kind][1] in line


def test_validate_json_is_one_document(project: Path) -> None:
    write_files(project, {"specs/typo.md": _bad_spec("typo")})
    completed = spec2prod("validate", "--json", cwd=project)
    document = json.loads(completed.stdout)
    assert completed.returncode == 2 and document["valid"] is False
    assert [spec["component"] for spec in document["specs"]] == ["greeter"]
    assert len(document["problems"]) == 1 and "coverge_threshold" in document["problems"][0]


def test_validate_outside_any_project_says_so_in_one_line(tmp_path: Path) -> None:
    completed = spec2prod("validate", cwd=tmp_path)
    assert completed.returncode == 2
    assert completed.stderr.count("\n") == 1 and completed.stderr.startswith("spec2prod: No project:")


def test_schema_prints_the_spec_formats_json_schema(tmp_path: Path) -> None:
    completed = spec2prod("schema", cwd=tmp_path)
    schema = json.loads(completed.stdout)
    assert completed.returncode == 0 and "coverage_threshold" in schema["properties"]


@pytest.mark.parametrize("kind", sorted(BAD_SPECS))
def test_run_refuses_a_bad_spec_in_one_line_with_nothing_run(project: Path, home: Path, kind: str) -> None:
    write_files(project, {f"specs/{kind}.md": _bad_spec(kind)})
    completed = spec2prod("run", "specs/greeter.md", f"specs/{kind}.md", cwd=project, home=home)
    assert completed.returncode == 2
    assert completed.stdout == ""
    assert completed.stderr.count("\n") == 1 and BAD_SPECS[kind][1] in completed.stderr
    assert _runs(home) == 0
    assert not (project / ".spec2prod").exists()


def test_run_json_with_a_bad_spec_is_one_document_naming_the_problem(project: Path, home: Path) -> None:
    write_files(project, {"specs/typo.md": _bad_spec("typo")})
    completed = spec2prod("run", "specs/typo.md", "--json", cwd=project, home=home)
    document = json.loads(completed.stdout)
    assert completed.returncode == 2
    assert (document["success"], document["runs"]) == (False, [])
    assert document["problems"] == [completed.stderr.removeprefix("spec2prod: ").rstrip("\n")]


def test_run_refuses_a_stage_beyond_the_specs_target(project: Path, home: Path) -> None:
    completed = spec2prod("run", "specs/greeter.md", "--stage", "staging", cwd=project, home=home)
    assert completed.returncode == 2 and completed.stderr.count("\n") == 1
    assert (
        "beyond the spec's target stage (dev)" in completed.stderr and "--beyond-target" in completed.stderr
    )
    assert _runs(home) == 0


def test_a_malformed_variable_is_one_line_for_run_and_no_matter_to_validate(
    project: Path, home: Path
) -> None:
    run = spec2prod("run", "specs/greeter.md", cwd=project, home=home, SPEC2PROD_SENSOR_INTERVAL_S="30s")
    assert run.returncode == 2
    assert run.stderr.count("\n") == 1 and run.stderr.startswith(
        "spec2prod: SPEC2PROD_SENSOR_INTERVAL_S='30s'"
    )
    assert _runs(home) == 0
    assert spec2prod("validate", cwd=project, SPEC2PROD_SENSOR_INTERVAL_S="30s").returncode == 0


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_run_refuses_a_local_mode_on_the_celery_executor_in_one_line(
    project: Path, home: Path, mode: str
) -> None:
    """The team profile runs every step on its workers: `--mode sync|async` is bad input, not a traceback.
    The broker is never contacted (nothing listens on port 1)."""
    completed = spec2prod(
        "run",
        "specs/greeter.md",
        "--mode",
        mode,
        cwd=project,
        home=home,
        SPEC2PROD_EXECUTOR="celery",
        SPEC2PROD_CELERY_BROKER="redis://127.0.0.1:1/0",
    )
    assert completed.returncode == 2, completed.stderr
    assert completed.stdout == ""
    assert completed.stderr.count("\n") == 1, completed.stderr
    assert completed.stderr.startswith(f"spec2prod: --mode {mode} needs the local executor")
    assert "SPEC2PROD_EXECUTOR=celery" in completed.stderr
    assert _runs(home) == 0


@pytest.fixture(scope="module")
def failed_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], Path]:
    """One real run of the failing project to dev, sync, with `--json` and `--junit-xml`."""
    base = tmp_path_factory.mktemp("failed-run")
    project = write_files(
        base / "project",
        {"specs/greeter.md": GOOD_SPEC, "src/greeter/__init__.py": CODE, "tests/test_greeter.py": TESTS},
    )
    completed = spec2prod(
        "run",
        "specs/greeter.md",
        "--mode",
        "sync",
        "--json",
        "--junit-xml",
        str(base / "ci" / "junit.xml"),
        cwd=project,
    )
    return completed, base


def test_a_failed_run_exits_1_and_prints_the_failing_checks_reason(
    failed_run: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    completed, _ = failed_run
    assert completed.returncode == 1, completed.stderr[-3000:]
    lines = completed.stderr.splitlines()
    assert lines[-1] == "spec2prod: FAILED: 1 of 1 runs failed (greeter)"
    assert any(
        line.split()[1:3] == ["release_candidate", "failed"] for line in lines if line.startswith("  greeter")
    )
    assert "    release_candidate: all_tests_pass: 1 passed, 1 failed" in lines
    assert "Traceback" not in completed.stderr and " DEBUG " not in completed.stderr


def test_a_failed_runs_json_carries_the_stages_and_reasons(
    failed_run: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    completed, base = failed_run
    document = json.loads(completed.stdout)
    [run] = document["runs"]
    assert document["success"] is False and run["component"] == "greeter"
    assert run["stages"]["release_candidate"]["status"] == "failed"
    assert run["stages"]["workflow_report"]["status"] == "skipped"
    assert run["failures"] == [
        {"stage": "release_candidate", "check": "all_tests_pass", "message": "1 passed, 1 failed"}
    ]
    assert document["junit_xml"] == str(base / "ci" / "junit.xml")


def test_a_failed_runs_report_holds_the_reasons(
    failed_run: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    completed, _ = failed_run
    [run] = json.loads(completed.stdout)["runs"]
    report = json.loads(Path(run["report_path"]).read_text(encoding="utf-8"))
    assert report["status"] == "FAILURE"
    assert report["failures"] == run["failures"]


def test_the_release_candidates_junit_xml_is_copied_where_ci_asked(
    failed_run: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    _, base = failed_run
    suites = ET.parse(base / "ci" / "junit.xml").getroot()
    assert sum(int(suite.get("failures", "0")) for suite in suites.iter("testsuite")) == 1


def test_the_instance_the_run_created_has_telemetry_off(
    failed_run: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    _, base = failed_run
    config = base / "project" / ".spec2prod" / "dagster_home" / "dagster.yaml"
    assert "telemetry:\n  enabled: false" in config.read_text(encoding="utf-8")


@pytest.mark.e2e
def test_an_async_run_shows_stage_lines_and_no_dagster_log_lines(project: Path) -> None:
    completed = spec2prod("run", "specs/greeter.md", cwd=project)
    assert completed.returncode == 1, completed.stderr[-3000:]
    stages = [line.split()[1] for line in completed.stdout.splitlines() if line.startswith("  greeter  ")]
    assert stages[0] == "spec" and stages[-1] == "release_candidate"
    assert " - dagster - " not in completed.stdout + completed.stderr
    assert completed.stderr == ""


@pytest.mark.e2e
def test_verbose_shows_dagsters_event_log(project: Path) -> None:
    completed = spec2prod("run", "specs/greeter.md", "--mode", "sync", "-v", cwd=project)
    assert completed.returncode == 1
    assert " - dagster - INFO - spec_to_dev - " in completed.stderr
    assert completed.stdout.splitlines()[-1] == "spec2prod: FAILED: 1 of 1 runs failed (greeter)"
