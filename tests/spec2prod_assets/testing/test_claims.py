"""Spec ids claimed by tests, read from the test files' source (never imported): marks in each spelling
pytest accepts for them, docstring ids the spec has, and files that cannot be read."""

from __future__ import annotations

from pathlib import Path

from spec2prod_assets.testing.claims import Claims, function_id, read_claims
from tests.conftest import write_files

SPEC_IDS = ("FR-1", "FR-2", "NFR-1", "AC-1", "AC-2", "AC-3")


def _claims(tmp_path: Path, source: str, name: str = "tests/test_calc.py") -> Claims:
    tree = write_files(tmp_path / "tree", {name: source})
    return read_claims(tree, ["tests"], SPEC_IDS)


def test_a_mark_on_a_function_claims_its_ids(tmp_path: Path) -> None:
    claims = _claims(
        tmp_path,
        'import pytest\n\n@pytest.mark.spec("AC-2", "FR-1")\ndef test_divide():\n    pass\n\n'
        "def test_other():\n    pass\n",
    )
    assert claims.tests == {"tests/test_calc.py::test_divide": frozenset({"AC-2", "FR-1"})}


def test_a_mark_on_a_class_is_claimed_by_each_method_with_the_methods_own(tmp_path: Path) -> None:
    source = """\
import pytest

@pytest.mark.spec("FR-2")
class TestDivide:
    @pytest.mark.spec("AC-2")
    def test_by_zero(self):
        pass

    def test_plain(self):
        pass
"""
    claims = _claims(tmp_path, source)
    assert claims.tests == {
        "tests/test_calc.py::TestDivide::test_by_zero": frozenset({"FR-2", "AC-2"}),
        "tests/test_calc.py::TestDivide::test_plain": frozenset({"FR-2"}),
    }


def test_a_module_pytestmark_list_is_claimed_by_every_test_and_nested_class(tmp_path: Path) -> None:
    source = """\
import pytest as pt

pytestmark = [pt.mark.slow, pt.mark.spec("NFR-1")]

def test_pure():
    pass

class TestOuter:
    class TestInner:
        def test_deep(self):
            pass
"""
    claims = _claims(tmp_path, source)
    assert claims.tests == {
        "tests/test_calc.py::test_pure": frozenset({"NFR-1"}),
        "tests/test_calc.py::TestOuter::TestInner::test_deep": frozenset({"NFR-1"}),
    }


def test_mark_imported_from_pytest_is_read(tmp_path: Path) -> None:
    claims = _claims(tmp_path, 'from pytest import mark\n\n@mark.spec("AC-1")\ndef test_add():\n    pass\n')
    assert claims.of("tests/test_calc.py::test_add") == {"AC-1"}


def test_a_spec_attribute_of_something_other_than_pytest_mark_is_no_claim(tmp_path: Path) -> None:
    source = """\
import pytest
import mymarks
mark = mymarks

@mymarks.spec("AC-1")
@pytest.spec("AC-2")
@mark.spec("AC-3")
def test_add():
    pass
"""
    assert _claims(tmp_path, source).tests == {}


def test_docstring_ids_are_claimed_only_as_whole_words_the_spec_has(tmp_path: Path) -> None:
    source = '''\
def test_divide():
    """Checks AC-2 and fr-1; not AC-20, AC-3.1, XAC-3 or AC-9, which the spec lacks."""
'''
    assert _claims(tmp_path, source).of("tests/test_calc.py::test_divide") == {"AC-2", "FR-1"}


def test_marked_ids_the_spec_lacks_are_kept_apart_as_unknown(tmp_path: Path) -> None:
    claims = _claims(
        tmp_path, 'import pytest\n\n@pytest.mark.spec("ac-1", "AC-9")\ndef test_add():\n    pass\n'
    )
    assert claims.tests == {"tests/test_calc.py::test_add": frozenset({"AC-1"})}
    assert claims.unknown == {"tests/test_calc.py::test_add": frozenset({"AC-9"})}


def test_each_parametrized_case_claims_what_its_function_does(tmp_path: Path) -> None:
    source = """\
import pytest

class TestPercent:
    @pytest.mark.parametrize("part", [1, 2])
    @pytest.mark.spec("AC-3")
    def test_quarter(self, part):
        pass
"""
    claims = _claims(tmp_path, source)
    assert claims.of("tests/test_calc.py::TestPercent::test_quarter[1]") == {"AC-3"}
    assert claims.of("tests/test_calc.py::TestPercent::test_quarter[a::b[c]]") == {"AC-3"}
    assert function_id("tests/x[1].py::test_a[b]") == "tests/x[1].py::test_a"


def test_methods_inherited_from_a_base_class_in_the_file_carry_its_marks(tmp_path: Path) -> None:
    source = """\
import pytest

@pytest.mark.spec("FR-1")
class TestBase:
    def test_shared(self):
        pass

@pytest.mark.spec("FR-2")
class TestChild(TestBase):
    pass
"""
    claims = _claims(tmp_path, source)
    assert claims.of("tests/test_calc.py::TestChild::test_shared") == {"FR-1", "FR-2"}
    assert claims.of("tests/test_calc.py::TestBase::test_shared") == {"FR-1"}


def test_a_file_that_does_not_parse_claims_nothing_and_is_reported(tmp_path: Path) -> None:
    tree = write_files(
        tmp_path / "tree",
        {
            "tests/test_broken.py": 'import pytest\n@pytest.mark.spec("AC-1")\ndef test_x(:\n',
            "tests/test_ok.py": 'def test_y():\n    """AC-1"""\n',
        },
    )
    claims = read_claims(tree, ["tests"], SPEC_IDS)
    assert claims.tests == {"tests/test_ok.py::test_y": frozenset({"AC-1"})}
    assert [u.path for u in claims.unreadable] == ["tests/test_broken.py"]
    assert "does not parse" in claims.unreadable[0].problem


def test_only_test_files_are_read_and_node_ids_are_relative_to_the_tree(tmp_path: Path) -> None:
    marked = 'import pytest\n@pytest.mark.spec("AC-1")\ndef test_a():\n    pass\n'
    tree = write_files(
        tmp_path / "tree",
        {
            "tests/unit/calc_test.py": marked,
            "tests/helpers.py": marked,
            "tests/.hidden/test_h.py": marked,
            "other/test_elsewhere.py": marked,
        },
    )
    claims = read_claims(tree, ["tests", "other/test_elsewhere.py"], SPEC_IDS)
    assert set(claims.tests) == {
        "tests/unit/calc_test.py::test_a",
        "other/test_elsewhere.py::test_a",
    }
