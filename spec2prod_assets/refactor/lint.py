"""ruff, run with the project's own settings wherever spec2prod lints, formats or measures code.

The project's ruff configuration is law: the rules it selects, its line length and its exclusions decide
what counts as a violation and how code is formatted. It is found the way ruff finds it (the nearest
`.ruff.toml`, `ruff.toml` or `pyproject.toml` with a `[tool.ruff]` table, from the target upwards) but
never above the working tree, and then passed explicitly: a config in a folder that merely holds the tree
(the user's home, the project around `.spec2prod/`) must not change the numbers. A project without one
gets spec2prod's defaults, `--isolated` so no other config can creep in.
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from spec2prod_assets.runtime.processes import (
    CommandError,
    CommandResult,
    clean_env,
    python_tool,
    run_command,
)
from spec2prod_assets.storage.working_copies import relative_to_tree

LINT_RULES = "E,W,F,I,UP,B,SIM"
LINE_LENGTH = "100"
# In the order ruff prefers them when one folder holds several.
RUFF_CONFIG_NAMES = (".ruff.toml", "ruff.toml", "pyproject.toml")
DEFAULT_RULES = "spec2prod's default rules"
_TIMEOUT_S = 120.0
_COMPLEXITY_CODE = "C901"
_COMPLEXITY_RE = re.compile(r"is too complex \((\d+) > 0\)")
# Complexity is a measure, not a gate: every function counts, whatever the project ignores or silences.
_COMPLEXITY_ARGS = (
    "--select",
    _COMPLEXITY_CODE,
    "--ignore-noqa",
    "--config",
    "lint.mccabe.max-complexity = 0",
    "--config",
    "lint.per-file-ignores = {}",
    "--config",
    "lint.extend-per-file-ignores = {}",
)
_MESSAGE_LIMIT = 300


class RuffConfigError(CommandError):
    """The project's ruff configuration is one ruff itself refuses; nothing can be linted with it."""


class LintReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    violations: int
    by_rule: dict[str, int]
    complexity: int
    lines_of_code: int
    config: str | None = None
    """The project's ruff config the violations were counted with (relative to the tree); None: the
    defaults. Two counts compare only when they were made with the same one."""

    @property
    def rules(self) -> str:
        """Where the rules came from, for people: `ruff.toml` or spec2prod's defaults."""
        return self.config or DEFAULT_RULES


def ruff_config(tree: Path, target: str) -> Path | None:
    """The project's ruff config that governs `target` in `tree`, or None when the tree has none."""
    root = tree.resolve()
    start = (tree / target).resolve()
    folder = start if start.is_dir() else start.parent
    while folder == root or root in folder.parents:
        for name in RUFF_CONFIG_NAMES:
            candidate = folder / name
            if candidate.is_file() and (name != "pyproject.toml" or _has_ruff_table(candidate, root)):
                return candidate
        if folder == root:
            break
        folder = folder.parent
    return None


def lint_report(tree: Path, target: str) -> LintReport:
    """Violations by rule, total cyclomatic complexity (mccabe) and non-blank lines of `target`."""
    config = ruff_config(tree, target)
    findings = _ruff_json(tree, target, config, _rule_args(config))
    by_rule: dict[str, int] = {}
    for finding in findings:
        code = str(finding.get("code") or "syntax")
        by_rule[code] = by_rule.get(code, 0) + 1
    complexity = 0
    for finding in _ruff_json(tree, target, config, list(_COMPLEXITY_ARGS)):
        if finding.get("code") != _COMPLEXITY_CODE:
            continue  # a file that does not parse has no complexity; its syntax error is counted above
        match = _COMPLEXITY_RE.search(str(finding.get("message", "")))
        if match is None:
            raise CommandError(f"unexpected complexity finding from ruff: {finding.get('message')!r}")
        complexity += int(match.group(1))
    return LintReport(
        violations=len(findings),
        by_rule=dict(sorted(by_rule.items())),
        complexity=complexity,
        lines_of_code=_lines_of_code(tree / target),
        config=relative_to_tree(config, tree) if config else None,
    )


