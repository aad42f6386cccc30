"""ruff, run the same way wherever spec2prod lints, formats or measures code.

`--isolated` keeps the user's own ruff config (which may select nothing, or everything) from changing
what "lint clean" means between projects; the rule set below is the pipeline's quality bar.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from spec2prod_assets.runtime.processes import CommandError, clean_env, python_tool, run_command

LINT_RULES = "E,W,F,I,UP,B,SIM"
LINE_LENGTH = "100"
_TIMEOUT_S = 120.0
_COMPLEXITY_RE = re.compile(r"is too complex \((\d+) > 0\)")


class LintReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    violations: int
    by_rule: dict[str, int]
    complexity: int
    lines_of_code: int


def lint_report(tree: Path, target: str) -> LintReport:
    """Violations by rule, total cyclomatic complexity (mccabe) and non-blank lines of `target`."""
    findings = _ruff_json(tree, target, ["--select", LINT_RULES])
    by_rule: dict[str, int] = {}
    for finding in findings:
        code = str(finding.get("code") or "syntax")
        by_rule[code] = by_rule.get(code, 0) + 1
    complexity_findings = _ruff_json(
        tree, target, ["--select", "C901", "--config", "lint.mccabe.max-complexity = 0"]
    )
    complexity = 0
    for finding in complexity_findings:
        match = _COMPLEXITY_RE.search(str(finding.get("message", "")))
        if match is None:
            raise CommandError(f"unexpected complexity finding from ruff: {finding.get('message')!r}")
        complexity += int(match.group(1))
    return LintReport(
        violations=len(findings),
        by_rule=dict(sorted(by_rule.items())),
        complexity=complexity,
        lines_of_code=_lines_of_code(tree / target),
    )


def format_and_fix(tree: Path, target: str) -> None:
    """`ruff check --fix` with safe fixes only, then `ruff format`, in place on a working copy.

    Formatting last tidies what fixes leave behind (a removed import's blank lines).
    """
    # Exit 1 means violations remain that have no safe fix: expected, they are counted afterwards.
    _ruff(
        tree,
        ["check", "--isolated", "--select", LINT_RULES, "--line-length", LINE_LENGTH, "--fix", target],
        ok_codes={0, 1},
    )
    _ruff(tree, ["format", "--isolated", "--line-length", LINE_LENGTH, target], ok_codes={0})


def _ruff_json(tree: Path, target: str, rule_args: list[str]) -> list[dict[str, object]]:
    result = _ruff(
        tree,
        [
            "check",
            "--isolated",
            *rule_args,
            "--line-length",
            LINE_LENGTH,
            "--output-format",
            "json",
            "--exit-zero",
            target,
        ],
        ok_codes={0},
    )
    try:
        findings = json.loads(result)
    except ValueError as exc:
        raise CommandError(f"ruff printed something that is not JSON: {result[:200]!r}") from exc
    if not isinstance(findings, list):
        raise CommandError("ruff's JSON output is not a list of findings")
    return findings


def _ruff(tree: Path, args: list[str], *, ok_codes: set[int]) -> str:
    # No cache: ruff would otherwise leave a .ruff_cache folder in the tree it only reads.
    env = clean_env({"RUFF_NO_CACHE": "true"})
    result = run_command([*python_tool("ruff"), *args], cwd=tree, timeout_s=_TIMEOUT_S, env=env)
    if result.timed_out or result.exit_code not in ok_codes:
        raise CommandError(f"ruff {args[0]} failed (exit {result.exit_code}):\n{result.tail()}", result)
    return result.stdout


def _lines_of_code(target: Path) -> int:
    files = [target] if target.is_file() else sorted(target.rglob("*.py"))
    return sum(
        1
        for path in files
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.strip().startswith("#")
    )
