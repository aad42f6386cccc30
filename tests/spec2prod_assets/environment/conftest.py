from __future__ import annotations

from pathlib import Path

import pytest

from tests.spec2prod_assets.environment.local_wheels import offline_uv, write_wheel

TINYDEP = 'def shout(text):\n    return text.upper() + "!"\n'


@pytest.fixture
def wheelhouse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A local wheelhouse holding `tinydep` (a package spec2prod does not have), uv pointed at it offline."""
    folder = tmp_path / "wheelhouse"
    write_wheel(folder, "tinydep", "1.0", {"tinydep/__init__.py": TINYDEP})
    offline_uv(monkeypatch, folder, tmp_path / "uv-cache")
    return folder


@pytest.fixture
def cache_root(tmp_path: Path) -> Path:
    return tmp_path / "envs"
