"""The immutable release bundle: one tar.gz, named by its own sha256, that every environment receives.

Production must run byte for byte what staging checked, so a bundle is content-addressed and built
deterministically (same tree and manifest -> same sha256), and nothing is unpacked before its checksum
and every member's name and type have been checked: a bundle is untrusted input until verified.
Verification streams (each member is hashed in chunks, the manifest comes first and bounds what may
follow), so a small bundle that expands to gigabytes costs time within a size cap, never memory.
A link in the tree is bundled as the file it points to only when that file is inside the tree; a link
that leads out of it (a key under ~/.ssh, a folder elsewhere) is refused by name.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import re
import shutil
import tarfile
import uuid
import zlib
from pathlib import Path, PurePosixPath
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from spec2prod_assets.environment.dependencies import parse_requirement
from spec2prod_assets.storage.atomic_files import locked_temporary, remove_abandoned_temporaries
from spec2prod_assets.storage.safe_paths import PathFault, check_relative_path, relative_path_fault

MANIFEST_NAME = "manifest.json"
_BUNDLE_NAME_RE = re.compile(r"(?P<sha>[0-9a-f]{64})\.tar\.gz")
_SKIPPED_DIRS = frozenset({"__pycache__"})
_SKIPPED_SUFFIXES = (".pyc", ".pyo")
_FILE_MODE = 0o644
_CHUNK = 1 << 20
_TEMPORARY_PREFIX, _TEMPORARY_SUFFIX = ".bundle-", ".tmp"
MAX_MANIFEST_BYTES = 4 << 20
MAX_UNPACKED_BYTES = 1 << 30
"""The most a bundle's files may add up to once unpacked: a release is code and tests, not data."""
MAX_FOLDER_MEMBERS = 10_000


class BundleError(ValueError):
    """A bundle that must not be deployed; the message names the bundle and what is wrong with it."""


