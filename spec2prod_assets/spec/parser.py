"""Markdown spec -> `ComponentSpec`, or a `SpecError` that points at the line to fix.

People write specs in two styles and often mix them: YAML front matter, and the bold-field / section
layout of common spec templates (`**Component ID:**`, `## Requirements` with `FR-1` bullets, `## Success
Criteria` with `coverage >= 80%`). Structure comes from markdown-it tokens and PyYAML nodes, both of which
carry line numbers; regular expressions only read small inline things such as `FR-1:` or `>= 80%`.

Every later stage trusts the parsed spec, so anything doubtful (a value given twice with different
contents, an unknown stage, a threshold outside 0..100) is an error here rather than a guess.

The work is split by what is read: `front_matter` (the YAML block) and `markdown_body` (the markdown-it
tokens) both fill one `draft`, which checks values as they arrive and builds the model at the end;
`items` reads the requirement lines both of them meet. This module reads the file and runs the three.
"""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

from spec2prod_assets.spec.draft import Draft, build_spec
from spec2prod_assets.spec.front_matter import read_front_matter, split_front_matter
from spec2prod_assets.spec.markdown_body import read_body
from spec2prod_assets.spec.model import ComponentSpec, SpecError

MAX_SPEC_BYTES = 1024 * 1024
# How a spec that the parser itself failed on is reported; the fuzz tests fail on any such message.
PARSER_FAULT = "the parser failed on this spec (a bug in spec2prod; please report it)"


# ---------------------------------------------------------------- public API


def find_spec_files(project_root: Path) -> list[Path]:
    """Every `specs/**/*.md` of a project, sorted so partitions and runs come in a stable order.

    Hidden files are skipped: editors leave `.#calc.md` lock files and `.~calc.md` backups there.
    """
    specs_dir = project_root / "specs"
    return sorted(
        path
        for path in specs_dir.rglob("*.md")
        if path.is_file() and not any(part.startswith(".") for part in path.relative_to(specs_dir).parts)
    )


def parse_spec(spec_file: Path, project_root: Path) -> ComponentSpec:
    """Read and parse one spec file; its hash is over the exact bytes so a release can name its spec."""
    spec_path = _relative_spec_path(spec_file, project_root)
    data = read_spec_bytes(spec_file, project_root, spec_path)
    return parse_spec_text(
        _decode_utf8(data, spec_path), spec_path=spec_path, spec_sha256=hashlib.sha256(data).hexdigest()
    )


def parse_spec_text(text: str, *, spec_path: str, spec_sha256: str | None = None) -> ComponentSpec:
    """Parse spec text; pure, so tests and tools need no files. The hash defaults to the UTF-8 text's."""
    sha256 = spec_sha256 or hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    draft = Draft(spec_path)
    if not text.strip():
        raise draft.error("the spec is empty")
    if len(text) > MAX_SPEC_BYTES:
        raise draft.error("the spec is larger than 1 MiB; split it or trim it")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:  # only text handed in as str: files are decoded strictly
        line = text.count("\n", 0, exc.start) + 1
        raise draft.error("the spec holds a lone surrogate, which is not valid Unicode text", line) from None
    if "\x00" in text:
        raise draft.error(
            "the spec contains a NUL character; save it as plain text",
            text.count("\n", 0, text.index("\x00")) + 1,
        )
    try:
        front_matter, body, body_offset = split_front_matter(text, draft)
        if front_matter is not None:
            read_front_matter(front_matter, draft)
        read_body(body, body_offset, draft)
        return build_spec(draft, sha256)
    except SpecError:
        raise
    except RecursionError:
        raise draft.error("the spec nests too deep to read") from None
    except Exception as exc:  # the contract: only SpecError leaves the parser; the fuzz test hunts these
        raise draft.error(f"{PARSER_FAULT}: {type(exc).__name__}: {exc}") from None


# ---------------------------------------------------------------- reading the file


def _relative_spec_path(spec_file: Path, project_root: Path) -> str:
    """The spec's path as reports show it; lexical first, so a spec reached by a symlink keeps its name."""
    try:
        return spec_file.relative_to(project_root).as_posix()
    except ValueError:
        pass
    try:
        return spec_file.resolve().relative_to(project_root.resolve()).as_posix()
    except ValueError:
        raise SpecError(str(spec_file), f"the spec is not inside the project root {project_root}") from None


def read_spec_bytes(spec_file: Path, project_root: Path, spec_path: str) -> bytes:
    """The spec's bytes, read only from a regular file inside the project and at most 1 MiB + 1 of them.

    A FIFO or a device would block the read (or never end), and a link to outside the project would
    read a file that was never meant as a spec, so both are refused before any byte is read; the file
    is opened non-blocking and checked again on the open handle, where it can no longer be swapped.
    """
    try:
        target = spec_file.resolve()
        if not target.is_relative_to(project_root.resolve()):
            raise SpecError(
                spec_path, f"the spec is a link to {target}, outside the project; copy it in instead"
            )
        fd = os.open(target, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise SpecError(spec_path, f"cannot read the spec: {exc.strerror or exc}") from None
    kind = os.fstat(fd).st_mode
    if not stat.S_ISREG(kind):
        os.close(fd)
        raise SpecError(spec_path, f"the spec is not a regular file but {_file_kind(kind)}; give a .md file")
    with os.fdopen(fd, "rb") as handle:
        try:
            data = handle.read(MAX_SPEC_BYTES + 1)
        except OSError as exc:
            raise SpecError(spec_path, f"cannot read the spec: {exc.strerror or exc}") from None
    if len(data) > MAX_SPEC_BYTES:
        raise SpecError(spec_path, "the spec is larger than 1 MiB; split it or trim it")
    return data


def _file_kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISDIR, "a folder"),
    ):
        if test(mode):
            return name
    return "a special file"


def _decode_utf8(data: bytes, spec_path: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        problem = (
            f"not valid UTF-8: byte 0x{data[exc.start]:02x} at offset {exc.start}; save the file as UTF-8"
        )
        raise SpecError(spec_path, problem, line) from None
