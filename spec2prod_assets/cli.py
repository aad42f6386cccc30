"""`spec2prod`: the command line for people and CI, beside the Dagster UI.

Only the commands that run something import Dagster, inside their handlers: `--help`, `--version`,
`validate` and `schema` answer in well under a second, and a `run` with a bad spec is refused before
Dagster starts. Exit codes are part of the interface (CI scripts branch on them) and are listed in
`--help` and the README.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import traceback
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from spec2prod_assets.deploy_cli import add_deploy_commands

if TYPE_CHECKING:
    from spec2prod_assets.report.run_result import WorkflowResult
    from spec2prod_assets.run_plan import PlannedRun

EXIT_OK = 0
EXIT_RUN_FAILED = 1
EXIT_BAD_INPUT = 2
# The values of `spec.model.Stage`, spelled out: importing the model costs pydantic's start-up on every
# `--help`; a test holds the two together.
STAGE_CHOICES = ("dev", "staging", "production")
BEYOND_TARGET_FLAG = "--beyond-target"

DESCRIPTION = """\
Take components from their Markdown specs to production with Dagster, and look after what is deployed.

The project is --project-root, else the one a spec file sits in (the folder holding its specs/), else
$SPEC2PROD_PROJECT_ROOT, else the nearest folder holding specs/ from the current one up."""

EPILOG = """\
exit codes:
  0  everything asked for succeeded
  1  a run failed (a stage or a quality gate; the reasons are printed and in the report), or a deploy
     command could not do what was asked (nothing deployed there, no release to go back to, unhealthy)
  2  bad input, nothing was run: a bad spec, option, project or environment variable"""


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except ValueError as exc:
        if not _is_input_error(exc):
            raise
        _say(str(exc))
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        _say("interrupted")
        return 130
    except BrokenPipeError:  # `spec2prod schema | head`: the reader left; say nothing more
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="spec2prod", description=DESCRIPTION, epilog=EPILOG, formatter_class=HelpFormatter
    )
    parser.add_argument("--version", action=_VersionAction, help="print the installed version and exit")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, summary: str) -> argparse.ArgumentParser:
        return commands.add_parser(
            name, help=summary, description=f"{summary}.", epilog=EPILOG, formatter_class=HelpFormatter
        )

    validate = command("validate", "check specs without running anything (no Dagster start-up)")
    validate.add_argument("specs", nargs="*", type=Path, metavar="SPEC", help="spec files; none: every spec")
    _add_project_root(validate)
    validate.add_argument("--json", action="store_true", help="print one JSON document on stdout")
    validate.set_defaults(handler=_validate)

    schema = command("schema", "print the JSON Schema of the spec format (front matter keys)")
    schema.set_defaults(handler=_schema)

    run = command("run", "check every spec, then take each to its stage and print the outcome")
    run.add_argument("specs", nargs="+", type=Path, metavar="SPEC", help="spec files (Markdown)")
    run.add_argument(
        "--stage",
        choices=STAGE_CHOICES,
        help="how far to go; default: each spec's own target_stage",
    )
    run.add_argument(
        BEYOND_TARGET_FLAG, action="store_true", help="allow a --stage further than a spec's target_stage"
    )
    run.add_argument(
        "--mode",
        choices=["auto", "async", "sync"],
        default="auto",
        help="async: stages side by side in worker processes; sync: one after the other in this process; "
        "auto (default): async for a remote agent or 3+ cores, else sync (the report says which and why)",
    )
    _add_project_root(run)
    run.add_argument("--json", action="store_true", help="print one JSON document on stdout (all runs)")
    run.add_argument(
        "--junit-xml", type=Path, metavar="PATH", help="write the release candidates' JUnit XML here"
    )
    run.add_argument("-v", "--verbose", action="store_true", help="show Dagster's event log and stack traces")
    run.set_defaults(handler=_run)

    register = command("register", "register specs as partitions on $DAGSTER_HOME (for dagster/dg launches)")
    register.add_argument("specs", nargs="+", type=Path, metavar="SPEC", help="spec files (Markdown)")
    _add_project_root(register)
    register.set_defaults(handler=_register)

    add_deploy_commands(commands, command)
    return parser


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """`--help` shows each option's default where it has one (never "default: None") and keeps the
    descriptions' line breaks (the exit codes are a table)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        if action.default in (None, False, argparse.SUPPRESS):
            return action.help or ""
        return super()._get_help_string(action) or ""