def format_and_fix(tree: Path, target: str) -> None:
    """`ruff check --fix` with safe fixes only, then `ruff format`, in place on a working copy.

    Formatting last tidies what fixes leave behind (a removed import's blank lines). Unsafe fixes stay
    off even when the project's config turns them on: the refactor must not change behaviour.
    """
    config = ruff_config(tree, target)
    # Exit 1 means violations remain that have no safe fix: expected, they are counted afterwards.
    check = ["check", *_settings_args(config), *_rule_args(config), "--fix", "--no-unsafe-fixes", target]
    _ruff(tree, config, check, ok_codes={0, 1})
    line_length = [] if config else ["--line-length", LINE_LENGTH]
    _ruff(tree, config, ["format", *_settings_args(config), *line_length, target], ok_codes={0})


def _settings_args(config: Path | None) -> list[str]:
    # --force-exclude: the project's exclusions hold even for a target named on the command line.
    return ["--config", str(config), "--force-exclude"] if config else ["--isolated", "--force-exclude"]


def _rule_args(config: Path | None) -> list[str]:
    return [] if config else ["--select", LINT_RULES, "--line-length", LINE_LENGTH]


def _ruff_json(tree: Path, target: str, config: Path | None, rule_args: list[str]) -> list[dict[str, object]]:
    args = ["check", *_settings_args(config), *rule_args, "--output-format", "json", "--exit-zero", target]
    result = _ruff(tree, config, args, ok_codes={0})
    try:
        findings = json.loads(result)
    except ValueError as exc:
        raise CommandError(f"ruff printed something that is not JSON: {result[:200]!r}") from exc
    if not isinstance(findings, list):
        raise CommandError("ruff's JSON output is not a list of findings")
    return findings


def _ruff(tree: Path, config: Path | None, args: list[str], *, ok_codes: set[int]) -> str:
    # No cache: ruff would otherwise leave a .ruff_cache folder in the tree it only reads.
    env = clean_env({"RUFF_NO_CACHE": "true"})
    result = run_command([*python_tool("ruff"), *args], cwd=tree, timeout_s=_TIMEOUT_S, env=env)
    if result.timed_out or result.exit_code not in ok_codes:
        if config is not None and not result.timed_out and str(config) in result.stderr:
            raise RuffConfigError(_config_problem(result, config, tree), result)
        raise CommandError(f"ruff {args[0]} failed (exit {result.exit_code}):\n{result.tail()}", result)
    return result.stdout


def _config_problem(result: CommandResult, config: Path, tree: Path) -> str:
    """ruff's multi-line refusal as one line that names the file as the project knows it."""
    name = relative_to_tree(config, tree)
    causes: list[str] = []
    for raw in result.stderr.replace(f"{tree.resolve()}/", "").replace(f"{tree}/", "").splitlines():
        line = raw.strip()
        if not line or line == "ruff failed" or line.startswith(("|", "^")) or line[0].isdigit():
            continue  # ruff's banner and its source excerpt (`1 | key = ...`, carets)
        cause = line.removeprefix("Cause: ")
        if cause.startswith(("Failed to load configuration", "Failed to parse")):
            continue  # they only repeat the file's name
        causes.append(cause.split(", expected one of")[0])
    detail = "; ".join(causes) or f"ruff exit {result.exit_code}"
    return f"ruff refuses the project's ruff config {name}: {detail}"[:_MESSAGE_LIMIT]


def _has_ruff_table(pyproject: Path, root: Path) -> bool:
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise RuffConfigError(f"{relative_to_tree(pyproject, root)} is not valid TOML: {exc}") from exc
    tool = data.get("tool")
    return isinstance(tool, dict) and "ruff" in tool


def _lines_of_code(target: Path) -> int:
    files = [target] if target.is_file() else sorted(target.rglob("*.py"))
    return sum(
        1
        for path in files
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.strip().startswith("#")
    )
