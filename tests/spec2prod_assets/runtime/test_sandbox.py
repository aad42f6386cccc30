"""The sandbox itself: read-only host, private /tmp, hidden $HOME, no network, limits, own PID namespace."""

from __future__ import annotations

import logging
import socket
import sys
import uuid
from pathlib import Path

import pytest

from spec2prod_assets.runtime import sandbox as sandbox_module
from spec2prod_assets.runtime.processes import run_command
from spec2prod_assets.runtime.sandbox import Sandbox, SandboxUnavailable, sandbox_mode
from tests.support.escape_component import processes_with, require_sandbox

# A detached grandchild that holds stdout and stderr open, tagged so the host can look for it.
_DETACHED = """\
import subprocess, sys
subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)", sys.argv[1]], start_new_session=True)
"""


def _python(code: str, *args: str) -> list[str]:
    return [sys.executable, "-c", code, *args]


@pytest.fixture(autouse=True)
def _sandbox_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(sandbox_module.SANDBOX_ENV, raising=False)


def test_only_the_writable_folder_can_be_written(tmp_path: Path) -> None:
    require_sandbox()
    (tmp_path / "open").mkdir()
    (tmp_path / "closed").mkdir()
    code = "import sys; open(sys.argv[1], 'w').write('x'); open(sys.argv[2], 'w').write('x')"
    result = run_command(
        _python(code, str(tmp_path / "open" / "f"), str(tmp_path / "closed" / "f")),
        cwd=tmp_path / "open",
        timeout_s=30,
        sandbox=Sandbox(writable=(tmp_path / "open",)),
    )
    assert (tmp_path / "open" / "f").exists()
    assert not (tmp_path / "closed" / "f").exists()
    assert "Read-only file system" in result.stderr or "No such file" in result.stderr


