"""The files the project's coverage.py settings leave out (`[run] omit`), read by coverage.py itself.

A file a project omits from coverage (vendored, generated, legacy code) is one its tests are not meant to
answer for; the mutation score, a measure of the same tests, leaves it out too. coverage.py reads the
first of these files in the folder it runs in that holds its settings; spec2prod runs it in the copy's
root, so that is where they are read.
"""

from __future__ import annotations

from pathlib import Path

from coverage.config import CoverageConfig
from coverage.exceptions import CoverageException

# coverage.py's own search order (`coverage.config.config_files_to_try`); True: a file of its own, read
# whole; False: a shared file, read only in its coverage sections.
_CONFIG_FILES = ((".coveragerc", True), (".coveragerc.toml", True), ("setup.cfg", False), ("tox.ini", False))
_SHARED_TOML = "pyproject.toml"


def omitted_patterns(root: Path) -> tuple[str, ...]:
    """The project's `omit` patterns, relative ones as written (they are relative to `root`); absolute
    ones, which name a machine's paths, are left out."""
    config = CoverageConfig()
    for name, our_file in (*_CONFIG_FILES, (_SHARED_TOML, False)):
        path = root / name
        if not path.is_file():
            continue
        try:
            if config.from_file(str(path), warn=lambda _: None, our_file=our_file):
                break
        except CoverageException as exc:
            raise ValueError(f"{path.name}: coverage.py cannot read it: {exc}") from exc
    return tuple(p for p in config.run_omit or () if not Path(p).is_absolute())
