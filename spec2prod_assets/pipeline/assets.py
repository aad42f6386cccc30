"""The spec2prod asset graph, top to bottom. Each asset is a few lines that call domain code.

    spec ─► baseline_tests ─┬─► generated_tests ─┐
                            └─► refactored_code ─┴─► release_candidate ─► staging ─► production
    all of the above ─────────────────────────────────────────────────────────────► workflow_report

One dynamic partition per spec (key = the component slug). Values passed between assets are small
pydantic records stored as JSON by `ArtifactIOManager`; the heavy artifacts (copies, reports,
bundles) live in the run's work folder and are referenced by path.
"""

import time
from collections.abc import Iterator
from pathlib import Path

import dagster as dg

from resources.deployers import DeployerResource
from resources.generators import TestGeneratorResource
from resources.project import ProjectResource
from spec2prod_assets.deploy.model import PRODUCTION, STAGING, DeploymentOutcome, promote
from spec2prod_assets.generation.funnel import RELIABILITY_RUNS, run_funnel
from spec2prod_assets.generation.runner import GeneratedTests, generate
from spec2prod_assets.generation.tasks import build_tasks
from spec2prod_assets.pipeline.checks import (
    RELEASE_CHECKS,
    SPEC_CHECKS,
    deploy_or_fail,
    healthy_checks,
    live_release_check,
    release_checks,
    source_path_check,
)
from spec2prod_assets.pipeline.component import prepare_component
from spec2prod_assets.pipeline.metadata import (
    deployment_metadata,
    environment_metadata,
    generated_tests_metadata,
    layout_metadata,
    refactor_metadata,
    release_metadata,
    report_metadata,
    sandbox_metadata,
    seconds_since,
    spec_metadata,
    test_run_metadata,
)
from spec2prod_assets.pipeline.partitions import specs_partitions
from spec2prod_assets.pipeline.run_records import execution_mode_of, stage_timings, upstream_steps
from spec2prod_assets.pipeline.stages import (
    BASELINE_TESTS,
    GENERATED_TESTS,
    PRODUCTION_DEPLOYMENT,
    REFACTORED_CODE,
    RELEASE_CANDIDATE,
    STAGING_DEPLOYMENT,
    WORKFLOW_REPORT,
)
from spec2prod_assets.project.layout import no_tests_warning
from spec2prod_assets.refactor.refactoring import RefactorResult, refactor_component
from spec2prod_assets.release.candidate import ReleaseCandidate, assemble_release
from spec2prod_assets.report.timings import summarize, write_json_report
from spec2prod_assets.spec.catalog import locate_spec
from spec2prod_assets.spec.model import ComponentSpec
from spec2prod_assets.storage.working_copies import copy_component
from spec2prod_assets.testing.pytest_run import TestRun, run_tests

# Named for the first generator, the pool bounds every test generator (CrossHair too): generators are the
# steps that load the machine or a paid service, so their concurrency across runs is capped in one place.
GENERATOR_POOL = "openhands"


@dg.asset(
    partitions_def=specs_partitions,
    group_name="specification",
    kinds={"markdown", "python"},
    description="The component's Markdown spec, parsed and validated into a ComponentSpec.",
    check_specs=SPEC_CHECKS,
)
def spec(
    context: dg.AssetExecutionContext, project: ProjectResource
) -> Iterator[dg.Output[ComponentSpec] | dg.AssetCheckResult]:
    started = time.perf_counter()
    parsed = locate_spec(project.root_path, context.partition_key)
    context.log.info("Parsed %s: %d requirements", parsed.spec_path, len(parsed.requirements))
    yield dg.Output(parsed, metadata={**spec_metadata(parsed), "duration_s": seconds_since(started)})
    yield source_path_check(project.root_path, parsed)