def test_home_is_hidden(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    require_sandbox()
    home = tmp_path / "home"
    home.mkdir()
    (home / "secret").write_text("key")
    monkeypatch.setenv("HOME", str(home))
    result = run_command(
        _python("import os, sys; print(os.path.exists(sys.argv[1]))", str(home / "secret")),
        cwd=tmp_path,
        timeout_s=30,
        sandbox=Sandbox(writable=()),
    )
    assert result.ok, result.tail()
    assert result.stdout.strip() == "False", result.tail()


def test_tools_installed_under_tmp_stay_runnable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A checkout (and its virtualenv) under /tmp, as CI clones it, must not vanish under the private /tmp."""
    require_sandbox()
    tool = tmp_path / "checkout"
    tool.mkdir()
    (tool / "tool.py").write_text("print('tool ran')\n")
    work = tmp_path / "work"
    work.mkdir()
    roots = sandbox_module._python_roots()
    monkeypatch.setattr(sandbox_module, "_python_roots", lambda: [*roots, tool])
    result = run_command(
        [sys.executable, str(tool / "tool.py")], cwd=work, timeout_s=30, sandbox=Sandbox(writable=(work,))
    )
    assert result.ok, result.tail()
    assert result.stdout.strip() == "tool ran"


def test_the_private_tmp_hides_what_the_host_has_there(tmp_path: Path) -> None:
    require_sandbox()
    (tmp_path / "host-only").write_text("x")
    work = tmp_path / "work"
    work.mkdir()
    result = run_command(
        _python("import os, sys; print(os.path.exists(sys.argv[1]))", str(tmp_path / "host-only")),
        cwd=work,
        timeout_s=30,
        sandbox=Sandbox(writable=(work,)),
    )
    assert result.ok, result.tail()
    assert result.stdout.strip() == "False", result.tail()


def test_a_listener_on_loopback_cannot_be_reached(tmp_path: Path) -> None:
    require_sandbox()
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        code = "import socket, sys; socket.create_connection(('127.0.0.1', int(sys.argv[1])), timeout=2)"
        result = run_command(
            _python(code, str(listener.getsockname()[1])),
            cwd=tmp_path,
            timeout_s=30,
            sandbox=Sandbox(writable=()),
        )
    assert not result.ok
    assert "ConnectionRefusedError" in result.stderr or "unreachable" in result.stderr


def test_a_detached_child_ends_with_the_sandboxed_command(tmp_path: Path) -> None:
    require_sandbox()
    marker = f"sandbox-marker-{uuid.uuid4().hex}"
    result = run_command(_python(_DETACHED, marker), cwd=tmp_path, timeout_s=30, sandbox=Sandbox(writable=()))
    assert result.ok, result.tail()
    assert result.duration_s < 10
    assert processes_with(marker) == []


def test_memory_beyond_the_limit_is_refused(tmp_path: Path) -> None:
    require_sandbox()
    code = "b = bytearray(1024 * 1024 * 1024); print('allocated')"
    result = run_command(
        _python(code), cwd=tmp_path, timeout_s=30, sandbox=Sandbox(writable=(), memory_mb=300)
    )
    assert "MemoryError" in result.stderr
    assert "allocated" not in result.stdout


def test_a_file_beyond_the_size_limit_is_refused(tmp_path: Path) -> None:
    require_sandbox()
    code = "import sys; open(sys.argv[1], 'wb').write(b'x' * 20 * 1024 * 1024)"
    result = run_command(
        _python(code, str(tmp_path / "big")),
        cwd=tmp_path,
        timeout_s=30,
        sandbox=Sandbox(writable=(tmp_path,), file_size_mb=5),
    )
    assert not result.ok
    assert (tmp_path / "big").stat().st_size <= 5 * 1024 * 1024


def test_cpu_time_beyond_the_limit_ends_the_command(tmp_path: Path) -> None:
    require_sandbox()
    result = run_command(
        _python("while True: pass"), cwd=tmp_path, timeout_s=30, sandbox=Sandbox(writable=(), cpu_s=1)
    )
    assert not result.ok
    assert not result.timed_out
    assert result.duration_s < 20


def test_more_processes_than_allowed_cannot_start(tmp_path: Path) -> None:
    require_sandbox()
    if sandbox_module_pid_base() is None:
        pytest.skip("no writable pids cgroup here: the process-count limit is not enforced")
    code = (
        "import subprocess\nps = []\ntry:\n    for _ in range(40):\n"
        "        ps.append(subprocess.Popen(['sleep', '5']))\n"
        "except OSError:\n    print('refused', len(ps))\n"
        "for p in ps:\n    p.kill()\n"
    )
    result = run_command(
        _python(code), cwd=tmp_path, timeout_s=30, sandbox=Sandbox(writable=(), processes=10)
    )
    assert result.stdout.startswith("refused"), result.tail()


def sandbox_module_pid_base() -> Path | None:
    from spec2prod_assets.runtime.pid_limit import _pids_base

    return _pids_base()


def test_without_bwrap_a_sandboxed_call_says_how_to_opt_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    sandbox_module._working_bwrap.cache_clear()
    try:
        with pytest.raises(SandboxUnavailable, match="SPEC2PROD_SANDBOX=off"):
            run_command(["true"], cwd=tmp_path, timeout_s=5, sandbox=Sandbox(writable=()))
    finally:
        sandbox_module._working_bwrap.cache_clear()


def test_opting_out_runs_unsandboxed_with_a_warning_every_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv(sandbox_module.SANDBOX_ENV, "off")
    assert sandbox_mode() == "off"
    with caplog.at_level(logging.WARNING):
        for _ in range(2):
            result = run_command(
                _python("print('ran')"), cwd=tmp_path, timeout_s=30, sandbox=Sandbox(writable=())
            )
            assert result.stdout.strip() == "ran"
    assert sum("WITHOUT the sandbox" in r.getMessage() for r in caplog.records) == 2


def test_a_readable_folder_under_tmp_stays_visible_and_read_only(tmp_path: Path) -> None:
    require_sandbox()
    kept, other, work = tmp_path / "kept", tmp_path / "other", tmp_path / "work"
    for folder in (kept, other, work):
        folder.mkdir()
    (kept / "data.txt").write_text("visible")
    (other / "data.txt").write_text("hidden")
    code = (
        "import sys\n"
        "print(open(sys.argv[1]).read())\n"
        "import os; print(os.path.exists(sys.argv[2]))\n"
        "open(sys.argv[3], 'w').write('x')\n"
    )
    result = run_command(
        _python(code, str(kept / "data.txt"), str(other / "data.txt"), str(kept / "new.txt")),
        cwd=work,
        timeout_s=30,
        sandbox=Sandbox(writable=(work,), readable=(kept,)),
    )
    assert result.stdout.split() == ["visible", "False"]
    assert "Read-only file system" in result.stderr
    assert not (kept / "new.txt").exists()


def test_a_missing_readable_folder_is_refused_by_name(tmp_path: Path) -> None:
    require_sandbox()
    with pytest.raises(FileNotFoundError, match="absent"):
        run_command(
            _python("pass"),
            cwd=tmp_path,
            timeout_s=30,
            sandbox=Sandbox(writable=(tmp_path,), readable=(tmp_path / "absent",)),
        )


def test_a_mistyped_sandbox_setting_is_refused_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPEC2PROD_SANDBOX", "of")

    with pytest.raises(ValueError, match=r"^SPEC2PROD_SANDBOX='of': must be 'off' .* or 'on'"):
        sandbox_mode()
