"""A bad spec in a real project costs one clear line and a few seconds, from `validate` and from `run` alike.

Each case is the greeter fixture with one mistake people make in its spec: a misspelled key, a fraction
where a percentage belongs, a source folder that does not exist. Both commands must name the mistake in
one line on stderr, exit 2 within 5 s, and start nothing: no Dagster run, no work folder, no environment.
The good spec beside it is the control: it validates, so a refusal is about the mistake, not the project.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.real_projects.projects import PROJECTS, CliRun, cli_env, fresh_dagster_home, spec2prod

pytestmark = pytest.mark.e2e

REFUSAL_BUDGET_S = 5.0
GOOD_SPEC = "specs/greeter.md"
BAD_SPEC = "specs/broken.md"


@dataclass(frozen=True)
class Mistake:
    """A change to the greeter's spec, and words the one-line refusal must hold (case-insensitive)."""

    old: str
    new: str
    says: tuple[str, ...]


MISTAKES = {
    "typo_key": Mistake(
        "coverage_threshold: 70", "coverge_threshold: 70", ("coverge_threshold", "coverage_threshold")
    ),
    "fraction_threshold": Mistake("coverage_threshold: 70", "coverage_threshold: 0.8", ("0.8", "80")),
    "missing_source": Mistake(
        "source_path: src/greeter", "source_path: src/greetr", ("src/greetr", "not exist")
    ),
}


@dataclass(frozen=True)
class GreeterCopy:
    root: Path
    dagster_home: Path
    env: dict[str, str]

    def spec2prod(self, *args: str) -> CliRun:
        return spec2prod(list(args), cwd=self.root, env=self.env, timeout_s=120)

    def nothing_ran(self) -> list[str]:
        """What a started run would have left: instance storage, a work folder, a component environment."""
        left = [p.name for p in self.dagster_home.iterdir() if p.name != "dagster.yaml"]
        if (self.root / ".spec2prod").exists():
            left.append(".spec2prod")
        if self.env_cache.exists():
            left += [p.name for p in self.env_cache.iterdir()]
        return left

    @property
    def env_cache(self) -> Path:
        return Path(self.env["SPEC2PROD_ENV_CACHE"])


@pytest.fixture
def greeter(tmp_path: Path) -> GreeterCopy:
    """A copy of the greeter project with a fresh instance; its good spec untouched."""
    root = PROJECTS["greeter"].copy_to(tmp_path / "greeter")
    home = fresh_dagster_home(tmp_path)
    return GreeterCopy(root, home, cli_env(home, tmp_path / "environments"))


def write_mistake(project: GreeterCopy, mistake: Mistake) -> None:
    good = (project.root / GOOD_SPEC).read_text(encoding="utf-8")
    assert mistake.old in good, f"the greeter spec no longer holds {mistake.old!r}"
    (project.root / BAD_SPEC).write_text(good.replace(mistake.old, mistake.new), encoding="utf-8")


def assert_one_line_refusal(run: CliRun, mistake: Mistake, *, verdict: bool = False) -> None:
    """Exit 2 within the budget, one stderr line naming the spec and the mistake; `run` may close with one
    verdict line saying that nothing ran (how many specs were refused), and nothing else."""
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert run.returncode == 2, run.explain()
    problems = [line for line in lines if "broken.md" in line]
    others = [line for line in lines if "broken.md" not in line]
    assert len(problems) == 1, run.explain()
    assert others == [] or (verdict and len(others) == 1 and "nothing was run" in others[0]), run.explain()
    for words in mistake.says:
        assert words.lower() in problems[0].lower(), f"{words!r} missing from: {problems[0]}"
    assert run.wall_s <= REFUSAL_BUDGET_S, (
        f"took {run.wall_s:.1f}s, over {REFUSAL_BUDGET_S}s\n{run.explain()}"
    )


def test_the_good_greeter_spec_validates(greeter: GreeterCopy) -> None:
    run = greeter.spec2prod("validate", GOOD_SPEC)
    assert run.returncode == 0, run.explain()
    assert run.wall_s <= REFUSAL_BUDGET_S, run.explain()


@pytest.mark.parametrize("case", list(MISTAKES))
def test_validate_refuses_the_mistake_in_one_line(greeter: GreeterCopy, case: str) -> None:
    write_mistake(greeter, MISTAKES[case])
    run = greeter.spec2prod("validate", BAD_SPEC)
    assert_one_line_refusal(run, MISTAKES[case])
    assert run.stdout.strip() == "", run.explain()


@pytest.mark.parametrize("case", list(MISTAKES))
def test_run_refuses_the_mistake_in_one_line_and_starts_nothing(greeter: GreeterCopy, case: str) -> None:
    write_mistake(greeter, MISTAKES[case])
    run = greeter.spec2prod("run", BAD_SPEC)
    assert_one_line_refusal(run, MISTAKES[case], verdict=True)
    assert greeter.nothing_ran() == [], run.explain()


@pytest.mark.parametrize("case", list(MISTAKES))
def test_run_checks_every_spec_before_running_the_good_one(greeter: GreeterCopy, case: str) -> None:
    """The good spec comes first on the command line; the bad one after it still stops both."""
    write_mistake(greeter, MISTAKES[case])
    run = greeter.spec2prod("run", GOOD_SPEC, BAD_SPEC)
    assert_one_line_refusal(run, MISTAKES[case], verdict=True)
    assert greeter.nothing_ran() == [], run.explain()
