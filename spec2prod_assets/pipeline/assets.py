"""The spec2prod asset graph, top to bottom. Each asset is a few lines that call domain code.

    spec ─► baseline_tests ─┬─► generated_tests ─┐
                            └─► refactored_code ─┴─► release_candidate ─► staging ─► production
    all of the above ─────────────────────────────────────────────────────────────► workflow_report

Four steps run them (`stages.STEP_ASSETS`): the spec with its baseline, the generation and the refactor
side by side, then the release with its deployments and the report (`delivery.py`), since a step boundary
costs more than several of these stages' work.

One dynamic partition per spec (key = the component slug). Values passed between assets are small
pydantic records stored as JSON by `ArtifactIOManager`; the heavy artifacts (copies, reports,
bundles) live in the run's work folder and are referenced by path.
"""

from collections.abc import Iterator
from pathlib import Path

import dagster as dg
from pydantic import Field

from resources.generators import TestGeneratorResource
from resources.project import ProjectResource
from spec2prod_assets.generation.cache import cache_key, files_sha256, text_sha256, tree_sha256
from spec2prod_assets.generation.funnel import RELIABILITY_RUNS
from spec2prod_assets.generation.funnel_cache import FunnelCache, funnel_environment_key, run_funnel_cached
from spec2prod_assets.generation.runner import GeneratedTests, generate
from spec2prod_assets.generation.task_cache import TaskCache
from spec2prod_assets.generation.tasks import build_tasks
from spec2prod_assets.pipeline.checks import SPEC_CHECKS, source_path_check
from spec2prod_assets.pipeline.component import prepare_component
from spec2prod_assets.pipeline.evidence_metadata import baseline_mutation_metadata
from spec2prod_assets.pipeline.metadata import (
    StageClock,
    environment_metadata,
    generated_tests_metadata,
    layout_metadata,
    refactor_metadata,
    sandbox_metadata,
    spec_metadata,
    test_run_metadata,
    versioned_output,
)
from spec2prod_assets.pipeline.mutation_stage import baseline_mutation, mutation_budget
from spec2prod_assets.pipeline.partitions import specs_partitions
from spec2prod_assets.pipeline.stages import (
    BASELINE_TESTS,
    GENERATED_TESTS,
    REFACTORED_CODE,
    SPEC,
    SPEC_AND_BASELINE,
)
from spec2prod_assets.project.layout import no_tests_warning
from spec2prod_assets.refactor.refactoring import RefactorResult, refactor_component
from spec2prod_assets.spec.catalog import locate_spec
from spec2prod_assets.spec.model import ComponentSpec
from spec2prod_assets.storage.working_copies import copy_component
from spec2prod_assets.testing.pytest_run import TestRun, run_tests

# Named for the first generator, the pool bounds every test generator (CrossHair too): generators are the
# steps that load the machine or a paid service, so their concurrency across runs is capped in one place.
GENERATOR_POOL = "openhands"


@dg.multi_asset(
    name=SPEC_AND_BASELINE,
    partitions_def=specs_partitions,
    outs={
        SPEC: dg.AssetOut(
            group_name="specification",
            kinds={"markdown", "python"},
            description="The component's Markdown spec, parsed and validated into a ComponentSpec.",
        ),
        BASELINE_TESTS: dg.AssetOut(
            group_name="quality",
            kinds={"pytest"},
            is_required=False,  # not materialized when the spec's own gate fails
            description=(
                "The component's existing tests on the untouched code, with line and branch coverage."
            ),
        ),
    },
    internal_asset_deps={SPEC: set(), BASELINE_TESTS: {dg.AssetKey(SPEC)}},
    check_specs=SPEC_CHECKS,
)
def spec_and_baseline(
    context: dg.AssetExecutionContext, project: ProjectResource
) -> Iterator[dg.Output[ComponentSpec] | dg.Output[TestRun] | dg.AssetCheckResult]:
    """One step for two assets: the parse takes a fraction of a second, so a step boundary of its own
    would cost more than the work (docs/performance.md)."""
    clock = StageClock.start()
    parsed = locate_spec(project.root_path, context.partition_key)
    context.log.info("Parsed %s: %d requirements", parsed.spec_path, len(parsed.requirements))
    yield versioned_output(
        parsed,
        output_name=SPEC,
        metadata={**spec_metadata(parsed), **clock.metadata()},
        version=text_sha256(parsed.model_dump_json()),
    )
    gate = source_path_check(project.root_path, parsed)
    yield gate
    if not gate.passed:
        return  # a blocking check: Dagster fails the step with it, and nothing after it runs

    clock = StageClock.start()
    stage_dir = project.stage_dir(parsed.slug, context.run.run_id, BASELINE_TESTS)
    layout, environment = prepare_component(project.root_path, parsed)
    tree = copy_component(project.root_path, layout, stage_dir / "tree")
    run = run_tests(tree, layout, output_dir=stage_dir / "results", timeout_s=project.test_timeout_s)
    context.log.info(
        "Baseline: %d passed, %d failed (tests found by %s)", run.passed, run.failed, layout.tests_found_by
    )
    if run.collected == 0:
        context.log.warning(no_tests_warning(layout, parsed.allow_no_tests))
    yield versioned_output(
        run,
        output_name=BASELINE_TESTS,
        version=_baseline_version(tree, run),
        metadata={
            **test_run_metadata(run),
            **layout_metadata(layout, run),
            **environment_metadata(environment),
            **sandbox_metadata(),
            **clock.metadata(),
        },
    )


