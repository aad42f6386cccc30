"""Check a spec before anything runs: `spec2prod validate`, and `run` on every spec it is given.

Parsing catches what the text gets wrong; this adds what only the disk can say (the source folder is
missing, the named tests folder is not there), so a typo costs one line in well under a second rather than
a pipeline run that fails minutes later. It imports no Dagster: the CLI calls it before Dagster starts.
"""

from __future__ import annotations

import difflib
from pathlib import Path, PurePosixPath

from spec2prod_assets.spec.model import ComponentSpec, SpecError
from spec2prod_assets.spec.parser import parse_spec
from spec2prod_assets.spec.source_paths import source_path_problem
from spec2prod_assets.storage.safe_paths import resolved_path_problem


def validate_spec_file(spec_file: Path, project_root: Path) -> ComponentSpec:
    """The parsed spec, or a `SpecError` of one line: the text is valid (dependencies included), the
    source path exists in the project, and so does the tests path when the spec names one."""
    spec = parse_spec(spec_file, project_root)
    problem = source_path_problem(project_root, spec.source_path)
    if problem is not None:
        default = f"src/{spec.slug}"
        hint = _nearby(project_root, spec.source_path) or (
            "; name the code's folder with 'source_path:' in the spec" if spec.source_path == default else ""
        )
        raise SpecError(spec.spec_path, problem + hint)
    if spec.tests_path is not None:
        problem = resolved_path_problem(
            project_root, spec.tests_path, what="tests path", root_name="the project root"
        )
        if problem is not None:
            raise SpecError(spec.spec_path, problem + _nearby(project_root, spec.tests_path))
    return spec


def _nearby(project_root: Path, relative: str) -> str:
    """A "did you mean 'src/text_stats'?" hint when the first missing part of `relative` is a near miss
    of a name that is there; else nothing."""
    folder = project_root
    parts = PurePosixPath(relative).parts
    for index, part in enumerate(parts):
        if (folder / part).exists():
            folder = folder / part
            continue
        try:
            names = [entry.name for entry in folder.iterdir() if not entry.name.startswith(".")]
        except OSError:
            return ""
        close = difflib.get_close_matches(part, names, n=1, cutoff=0.6)
        if not close:
            return ""
        return f"; did you mean {PurePosixPath(*parts[:index], close[0]).as_posix()!r}?"
    return ""
