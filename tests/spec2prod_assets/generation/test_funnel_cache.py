"""The funnel-verdict cache on a tiny real component: a hit hands back the same verdict and real accepted
files in this run's folder without running pytest; any changed input runs the funnel again."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from textwrap import dedent
from typing import Any

import coverage
import pytest

from spec2prod_assets.generation.cache import cache_key
from spec2prod_assets.generation.funnel import FunnelResult
from spec2prod_assets.generation.funnel_cache import (
    FunnelCache,
    funnel_environment_key,
    funnel_inputs,
    run_funnel_cached,
)
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

ENVIRONMENT = "python 3.11 | pytest 8 | sandbox bwrap"
FILLS_A_GAP = dedent(
    """\
    import pytest

    from mathy.ops import safe_div


    def test_safe_div_rejects_a_zero_divisor():
        with pytest.raises(ValueError):
            safe_div(1, 0)
    """
)
ADDS_NOTHING = "from mathy.ops import add\n\n\ndef test_add_again():\n    assert add(1, 1) == 2\n"
GENERATED = (
    GeneratedFile(path=f"{component_tests()}/test_div.py", content=FILLS_A_GAP),
    GeneratedFile(path=f"{component_tests()}/test_add.py", content=ADDS_NOTHING),
)
REFUSED = (RejectedPath(path="src/mathy/ops.py", reason="outside the tests folder"),)


class Component:
    """The untouched component, its baseline, a cache, and the first (uncached) funnel run over it."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.tree = write_gap_component(base / "tree")
        self.baseline = run_baseline(self.tree, base / "baseline")
        self.cache = FunnelCache(base / "work" / "cache" / "funnel-verdicts")
        self.first, self.first_cached = self.run(base / "run-1")

    def run(
        self,
        work_dir: Path,
        baseline: test_runner.TestRun | None = None,
        *,
        generated: tuple[GeneratedFile, ...] = GENERATED,
        cache: FunnelCache | None = None,
    ) -> tuple[FunnelResult, bool]:
        """The funnel through the cache; with no generated files it runs no pytest at all (fast)."""
        return run_funnel_cached(
            cache or self.cache,
            self.tree,
            gap_layout(),
            environment_key=ENVIRONMENT,
            slug=SLUG,
            baseline=baseline or self.baseline,
            generated=generated,
            refused_paths=REFUSED,
            work_dir=work_dir,
            timeout_s=TIMEOUT_S,
            reliability_runs=1,
        )


@pytest.fixture(scope="module")
def component(tmp_path_factory: pytest.TempPathFactory) -> Component:
    return Component(tmp_path_factory.mktemp("funnel-cache"))


def test_the_first_run_is_a_miss_that_stores_its_verdict(component: Component) -> None:
    assert component.first_cached is False
    assert component.first.tests_accepted == 1 and len(component.first.rejections) == 2
    assert len(list(component.cache.store.folder.iterdir())) == 1


def test_an_identical_run_reuses_the_verdict_and_lays_out_real_accepted_files(
    component: Component, tmp_path: Path
) -> None:
    result, cached = component.run(tmp_path / "run-2", component.baseline)

    assert cached is True
    assert Path(result.accepted_dir) == tmp_path / "run-2" / "accepted"
    assert result == component.first.model_copy(update={"accepted_dir": result.accepted_dir})
    for path in result.accepted_files:
        assert (Path(result.accepted_dir) / path).read_text() == (
            Path(component.first.accepted_dir) / path
        ).read_text()
    assert not (tmp_path / "run-2" / "runs").exists()  # no pytest run behind this verdict


def test_a_changed_baseline_misses_and_runs_the_funnel(component: Component, tmp_path: Path) -> None:
    cache = FunnelCache(tmp_path / "cache")
    component.run(tmp_path / "run-3", generated=(), cache=cache)
    first_outcome, *others = component.baseline.outcomes
    changed = component.baseline.model_copy(
        update={"outcomes": (first_outcome.model_copy(update={"outcome": "skipped"}), *others)}
    )

    unchanged_result, unchanged_cached = component.run(tmp_path / "run-4", generated=(), cache=cache)
    result, cached = component.run(tmp_path / "run-5", changed, generated=(), cache=cache)

    assert unchanged_cached is True and not (tmp_path / "run-4" / "tree").exists()
    assert cached is False and (tmp_path / "run-5" / "tree").is_dir()  # the funnel's own copy
    assert result.rejections == unchanged_result.rejections


