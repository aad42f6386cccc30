"""Portable JSON: paths under the work folder or the project stored as tokens, resolved by the reader."""

from __future__ import annotations

from pathlib import PurePosixPath

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spec2prod_assets.storage.portable_json import JSON, from_portable, to_portable

PROJECT = PurePosixPath("/srv/a/project")
WORK = PROJECT / ".spec2prod"
WRITER = {"work": WORK, "project": PROJECT}


def test_paths_under_a_base_become_tokens_and_other_values_stay() -> None:
    value: JSON = {
        "tree_path": f"{WORK}/calculator/runs/abc/refactor",
        "sources": [f"{PROJECT}/src/calc", "/usr/lib/python3", "src/calc"],
        "count": 3,
        "kept": True,
        "note": None,
    }
    assert to_portable(value, WRITER) == {
        "tree_path": "@work/calculator/runs/abc/refactor",
        "sources": ["@project/src/calc", "/usr/lib/python3", "src/calc"],
        "count": 3,
        "kept": True,
        "note": None,
    }


def test_the_longest_matching_base_wins_whatever_the_order() -> None:
    path = f"{WORK}/cache"
    assert to_portable(path, {"project": PROJECT, "work": WORK}) == "@work/cache"
    assert to_portable(path, {"work": WORK, "project": PROJECT}) == "@work/cache"


def test_a_base_itself_is_its_bare_token() -> None:
    assert to_portable([str(WORK), str(PROJECT)], WRITER) == ["@work", "@project"]
    assert from_portable(["@work", "@project"], WRITER) == [str(WORK), str(PROJECT)]


@pytest.mark.parametrize(
    "text",
    [f"{PROJECT}x/src", "/srv/a/proj", "/srv/a", f"see {WORK}/log", f"{PROJECT}.bak"],
)
def test_a_string_is_under_a_base_only_at_a_folder_boundary(text: str) -> None:
    assert to_portable(text, WRITER) == text


def test_a_near_miss_of_the_work_folder_inside_the_project_is_a_project_path() -> None:
    assert to_portable(f"{WORK}-old/run", WRITER) == "@project/.spec2prod-old/run"


def test_the_reader_resolves_tokens_against_its_own_bases() -> None:
    stored = to_portable({"bundle": f"{WORK}/calculator/bundles/1.2.0", "src": f"{PROJECT}/src"}, WRITER)
    reader = {"work": PurePosixPath("/mnt/shared/work"), "project": PurePosixPath("/home/ci/checkout")}
    assert from_portable(stored, reader) == {
        "bundle": "/mnt/shared/work/calculator/bundles/1.2.0",
        "src": "/home/ci/checkout/src",
    }


def test_dictionary_keys_are_paths_too() -> None:
    stored = to_portable({f"{PROJECT}/tests/test_a.py": "passed"}, WRITER)
    assert stored == {"@project/tests/test_a.py": "passed"}
    assert from_portable(stored, {"project": PurePosixPath("/p2")}) == {"/p2/tests/test_a.py": "passed"}


@pytest.mark.parametrize("text", ["@platform-team", "@work/not/a/path", "@@", "@"])
def test_a_string_that_starts_with_the_mark_reads_back_as_written(text: str) -> None:
    stored = to_portable(text, WRITER)
    assert stored != text
    assert from_portable(stored, {"work": PurePosixPath("/elsewhere")}) == text


def test_a_token_of_a_base_the_reader_lacks_is_left_as_it_is() -> None:
    assert from_portable("@deploy/calculator", WRITER) == "@deploy/calculator"


def test_the_root_folder_as_a_base_keeps_its_single_slash() -> None:
    assert to_portable("/etc/hosts", {"project": PurePosixPath("/")}) == "@project/etc/hosts"
    assert from_portable("@project/etc/hosts", {"project": PurePosixPath("/")}) == "/etc/hosts"


@pytest.mark.parametrize(
    "bases", [{"work": PurePosixPath("relative/work")}, {"Work": WORK}, {"wo/rk": WORK}, {"": WORK}]
)
def test_a_base_needs_an_absolute_path_and_a_plain_name(bases: dict[str, PurePosixPath]) -> None:
    with pytest.raises(ValueError, match="needs a lowercase name and an absolute path"):
        to_portable("x", bases)


_TEXT = st.text(alphabet="/@.ab", max_size=12) | st.sampled_from(
    [str(WORK), str(PROJECT), f"{WORK}/a", f"{PROJECT}/b", f"{PROJECT}b"]
).flatmap(lambda head: st.text(alphabet="/@.ab", max_size=6).map(lambda tail: head + tail))
_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | _TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_TEXT, inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(_VALUES)
def test_any_value_reads_back_exactly_with_the_same_bases(value: JSON) -> None:
    assert from_portable(to_portable(value, WRITER), WRITER) == value
