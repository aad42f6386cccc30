"""CrossHair imports and runs the component, so its exploration is untrusted code: it runs in the sandbox
with only its workspace writable. A module that writes outside its workspace when imported must fail to."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.spec2prod_assets.generation.backends.test_crosshair import (
    CORE,
    _task,
    _wait,
    _workspace,
    crosshair,
)
from tests.support.escape_component import require_sandbox


def test_a_module_that_writes_outside_its_workspace_on_import_cannot(tmp_path: Path) -> None:
    require_sandbox()
    outside = tmp_path / "outside"
    outside.mkdir()
    target = outside / "written-by-the-component"
    writer = (
        "from pathlib import Path\n"
        f"try:\n    Path({str(target)!r}).write_text('x')\nexcept OSError:\n    pass\n"
    )
    tree = _workspace(tmp_path, {"core": writer + CORE})
    generator = crosshair(time_budget_s=120.0)

    async def scenario() -> None:
        handle = await generator.submit(_task(tree, "core"))
        await _wait(generator, handle)

    asyncio.run(scenario())

    assert not target.exists()
