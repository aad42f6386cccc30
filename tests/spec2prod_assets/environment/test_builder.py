"""The component's environment: real uv builds from a local wheelhouse, runs inside the real sandbox."""

from __future__ import annotations

import concurrent.futures
import importlib.metadata
import multiprocessing
import subprocess
import time
from pathlib import Path

import pytest

from spec2prod_assets.environment import builder
from spec2prod_assets.environment.builder import (
    ENV_CACHE_ENV,
    EnvironmentBuildError,
    default_cache_root,
    ensure_environment,
)
from spec2prod_assets.runtime.processes import clean_env, python_tool, run_command
from spec2prod_assets.runtime.sandbox import Sandbox
from tests.spec2prod_assets.environment.local_wheels import offline_uv, write_wheel
from tests.support.escape_component import require_sandbox

_SHOUTER = "import tinydep\n\n\ndef greet(name):\n    return tinydep.shout('hello ' + name)\n"
_SHOUTER_TEST = "from shouter import greet\n\n\ndef test_greet():\n    assert greet('ada') == 'HELLO ADA!'\n"


def _project(root: Path) -> Path:
    (root / "src" / "shouter").mkdir(parents=True)
    (root / "src" / "shouter" / "__init__.py").write_text(_SHOUTER)
    (root / "tests").mkdir()
    (root / "tests" / "test_shouter.py").write_text(_SHOUTER_TEST)
    return root


def _run_tests(project: Path, python: Path | None, readable: tuple[Path, ...]) -> tuple[int, str]:
    """The component's tests as the pipeline runs them: pytest with the outcomes plugin, sandboxed."""
    args = [
        *python_tool("pytest", python=python),
        "tests",
        "-p",
        "spec2prod_assets.testing.outcomes_plugin",
        "-p",
        "no:cacheprovider",
        "-q",
        f"--rootdir={project}",
    ]
    result = run_command(
        args,
        cwd=project,
        timeout_s=120,
        env=clean_env({"PYTHONPATH": str(project / "src")}),
        sandbox=Sandbox(writable=(), readable=readable),
    )
    return result.exit_code, result.stdout + result.stderr


def _in_env(python: Path, code: str) -> subprocess.CompletedProcess[str]:
    """`code` run by the environment's python from a neutral folder (`-c` puts the folder on sys.path)."""
    return subprocess.run(
        [str(python), "-c", code],
        cwd=python.parents[1],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_component_needing_a_third_party_package_passes_in_its_environment(
    tmp_path: Path, wheelhouse: Path, cache_root: Path
) -> None:
    require_sandbox()
    project = _project(tmp_path / "project")
    env = ensure_environment(["tinydep==1.0"], cache_root=cache_root)
    exit_code, output = _run_tests(project, env.python, env.readable_roots)
    assert exit_code == 0, output
    assert "1 passed" in output


def test_the_same_tests_fail_without_the_environment(tmp_path: Path, wheelhouse: Path) -> None:
    require_sandbox()
    project = _project(tmp_path / "project")
    exit_code, output = _run_tests(project, None, ())
    assert exit_code != 0
    assert "ModuleNotFoundError: No module named 'tinydep'" in output


def test_uvs_own_variables_reach_the_installer(tmp_path: Path, wheelhouse: Path, cache_root: Path) -> None:
    ensure_environment(["tinydep==1.0"], cache_root=cache_root)  # offline, from UV_FIND_LINKS
    assert any((tmp_path / "uv-cache").iterdir())  # UV_CACHE_DIR


def test_a_second_ensure_reuses_the_environment_quickly(wheelhouse: Path, cache_root: Path) -> None:
    first = ensure_environment(["tinydep==1.0"], cache_root=cache_root)
    second = ensure_environment(["tinydep==1.0"], cache_root=cache_root)
    assert (first.reused, second.reused) == (False, True)
    assert second.root == first.root and second.key == first.key
    assert second.duration_s < 1.0


def test_the_same_set_in_another_order_is_the_same_environment(wheelhouse: Path, cache_root: Path) -> None:
    write_wheel(wheelhouse, "otherdep", "2.0", {"otherdep.py": "VALUE = 2\n"})
    first = ensure_environment(["tinydep==1.0", "otherdep==2.0"], cache_root=cache_root)
    second = ensure_environment(["otherdep==2.0", "tinydep==1.0", "tinydep==1.0"], cache_root=cache_root)
    assert second.reused and second.key == first.key
    assert first.dependencies == ("otherdep==2.0", "tinydep==1.0")


def test_another_set_gets_another_environment(wheelhouse: Path, cache_root: Path) -> None:
    with_dep = ensure_environment(["tinydep==1.0"], cache_root=cache_root)
    without = ensure_environment([], cache_root=cache_root)
    assert with_dep.key != without.key and not without.reused
    assert _in_env(without.python, "import tinydep").returncode != 0


def _ensure_in_another_process(cache_root: str) -> tuple[str, bool]:
    env = ensure_environment(["tinydep==1.0"], cache_root=Path(cache_root))
    return env.key, env.reused


def test_two_processes_asking_at_once_build_it_once(wheelhouse: Path, cache_root: Path) -> None:
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max_workers=2, mp_context=context) as pool:
        results = list(pool.map(_ensure_in_another_process, [str(cache_root)] * 2))
    assert results[0][0] == results[1][0]
    assert sorted(reused for _, reused in results) == [False, True]
    assert [path.name for path in cache_root.iterdir() if path.is_dir()] == [results[0][0]]


