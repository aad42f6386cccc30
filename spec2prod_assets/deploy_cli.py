"""Console commands to see and act on deployed environments without opening Dagster.

`spec2prod releases|history|rollback ENV COMPONENT` read and change the environments of the deployer the
project is configured with (`SPEC2PROD_DEPLOYER`, docs/deployers.md): the local deployer's release folders,
or the command deployer's state root (same layout). The project is `--project-root`, else the one you
stand in; never the bundled example, so a rollback typed in your project acts on your project. Each
subcommand sets `handler(args) -> exit code` on the parsed namespace. Damaged state (a `current` that is
not a link, a corrupt release record, a skipped history line) never stops a listing: each problem is one
warning line on stderr, and the listing shows what is readable. Dagster loads only inside the handlers.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from resources.deployers import CommandDeployerResource, LocalDeployerResource
    from spec2prod_assets.deploy.state_store import ReleaseStore

MakeParser = Callable[[str, str], argparse.ArgumentParser]
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2


def add_deploy_commands(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser], make_parser: MakeParser | None = None
) -> None:
    """Add the three commands; `make_parser(name, summary)` lets the main parser give them its style."""

    def command(name: str, summary: str) -> argparse.ArgumentParser:
        return make_parser(name, summary) if make_parser else subparsers.add_parser(name, help=summary)

    releases = command("releases", "list an environment's releases, newest first")
    _add_target(releases)
    releases.set_defaults(handler=_releases)

    history = command("history", "show the end of an environment's deploy history")
    _add_target(history)
    history.add_argument("--tail", type=int, default=20, help="entries to show")
    history.set_defaults(handler=_history)

    rollback = command("rollback", "make an earlier release live again (default: the previous healthy one)")
    _add_target(rollback)
    rollback.add_argument("--to", metavar="RELEASE_ID", help="the release to go back to")
    rollback.set_defaults(handler=_rollback)


def _add_target(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("environment", metavar="ENV", help="e.g. staging or production")
    parser.add_argument("component", metavar="COMPONENT", help="the component slug")
    parser.add_argument(
        "--project-root", type=Path, metavar="DIR", help="the project; default: the one you stand in"
    )
    parser.add_argument(
        "--deploy-root",
        type=Path,
        default=None,
        help="where the environments are; default: the configured deployer's (local: $SPEC2PROD_DEPLOY_ROOT, "
        "else .spec2prod/deploy in the project; command: $SPEC2PROD_DEPLOY_STATE_ROOT)",
    )


def _fail(command: str, message: str, code: int = EXIT_FAILED) -> int:
    print(f"spec2prod {command}: error: {message}", file=sys.stderr)
    return code


def _warn(command: str, problems: list[str]) -> None:
    for problem in problems:
        print(f"spec2prod {command}: warning: {problem}", file=sys.stderr)


def _deployer_resource(args: argparse.Namespace) -> LocalDeployerResource | CommandDeployerResource:
    """The deployer the project is configured with, pointed at `--deploy-root` when given.

    Raises `ValueError` (one line) for a malformed setting, and for a local deployer that has no project
    to keep its releases in and no root given.
    """
    from resources.deployers import CommandDeployerResource, deployer_from_env
    from resources.env_vars import env_setting
    from resources.project import DEPLOY_ROOT_ENV, ProjectResource, ProjectRootError, default_project_root

    try:
        root = args.project_root.resolve() if args.project_root else Path(default_project_root())
        no_project: ProjectRootError | None = None
    except ProjectRootError as exc:  # fine while the environments' root comes from elsewhere
        root, no_project = Path.cwd(), exc
    resource = deployer_from_env(ProjectResource(root=str(root)))
    if isinstance(resource, CommandDeployerResource):
        if args.deploy_root:
            resource = resource.model_copy(update={"state_root": str(args.deploy_root.resolve())})
        return resource
    if args.deploy_root:
        return resource.model_copy(update={"deploy_root": str(args.deploy_root.resolve())})
    if no_project is not None and not resource.deploy_root and not env_setting(DEPLOY_ROOT_ENV):
        raise no_project
    return resource


def _environments_root(resource: LocalDeployerResource | CommandDeployerResource) -> Path:
    """Where the configured deployer keeps its environments (both deployers share the store layout)."""
    from resources.deployers import CommandDeployerResource

    if isinstance(resource, CommandDeployerResource):
        return Path(resource.state_root)
    return Path(resource.deploy_root) if resource.deploy_root else resource.project.deploy_path


def _existing_store(command: str, args: argparse.Namespace) -> ReleaseStore | int:
    """The environment's store, or the exit code after saying in one line why there is none."""
    from spec2prod_assets.deploy.model import DeployError
    from spec2prod_assets.deploy.state_store import ReleaseStore

    try:
        root = _environments_root(_deployer_resource(args))
    except ValueError as exc:
        return _fail(command, str(exc), EXIT_BAD_INPUT)
    try:
        return ReleaseStore(root, args.environment, args.component).require_existing()
    except DeployError as exc:
        return _fail(command, str(exc))


def _releases(args: argparse.Namespace) -> int:
    store = _existing_store("releases", args)
    if isinstance(store, int):
        return store
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
    store = _existing_store("history", args)
    if isinstance(store, int):
        return store
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
    """Roll back with the configured deployer: the command deployer runs the rollback command, the
    local one switches `current`; both health-check the release they bring back."""
    from spec2prod_assets.deploy.model import DeployError

    try:
        deployer = _deployer_resource(args).get_deployer()
    except ValueError as exc:
        return _fail("rollback", str(exc), EXIT_BAD_INPUT)
    try:
        outcome = deployer.rollback(args.environment, args.component, args.to)
    except (DeployError, OSError, ValueError) as exc:  # DeploymentFailed carries the health output
        return _fail("rollback", str(exc))
    print(
        f"{outcome.environment}/{outcome.component}: rolled back to {outcome.release_id} "
        f"({outcome.health_summary})"
    )
    return 0
