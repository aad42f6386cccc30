"""Mutation score: how many small deliberate bugs in the component its tests notice (mutmut 3, sandboxed)."""

from spec2prod_assets.mutation.report import MutationReport, MutationRunError, SurvivingMutant
from spec2prod_assets.mutation.runner import run_mutation

__all__ = ["MutationReport", "MutationRunError", "SurvivingMutant", "run_mutation"]
