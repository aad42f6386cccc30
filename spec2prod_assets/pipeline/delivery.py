"""The pipeline's last step: the release candidate, its deployments and the run report, in one process.

These stages run one after another whatever the executor (each needs the one before), so separate steps
would only add a process launch each (docs/performance.md). They stay separate assets: each materializes
with its own metadata and checks, and a job selects the ones it needs (`can_subset`): `spec_to_dev` stops
at the release, and every job ends with the report. A failed gate stops the step where it fails, as a
blocking check between steps would: nothing after it is materialized and the run fails with the check.

A re-execution that selects only later stages (production after a fixed staging health check) reads the
earlier stages' stored values instead of rebuilding them.
"""

from collections.abc import Generator, Iterable, Iterator
from pathlib import Path
from typing import TypeVar

import dagster as dg

from resources.artifact_io import read_stored_value
from resources.deployers import DeployerResource
from resources.project import ProjectResource
from spec2prod_assets.deploy.model import PRODUCTION, STAGING, DeploymentOutcome, promote
from spec2prod_assets.generation.runner import GeneratedTests
from spec2prod_assets.pipeline.assets import generated_tests, refactored_code, spec_and_baseline
from spec2prod_assets.pipeline.checks import (
    RELEASE_CHECKS,
    deploy_or_fail,
    healthy_checks,
    live_release_check,
    release_checks,
)
from spec2prod_assets.pipeline.component import prepare_component
from spec2prod_assets.pipeline.evidence_metadata import mutation_metadata, traceability_metadata
from spec2prod_assets.pipeline.metadata import (
    StageClock,
    deployment_metadata,
    environment_metadata,
    release_metadata,
    report_metadata,
    sandbox_metadata,
)
from spec2prod_assets.pipeline.mutation_stage import with_mutation_scores
from spec2prod_assets.pipeline.partitions import specs_partitions
from spec2prod_assets.pipeline.run_records import execution_mode_of, stage_timings, upstream_steps
from spec2prod_assets.pipeline.stages import (
    BASELINE_TESTS,
    GENERATED_TESTS,
    PRODUCTION_DEPLOYMENT,
    REFACTORED_CODE,
    RELEASE_AND_DEPLOY,
    RELEASE_CANDIDATE,
    SPEC,
    STAGING_DEPLOYMENT,
    WORKFLOW_REPORT,
)
from spec2prod_assets.refactor.refactoring import RefactorResult
from spec2prod_assets.release.candidate import ReleaseCandidate, assemble_release
from spec2prod_assets.report.timings import summarize, write_json_report
from spec2prod_assets.run_mode import MODE_REASON_TAG
from spec2prod_assets.spec.model import ComponentSpec

_T = TypeVar("_T")
_Event = dg.Output[ReleaseCandidate] | dg.Output[DeploymentOutcome] | dg.Output[None] | dg.AssetCheckResult


def _keys(*names: str) -> set[dg.AssetKey]:
    return {dg.AssetKey(name) for name in names}


@dg.multi_asset(
    name=RELEASE_AND_DEPLOY,
    partitions_def=specs_partitions,
    can_subset=True,
    outs={
        RELEASE_CANDIDATE: dg.AssetOut(
            group_name="release",
            kinds={"python"},
            is_required=False,
            description=(
                "Refactored code plus accepted generated tests, tested together and frozen into one bundle."
            ),
        ),
        STAGING_DEPLOYMENT: dg.AssetOut(
            group_name="deployment",
            kinds={"python"},
            is_required=False,
            description=(
                "The release candidate's bundle deployed to staging, health-checked, rolled back on failure."
            ),
        ),
        PRODUCTION_DEPLOYMENT: dg.AssetOut(
            group_name="deployment",
            kinds={"python"},
            is_required=False,
            description="The exact release that passed staging (same sha256), promoted and health-checked.",
        ),
        WORKFLOW_REPORT: dg.AssetOut(
            group_name="report",
            kinds={"json"},
            is_required=False,
            dagster_type=dg.Nothing,
            description=(
                "Stage timings of this run from the Dagster instance: critical path, parallel savings "
                "and orchestration overhead."
            ),
        ),
    },
    internal_asset_deps={
        RELEASE_CANDIDATE: _keys(SPEC, REFACTORED_CODE, GENERATED_TESTS),
        STAGING_DEPLOYMENT: _keys(SPEC, RELEASE_CANDIDATE),
        PRODUCTION_DEPLOYMENT: _keys(SPEC, RELEASE_CANDIDATE, STAGING_DEPLOYMENT),
        WORKFLOW_REPORT: _keys(
            SPEC,
            BASELINE_TESTS,
            GENERATED_TESTS,
            REFACTORED_CODE,
            RELEASE_CANDIDATE,
            STAGING_DEPLOYMENT,
            PRODUCTION_DEPLOYMENT,
        ),
    },
    # Read, not passed as inputs: Dagster loads every input of a step even for a subset that needs none
    # (the report alone), so each stage reads the stored values it needs when it runs.
    deps=[SPEC, BASELINE_TESTS, GENERATED_TESTS, REFACTORED_CODE],
    check_specs=[
        *RELEASE_CHECKS,
        *healthy_checks(STAGING_DEPLOYMENT, STAGING),
        *healthy_checks(PRODUCTION_DEPLOYMENT, PRODUCTION),
    ],
)
def release_and_deploy(
    context: dg.AssetExecutionContext,
    project: ProjectResource,
    deployer: dg.ResourceParam[DeployerResource],
) -> Iterator[_Event]:
    selected = {key.to_user_string() for key in context.selected_asset_keys}
    partition = context.partition_key

    def stored(asset: str, value_type: type[_T]) -> _T:
        return read_stored_value(project, partition, asset, value_type)

    if selected == {WORKFLOW_REPORT}:
        yield _report(context, project)
        return
    spec = stored(SPEC, ComponentSpec)
    candidate: ReleaseCandidate | None = None
    if RELEASE_CANDIDATE in selected:
        candidate = yield from _release(
            context,
            project,
            spec,
            stored(REFACTORED_CODE, RefactorResult),
            stored(GENERATED_TESTS, GeneratedTests),
        )
        if candidate is None:
            return
    staging: DeploymentOutcome | None = None
    if STAGING_DEPLOYMENT in selected:
        candidate = candidate or stored(RELEASE_CANDIDATE, ReleaseCandidate)
        staging = yield from _deploy(context, deployer, spec, candidate, STAGING, STAGING_DEPLOYMENT, None)
        if staging is None:
            return
    if PRODUCTION_DEPLOYMENT in selected:
        candidate = candidate or stored(RELEASE_CANDIDATE, ReleaseCandidate)
        staging = staging or stored(STAGING_DEPLOYMENT, DeploymentOutcome)
        production = yield from _deploy(
            context, deployer, spec, candidate, PRODUCTION, PRODUCTION_DEPLOYMENT, staging
        )
        if production is None:
            return
    if WORKFLOW_REPORT in selected:
        yield _report(context, project)


