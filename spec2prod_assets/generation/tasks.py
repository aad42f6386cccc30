"""Turn a spec and its baseline's gaps into test-generation tasks, one per module.

The task text carries what the spec promises (requirements, acceptance criteria), exactly which lines
no test reaches yet, and which small bugs (mutants) the existing tests would not notice, so a generator
aims at behaviour the spec cares about and at real gaps (a module fully covered can still have weak
tests: Meta's ACH generates tests from such mutants). It asks that each test claim the ids it checks
(`@pytest.mark.spec`), which the release traces.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path, PurePosixPath

from spec2prod_assets.generation.protocol import GenerationTask
from spec2prod_assets.mutation import SurvivingMutant
from spec2prod_assets.project.layout import ComponentLayout
from spec2prod_assets.spec.model import ComponentSpec
from spec2prod_assets.testing.pytest_run import TestRun

# Mutants named in one task: enough to aim at, few enough to read.
MUTANTS_IN_TASK = 20


def build_tasks(
    spec: ComponentSpec,
    layout: ComponentLayout,
    baseline: TestRun,
    workspace_dir: Path,
    survivors: Sequence[SurvivingMutant] = (),
) -> list[GenerationTask]:
    """One task per module with uncovered lines or surviving mutants (package `__init__` files with
    only re-exports skip); `survivors` are the baseline suite's surviving mutants, if measured."""
    if baseline.coverage is None:
        return []
    tasks = []
    for module in baseline.coverage.modules:
        mutants = [m for m in survivors if m.file == module.path]
        if not module.missing_lines and not mutants:
            continue
        name = import_name(module.path, layout.import_root)
        tasks.append(
            GenerationTask(
                task_id=f"{spec.slug}-{name.replace('.', '-')}",
                component=spec.slug,
                module=module.path,
                import_name=name,
                instructions=_task_text(spec, layout, module.path, name, module.missing_lines, mutants),
                workspace_dir=str(workspace_dir),
                source_path=layout.source_path,
                tests_path=layout.tests_path,
                import_root=layout.import_root,
                python=layout.python,
                readable_roots=layout.readable_roots,
                uncovered_lines=module.missing_lines,
            )
        )
    return tasks


def import_name(module_path: str, root: str) -> str:
    """`src/calc/ops.py` under root `src` -> `calc.ops`; a package's `__init__.py` -> the package."""
    relative = PurePosixPath(module_path).relative_to(root) if root != "." else PurePosixPath(module_path)
    parts = list(relative.with_suffix("").parts)
    if parts and parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _task_text(
    spec: ComponentSpec,
    layout: ComponentLayout,
    module_path: str,
    module_name: str,
    missing_lines: tuple[int, ...],
    mutants: Sequence[SurvivingMutant],
) -> str:
    requirements = "\n".join(f"- {r.id} ({r.priority.value}): {r.text}" for r in spec.requirements)
    criteria = "\n".join(f"- {c.id}: {c.text}" for c in spec.acceptance_criteria) or "- (none given)"
    gaps = []
    if missing_lines:
        gaps.append(
            f"These lines of {module_path} are not executed by any existing test: "
            f"{', '.join(map(str, missing_lines))}. Aim the new tests at them."
        )
    if mutants:
        listed = "\n".join(f"- line {m.line}: `{m.change}`" for m in mutants[:MUTANTS_IN_TASK])
        more = f"\n- and {len(mutants) - MUTANTS_IN_TASK} more" if len(mutants) > MUTANTS_IN_TASK else ""
        gaps.append(
            f"The existing tests pass even when {module_path} is changed in these ways (surviving "
            f"mutants): write tests that pass on the code as it is and would fail on each change, "
            f"where the spec says which behaviour is right.\n{listed}{more}"
        )
    return (
        f"Write pytest unit tests for the module `{module_name}` ({module_path}) of the component "
        f"'{spec.name}' {spec.version}.\n\n"
        f"{spec.summary}\n\n"
        f"Requirements from the spec:\n{requirements}\n\n"
        f"Acceptance criteria:\n{criteria}\n\n" + "\n\n".join(gaps) + "\n\n"
        f"Rules: put new test files only under `{layout.tests_path}/`, named `test_*.py`; import the "
        f"module as `{module_name}`; do not change any file outside `{layout.tests_path}/`; tests must be "
        f"deterministic, independent of order, and need no network. Mark each test with the ids of the "
        f'requirements and acceptance criteria it checks, e.g. `@pytest.mark.spec("AC-2")` (the release '
        f"traces every criterion to the passing tests that claim it). Run them with pytest before you finish."
    )