def _add_project_root(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--project-root", type=Path, metavar="DIR", help="the project (the folder holding specs/)"
    )


class _VersionAction(argparse.Action):
    """`--version`, read from the installed metadata only when asked (it costs a tenth of a second)."""

    def __init__(self, option_strings: Sequence[str], dest: str, help: str | None = None) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, help=help)

    def __call__(self, parser: argparse.ArgumentParser, *args: object) -> None:
        from importlib.metadata import PackageNotFoundError, version

        try:
            installed = version("spec2prod")
        except PackageNotFoundError:
            installed = "unknown (not installed)"
        print(f"spec2prod {installed}")
        parser.exit()


def _say(message: str) -> None:
    print(f"spec2prod: {message}", file=sys.stderr, flush=True)


def _is_input_error(exc: ValueError) -> bool:
    """Bad specs, stages, modes, projects and environment variables: their message is the one line to show."""
    from resources.env_vars import EnvVarError
    from spec2prod_assets.run_mode import ModeNotAvailable
    from spec2prod_assets.run_plan import StageBeyondTargetError
    from spec2prod_assets.spec.model import SpecError

    if isinstance(exc, SpecError | StageBeyondTargetError | ModeNotAvailable):
        return True
    from resources.project_root import ProjectRootError

    return isinstance(exc, EnvVarError | ProjectRootError)


# ---------------------------------------------------------------- validate, schema


def _validate(args: argparse.Namespace) -> int:
    from spec2prod_assets.cli_output import valid_spec_line, validation_document
    from spec2prod_assets.run_plan import default_project_root, plan_runs
    from spec2prod_assets.spec.parser import find_spec_files

    spec_files: list[Path] = args.specs
    if not spec_files:
        root = args.project_root.resolve() if args.project_root else default_project_root()
        spec_files = find_spec_files(root)
        if not spec_files:
            _say(f"no spec to validate: {root / 'specs'} holds no *.md file")
            return EXIT_BAD_INPUT
    planned, problems = plan_runs(spec_files, project_root=args.project_root, stage=None, beyond_target=False)
    if args.json:
        print(json.dumps(validation_document(planned, problems), indent=2))
    else:
        for run in planned:
            print(valid_spec_line(run))
        for problem in problems:
            _say(problem)
    return EXIT_BAD_INPUT if problems else EXIT_OK


def _schema(args: argparse.Namespace) -> int:
    from spec2prod_assets.spec.schema import spec_json_schema

    print(json.dumps(spec_json_schema(), indent=2))
    return EXIT_OK


# ---------------------------------------------------------------- register


def _register(args: argparse.Namespace) -> int:
    import dagster as dg

    from spec2prod_assets.run_plan import plan_runs
    from spec2prod_assets.workflow import register_partitions

    try:
        instance = dg.DagsterInstance.get()
    except dg.DagsterError:  # DagsterHomeNotSetError is not an invariant violation
        _say(
            "set DAGSTER_HOME to the instance that will run the jobs "
            "(the dagster CLI's temporary instance cannot hold partitions)"
        )
        return EXIT_BAD_INPUT
    planned, problems = plan_runs(args.specs, project_root=args.project_root, stage=None, beyond_target=False)
    for problem in problems:
        _say(problem)
    slugs = [run.spec.slug for run in planned]
    added = set(register_partitions(instance, slugs)) if slugs else set()
    for slug in dict.fromkeys(slugs):
        print(f"{slug}\t{'registered' if slug in added else 'already registered'}")
    return EXIT_BAD_INPUT if problems else EXIT_OK


# ---------------------------------------------------------------- run