def test_a_requirement_that_cannot_be_installed_fails_in_one_line_and_leaves_nothing(
    wheelhouse: Path, cache_root: Path
) -> None:
    with pytest.raises(EnvironmentBuildError) as caught:
        ensure_environment(["tinydep==1.0", "nosuchpackage-zz==3.1"], cache_root=cache_root)
    first_line = str(caught.value).splitlines()[0]
    assert first_line.startswith("could not install the component's dependencies:")
    assert "nosuchpackage-zz" in first_line
    assert [path.name for path in cache_root.iterdir() if path.is_dir()] == []


def test_an_invalid_requirement_is_refused_before_anything_is_built(cache_root: Path) -> None:
    with pytest.raises(ValueError, match=r"dependency 'tinydep ==>> 1' is not a valid requirement"):
        ensure_environment(["tinydep ==>> 1"], cache_root=cache_root)
    assert not cache_root.exists()


def test_spec2prods_own_dependencies_cannot_be_imported(wheelhouse: Path, cache_root: Path) -> None:
    env = ensure_environment([], cache_root=cache_root)
    for module in ("dagster", "httpx", "pydantic", "spec2prod_assets.pipeline"):
        result = _in_env(env.python, f"import {module}")
        assert f"ModuleNotFoundError: No module named '{module}'" in result.stderr, module


TOOLS = ("pytest", "pytest-cov", "coverage", "pytest-repeat", "crosshair-tool")


def test_spec2prods_tools_are_there_at_its_exact_versions(wheelhouse: Path, cache_root: Path) -> None:
    env = ensure_environment([], cache_root=cache_root)
    code = (
        "import importlib.metadata as m, spec2prod_assets.testing.outcomes_plugin, crosshair, random_order\n"
        "import pytest_repeat\n"
        f"print(' '.join(m.version(n) for n in {TOOLS!r}))"
    )
    result = _in_env(env.python, code)
    expected = [importlib.metadata.version(n) for n in TOOLS]
    assert result.stdout.split() == expected, result.stderr


def test_a_project_that_pins_its_own_pytest_gets_its_pin(wheelhouse: Path, cache_root: Path) -> None:
    pinned = {"pytest/__init__.py": "__version__ = '7.0.0'\n"}
    write_wheel(wheelhouse, "pytest", "7.0.0", pinned)
    env = ensure_environment(["pytest==7.0.0"], cache_root=cache_root)
    result = _in_env(
        env.python, "import pytest, importlib.metadata as m; print(pytest.__version__, m.version('pytest'))"
    )
    assert result.stdout.split() == ["7.0.0", "7.0.0"], result.stderr


def test_without_uv_it_is_built_with_venv_and_pip(
    wheelhouse: Path, cache_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(builder, "_installer", lambda: None)
    env = ensure_environment(["tinydep==1.0"], cache_root=cache_root)
    result = _in_env(env.python, "import tinydep, pytest; print(tinydep.shout('ok'))")
    assert result.stdout.strip() == "OK!", result.stderr
    assert (env.root / "pyvenv.cfg").read_text().count("uv =") == 0


def test_an_environment_whose_marker_is_gone_is_rebuilt(wheelhouse: Path, cache_root: Path) -> None:
    first = ensure_environment(["tinydep==1.0"], cache_root=cache_root)
    (first.root / "spec2prod-environment.json").unlink()
    again = ensure_environment(["tinydep==1.0"], cache_root=cache_root)
    assert not again.reused and again.root == first.root
    assert _in_env(again.python, "import tinydep").returncode == 0


def test_the_cache_root_comes_from_spec2prod_env_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV_CACHE_ENV, str(tmp_path / "mine"))
    assert default_cache_root() == tmp_path / "mine"


def test_the_cache_root_honours_xdg_cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_CACHE_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_root() == tmp_path / "xdg" / "spec2prod" / "envs"


def test_the_cache_root_defaults_to_the_user_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_CACHE_ENV, raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert default_cache_root() == tmp_path / ".cache" / "spec2prod" / "envs"


def test_a_relative_cache_root_is_refused_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_CACHE_ENV, "envs")
    with pytest.raises(EnvironmentBuildError, match=f"{ENV_CACHE_ENV}='envs' is not an absolute path"):
        default_cache_root()


def test_cold_build_without_dependencies_is_fast(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    offline_uv(monkeypatch, tmp_path / "empty-wheelhouse", tmp_path / "uv-cache")
    started = time.perf_counter()
    env = ensure_environment([], cache_root=tmp_path / "envs")
    assert not env.reused and time.perf_counter() - started < 30
