"""Mutation score: how many small deliberate bugs in the component its tests notice (mutmut 3, sandboxed)."""

from spec2prod_assets.mutation.kills import Kills, kills_by_test
from spec2prod_assets.mutation.report import MutationReport, MutationRunError, SurvivingMutant
from spec2prod_assets.mutation.runner import run_mutation

__all__ = ["Kills", "MutationReport", "MutationRunError", "SurvivingMutant", "kills_by_test", "run_mutation"]
