"""Reuse the validation funnel's verdicts when nothing they depend on changed.

The funnel is the expensive part of `generated_tests` once generation itself is cached (N pytest runs,
one of them with per-test coverage). Its verdict depends on the generated files (in order: the order
names the accepted files), the paths already refused, the component tree it copies, the baseline's
outcomes and coverage, the funnel's settings and its own code, and the environment the tests run in,
which only the caller can name (`environment_key`: interpreter, tool versions, sandbox). A hit writes
the accepted files into this run's `work_dir/accepted/`, where `run_funnel` would have, and returns the
same result with `accepted_dir` pointing there; a miss runs the funnel and stores its result.
"""

from __future__ import annotations

import importlib.metadata
import platform
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from spec2prod_assets.generation import coverage_gain, funnel, mutant_gain, policy, pruning, reliability
from spec2prod_assets.generation.cache import KindCache, cache_key, files_sha256, text_sha256, tree_sha256
from spec2prod_assets.generation.funnel import RELIABILITY_RUNS, FunnelResult, run_funnel
from spec2prod_assets.generation.protocol import GeneratedFile, RejectedPath
from spec2prod_assets.mutation import SurvivingMutant, kills, mutmut_tool
from spec2prod_assets.project.layout import ComponentLayout
from spec2prod_assets.runtime.sandbox import sandbox_mode
from spec2prod_assets.storage.atomic_files import write_text_atomically
from spec2prod_assets.testing import coverage_report, pytest_run
from spec2prod_assets.testing.pytest_run import TestRun

FUNNEL_CACHE_KIND = "funnel-verdicts"
ACCEPTED_DIR = "accepted"  # where `run_funnel` writes the accepted files inside its work_dir
# The code that decides a verdict: a change to any of it may change the verdict.
_FUNNEL_TOOLS = (
    "pytest",
    "pytest-cov",
    "coverage",
    "pytest-random-order",
    "pytest-repeat",
    "pytest-timeout",
)
_VERDICT_CODE = (
    funnel,
    policy,
    pruning,
    reliability,
    coverage_gain,
    mutant_gain,
    kills,
    mutmut_tool,
    pytest_run,
    coverage_report,
)


class FunnelCache(KindCache):
    """Funnel results by input key, in `<work>/cache/funnel-verdicts/`."""

    kind = FUNNEL_CACHE_KIND


def run_funnel_cached(
    cache: FunnelCache | None,
    original_tree: Path,
    layout: ComponentLayout,
    *,
    environment_key: str,
    slug: str,
    baseline: TestRun,
    generated: Sequence[GeneratedFile],
    refused_paths: Sequence[RejectedPath],
    work_dir: Path,
    timeout_s: float,
    reliability_runs: int = RELIABILITY_RUNS,
    check_policy: bool = True,
    survivors: Sequence[SurvivingMutant] = (),
    mutation_budget_s: float = 0.0,
) -> tuple[FunnelResult, bool]:
    """`run_funnel`'s result, and whether it came from the cache. `cache=None` always runs the funnel.

    The inputs are read before the funnel runs, so what is stored is keyed by what the funnel saw.
    """

    def run() -> FunnelResult:
        return run_funnel(
            original_tree,
            layout,
            slug=slug,
            baseline=baseline,
            generated=generated,
            refused_paths=refused_paths,
            work_dir=work_dir,
            timeout_s=timeout_s,
            reliability_runs=reliability_runs,
            check_policy=check_policy,
            survivors=survivors,
            mutation_budget_s=mutation_budget_s,
        )

    if cache is None:
        return run(), False
    try:
        inputs = funnel_inputs(
            original_tree,
            layout,
            environment_key=environment_key,
            slug=slug,
            baseline=baseline,
            generated=generated,
            refused_paths=refused_paths,
            timeout_s=timeout_s,
            reliability_runs=reliability_runs,
            check_policy=check_policy,
            survivors=survivors,
            mutation_budget_s=mutation_budget_s,
        )
    except OSError as exc:
        cache.store.log.warning(
            "The funnel's inputs cannot be read for the cache (%s); it runs uncached", exc
        )
        return run(), False
    key = cache_key(inputs)
    cached = _reuse(cache, key, work_dir)
    if cached is not None:
        return cached, True
    result = run()
    _store(cache, key, inputs, result)
    return result, False


