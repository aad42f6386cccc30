"""The static policy for generated tests: what a plain unit test may do, decided from the AST alone."""

from __future__ import annotations

from textwrap import dedent, indent

import pytest

from spec2prod_assets.generation.policy import check_test_file

OWN = frozenset({"mathy"})

PLAIN = dedent(
    """\
    import math
    from unittest import mock

    import pytest

    from mathy.ops import safe_div


    @pytest.mark.parametrize("a", [1, 2])
    def test_divides(a, tmp_path, monkeypatch):
        monkeypatch.setattr("mathy.ops.LIMIT", 3)
        out = tmp_path / "out.txt"
        out.write_text(str(safe_div(a, 1)))
        with open(out, "w") as handle:
            handle.write("x")
        for child in tmp_path.iterdir():
            child.unlink()
        assert math.isclose(safe_div(a, 1), a)
        assert "a-b".replace("-", "+") == "a+b"
        with mock.patch("mathy.ops.sign", return_value=1):
            pass


    class TestSign:
        def test_reads_a_file(self):
            with open(__file__) as handle:
                assert handle.read()
    """
)


def test_a_plain_unit_test_passes_the_policy() -> None:
    verdict = check_test_file(PLAIN, OWN)

    assert verdict.violations == ()
    assert verdict.tests == ("test_divides", "TestSign::test_reads_a_file")


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("import os\n", "imports 'os'"),
        ("import subprocess as sp\n", "imports 'subprocess'"),
        ("from socket import socket\n", "imports 'socket'"),
        ("import ctypes\n", "imports 'ctypes'"),
        ("import importlib.util\n", "imports 'importlib.util'"),
        ("import atexit\n", "imports 'atexit'"),
        ("import builtins\n", "imports 'builtins'"),
        ("import sys\n", "imports 'sys'"),
        ("import coverage\n", "imports 'coverage'"),
        ("from _pytest import runner\n", "imports '_pytest'"),
        ("import requests\n", "neither the component's own code nor an allowed package"),
        ("from mathy import os\n", "imports 'os' from another module"),
        ("import mathy.ops\nmathy.ops.os.system('x')\n", "reaches the attribute 'os'"),
        ("x = __builtins__\n", "uses '__builtins__'"),
        ("x = ().__class__.__bases__[0].__subclasses__()\n", "reaches the attribute '__bases__'"),
        ("eval('1')\n", "calls eval()"),
        ("exec('x = 1')\n", "calls exec()"),
        ("compile('1', 'f', 'eval')\n", "calls compile()"),
        ("__import__('os')\n", "uses '__import__'"),
        ("getattr(object, name)\n", "not a literal"),
        ("getattr(object, '__subclasses__')\n", "for the attribute '__subclasses__'"),
        ("import pytest\npytest.fail = print\n", "assigns to pytest.fail"),
        ("import pytest\nsetattr(pytest, 'fail', print)\n", "pytest and coverage are never patched"),
        ("import pytest\npytest.exit('done')\n", "calls pytest.exit()"),
        ("open('/tmp/x', 'w')\n", "opens a file for writing outside tmp_path"),
        ("from pathlib import Path\nPath('../src/x.py').write_text('')\n", "on a path outside tmp_path"),
        ("from pathlib import Path\nPath('a').rename('b')\n", "calls .rename()"),
        ("from pathlib import Path\nPath.home().open('a')\n", "opens a file for writing outside tmp_path"),
        ("tmp_path = __file__\n", "redefines pytest's 'tmp_path' fixture"),
    ],
)
def test_a_file_that_breaks_the_policy_is_refused_with_the_reason(source: str, expected: str) -> None:
    verdict = check_test_file(source, OWN)

    assert verdict.file_violations, source
    assert any(expected in str(v) for v in verdict.file_violations), [str(v) for v in verdict.violations]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("monkeypatch.setattr(pytest, 'fail', print)", "patches pytest"),
        ("monkeypatch.setattr('pytest.fail', print)", "pytest and coverage are never patched"),
        ("monkeypatch.setattr('os.getcwd', print)", "imports 'os'"),
        ("monkeypatch.setattr('coverage.Coverage.stop', print)", "imports 'coverage.Coverage'"),
        ("open(tmp_path.parent / 'x', 'w')", ""),  # named off tmp_path, so allowed: the sandbox holds
        ("builtins_open = open\nopen('/etc/x', mode='a')", "opens a file for writing outside tmp_path"),
        ("from pathlib import Path\nPath('x').unlink()", "calls .unlink() on a path outside tmp_path"),
    ],
)
def test_a_test_that_breaks_the_policy_is_refused_alone(body: str, expected: str) -> None:
    source = (
        "import pytest\n\n\ndef test_fine():\n    assert 1 + 1 == 2\n\n\n"
        f"def test_bad(tmp_path, monkeypatch):\n{indent(body, '    ')}\n"
    )

    verdict = check_test_file(source, OWN)

    assert verdict.file_violations == ()
    if expected:
        assert list(verdict.test_violations()) == ["test_bad"]
        assert expected in str(verdict.test_violations()["test_bad"])
    else:
        assert verdict.violations == ()


def test_a_write_under_a_name_bound_from_tmp_path_is_allowed() -> None:
    source = dedent(
        """\
        def test_writes(tmp_path):
            folder = tmp_path / "a"
            folder.mkdir()
            target = folder / "b.txt"
            target.write_text("x")
        """
    )

    assert check_test_file(source, OWN).violations == ()


def test_a_fixture_that_renames_itself_tmp_path_is_refused() -> None:
    source = dedent(
        """\
        import pytest
        from pathlib import Path


        @pytest.fixture(name="tmp_path")
        def home():
            return Path.home()
        """
    )

    assert "redefines pytest's 'tmp_path' fixture" in str(check_test_file(source, OWN).file_violations[0])


def test_a_file_that_does_not_parse_is_left_to_the_collect_filter() -> None:
    assert check_test_file("def test_x(:\n", OWN).violations == ()