@dg.asset(
    partitions_def=specs_partitions,
    group_name="quality",
    kinds={"pytest"},
    description="The component's existing tests on the untouched code, with line and branch coverage.",
)
def baseline_tests(
    context: dg.AssetExecutionContext, project: ProjectResource, spec: ComponentSpec
) -> dg.Output[TestRun]:
    started = time.perf_counter()
    stage_dir = project.stage_dir(spec.slug, context.run.run_id, BASELINE_TESTS)
    layout, environment = prepare_component(project.root_path, spec)
    tree = copy_component(project.root_path, layout, stage_dir / "tree")
    run = run_tests(tree, layout, output_dir=stage_dir / "results", timeout_s=project.test_timeout_s)
    context.log.info(
        "Baseline: %d passed, %d failed (tests found by %s)", run.passed, run.failed, layout.tests_found_by
    )
    if run.collected == 0:
        context.log.warning(no_tests_warning(layout, spec.allow_no_tests))
    return dg.Output(
        run,
        metadata={
            **test_run_metadata(run),
            **layout_metadata(layout, run),
            **environment_metadata(environment),
            **sandbox_metadata(),
            "duration_s": seconds_since(started),
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
    started = time.perf_counter()
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
            "duration_s": seconds_since(started),
        },
    )


class GeneratedTestsConfig(dg.Config):
    """How long to wait for the test generator, and how hard to test what it returns."""

    poll_interval_s: float = 2.0
    deadline_s: float = 900.0
    reliability_runs: int = RELIABILITY_RUNS