def _run(args: argparse.Namespace) -> int:
    from spec2prod_assets.cli_output import run_document, verdict_line
    from spec2prod_assets.run_plan import plan_runs
    from spec2prod_assets.spec.model import Stage

    planned, problems = plan_runs(
        args.specs,
        project_root=args.project_root,
        stage=Stage(args.stage) if args.stage else None,
        beyond_target=args.beyond_target,
    )
    for problem in problems:
        _say(problem)
    if problems:
        if args.json:
            print(json.dumps(run_document([], None, problems), indent=2))
        return EXIT_BAD_INPUT
    if not args.verbose:
        warnings.filterwarnings("ignore")  # Dagster's beta/supersession notices are not the user's business
    with _stdout_kept_for_json(args.json) as json_out:
        not_loaded = _definitions_problem(verbose=args.verbose)
        if not_loaded is not None:
            _say(not_loaded)
            if json_out is not None:
                print(json.dumps(run_document([], None, [not_loaded]), indent=2), file=json_out, flush=True)
            return EXIT_BAD_INPUT
        results = [_run_one(run, args) for run in planned]
        junit = _junit_xml(results, args.junit_xml)
        print(verdict_line(results), flush=True)
        if json_out is not None:
            print(json.dumps(run_document(results, junit), indent=2), file=json_out, flush=True)
    return EXIT_OK if all(result.success for result in results) else EXIT_RUN_FAILED


def _definitions_problem(*, verbose: bool) -> str | None:
    """Load the code location once before any run, so a malformed setting is one line (returned), not a
    traceback from inside the first run."""
    try:
        import spec2prod_assets.definitions  # noqa: F401
    except ValueError as exc:
        if verbose:
            traceback.print_exc()
        return str(exc)
    return None


def _run_one(planned: PlannedRun, args: argparse.Namespace) -> WorkflowResult:
    from spec2prod_assets.cli_output import run_starts_line, stage_line, summary_lines
    from spec2prod_assets.report.run_result import StageFinished
    from spec2prod_assets.workflow import decide_mode, run_planned

    def progress(ended: StageFinished) -> None:
        print(f"  {stage_line(ended)}", flush=True)

    mode = decide_mode(args.mode)
    print(run_starts_line(planned, mode.mode), flush=True)
    result = run_planned(planned, mode, log_level="INFO" if args.verbose else "CRITICAL", on_stage=progress)
    print("\n".join(summary_lines(result)), flush=True)
    return result


def _junit_xml(results: Sequence[WorkflowResult], destination: Path | None) -> str | None:
    """Where the JUnit XML went (`--junit-xml`), else None; a run without one is named, not fatal."""
    if destination is None:
        return None
    from spec2prod_assets.report.junit import write_junit_xml

    reports = [(r.component, Path(r.junit_xml)) for r in results if r.junit_xml]
    missing = [r.component for r in results if not r.junit_xml]
    if missing:
        _say(f"no JUnit XML from {', '.join(missing)}: the release candidate stage did not write one")
    if not reports:
        return None
    try:
        return str(write_junit_xml(reports, destination))
    except (OSError, ValueError) as exc:
        _say(f"--junit-xml {destination}: {exc}")
        return None


@contextlib.contextmanager
def _stdout_kept_for_json(enabled: bool) -> Iterator[TextIO | None]:
    """With `--json`, stdout carries only the document: everything else printed meanwhile, by us, Dagster
    or a worker process, goes to stderr (file descriptor 1 is pointed at 2 until the document is due)."""
    if not enabled:
        yield None
        return
    sys.stdout.flush()
    try:
        saved = os.dup(sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # stdout replaced by a non-file (an embedding caller)
        document_out = sys.stdout
        with contextlib.redirect_stdout(sys.stderr):
            yield document_out
        return
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    try:
        with os.fdopen(os.dup(saved), "w", encoding="utf-8") as document_out:
            yield document_out
        sys.stdout.flush()
    finally:
        os.dup2(saved, sys.stdout.fileno())
        os.close(saved)


if __name__ == "__main__":
    raise SystemExit(main())
