"""One isolated virtualenv per distinct dependency set, built once, reused by every run that needs it.

An environment's folder name is a hash of what makes it (the sorted requirements, the tools' exact
versions and where they live, the interpreter), so equal sets share one and a change makes a new one.
It is built in a temporary folder and renamed into place under a lock: stages that ask at once
(refactoring and generation run in parallel) wait for one build and then reuse it, and a failed or
killed build never leaves a folder under the final name. Installation uses `uv` (spec2prod depends on
it), or `python -m venv` and pip when uv cannot be found; uv's own variables (UV_OFFLINE,
UV_FIND_LINKS, UV_CACHE_DIR, UV_INDEX_URL...) and pip's reach the installer, so it can run offline from
a local wheelhouse. The installer runs outside the sandbox (it may need the network); what it installs
runs only inside it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import filelock
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from spec2prod_assets.environment.tools import ToolSet, link_tools, tool_set, tools_intact
from spec2prod_assets.runtime.processes import CommandResult, clean_env, run_command

ENV_CACHE_ENV = "SPEC2PROD_ENV_CACHE"
_FORMAT = 1  # bump when the layout of a built environment changes: old ones are then never reused
_COMPLETE = "spec2prod-environment.json"
_PASSED_PREFIXES = ("UV_", "PIP_")
_PASSED_NAMES = (
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "REQUESTS_CA_BUNDLE",
    "XDG_CACHE_HOME",
    "XDG_CONFIG_HOME",
)

logger = logging.getLogger(__name__)


class EnvironmentBuildError(RuntimeError):
    """The component's environment could not be built: the first line says why, and the installer's
    output tail follows when an installer ran."""


@dataclass(frozen=True)
class ComponentEnvironment:
    """A built environment: run the component with `python`; a sandbox must keep `readable_roots` visible."""

    python: Path
    root: Path
    key: str
    dependencies: tuple[str, ...]
    reused: bool
    duration_s: float
    readable_roots: tuple[Path, ...]


def default_cache_root() -> Path:
    """$SPEC2PROD_ENV_CACHE, else the user cache ($XDG_CACHE_HOME or ~/.cache, then spec2prod/envs)."""
    configured = os.environ.get(ENV_CACHE_ENV, "").strip()
    if configured:
        path = Path(configured).expanduser()
        if not path.is_absolute():
            raise EnvironmentBuildError(f"{ENV_CACHE_ENV}={configured!r} is not an absolute path")
        return path
    xdg = os.environ.get("XDG_CACHE_HOME", "").strip()
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".cache"
    return base / "spec2prod" / "envs"


def ensure_environment(
    dependencies: Sequence[str], *, cache_root: Path | None = None, timeout_s: float = 600
) -> ComponentEnvironment:
    """The environment for `dependencies`, reused when it exists and is intact, built otherwise.

    Raises `EnvironmentBuildError` (one line, then the installer's output tail) when it cannot be built,
    `ValueError` for a requirement that is not valid PEP 508.
    """
    started = time.perf_counter()
    wanted = _normalized(dependencies)
    tools = tool_set()
    key = environment_key(wanted, tools)
    root = (cache_root or default_cache_root()).resolve()
    root.mkdir(parents=True, exist_ok=True)
    final = root / key
    lock = filelock.FileLock(root / f"{key}.lock", timeout=timeout_s, thread_local=False)
    try:
        lock.acquire()
    except filelock.Timeout:
        raise EnvironmentBuildError(
            f"environment {key}: another build held {root / (key + '.lock')} for over {timeout_s:.0f}s"
        ) from None
    try:
        reused = _intact(final, key)
        if not reused:
            remaining = max(1.0, timeout_s - (time.perf_counter() - started))
            _build(final, key, wanted, tools, timeout_s=remaining)
    finally:
        lock.release()
    duration = time.perf_counter() - started
    logger.info(
        "component environment %s %s in %.1fs (%d dependencies)",
        key,
        "reused" if reused else "built",
        duration,
        len(wanted),
    )
    base = Path(sys.base_prefix).resolve()
    return ComponentEnvironment(
        python=final / "bin" / "python",
        root=final,
        key=key,
        dependencies=wanted,
        reused=reused,
        duration_s=duration,
        readable_roots=tuple(dict.fromkeys((final, *tools.source_roots, base))),
    )


def environment_key(dependencies: tuple[str, ...], tools: ToolSet) -> str:
    """The hash an environment is filed under: what it installs, what it links to, which interpreter."""
    identity = {
        "format": _FORMAT,
        "dependencies": list(dependencies),
        "tools": tools.versions,
        "tool_roots": [str(path) for path in tools.source_roots],
        "python": [sys.version, sys.implementation.cache_tag, str(Path(sys.base_prefix).resolve())],
    }
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:24]


def _normalized(dependencies: Sequence[str]) -> tuple[str, ...]:
    parsed: dict[str, Requirement] = {}
    for text in dependencies:
        try:
            requirement = Requirement(text)
        except InvalidRequirement as exc:
            raise ValueError(f"dependency {text!r} is not a valid requirement: {exc}") from None
        parsed[str(requirement)] = requirement
    return tuple(sorted(parsed, key=lambda text: (canonicalize_name(parsed[text].name), text)))


def _intact(folder: Path, key: str) -> bool:
    marker = folder / _COMPLETE
    try:
        recorded = json.loads(marker.read_text(encoding="utf-8")).get("key")
    except (OSError, ValueError, AttributeError):
        return False
    return recorded == key and (folder / "bin" / "python").exists() and tools_intact(folder)


def _build(final: Path, key: str, dependencies: tuple[str, ...], tools: ToolSet, *, timeout_s: float) -> None:
    """Build into a temporary sibling and rename it over `final`; on any failure nothing is left."""
    parent = final.parent
    for abandoned in parent.glob(f".build-{key}-*"):  # we hold the key's lock: no build of it is alive
        shutil.rmtree(abandoned, ignore_errors=True)
    temporary = parent / f".build-{key}-{uuid.uuid4().hex[:8]}"
    deadline = time.monotonic() + timeout_s
    try:
        installer = _installer()
        _create(installer, temporary, deadline)
        if dependencies:
            _install(installer, temporary, dependencies, deadline)
        link_tools(temporary, tools)
        (temporary / _COMPLETE).write_text(
            json.dumps({"key": key, "dependencies": list(dependencies), "tools": tools.versions}, indent=2),
            encoding="utf-8",
        )
        if final.exists() or final.is_symlink():  # a broken or outdated one: moved aside, then removed
            stale = parent / f".stale-{key}-{uuid.uuid4().hex[:8]}"
            os.rename(final, stale)
            shutil.rmtree(stale, ignore_errors=True)
        os.rename(temporary, final)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise


def _installer() -> str | None:
    """uv's binary (the `uv` distribution spec2prod depends on, else one on PATH); None: venv and pip."""
    try:
        import uv

        return str(uv.find_uv_bin())
    except (ImportError, FileNotFoundError):
        return shutil.which("uv")


def _create(uv_bin: str | None, folder: Path, deadline: float) -> None:
    if uv_bin is not None:
        args = [uv_bin, "venv", "--quiet", "--relocatable", "--no-project", "--python", sys.executable]
        _run_installer([*args, str(folder)], "create the virtualenv", folder.parent, deadline)
    else:
        args = [sys.executable, "-m", "venv", "--without-pip", str(folder)]
        _run_installer(args, "create the virtualenv", folder.parent, deadline)


def _install(uv_bin: str | None, folder: Path, dependencies: tuple[str, ...], deadline: float) -> None:
    python = str(folder / "bin" / "python")
    if uv_bin is not None:
        args = [uv_bin, "pip", "install", "--quiet", "--python", python, *dependencies]
    else:
        args = [sys.executable, "-m", "pip", "--python", python, "install"]
        args += ["--no-input", "--disable-pip-version-check", "--quiet", *dependencies]
    _run_installer(args, "install the component's dependencies", folder.parent, deadline)


def _run_installer(args: list[str], what: str, cwd: Path, deadline: float) -> CommandResult:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise EnvironmentBuildError(f"environment build ran out of time before it could {what}")
    passed = {
        name: value
        for name, value in os.environ.items()
        if name.startswith(_PASSED_PREFIXES) or name in _PASSED_NAMES
    }
    result = run_command(args, cwd=cwd, timeout_s=remaining, env=clean_env(passed))
    if result.timed_out:
        raise EnvironmentBuildError(
            f"could not {what}: timed out after {result.duration_s:.0f}s\n{result.tail()}"
        )
    if not result.ok:
        first = _first_error(result) or f"exit code {result.exit_code}"
        raise EnvironmentBuildError(f"could not {what}: {first}\n{result.tail()}")
    return result


def _first_error(result: CommandResult) -> str:
    """The installer's own reason, for the first line of the error: its `error:` line and its cause."""
    lines = [line.strip() for line in (result.stderr + "\n" + result.stdout).splitlines() if line.strip()]
    for index, line in enumerate(lines):
        if line.lower().startswith("error"):
            reason = line.split(":", 1)[1].strip() if ":" in line else line
            following = lines[index + 1] if index + 1 < len(lines) else ""
            if following.lower().startswith(("cause:", "caused by:")):
                reason += " (" + following.split(":", 1)[1].strip() + ")"
            return reason
    return ""