class ReleaseManifest(BaseModel):
    """What a bundle claims to be; `files` lets the receiver check every byte it unpacks."""

    model_config = ConfigDict(frozen=True)

    component: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$", description="The component slug.")
    version: str
    spec_sha256: str
    source_revision: str = Field(description="The source tree's revision (a git commit, or a tree hash).")
    created_by_run: str = Field(description="The Dagster run that built the bundle.")
    tests_passed: int = Field(ge=0)
    tests_failed: int = Field(ge=0)
    line_coverage_pct: float = Field(ge=0.0, le=100.0)
    source_path: str
    tests_path: str
    test_paths: tuple[str, ...] = Field(
        default=(), description="The project's own test paths (bundled when the tree holds them)."
    )
    config_files: tuple[str, ...] = Field(
        default=(),
        description="Project configuration bundled with the code (pytest, coverage and ruff settings, "
        "conftest.py files), so the release's tests run as they ran in the candidate.",
    )
    health_tests: tuple[str, ...] = Field(
        default=(),
        description="Test paths inside the bundle that check a deployed release; default tests_path.",
    )
    dependencies: tuple[str, ...] = Field(
        default=(),
        description="The component's requirements (PEP 508): every environment runs the release's tests in "
        "an environment built from exactly these (see spec2prod_assets.environment).",
    )
    files: dict[str, str] = Field(default_factory=dict, description="Relative posix path -> sha256.")

    @model_validator(mode="before")
    @classmethod
    def _health_tests_default_to_tests_path(cls, data: Any) -> Any:
        # Only when none are named: an empty list is a candidate without tests, which its gates refuse
        # with their own reason (the bundle must still be built for them to be evaluated).
        if isinstance(data, dict) and data.get("health_tests") is None and "tests_path" in data:
            return {**data, "health_tests": (data["tests_path"],)}
        return data

    @field_validator("source_path", "tests_path")
    @classmethod
    def _relative(cls, value: str) -> str:
        return check_relative_path(value)

    @field_validator("health_tests", "test_paths", "config_files")
    @classmethod
    def _relative_tests(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(check_relative_path(item) for item in value)

    @field_validator("dependencies")
    @classmethod
    def _requirements(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(str(parse_requirement(text, "the manifest's dependencies")) for text in value)

    @field_validator("files")
    @classmethod
    def _relative_files(cls, value: dict[str, str]) -> dict[str, str]:
        for name, digest in value.items():
            if check_relative_path(name) != name:
                raise ValueError(f"file name {name!r} is not a normalized relative path")
            if not re.fullmatch(r"[0-9a-f]{64}", digest):
                raise ValueError(f"file {name!r} has no sha256 hex digest")
        return value


class Bundle(BaseModel):
    """A built bundle: where it is, its sha256 (also its file name), and its manifest."""

    model_config = ConfigDict(frozen=True)

    path: Path
    sha256: str
    manifest: ReleaseManifest


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def bundle_sha256(path: Path) -> str:
    """The sha256 a bundle claims by its name; a bundle not named `<sha256>.tar.gz` is refused."""
    match = _BUNDLE_NAME_RE.fullmatch(path.name)
    if match is None:
        raise BundleError(f"bundle {path}: not named '<sha256>.tar.gz', so its content cannot be checked")
    return match.group("sha")


def _skipped(name: str) -> bool:
    # Dotfiles cover .coverage*, .pytest_cache and editor litter; none of it belongs in a release.
    return name.startswith(".") or name in _SKIPPED_DIRS or name.endswith(_SKIPPED_SUFFIXES)


def _collect(tree: Path, relative: str) -> dict[str, Path]:
    """Bundle name -> the regular file inside `tree` whose bytes it gets."""
    root = tree / relative
    inside = tree.resolve()
    if root.is_symlink():
        return {relative: _link_target(inside, root)}
    if not root.resolve().is_relative_to(inside):
        raise BundleError(f"{root} leads to {root.resolve()}, outside the tree {tree}")
    if root.is_file():
        return {relative: root}
    if not root.is_dir():
        raise BundleError(f"{relative!r} does not exist under {tree}")
    found: dict[str, Path] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        base = Path(dirpath)
        dirnames[:] = sorted(name for name in dirnames if not _skipped(name))
        for name in dirnames:
            if (base / name).is_symlink():
                _link_target(inside, base / name)  # refuses: a bundle never follows a folder link
        for name in filenames:
            if _skipped(name):
                continue
            path = base / name
            if path.is_symlink():
                path = _link_target(inside, path)
            elif not path.is_file():
                raise BundleError(f"{path} is not a regular file")
            found[(base / name).relative_to(tree).as_posix()] = path
    return found


def _link_target(inside: Path, link: Path) -> Path:
    """The regular file inside the tree that `link` points to; any other link is refused, naming it."""
    target = link.resolve()
    if not target.is_relative_to(inside):
        raise BundleError(
            f"{link} is a symlink to {target}, outside the tree {inside}: a bundle never takes files "
            "from outside its tree"
        )
    if target.is_dir():
        raise BundleError(f"{link} is a symlink to the folder {target}; a bundle holds regular files only")
    if not target.is_file():
        raise BundleError(f"{link} is a symlink to {target}, which is not a regular file")
    return target


def _add_member(tar: tarfile.TarFile, name: str, data: bytes | Path) -> None:
    """One member with fixed times and owners, so the same content always gives the same bytes; a
    file's content is streamed, not read whole."""
    info = tarfile.TarInfo(name)
    info.size = len(data) if isinstance(data, bytes) else data.stat().st_size
    info.mtime = 0
    info.mode = _FILE_MODE
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    if isinstance(data, bytes):
        tar.addfile(info, io.BytesIO(data))
    else:
        with data.open("rb") as handle:
            tar.addfile(info, handle)


def _manifest_json(manifest: ReleaseManifest) -> bytes:
    return (manifest.model_dump_json(indent=2) + "\n").encode()


def build_bundle(tree: Path, manifest: ReleaseManifest, out_dir: Path) -> Bundle:
    """Bundle the source, the tests and the configuration files the manifest names from `tree`;
    `manifest.files` is computed here. Test paths the tree lacks are skipped (the health tests must exist).

    The archive is written under a temporary name and renamed, so a bundle under its final name is always
    complete; an existing bundle with the same name is the same bytes and is reused, never rewritten.
    Temporaries of builds that died are removed first (a live build's is locked and left alone).
    """
    sources = _collect(tree, manifest.source_path)
    for relative in (manifest.tests_path, *manifest.test_paths, *manifest.config_files):
        if (tree / relative).exists() or (tree / relative).is_symlink():
            sources |= _collect(tree, relative)
    contents = {name: sources[name] for name in sorted(sources)}
    if MANIFEST_NAME in contents:
        raise BundleError(f"{tree / MANIFEST_NAME} would clash with the bundle's own {MANIFEST_NAME}")
    files = {name: file_sha256(source) for name, source in contents.items()}
    full = ReleaseManifest.model_validate({**manifest.model_dump(), "files": files})
    for test_path in full.health_tests:
        if not any(name == test_path or name.startswith(test_path + "/") for name in files):
            raise BundleError(f"health test path {test_path!r} holds no file of the bundle")

    out_dir.mkdir(parents=True, exist_ok=True)
    remove_abandoned_temporaries(out_dir, f"{_TEMPORARY_PREFIX}*{_TEMPORARY_SUFFIX}")
    with locked_temporary(out_dir, prefix=_TEMPORARY_PREFIX, suffix=_TEMPORARY_SUFFIX) as (fd, temp):
        with os.fdopen(os.dup(fd), "wb") as raw:
            with (
                gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz,
                tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar,
            ):
                _add_member(tar, MANIFEST_NAME, _manifest_json(full))
                for name, source in contents.items():
                    _add_member(tar, name, source)
            raw.flush()
            os.fsync(raw.fileno())
        sha = file_sha256(temp)
        final = out_dir / f"{sha}.tar.gz"
        if not (final.is_file() and file_sha256(final) == sha):
            os.replace(temp, final)
    return Bundle(path=final, sha256=sha, manifest=full)


def _check_member(bundle: Path, member: tarfile.TarInfo) -> None:
    name = member.name
    if not (member.isreg() or member.isdir()):
        kind = "a symlink" if member.issym() else "a hard link" if member.islnk() else "not a regular file"
        raise BundleError(f"bundle {bundle}: member {name!r} is {kind}; only files and folders are allowed")
    fault = relative_path_fault(name)
    if fault is PathFault.ABSOLUTE:
        raise BundleError(f"bundle {bundle}: member {name!r} has an absolute path")
    if fault is PathFault.PARENT:
        raise BundleError(f"bundle {bundle}: member {name!r} escapes the bundle ('..')")
    if not name or "\\" in name or PurePosixPath(name).as_posix() != name.rstrip("/"):
        raise BundleError(f"bundle {bundle}: member {name!r} is not a normalized relative path")


def verify_bundle(path: Path, expected_sha256: str | None = None) -> ReleaseManifest:
    """Check a bundle completely without unpacking it: checksum, member names and types, file hashes.

    One streaming pass in bounded memory: the manifest must come first; every later member must be a
    file it lists (hashed in chunks against it) or a folder; sizes add up to at most MAX_UNPACKED_BYTES.
    """
    sha = bundle_sha256(path)
    if not path.is_file():
        raise BundleError(f"bundle {path} does not exist")
    actual = file_sha256(path)
    if actual != sha:
        raise BundleError(f"bundle {path}: its content has sha256 {actual}, not the {sha} its name claims")
    if expected_sha256 is not None and expected_sha256 != sha:
        raise BundleError(f"bundle {path} has sha256 {sha}, but {expected_sha256} was expected")
    try:
        # gzip.GzipFile bounds each decompression step; tarfile's own "r|gz" inflates a whole read buffer
        # at once, which a highly compressed member turns into tens of megabytes.
        with gzip.open(path, "rb") as gz, tarfile.open(fileobj=gz, mode="r|") as tar:
            manifest = _read_manifest_member(path, tar)
            digests = _hash_members(path, tar, manifest)
    except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
        raise BundleError(f"bundle {path} is not a readable tar.gz: {exc}") from exc
    _check_files(path, manifest, digests)
    return manifest


def _read_manifest_member(path: Path, tar: tarfile.TarFile) -> ReleaseManifest:
    first = tar.next()
    if first is None:
        raise BundleError(f"bundle {path} has no {MANIFEST_NAME}")
    _check_member(path, first)
    if first.name != MANIFEST_NAME or not first.isreg():
        raise BundleError(f"bundle {path}: its first member is {first.name!r}, not {MANIFEST_NAME}")
    if first.size > MAX_MANIFEST_BYTES:
        raise BundleError(
            f"bundle {path}: {MANIFEST_NAME} is {first.size} bytes (at most {MAX_MANIFEST_BYTES})"
        )
    handle = tar.extractfile(first)
    if handle is None:
        raise BundleError(f"bundle {path}: {MANIFEST_NAME} cannot be read")
    try:
        return ReleaseManifest.model_validate_json(handle.read(first.size))
    except ValidationError as exc:
        raise BundleError(f"bundle {path}: {MANIFEST_NAME} is invalid: {exc}") from exc


def _hash_members(path: Path, tar: tarfile.TarFile, manifest: ReleaseManifest) -> dict[str, str]:
    """Name -> sha256 of every member after the manifest, failing at the first one that does not fit."""
    digests: dict[str, str] = {}
    seen = {MANIFEST_NAME}
    folders = 0
    budget = MAX_UNPACKED_BYTES
    while (member := tar.next()) is not None:
        _check_member(path, member)
        if member.name in seen:
            raise BundleError(f"bundle {path}: member {member.name!r} appears twice")
        seen.add(member.name)
        if member.isdir():
            folders += 1
            if folders > MAX_FOLDER_MEMBERS:
                raise BundleError(f"bundle {path}: more than {MAX_FOLDER_MEMBERS} folder members")
            continue
        if member.name not in manifest.files:
            raise BundleError(f"bundle {path}: member {member.name!r} is not listed in the manifest")
        budget -= member.size
        if budget < 0:
            raise BundleError(f"bundle {path}: its files add up to more than {MAX_UNPACKED_BYTES} bytes")
        digests[member.name] = _member_sha256(tar, member)
    return digests


def _member_sha256(tar: tarfile.TarFile, member: tarfile.TarInfo) -> str:
    handle = tar.extractfile(member)
    if handle is None:
        raise BundleError(f"member {member.name!r} cannot be read")
    digest = hashlib.sha256()
    while chunk := handle.read(_CHUNK):
        digest.update(chunk)
    return digest.hexdigest()


def _check_files(where: Path, manifest: ReleaseManifest, actual: dict[str, str]) -> None:
    for name, digest in actual.items():
        expected = manifest.files.get(name)
        if expected is None:
            raise BundleError(f"bundle {where}: member {name!r} is not listed in the manifest")
        if expected != digest:
            raise BundleError(
                f"bundle {where}: member {name!r} has sha256 {digest}, manifest says {expected}"
            )
    missing = sorted(set(manifest.files) - set(actual))
    if missing:
        raise BundleError(
            f"bundle {where}: manifest lists {missing[0]!r} (and {len(missing) - 1} more), absent"
        )


def read_manifest(folder: Path) -> ReleaseManifest:
    """The manifest of an unpacked bundle."""
    return ReleaseManifest.model_validate_json((folder / MANIFEST_NAME).read_text())


def unpack_bundle(path: Path, dest: Path, expected_sha256: str | None = None) -> ReleaseManifest:
    """Verify, then unpack into `dest`, which appears by one rename: it never exists half-written.

    The unpacked files are hashed again, so a bundle swapped between the check and the extraction is
    still caught.
    """
    manifest = verify_bundle(path, expected_sha256)
    if dest.exists() or dest.is_symlink():
        raise FileExistsError(f"{dest} already exists; an unpacked release is never overwritten")
    dest.parent.mkdir(parents=True, exist_ok=True)
    temp = dest.parent / f".{dest.name}.unpacking-{uuid.uuid4().hex}"
    try:
        with tarfile.open(path, "r:gz") as tar:
            tar.extractall(temp, filter="data")
        unpacked = {
            item.relative_to(temp).as_posix(): file_sha256(item) for item in temp.rglob("*") if item.is_file()
        }
        unpacked.pop(MANIFEST_NAME, None)
        if read_manifest(temp) != manifest:
            raise BundleError(f"bundle {path} changed while it was unpacked")
        _check_files(path, manifest, unpacked)
        os.rename(temp, dest)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise
    return manifest