@dg.asset(
    partitions_def=specs_partitions,
    group_name="quality",
    kinds={"openhands", "pytest"},
    pool=GENERATOR_POOL,
    description=(
        "New unit tests from the test generator (OpenHands or CrossHair), kept only if they are collected, "
        "pass, are not flaky over 5 random-order runs, and add coverage. "
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
    started = time.perf_counter()
    stage_dir = project.stage_dir(spec.slug, context.run.run_id, GENERATED_TESTS)
    layout, environment = prepare_component(project.root_path, spec)
    workspace = copy_component(project.root_path, layout, stage_dir / "workspace")
    tasks = build_tasks(spec, layout, baseline_tests, workspace)
    outcome = await generate(
        test_generator.get_generator(),
        tasks,
        poll_interval_s=config.poll_interval_s,
        deadline_s=config.deadline_s,
        log=context.log,
    )
    funnel = run_funnel(
        workspace,
        layout,
        slug=spec.slug,
        baseline=baseline_tests,
        generated=[f for files in outcome.files for f in files.files],
        refused_paths=[r for files in outcome.files for r in files.rejected],
        work_dir=stage_dir / "funnel",
        timeout_s=project.test_timeout_s,
        reliability_runs=config.reliability_runs,
    )
    context.log.info("Accepted %d of %d generated tests", funnel.tests_accepted, funnel.tests_generated)
    result = GeneratedTests(outcome=outcome, funnel=funnel)
    return dg.Output(
        result,
        metadata={
            **generated_tests_metadata(result),
            **environment_metadata(environment),
            **sandbox_metadata(),
            "duration_s": seconds_since(started),
        },
    )


@dg.asset(
    partitions_def=specs_partitions,
    group_name="release",
    kinds={"python"},
    description="Refactored code plus accepted generated tests, tested together and frozen into one bundle.",
    check_specs=RELEASE_CHECKS,
)
def release_candidate(
    context: dg.AssetExecutionContext,
    project: ProjectResource,
    spec: ComponentSpec,
    refactored_code: RefactorResult,
    generated_tests: GeneratedTests,
) -> Iterator[dg.Output[ReleaseCandidate] | dg.AssetCheckResult]:
    started = time.perf_counter()
    stage_dir = project.stage_dir(spec.slug, context.run.run_id, RELEASE_CANDIDATE)
    layout, environment = prepare_component(project.root_path, spec)
    candidate = assemble_release(
        Path(refactored_code.tree_path),
        layout,
        spec=spec,
        accepted_dir=Path(generated_tests.funnel.accepted_dir),
        accepted_files=generated_tests.funnel.accepted_files,
        work_dir=stage_dir,
        bundles_dir=project.work_folder.bundles(spec.slug),
        project_root=project.root_path,
        run_id=context.run.run_id,
        timeout_s=project.test_timeout_s,
        lint_baseline=refactored_code.lint_before,
        dependencies=environment.dependencies,
    )
    context.log.info(
        "Bundle %s: %d passed, %d failed",
        candidate.bundle_sha256[:12],
        candidate.test_run.passed,
        candidate.test_run.failed,
    )
    yield dg.Output(
        candidate,
        metadata={
            **release_metadata(candidate),
            **environment_metadata(environment),
            **sandbox_metadata(),
            "duration_s": seconds_since(started),
        },
    )
    yield from release_checks(candidate, spec)


@dg.asset(
    partitions_def=specs_partitions,
    group_name="deployment",
    kinds={"python"},
    description="The release candidate's bundle deployed to staging, health-checked, rolled back on failure.",
    check_specs=healthy_checks(STAGING_DEPLOYMENT, STAGING),
)
def staging_deployment(
    context: dg.AssetExecutionContext,
    deployer: dg.ResourceParam[DeployerResource],
    spec: ComponentSpec,
    release_candidate: ReleaseCandidate,
) -> Iterator[dg.Output[DeploymentOutcome] | dg.AssetCheckResult]:
    started = time.perf_counter()
    target = deployer.get_deployer()
    outcome = deploy_or_fail(
        lambda: target.deploy(Path(release_candidate.bundle_path), STAGING, spec.slug), context.log
    )
    yield dg.Output(
        outcome,
        metadata={**deployment_metadata(outcome), **sandbox_metadata(), "duration_s": seconds_since(started)},
    )
    yield live_release_check(target, STAGING, spec.slug, outcome)


@dg.asset(
    partitions_def=specs_partitions,
    group_name="deployment",
    kinds={"python"},
    description="The exact release that passed staging (same sha256), promoted and health-checked.",
    check_specs=healthy_checks(PRODUCTION_DEPLOYMENT, PRODUCTION),
)
def production_deployment(
    context: dg.AssetExecutionContext,
    deployer: dg.ResourceParam[DeployerResource],
    spec: ComponentSpec,
    release_candidate: ReleaseCandidate,
    staging_deployment: DeploymentOutcome,
) -> Iterator[dg.Output[DeploymentOutcome] | dg.AssetCheckResult]:
    started = time.perf_counter()
    target = deployer.get_deployer()
    if staging_deployment.bundle_sha256 != release_candidate.bundle_sha256:
        raise dg.Failure(
            f"refusing to promote bundle {release_candidate.bundle_sha256}: staging passed "
            f"{staging_deployment.bundle_sha256}, a different release"
        )
    outcome = deploy_or_fail(
        lambda: promote(target, Path(release_candidate.bundle_path), spec.slug), context.log
    )
    yield dg.Output(
        outcome,
        metadata={**deployment_metadata(outcome), **sandbox_metadata(), "duration_s": seconds_since(started)},
    )
    yield live_release_check(target, PRODUCTION, spec.slug, outcome)


STAGE_ASSETS = [
    spec,
    baseline_tests,
    generated_tests,
    refactored_code,
    release_candidate,
    staging_deployment,
    production_deployment,
]


@dg.asset(
    partitions_def=specs_partitions,
    group_name="report",
    kinds={"json"},
    deps=STAGE_ASSETS,
    description="Stage timings of this run from the Dagster instance: critical path and parallel savings.",
)
def workflow_report(context: dg.AssetExecutionContext, project: ProjectResource) -> dg.MaterializeResult:
    started = time.perf_counter()
    stages = stage_timings(context.instance, context.run.run_id, exclude=[WORKFLOW_REPORT])
    summary = summarize(
        context.run.run_id,
        stages,
        upstream=upstream_steps(asset_spec for stage in STAGE_ASSETS for asset_spec in stage.specs),
        execution_mode=execution_mode_of(context.run.run_config),
    )
    report_path = write_json_report(
        summary,
        {"partition": context.partition_key, "job": context.job_name},
        project.report_path(context.partition_key, context.run.run_id),
    )
    return dg.MaterializeResult(
        metadata={
            **report_metadata(summary),
            "report": dg.MetadataValue.path(str(report_path)),
            "duration_s": seconds_since(started),
        }
    )
