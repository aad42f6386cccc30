"""`spec2prod`: the command line beside the Dagster CLI.

`dagster job execute` cannot create a dynamic partition, so `spec2prod register` does it; `spec2prod
run` takes specs through the Python API (`run_workflow`) and prints what happened.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import dagster as dg

from spec2prod_assets.deploy_cli import add_deploy_commands
from spec2prod_assets.spec.model import SpecError, Stage
from spec2prod_assets.spec.parser import parse_spec
from spec2prod_assets.workflow import WorkflowResult, project_root_of, register_partitions, run_workflow


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="spec2prod", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    register = commands.add_parser("register", help="register spec files as partitions on $DAGSTER_HOME")
    register.add_argument("specs", nargs="+", type=Path, help="spec files (Markdown)")
    register.add_argument("--project-root", type=Path, help="default: the folder holding specs/")
    register.set_defaults(handler=_register)

    run = commands.add_parser("run", help="take spec files to a stage and print the outcome")
    run.add_argument("specs", nargs="+", type=Path, help="spec files (Markdown)")
    run.add_argument("--stage", choices=[s.value for s in Stage], default=Stage.PRODUCTION.value)
    run.add_argument("--mode", choices=["async", "sync"], default="async", help="multiprocess or in-process")
    run.add_argument("--project-root", type=Path, help="default: the folder holding specs/")
    run.set_defaults(handler=_run)

    add_deploy_commands(commands)

    args = parser.parse_args(argv)
    try:
        return int(args.handler(args))
    except SpecError as exc:
        _report_bad_spec(exc)
        return 2


def _register(args: argparse.Namespace) -> int:
    try:
        instance = dg.DagsterInstance.get()
    except dg.DagsterError:  # DagsterHomeNotSetError is not an invariant violation
        print(
            "spec2prod: set DAGSTER_HOME to the instance that will run the jobs "
            "(the dagster CLI's temporary instance cannot hold partitions)",
            file=sys.stderr,
        )
        return 2
    slugs = []
    bad = 0
    for spec_file in args.specs:
        root = args.project_root or project_root_of(spec_file.resolve())
        try:
            slugs.append(parse_spec(spec_file.resolve(), root.resolve()).slug)
        except SpecError as exc:
            _report_bad_spec(exc)
            bad += 1
    added = set(register_partitions(instance, slugs)) if slugs else set()
    for slug in slugs:
        print(f"{slug}\t{'registered' if slug in added else 'already registered'}")
    return 2 if bad else 0


def _run(args: argparse.Namespace) -> int:
    failures = 0
    bad = 0
    for spec_file in args.specs:
        try:
            result = run_workflow(spec_file, args.stage, args.mode, project_root=args.project_root)
        except SpecError as exc:
            _report_bad_spec(exc)
            bad += 1
            continue
        _print_result(result)
        failures += not result.success
    return 2 if bad else 1 if failures else 0


def _report_bad_spec(exc: SpecError) -> None:
    """One line per bad spec, so the good specs given beside it still register or run."""
    print(f"spec2prod: bad spec: {exc}", file=sys.stderr)


def _print_result(result: WorkflowResult) -> None:
    verdict = "succeeded" if result.success else "FAILED"
    print(f"\n{result.component}: {verdict} (run {result.run_id}, {result.execution_mode} mode)")
    for stage in result.stages.values():
        print(f"  {stage.stage:<24} {stage.status:<10} {stage.duration_s:>7.2f}s")
    t = result.timings
    print(
        f"  wall {t.wall_s:.2f}s, stages {t.sum_stage_s:.2f}s, critical path {t.critical_path_s:.2f}s, "
        f"saved by parallelism {t.parallel_savings_s:.2f}s"
    )
    print(f"  report: {result.report_path}")


if __name__ == "__main__":
    raise SystemExit(main())