def _release(
    context: dg.AssetExecutionContext,
    project: ProjectResource,
    spec: ComponentSpec,
    refactored_code: RefactorResult,
    generated_tests: GeneratedTests,
) -> Generator[_Event, None, ReleaseCandidate | None]:
    """Build, test and bundle the release; returns it, or None when one of its gates failed."""
    clock = StageClock.start()
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
    candidate = with_mutation_scores(
        candidate, project.root_path, layout, stage_dir / "mutation", generated_tests
    )
    context.log.info(
        "Bundle %s: %d passed, %d failed",
        candidate.bundle_sha256[:12],
        candidate.test_run.passed,
        candidate.test_run.failed,
    )
    yield dg.Output(
        candidate,
        output_name=RELEASE_CANDIDATE,
        metadata={
            **release_metadata(candidate),
            **traceability_metadata(candidate.traceability),
            **mutation_metadata(candidate),
            **environment_metadata(environment),
            **sandbox_metadata(),
            **clock.metadata(),
        },
    )
    return candidate if (yield from _gates(release_checks(candidate, spec))) else None


def _deploy(
    context: dg.AssetExecutionContext,
    deployer: DeployerResource,
    spec: ComponentSpec,
    candidate: ReleaseCandidate,
    environment: str,
    asset: str,
    passed_staging: DeploymentOutcome | None,
) -> Generator[_Event, None, DeploymentOutcome | None]:
    """Deploy to staging, or promote what passed staging to production; returns the outcome, or None when
    the environment's health gate failed. A failed deploy raises (`deploy_or_fail`)."""
    clock = StageClock.start()
    target = deployer.get_deployer()
    bundle = Path(candidate.bundle_path)
    if passed_staging is None:
        outcome = deploy_or_fail(lambda: target.deploy(bundle, environment, spec.slug), context.log)
    else:
        if passed_staging.bundle_sha256 != candidate.bundle_sha256:
            raise dg.Failure(
                f"refusing to promote bundle {candidate.bundle_sha256}: staging passed "
                f"{passed_staging.bundle_sha256}, a different release"
            )
        outcome = deploy_or_fail(lambda: promote(target, bundle, spec.slug), context.log)
    yield dg.Output(
        outcome,
        output_name=asset,
        metadata={**deployment_metadata(outcome), **sandbox_metadata(), **clock.metadata()},
    )
    return (
        outcome
        if (yield from _gates([live_release_check(target, environment, spec.slug, outcome, asset=asset)]))
        else None
    )


def _gates(results: Iterable[dg.AssetCheckResult]) -> Generator[_Event, None, bool]:
    """Report every gate; True when all passed. The caller stops on False: Dagster then fails the step
    with the blocking checks that failed, and no later asset of the step is materialized."""
    passed = True
    for result in results:
        yield result
        passed = passed and result.passed
    return passed


def _report(context: dg.AssetExecutionContext, project: ProjectResource) -> dg.Output[None]:
    """Read this run's stage timings back from the instance (the stages of this step have already written
    their materializations) and write the JSON report."""
    clock = StageClock.start()
    summary = summarize(
        context.run.run_id,
        stage_timings(context.instance, context.run.run_id, exclude=[WORKFLOW_REPORT]),
        upstream=upstream_steps(
            asset_spec
            for stage in (spec_and_baseline, generated_tests, refactored_code, release_and_deploy)
            for asset_spec in stage.specs
        ),
        execution_mode=execution_mode_of(context.run.run_config, context.job_def.executor_def.name),
    )
    reason = context.run.tags.get(MODE_REASON_TAG, "the job's run config")
    report_path = write_json_report(
        summary,
        {"partition": context.partition_key, "job": context.job_name, "execution_mode_reason": reason},
        project.report_path(context.partition_key, context.run.run_id),
    )
    return dg.Output(
        None,
        output_name=WORKFLOW_REPORT,
        metadata={
            **report_metadata(summary),
            "execution_mode_reason": reason,
            "report": dg.MetadataValue.path(str(report_path)),
            **clock.metadata(),
        },
    )
