"""Console commands to see and act on deployed environments without opening Dagster.

`spec2prod releases|history|rollback ENV COMPONENT` read and change the same deploy root the local
deployer writes (the command deployer's state root has the same layout, so `releases` and `history`
read it too). Each subcommand sets `handler(args) -> exit code` on the parsed namespace. Damaged state
(a `current` that is not a link, a corrupt release record, a skipped history line) never stops a
listing: each problem is one warning line on stderr, and the listing shows what is readable.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from resources.project import DEPLOY_ROOT_ENV, ProjectResource
from spec2prod_assets.deploy.local_deployer import LocalReleaseDeployer
from spec2prod_assets.deploy.model import DeployError
from spec2prod_assets.deploy.state_store import ReleaseStore


def add_deploy_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    releases = subparsers.add_parser("releases", help="list an environment's releases, newest first")
    _add_target(releases)
    releases.set_defaults(handler=_releases)

    history = subparsers.add_parser("history", help="show the end of an environment's deploy history")
    _add_target(history)
    history.add_argument("--tail", type=int, default=20, help="entries to show (default: 20)")
    history.set_defaults(handler=_history)

    rollback = subparsers.add_parser(
        "rollback", help="make an earlier release live again (default: the previous healthy one)"
    )
    _add_target(rollback)
    rollback.add_argument("--to", metavar="RELEASE_ID", help="the release to go back to")
    rollback.set_defaults(handler=_rollback)


def _add_target(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("environment", metavar="ENV", help="e.g. staging or production")
    parser.add_argument("component", metavar="COMPONENT", help="the component slug")
    parser.add_argument(
        "--deploy-root",
        type=Path,
        default=None,
        help=f"default: ${DEPLOY_ROOT_ENV}, else .spec2prod/deploy under the project root",
    )


def _fail(command: str, message: str) -> int:
    print(f"spec2prod {command}: error: {message}", file=sys.stderr)
    return 1


def _warn(command: str, problems: list[str]) -> None:
    for problem in problems:
        print(f"spec2prod {command}: warning: {problem}", file=sys.stderr)


def _existing_store(args: argparse.Namespace) -> ReleaseStore:
    root: Path = args.deploy_root or ProjectResource().deploy_path
    return ReleaseStore(root, args.environment, args.component).require_existing()


def _releases(args: argparse.Namespace) -> int:
    try:
        store = _existing_store(args)
    except DeployError as exc:
        return _fail("releases", str(exc))
    _warn("releases", store.release_problems())
    infos = store.infos()
    if not infos:
        return _fail("releases", f"{store.label} has no complete release")
    print(f"{'RELEASE':<34} {'STATE':<8} {'CREATED':<33} BUNDLE SHA256")
    for info in infos:
        state = ",".join(flag for flag, on in (("current", info.is_current), ("bad", info.is_bad)) if on)
        print(f"{info.release_id:<34} {state:<8} {info.created:<33} {info.bundle_sha256}")
    return 0


def _history(args: argparse.Namespace) -> int:
    try:
        store = _existing_store(args)
    except DeployError as exc:
        return _fail("history", str(exc))
    read = store.read_history()
    _warn("history", list(read.skipped))
    entries = list(read.entries)[-args.tail :] if args.tail > 0 else []
    if not entries:
        return _fail("history", f"{store.label} has no history yet")
    for entry in entries:
        line = (
            f"{entry.time}  {entry.action:<8} {entry.release_id}  {entry.outcome:<11} "
            f"{entry.duration_s:6.1f}s  {entry.health}"
        )
        print(f"{line}  ({entry.message})" if entry.message else line)
    return 0


def _rollback(args: argparse.Namespace) -> int:
    try:
        store = _existing_store(args)
        outcome = LocalReleaseDeployer(store.root).rollback(store.environment, store.component, args.to)
    except (DeployError, OSError, ValueError) as exc:  # DeploymentFailed carries the health output
        return _fail("rollback", str(exc))
    print(
        f"{outcome.environment}/{outcome.component}: rolled back to {outcome.release_id} "
        f"({outcome.health_summary})"
    )
    return 0