def funnel_inputs(
    original_tree: Path,
    layout: ComponentLayout,
    *,
    environment_key: str,
    slug: str,
    baseline: TestRun,
    generated: Sequence[GeneratedFile],
    refused_paths: Sequence[RejectedPath],
    timeout_s: float,
    reliability_runs: int,
    check_policy: bool,
    survivors: Sequence[SurvivingMutant] = (),
    mutation_budget_s: float = 0.0,
) -> dict[str, Any]:
    """Everything a verdict depends on, as digests and short fields; `entry.json` shows them."""
    outcomes = "\n".join(
        f"{o.test_id}\t{o.outcome}" for o in sorted(baseline.outcomes, key=lambda o: o.test_id)
    )
    coverage = baseline.coverage.model_dump_json() if baseline.coverage is not None else "none"
    return {
        "generated_sha256": files_sha256((f.path, f.content) for f in generated),
        "generated_files": len(generated),
        "refused_paths": [
            f"{r.path}\t{r.reason}" for r in refused_paths
        ],  # in order, as the verdict lists them
        "tree_sha256": tree_sha256(original_tree),
        "baseline_outcomes_sha256": text_sha256(outcomes),
        "baseline_coverage_sha256": text_sha256(coverage),
        "layout_sha256": text_sha256(layout.model_dump_json()),
        "slug": slug,
        "timeout_s": timeout_s,
        "reliability_runs": reliability_runs,
        "check_policy": check_policy,
        # A verdict that checked mutants within a budget depends on both; the budget is a setting, so a
        # cut-short check is reused only under the same setting.
        "surviving_mutants": sorted(m.name for m in survivors),
        "mutation_budget_s": mutation_budget_s,
        "verdict_code_sha256": _verdict_code_sha256(),
        "environment": environment_key,
    }


def funnel_environment_key() -> str:
    """What verdicts depend on outside the funnel's arguments, as far as this process can see: its
    interpreter, the versions of the pytest plugins and coverage.py the funnel drives, and the sandbox.

    A component with its own environment (`layout.python`, part of the key through the layout) is named
    by its interpreter's path only: upgrading packages inside it does not change this key.
    """
    versions = []
    for tool in _FUNNEL_TOOLS:
        try:
            versions.append(f"{tool}=={importlib.metadata.version(tool)}")
        except importlib.metadata.PackageNotFoundError:
            versions.append(f"{tool}==absent")
    interpreter = f"python {platform.python_version()} ({sys.executable})"
    return f"{interpreter}; {'; '.join(versions)}; sandbox {sandbox_mode()}"


def _store(cache: FunnelCache, key: str, inputs: dict[str, Any], result: FunnelResult) -> None:
    accepted_dir = Path(result.accepted_dir)
    try:
        files = {path: (accepted_dir / path).read_text(encoding="utf-8") for path in result.accepted_files}
    except (OSError, UnicodeDecodeError) as exc:
        cache.store.log.warning(
            "Accepted files of %s cannot be read back (%s); not cached", accepted_dir, exc
        )
        return
    cache.store.put(
        key, inputs=inputs, payload=result.model_dump(mode="json", exclude={"accepted_dir"}), files=files
    )


def _reuse(cache: FunnelCache, key: str, work_dir: Path) -> FunnelResult | None:
    """The stored result with its accepted files written into this run's folder; None on a miss."""
    entry = cache.store.get(key)
    if entry is None:
        return None
    accepted_dir = work_dir / ACCEPTED_DIR
    try:
        result = FunnelResult.model_validate({**entry.payload, "accepted_dir": str(accepted_dir)})
        missing = set(result.accepted_files) - set(entry.files)
        if missing:
            raise ValueError(f"accepted files missing from the entry: {sorted(missing)}")
    except ValueError as exc:  # pydantic's ValidationError is one
        cache.store.log.warning("Funnel cache entry %s does not read back (%s); running the funnel", key, exc)
        cache.store.discard(key)
        return None
    for path in result.accepted_files:
        write_text_atomically(accepted_dir / path, entry.files[path])
    return result


def _verdict_code_sha256() -> str:
    return files_sha256(
        (module.__name__, Path(str(module.__file__)).read_text(encoding="utf-8")) for module in _VERDICT_CODE
    )
