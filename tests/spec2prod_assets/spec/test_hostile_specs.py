"""Hostile and broken specs: each ends in one `SpecError` naming file and line, fast, and nothing else."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from spec2prod_assets.spec.model import MAX_SLUG_CHARS, SpecError
from spec2prod_assets.spec.parser import parse_spec, parse_spec_text

SPEC_PATH = "specs/calc.md"
REQUIREMENTS = "requirements: [Add two numbers.]\n"
GOOD_SPEC = "# Calc\n\n## Requirements\n- FR-1: Add two numbers.\n"
# 382 bytes that expand to 9**9 (387 million) list entries: it ran for 40 s+ before the bound.
ALIAS_BOMB = (
    "---\nname: Calc\n"
    + REQUIREMENTS
    + "".join(
        f"{name}: &{name} [{','.join([f'*{previous}' if previous else 'x'] * 9)}]\n"
        for previous, name in zip([None, *"abcdefgh"], "abcdefghi", strict=False)
    )
    + "lint_clean: *i\n---\n"
)


def front_matter(*lines: str) -> str:
    return "---\nname: Calc\n" + "".join(f"{line}\n" for line in lines) + REQUIREMENTS + "---\n"


def spec_error(text: str, *, within_s: float = 1.0) -> SpecError:
    started = time.perf_counter()
    with pytest.raises(SpecError) as caught:
        parse_spec_text(text, spec_path=SPEC_PATH)
    assert time.perf_counter() - started < within_s
    assert str(caught.value).startswith(f"{SPEC_PATH}:")
    return caught.value


def test_february_30_in_front_matter_is_a_spec_error_at_its_line() -> None:
    error = spec_error(front_matter("created: 2024-02-30"))

    assert error.line == 3
    assert "'2024-02-30' is not a valid timestamp" in error.problem


def test_month_13_in_front_matter_is_a_spec_error() -> None:
    assert "'2024-13-01' is not a valid timestamp" in spec_error(front_matter("created: 2024-13-01")).problem


def test_integer_over_4300_digits_is_a_spec_error() -> None:
    error = spec_error(front_matter("build: " + "9" * 5000))

    assert "is not a valid int" in error.problem
    assert len(str(error)) < 1000


def test_coverage_integer_too_big_for_a_float_is_outside_the_range() -> None:
    error = spec_error(front_matter("coverage: " + "9" * 400))

    assert error.line == 3
    assert "outside 0..100" in error.problem


def test_explicit_int_tag_on_text_is_a_spec_error() -> None:
    assert "'abc' is not a valid int" in spec_error(front_matter("build: !!int abc")).problem


def test_bad_explicit_timestamp_is_a_spec_error() -> None:
    assert "'abc' is not a valid timestamp" in spec_error(front_matter("when: !!timestamp abc")).problem


def test_bad_explicit_bool_is_a_spec_error() -> None:
    assert "'maybe' is not a valid bool" in spec_error(front_matter("flag: !!bool maybe")).problem


def test_nul_byte_in_the_body_is_rejected_at_its_line() -> None:
    error = spec_error("# Calc\n\n## Requirements\n- FR-1: Add\x00 two numbers.\n")

    assert error.line == 4
    assert "NUL" in error.problem


def test_nul_escape_in_front_matter_text_is_rejected() -> None:
    assert "U+0000" in spec_error('---\nname: "Ca\\0lc"\n' + REQUIREMENTS + "---\n").problem


def test_control_character_in_a_requirement_is_rejected() -> None:
    assert "U+001B" in spec_error('---\nname: Calc\nrequirements: ["Add \\e[31m"]\n---\n').problem


def test_very_long_component_id_is_rejected() -> None:
    error = spec_error(f"# Calc\n\n**Component ID:** {'a' * 5000}\n\n## Requirements\n- FR-1: Add.\n")

    assert error.line == 3
    assert f"more than {MAX_SLUG_CHARS}" in error.problem
    assert len(str(error)) < 300


def test_very_long_title_is_rejected() -> None:
    assert "more than 200" in spec_error(f"# {'a' * 100_000}\n\n## Requirements\n- A\n").problem


def test_alias_bomb_is_refused_quickly() -> None:
    assert len(ALIAS_BOMB) < 400
    error = spec_error(ALIAS_BOMB, within_s=0.5)

    assert "aliases expand" in error.problem


def test_alias_bomb_in_an_error_message_stays_short() -> None:
    bomb = ALIAS_BOMB.replace("x", "xxxxxxxxxx").replace("lint_clean: *i", "lint_clean: *c")

    assert len(str(spec_error(bomb))) < 1000


def test_small_honest_alias_is_still_read() -> None:
    spec = parse_spec_text(
        "---\nname: Calc\nx-shared: &text Add two numbers.\nrequirements: [*text]\n---\n", spec_path=SPEC_PATH
    )

    assert [r.text for r in spec.requirements] == ["Add two numbers."]


def test_recursive_alias_is_refused() -> None:
    assert "refers to the collection that contains it" in spec_error(front_matter("loop: &l [*l]")).problem


def test_deep_nesting_in_front_matter_is_refused() -> None:
    assert "nests deeper than" in spec_error(front_matter("deep: " + "[" * 100 + "]" * 100)).problem


def test_long_quoted_value_in_an_error_is_clipped() -> None:
    error = spec_error(front_matter("stage: " + "m" * 1_000_000))

    assert len(str(error)) < 1000
    assert "more characters" in str(error)


def test_fifo_as_a_spec_is_refused_at_once(tmp_path: Path) -> None:
    fifo = tmp_path / "specs" / "calc.md"
    fifo.parent.mkdir()
    os.mkfifo(fifo)
    outcome: list[BaseException] = []
    reader = threading.Thread(target=_parse_into, args=(fifo, tmp_path, outcome), daemon=True)

    reader.start()
    reader.join(timeout=5)
    if reader.is_alive():  # unblock the reader so the test process can end
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        pytest.fail("parsing a FIFO blocked")
    assert isinstance(outcome[0], SpecError)
    assert "not a regular file but a FIFO" in str(outcome[0])


def test_link_to_a_device_as_a_spec_is_refused(tmp_path: Path) -> None:
    (tmp_path / "specs").mkdir()
    link = tmp_path / "specs" / "zero.md"
    link.symlink_to("/dev/zero")

    with pytest.raises(SpecError, match="outside the project"):
        parse_spec(link, tmp_path)


def test_folder_named_like_a_spec_is_refused(tmp_path: Path) -> None:
    (tmp_path / "specs" / "calc.md").mkdir(parents=True)

    with pytest.raises(SpecError, match=r"^specs/calc\.md: the spec is not a regular file but a folder"):
        parse_spec(tmp_path / "specs" / "calc.md", tmp_path)


def test_symlink_to_a_spec_outside_the_project_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside.md"
    outside.write_text(GOOD_SPEC, encoding="utf-8")
    project = tmp_path / "project"
    (project / "specs").mkdir(parents=True)
    (project / "specs" / "calc.md").symlink_to(outside)

    with pytest.raises(SpecError, match=r"^specs/calc\.md: the spec is a link to .*outside the project"):
        parse_spec(project / "specs" / "calc.md", project)


def test_symlink_to_a_spec_inside_the_project_is_read(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "calc.md").write_text(GOOD_SPEC, encoding="utf-8")
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "calc.md").symlink_to(tmp_path / "docs" / "calc.md")

    spec = parse_spec(tmp_path / "specs" / "calc.md", tmp_path)

    assert (spec.slug, spec.spec_path) == ("calc", "specs/calc.md")


def _parse_into(spec_file: Path, root: Path, outcome: list[BaseException]) -> None:
    try:
        parse_spec(spec_file, root)
    except BaseException as exc:
        outcome.append(exc)
