"""The validation funnel on a tiny real component: real pytest subprocesses, real coverage.

Each test hands the funnel hand-made generated files (good, broken, failing, flaky, useless, crashing,
hanging) and checks which stage keeps or drops each test, and why.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from textwrap import dedent

import pytest

from spec2prod_assets.generation.funnel import RELIABILITY_RUNS, FunnelResult, Rejection, run_funnel
from spec2prod_assets.generation.protocol import GeneratedFile, RejectedPath
from spec2prod_assets.testing import pytest_run as test_runner
from tests.support.gap_component import (
    SLUG,
    TIMEOUT_S,
    component_tests,
    gap_layout,
    run_baseline,
    write_gap_component,
)

GENERATED_DIR = component_tests()
# The untouched component and its baseline run.
Component = tuple[Path, test_runner.TestRun]

GOOD = dedent(
    """\
    import pytest

    from mathy.ops import safe_div


    def test_safe_div_rejects_a_zero_divisor():
        with pytest.raises(ValueError):
            safe_div(1, 0)


    def test_safe_div_divides():
        assert safe_div(6, 3) == 2
    """
)

SYNTAX_ERROR = dedent(
    """\
    from mathy.ops import sign


    def test_sign_of_a_negative_number(:
        assert sign(-1) == -1
    """
)

ONE_FAILING_ONE_PASSING = dedent(
    """\
    from mathy.ops import sign


    def test_sign_of_a_negative_number_wrongly_expected():
        assert sign(-3) == 1


    def test_sign_of_zero():
        assert sign(0) == 0
    """
)

# Fails on every third invocation, counted in a file that outlives each run.
FLAKY = dedent(
    """\
    from pathlib import Path

    from mathy.ops import safe_div

    COUNTER = Path({counter!r})


    def test_safe_div_most_of_the_time():
        runs = int(COUNTER.read_text()) + 1 if COUNTER.exists() else 1
        COUNTER.write_text(str(runs))
        assert runs % 3 != 0
        assert safe_div(4, 2) == 2
    """
)

USELESS = dedent(
    """\
    from mathy.ops import add, sign


    def test_add_again():
        assert add(1, 1) == 2


    def test_sign_of_another_positive_number():
        assert sign(9) == 1
    """
)

KILLS_ITS_PROCESS = dedent(
    """\
    import os

    from mathy.ops import sign


    def test_sign_then_exit():
        assert sign(-1) == -1
        os._exit(3)
    """
)

HANGS = dedent(
    """\
    import time

    from mathy.ops import sign


    def test_sign_very_slowly():
        time.sleep(600)
        assert sign(-1) == -1
    """
)

NO_SECRETS = dedent(
    """\
    import os

    from mathy.ops import sign


    def test_runs_without_the_parent_secrets():
        assert "OPENHANDS_API_KEY" not in os.environ
        assert sign(-2) == -1
    """
)

NEGATIVE_SIGN = dedent(
    """\
    from mathy.ops import sign


    def test_sign_of_a_negative_number():
        assert sign(-5) == -1
    """
)


def _file(name: str, content: str) -> GeneratedFile:
    return GeneratedFile(path=f"{GENERATED_DIR}/{name}", content=content)


@pytest.fixture(scope="module")
def component(tmp_path_factory: pytest.TempPathFactory) -> Component:
    """The untouched component and its baseline run; the funnel only ever works on copies of it."""
    base = tmp_path_factory.mktemp("component")
    tree = write_gap_component(base / "tree")
    baseline = run_baseline(tree, base / "baseline")
    assert baseline.passed == 2 and baseline.coverage is not None
    assert 0 < baseline.coverage.line_pct < 100
    return tree, baseline


def _funnel(
    component: Component,
    work_dir: Path,
    generated: Sequence[GeneratedFile],
    *,
    refused: Sequence[RejectedPath] = (),
    timeout_s: float = TIMEOUT_S,
    reliability_runs: int = 1,
    check_policy: bool = True,
) -> FunnelResult:
    tree, baseline = component
    return run_funnel(
        tree,
        gap_layout(),
        slug=SLUG,
        baseline=baseline,
        generated=generated,
        refused_paths=refused,
        work_dir=work_dir,
        timeout_s=timeout_s,
        reliability_runs=reliability_runs,
        check_policy=check_policy,
    )


def _by_stage(result: FunnelResult, stage: str) -> list[Rejection]:
    return [r for r in result.rejections if r.stage == stage]


def test_good_file_is_accepted_under_a_unique_name_with_counts_at_every_stage(
    component: Component, tmp_path: Path
) -> None:
    result = _funnel(
        component, tmp_path / "funnel", [_file("test_ops.py", GOOD)], reliability_runs=RELIABILITY_RUNS
    )

    assert (
        result.tests_generated,
        result.tests_collected,
        result.tests_passing,
        result.tests_reliable,
        result.tests_accepted,
    ) == (2, 2, 2, 2, 2)
    assert result.rejections == ()
    assert RELIABILITY_RUNS == 5  # DESIGN.md: passes 5 runs in random order
    runs = sorted(p.name for p in (tmp_path / "funnel" / "runs").iterdir())
    assert [name for name in runs if "reliability" in name] == ["02-reliability"]  # all 5 in one process
    assert len(result.accepted_files) == 1
    accepted = result.accepted_files[0]
    assert accepted.startswith(f"{GENERATED_DIR}/test_gen_{SLUG}_")
    assert accepted != f"{GENERATED_DIR}/test_ops.py"  # never overwrites the component's own test
    assert Path(result.accepted_dir) == tmp_path / "funnel" / "accepted"
    assert (Path(result.accepted_dir) / accepted).read_text() == GOOD
    assert set(result.accepted_tests) == {
        f"{accepted}::test_safe_div_rejects_a_zero_divisor",
        f"{accepted}::test_safe_div_divides",
    }
    tree, baseline = component
    assert not list(tree.rglob("test_gen_*"))  # the funnel worked in a copy
    assert baseline.coverage is not None
    assert result.coverage_before_pct == baseline.coverage.line_pct
    assert result.coverage_after_pct > result.coverage_before_pct
    assert result.branch_coverage_after_pct > result.branch_coverage_before_pct


def test_file_with_a_syntax_error_is_rejected_at_collect_and_the_others_are_still_judged(
    component: Component, tmp_path: Path
) -> None:
    result = _funnel(
        component, tmp_path / "funnel", [_file("test_broken.py", SYNTAX_ERROR), _file("test_ops.py", GOOD)]
    )

    collect = _by_stage(result, "collect")
    assert len(collect) == 1
    assert collect[0].test is None  # the whole file
    assert "broken" in collect[0].file
    assert "SyntaxError" in collect[0].reason or "invalid syntax" in collect[0].reason
    assert result.tests_generated == 3
    assert result.tests_collected == 2
    assert result.tests_accepted == 2
    assert [Path(f).name for f in result.accepted_files] == [f"test_gen_{SLUG}_ops_02.py"]


def test_only_the_failing_test_of_a_file_is_dropped_and_the_passing_one_is_kept(
    component: Component, tmp_path: Path
) -> None:
    result = _funnel(component, tmp_path / "funnel", [_file("test_sign.py", ONE_FAILING_ONE_PASSING)])

    assert (result.tests_collected, result.tests_passing, result.tests_accepted) == (2, 1, 1)
    (failed,) = result.rejections
    assert failed.stage == "pass"
    assert failed.test is not None and failed.test.endswith(
        "::test_sign_of_a_negative_number_wrongly_expected"
    )
    assert failed.reason.startswith("failed: ")
    (accepted,) = result.accepted_files
    assert result.accepted_tests == (f"{accepted}::test_sign_of_zero",)
    kept = (Path(result.accepted_dir) / accepted).read_text()
    assert "def test_sign_of_zero" in kept
    assert "wrongly_expected" not in kept
    assert "from mathy.ops import sign" in kept


def test_flaky_test_failing_one_run_in_three_is_rejected_as_unreliable(
    component: Component, tmp_path: Path
) -> None:
    # In the funnel's own tree, which every run shares: the sandbox lets a run write nowhere else.
    counter = tmp_path / "funnel" / "tree" / "flaky-runs.txt"
    flaky = FLAKY.format(counter=str(counter))

    # It writes outside tmp_path, which the policy refuses; this test is about the filter behind it.
    result = _funnel(
        component,
        tmp_path / "funnel",
        [_file("test_flaky.py", flaky)],
        reliability_runs=RELIABILITY_RUNS,
        check_policy=False,
    )

    # Invocation 1 is the pass filter; 2 to 6 are the repetitions, of which the 3rd and 6th fail.
    assert int(counter.read_text()) == 1 + RELIABILITY_RUNS
    assert (result.tests_collected, result.tests_passing, result.tests_reliable) == (1, 1, 0)
    assert result.tests_accepted == 0
    (rejection,) = result.rejections
    assert rejection.stage == "reliable"
    assert rejection.test is not None and rejection.test.endswith("::test_safe_div_most_of_the_time")
    assert rejection.reason.startswith("flaky: failed 2 of 5 random-order repetitions (failed: ")
    assert result.accepted_files == ()
    assert result.coverage_after_pct == result.coverage_before_pct


def test_tests_covering_only_what_the_baseline_covers_are_rejected_at_coverage(
    component: Component, tmp_path: Path
) -> None:
    result = _funnel(component, tmp_path / "funnel", [_file("test_useless.py", USELESS)])

    assert (result.tests_passing, result.tests_reliable, result.tests_accepted) == (2, 2, 0)
    coverage = _by_stage(result, "coverage")
    assert {r.test.rsplit("::", 1)[-1] for r in coverage if r.test} == {
        "test_add_again",
        "test_sign_of_another_positive_number",
    }
    assert all("adds no line or branch coverage" in r.reason for r in coverage)
    assert result.accepted_files == ()
    assert not (Path(result.accepted_dir) / GENERATED_DIR).exists()
    assert result.coverage_after_pct == result.coverage_before_pct
    assert result.branch_coverage_after_pct == result.branch_coverage_before_pct


def test_file_that_kills_its_process_is_rejected_and_the_others_are_judged_one_by_one(
    component: Component, tmp_path: Path
) -> None:
    result = _funnel(
        component,
        tmp_path / "funnel",
        [_file("test_exit.py", KILLS_ITS_PROCESS), _file("test_ops.py", GOOD)],
        check_policy=False,  # the policy refuses `os`; the runner behind it must hold anyway
    )

    (crashed,) = result.rejections
    assert crashed.stage == "collect"
    assert crashed.test is None
    assert "exit" in crashed.file
    assert crashed.reason  # what pytest's death looked like, for the metadata table
    assert result.tests_accepted == 2
    assert [Path(f).name for f in result.accepted_files] == [f"test_gen_{SLUG}_ops_02.py"]
    runs = sorted(p.name for p in (tmp_path / "funnel" / "runs").iterdir())
    assert sum("collect-pass-single" in name for name in runs) == 2


def test_file_that_hangs_past_the_timeout_is_rejected_and_the_others_are_still_judged(
    component: Component, tmp_path: Path
) -> None:
    result = _funnel(
        component,
        tmp_path / "funnel",
        [_file("test_hang.py", HANGS), _file("test_ops.py", GOOD)],
        timeout_s=4.0,
    )

    (hung,) = result.rejections
    assert (hung.stage, hung.test) == ("collect", None)
    assert "hang" in hung.file
    assert "timed out" in hung.reason
    assert result.tests_accepted == 2


def test_refused_paths_appear_in_the_rejections_at_the_path_stage(
    component: Component, tmp_path: Path
) -> None:
    refused = [
        RejectedPath(path="/etc/test_passwd.py", reason="absolute path"),
        RejectedPath(path="tests/mathy/../../src/mathy/ops.py", reason="path escapes with '..'"),
    ]

    result = _funnel(component, tmp_path / "funnel", [], refused=refused)

    assert [(r.file, r.test, r.stage, r.reason) for r in result.rejections] == [
        ("/etc/test_passwd.py", None, "path", "absolute path"),
        ("tests/mathy/../../src/mathy/ops.py", None, "path", "path escapes with '..'"),
    ]
    assert result.tests_generated == result.tests_accepted == 0
    assert result.coverage_after_pct == result.coverage_before_pct


def test_same_generated_name_from_two_modules_gets_two_accepted_files(
    component: Component, tmp_path: Path
) -> None:
    same_name = [_file("test_ops.py", GOOD), _file("test_ops.py", NEGATIVE_SIGN)]

    result = _funnel(component, tmp_path / "funnel", same_name)

    assert result.tests_accepted == 3
    assert len(result.accepted_files) == len(set(result.accepted_files)) == 2
    contents = {(Path(result.accepted_dir) / f).read_text() for f in result.accepted_files}
    assert contents == {GOOD, NEGATIVE_SIGN}


def test_two_components_never_get_the_same_accepted_file_name(tmp_path: Path) -> None:
    names = []
    for slug in ("mathy", "mathy_two"):
        tree = write_gap_component(tmp_path / slug / "tree", slug)
        baseline = run_baseline(tree, tmp_path / slug / "baseline", slug)
        result = run_funnel(
            tree,
            gap_layout(slug),
            slug=slug,
            baseline=baseline,
            generated=[
                GeneratedFile(
                    path=f"{component_tests(slug)}/test_ops.py", content=NEGATIVE_SIGN.replace("mathy", slug)
                )
            ],
            refused_paths=[],
            work_dir=tmp_path / slug / "funnel",
            timeout_s=TIMEOUT_S,
            reliability_runs=1,
        )
        (accepted,) = result.accepted_files
        assert Path(accepted).name.startswith(f"test_gen_{slug}_")
        names.append(Path(accepted).name)
    assert names[0] != names[1]


def test_generated_code_runs_without_the_parent_process_secrets(
    component: Component, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "sk-funnel-test-secret-value"
    monkeypatch.setenv("OPENHANDS_API_KEY", secret)

    # The policy refuses `os`; what a test that slips past it can read is the environment's business.
    result = _funnel(component, tmp_path / "funnel", [_file("test_env.py", NO_SECRETS)], check_policy=False)

    assert _by_stage(result, "pass") == []
    assert result.tests_passing == 1
    assert result.tests_accepted == 1
    leaked = [
        p for p in (tmp_path / "funnel").rglob("*") if p.is_file() and secret.encode() in p.read_bytes()
    ]
    assert leaked == []


WRITES_INTO_THE_SOURCE = dedent(
    """\
    from pathlib import Path

    from mathy.ops import sign


    def test_sign_of_a_negative_number():
        assert sign(-5) == -1


    def test_rewrites_the_component():
        Path("src/mathy/ops.py").write_text("def sign(x):\\n    return 1\\n")
        assert sign(3) == 1
    """
)


def test_a_file_that_imports_os_is_rejected_by_the_policy_before_it_runs(
    component: Component, tmp_path: Path
) -> None:
    result = _funnel(component, tmp_path / "funnel", [_file("test_exit.py", KILLS_ITS_PROCESS)])

    (refused,) = result.rejections
    assert (refused.stage, refused.test) == ("policy", None)
    assert "imports 'os'" in refused.reason
    assert refused.reason.startswith("line 1: ")
    assert (result.tests_generated, result.tests_collected, result.tests_accepted) == (1, 0, 0)
    assert not (tmp_path / "funnel" / "runs").exists()  # nothing of it ever ran


def test_policy_is_the_first_filter_and_drops_only_the_test_that_breaks_it(
    component: Component, tmp_path: Path
) -> None:
    tree, _ = component
    source_before = (tree / "src" / "mathy" / "ops.py").read_text()

    result = _funnel(component, tmp_path / "funnel", [_file("test_sign.py", WRITES_INTO_THE_SOURCE)])

    (refused,) = result.rejections
    assert refused.stage == "policy"
    assert refused.test is not None and refused.test.endswith("::test_rewrites_the_component")
    assert "outside tmp_path" in refused.reason
    assert (result.tests_generated, result.tests_collected, result.tests_accepted) == (2, 1, 1)
    (accepted,) = result.accepted_files
    assert "test_rewrites_the_component" not in (Path(result.accepted_dir) / accepted).read_text()
    assert (tree / "src" / "mathy" / "ops.py").read_text() == source_before