@dg.asset(
    partitions_def=specs_partitions,
    group_name="quality",
    kinds={"ruff"},
    description=(
        "The code after `ruff format` and safe `ruff check --fix` on a copy; "
        "kept only if every test outcome and the public API are unchanged."
    ),
)
def refactored_code(
    context: dg.AssetExecutionContext, project: ProjectResource, spec: ComponentSpec, baseline_tests: TestRun
) -> dg.Output[RefactorResult]:
    clock = StageClock.start()
    stage_dir = project.stage_dir(spec.slug, context.run.run_id, REFACTORED_CODE)
    layout, environment = prepare_component(project.root_path, spec)
    original = copy_component(project.root_path, layout, stage_dir / "original")
    result = refactor_component(
        original,
        layout,
        baseline=baseline_tests,
        work_dir=stage_dir,
        timeout_s=project.test_timeout_s,
    )
    context.log.info("Refactor %s: %s", "kept" if result.kept else "discarded", result.reason)
    return dg.Output(
        result,
        metadata={
            **refactor_metadata(result),
            **environment_metadata(environment),
            **sandbox_metadata(),
            **clock.metadata(),
        },
    )


class GeneratedTestsConfig(dg.Config):
    """How long to wait for the test generator, and how hard to test what it returns."""

    poll_interval_s: float = 2.0
    deadline_s: float = 900.0
    reliability_runs: int = RELIABILITY_RUNS
    use_cache: bool = Field(
        default=True,
        description=(
            "Reuse the tests of an earlier identical task (same module, tests, spec text and generator) "
            "and the funnel's earlier verdict on identical files, instead of asking and testing again."
        ),
    )


@dg.asset(
    partitions_def=specs_partitions,
    group_name="quality",
    kinds={"openhands", "pytest"},
    pool=GENERATOR_POOL,
    description=(
        "New unit tests from the test generator (OpenHands or CrossHair), aimed at the baseline's uncovered "
        "lines and surviving mutants, kept only if they are collected, pass, are not flaky over 5 "
        "random-order runs, and add coverage or kill a mutant the existing tests let survive. "
        f"Runs in the `{GENERATOR_POOL}` pool, which limits every generator (CrossHair too)."
    ),
)
async def generated_tests(
    context: dg.AssetExecutionContext,
    config: GeneratedTestsConfig,
    project: ProjectResource,
    test_generator: dg.ResourceParam[TestGeneratorResource],
    spec: ComponentSpec,
    baseline_tests: TestRun,
) -> dg.Output[GeneratedTests]:
    clock = StageClock.start()
    stage_dir = project.stage_dir(spec.slug, context.run.run_id, GENERATED_TESTS)
    layout, environment = prepare_component(project.root_path, spec)
    workspace = copy_component(project.root_path, layout, stage_dir / "workspace")
    mutation, mutation_note = baseline_mutation(workspace, layout, stage_dir / "mutation")
    survivors = mutation.survivors if mutation is not None else ()
    tasks = build_tasks(spec, layout, baseline_tests, workspace, survivors)
    work = project.work_folder
    outcome = await generate(
        test_generator.get_generator(),
        tasks,
        poll_interval_s=config.poll_interval_s,
        deadline_s=config.deadline_s,
        log=context.log,
        cache=TaskCache.in_work_folder(work, log=context.log) if config.use_cache else None,
    )
    funnel, funnel_cached = run_funnel_cached(
        FunnelCache.in_work_folder(work, log=context.log) if config.use_cache else None,
        workspace,
        layout,
        environment_key=f"{funnel_environment_key()}; component environment {environment.key}",
        slug=spec.slug,
        baseline=baseline_tests,
        generated=[f for files in outcome.files for f in files.files],
        refused_paths=[r for files in outcome.files for r in files.rejected],
        work_dir=stage_dir / "funnel",
        timeout_s=project.test_timeout_s,
        reliability_runs=config.reliability_runs,
        survivors=survivors,
        mutation_budget_s=mutation_budget(),
    )
    context.log.info("Accepted %d of %d generated tests", funnel.tests_accepted, funnel.tests_generated)
    result = GeneratedTests(
        outcome=outcome,
        funnel=funnel,
        funnel_cached=funnel_cached,
        baseline_mutation=mutation,
        baseline_mutation_note=mutation_note,
    )
    accepted = Path(funnel.accepted_dir)
    return versioned_output(
        result,
        # The accepted tests are this asset's data: the same files, the same version, so a rerun that hit
        # the caches leaves the release downstream up to date in the UI.
        version=files_sha256(
            (name, (accepted / name).read_text(encoding="utf-8")) for name in funnel.accepted_files
        ),
        metadata={
            **generated_tests_metadata(result),
            **baseline_mutation_metadata(result),
            **environment_metadata(environment),
            **sandbox_metadata(),
            **clock.metadata(),
        },
    )


def _baseline_version(tree: Path, run: TestRun) -> str:
    """The code and tests that ran and what each test did (not how long it took): a rerun on unchanged
    code gives the same version, so Dagster's UI shows what downstream is still up to date."""
    return cache_key(
        {
            "component": tree_sha256(tree),  # the copy: sources, tests and their configuration
            "outcomes": sorted((t.test_id, t.outcome) for t in run.outcomes),
        }
    )
