"""What the release suite proves beyond coverage, as metadata: each acceptance criterion's passing tests,
and the mutation scores of the baseline suite and the release suite. Numbers under stable keys, so the UI
plots them across materializations; tables for what a person reads.
"""

from __future__ import annotations

import dagster as dg

from spec2prod_assets.generation.runner import GeneratedTests
from spec2prod_assets.mutation import MutationReport
from spec2prod_assets.pipeline.metadata import MetadataDict, table, table_schema
from spec2prod_assets.release.candidate import ReleaseCandidate
from spec2prod_assets.testing.traceability import Traceability

SURVIVOR_COLUMNS = table_schema("file", ("line", "int"), "change")
MAX_SURVIVOR_ROWS = 50


def traceability_metadata(traced: Traceability | None) -> MetadataDict:
    """Each criterion and the passing tests that claim it, as a table, and its counts as numbers to plot."""
    if traced is None:
        return {}
    return {
        "traceability": dg.MetadataValue.md(traced.markdown_table()),
        **traced.metrics(),
        "untested_criteria": ", ".join(item.id for item in traced.untested) or "none",
    }


def baseline_mutation_metadata(result: GeneratedTests) -> MetadataDict:
    """The baseline suite's score and survivors (what generation aimed at), and what the funnel kept for
    killing them."""
    report, funnel = result.baseline_mutation, result.funnel
    metadata: MetadataDict = {"tests_killing_mutants": funnel.tests_killing_mutants}
    if funnel.mutant_check:
        metadata["mutant_check"] = funnel.mutant_check
    if report is None:
        return {**metadata, "baseline_mutation": result.baseline_mutation_note}
    numbers: dict[str, int | float] = {
        "baseline_mutants_run": report.mutants_run,
        "baseline_mutants_survived": report.mutants_survived,
        "baseline_mutation_s": report.duration_s,
    }
    if report.mutation_score_pct is not None:
        numbers["baseline_mutation_score_pct"] = report.mutation_score_pct
    return {
        **metadata,
        **numbers,
        "baseline_mutation": report.sample_reason or "every mutant run",
        "baseline_surviving_mutants": _survivors(report),
    }


def mutation_metadata(candidate: ReleaseCandidate) -> MetadataDict:
    """The release suite's mutation numbers beside the baseline suite's, and the mutants that survived."""
    scores = candidate.mutation
    if scores is None:
        return {"mutation": candidate.mutation_note}
    before, after = scores.before, scores.after
    numbers: dict[str, int | float] = {
        "mutants_total": after.mutants_total,
        "mutants_run": after.mutants_run,
        "mutants_killed": after.mutants_killed,
        "mutants_survived": after.mutants_survived,
        "mutants_killed_before": before.mutants_killed,
        "mutants_run_before": before.mutants_run,
    }
    if after.mutation_score_pct is not None:
        numbers["mutation_score_pct"] = after.mutation_score_pct
    if before.mutation_score_pct is not None:
        numbers["mutation_score_before_pct"] = before.mutation_score_pct
    reasons = [
        f"{suite}: {report.sample_reason}"
        for suite, report in (("baseline suite", before), ("release suite", after))
        if report.sample_reason
    ]
    return {
        **numbers,
        "mutation_sampled": before.sampled or after.sampled,
        "mutation": "; ".join(reasons) or f"every mutant run, within {scores.budget_s:g} s a suite",
        "surviving_mutants": _survivors(after),
    }


def _survivors(report: MutationReport) -> dg.TableMetadataValue:
    return table(
        SURVIVOR_COLUMNS,
        ({"file": m.file, "line": m.line, "change": m.change} for m in report.survivors[:MAX_SURVIVOR_ROWS]),
    )