def test_an_entry_whose_verdict_does_not_read_back_is_a_miss(component: Component, tmp_path: Path) -> None:
    cache = FunnelCache(tmp_path / "cache")
    component.run(tmp_path / "run-6", generated=(), cache=cache)
    (stored,) = cache.store.folder.iterdir()
    entry = json.loads((stored / "entry.json").read_text())
    entry["payload"]["tests_accepted"] = "many"
    (stored / "entry.json").write_text(json.dumps(entry))

    result, cached = component.run(tmp_path / "run-7", generated=(), cache=cache)

    assert cached is False and result.tests_accepted == 0
    assert json.loads((stored / "entry.json").read_text())["payload"]["tests_accepted"] == 0  # stored afresh


def test_without_a_cache_the_funnel_always_runs_and_nothing_is_stored(
    component: Component, tmp_path: Path
) -> None:
    entries = sorted(component.cache.store.folder.iterdir())

    _, cached = run_funnel_cached(
        None,
        component.tree,
        gap_layout(),
        environment_key=ENVIRONMENT,
        slug=SLUG,
        baseline=component.baseline,
        generated=(),
        refused_paths=REFUSED,
        work_dir=tmp_path / "run-8",
        timeout_s=TIMEOUT_S,
        reliability_runs=1,
    )

    assert cached is False and (tmp_path / "run-8" / "tree").is_dir()
    assert sorted(component.cache.store.folder.iterdir()) == entries


def _inputs(component: Component, **changes: Any) -> str:
    arguments: dict[str, Any] = {
        "environment_key": ENVIRONMENT,
        "slug": SLUG,
        "baseline": component.baseline,
        "generated": GENERATED,
        "refused_paths": REFUSED,
        "timeout_s": TIMEOUT_S,
        "reliability_runs": 1,
        "check_policy": True,
        **changes,
    }
    return cache_key(funnel_inputs(component.tree, gap_layout(), **arguments))


def _with_coverage_point_moved(baseline: test_runner.TestRun) -> test_runner.TestRun:
    assert baseline.coverage is not None
    module, *others = baseline.coverage.modules
    moved = module.model_copy(
        update={"executed_lines": module.executed_lines[:-1], "missing_lines": (*module.missing_lines, 99)}
    )
    return baseline.model_copy(
        update={"coverage": baseline.coverage.model_copy(update={"modules": (moved, *others)})}
    )


CHANGES: dict[str, Callable[[Component], dict[str, Any]]] = {
    "generated-byte": lambda c: {
        "generated": (GENERATED[0].model_copy(update={"content": FILLS_A_GAP + " "}),)
    },
    "generated-order": lambda c: {"generated": GENERATED[::-1]},
    "refused-paths": lambda c: {"refused_paths": ()},
    "baseline-coverage": lambda c: {"baseline": _with_coverage_point_moved(c.baseline)},
    "reliability-runs": lambda c: {"reliability_runs": 5},
    "environment": lambda c: {"environment_key": ENVIRONMENT + " | coverage 7.6"},
}


@pytest.mark.parametrize("change", list(CHANGES.values()), ids=list(CHANGES))
def test_each_input_of_the_verdict_is_in_its_key(
    component: Component, change: Callable[[Component], dict[str, Any]]
) -> None:
    assert _inputs(component, **change(component)) != _inputs(component)


def test_a_changed_byte_in_the_component_tree_changes_the_key(component: Component) -> None:
    before = _inputs(component)
    ops = component.tree / "src" / SLUG / "ops.py"
    original = ops.read_text()
    ops.write_text(original + "\n")
    try:
        assert _inputs(component) != before
    finally:
        ops.write_text(original)
    assert _inputs(component) == before


def test_the_environment_key_names_the_tools_the_verdict_depends_on() -> None:
    key = funnel_environment_key()

    assert f"coverage=={coverage.__version__}" in key and f"pytest=={pytest.__version__}" in key
    assert "pytest-random-order==" in key and "sandbox " in key
