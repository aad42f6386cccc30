from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import tarfile
import tracemalloc
from pathlib import Path

import pytest

from spec2prod_assets.release import bundle as bundle_module
from spec2prod_assets.release.bundle import (
    MANIFEST_NAME,
    BundleError,
    build_bundle,
    bundle_sha256,
    file_sha256,
    unpack_bundle,
    verify_bundle,
)
from tests.support.tiny_component import make_bundle, manifest_for, write_component, write_raw_bundle


def _member(name: str, kind: bytes = tarfile.REGTYPE, linkname: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    return info


def _raw_bundle_with(tmp_path: Path, bad: tarfile.TarInfo) -> Path:
    manifest = manifest_for().model_dump_json().encode()
    return write_raw_bundle(tmp_path / "raw", [(_member(MANIFEST_NAME), manifest), (bad, b"payload")])


def test_same_tree_and_manifest_give_the_same_sha256_whatever_the_file_times(tmp_path: Path) -> None:
    tree = write_component(tmp_path / "tree")
    first = build_bundle(tree, manifest_for(), tmp_path / "out1")
    for path in tree.rglob("*"):
        os.utime(path, (1_000_000, 1_000_000))
    second = build_bundle(tree, manifest_for(), tmp_path / "out2")
    assert first.sha256 == second.sha256
    assert first.path.read_bytes() == second.path.read_bytes()


def test_bundle_is_named_by_its_sha256_and_holds_manifest_source_and_tests(tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path)
    assert bundle.path.name == f"{bundle.sha256}.tar.gz"
    assert file_sha256(bundle.path) == bundle.sha256
    with tarfile.open(bundle.path) as tar:
        names = tar.getnames()
    assert names == [MANIFEST_NAME, "src/calc/__init__.py", "tests/test_calc.py"]
    assert set(bundle.manifest.files) == {"src/calc/__init__.py", "tests/test_calc.py"}
    assert verify_bundle(bundle.path) == bundle.manifest


def test_pycache_bytecode_coverage_data_and_dotfiles_stay_out(tmp_path: Path) -> None:
    tree = write_component(tmp_path / "tree")
    (tree / "src/calc/__pycache__").mkdir()
    (tree / "src/calc/__pycache__/x.cpython-311.pyc").write_bytes(b"\0")
    (tree / "src/calc/stray.pyc").write_bytes(b"\0")
    (tree / "tests/.coverage").write_text("data")
    (tree / "tests/.coverage.host.123").write_text("data")
    (tree / "src/calc/.env").write_text("SECRET=1")
    (tree / "tests/.pytest_cache").mkdir()
    (tree / "tests/.pytest_cache/v").write_text("x")
    bundle = build_bundle(tree, manifest_for(), tmp_path / "out")
    assert set(bundle.manifest.files) == {"src/calc/__init__.py", "tests/test_calc.py"}


def test_health_tests_default_to_the_tests_path() -> None:
    assert manifest_for().health_tests == ("tests",)


def test_building_an_existing_bundle_reuses_the_file(tmp_path: Path) -> None:
    tree = write_component(tmp_path / "tree")
    first = build_bundle(tree, manifest_for(), tmp_path / "out")
    inode = first.path.stat().st_ino
    second = build_bundle(tree, manifest_for(), tmp_path / "out")
    assert second.path == first.path
    assert second.path.stat().st_ino == inode
    assert [p.name for p in (tmp_path / "out").iterdir()] == [first.path.name]


def test_a_missing_source_path_is_refused(tmp_path: Path) -> None:
    tree = write_component(tmp_path / "tree")
    manifest = manifest_for().model_copy(update={"source_path": "src/other"})
    with pytest.raises(BundleError, match="'src/other' does not exist"):
        build_bundle(tree, manifest, tmp_path / "out")


def test_a_symlink_in_the_tree_is_refused(tmp_path: Path) -> None:
    tree = write_component(tmp_path / "tree")
    (tree / "src/calc/link.py").symlink_to(tmp_path / "elsewhere.py")
    with pytest.raises(BundleError, match=r"link\.py is a symlink"):
        build_bundle(tree, manifest_for(), tmp_path / "out")


def test_content_that_does_not_match_the_name_is_refused(tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path)
    data = bytearray(bundle.path.read_bytes())
    data[-10] ^= 0xFF
    bundle.path.write_bytes(bytes(data))
    with pytest.raises(BundleError, match=f"not the {bundle.sha256} its name claims"):
        verify_bundle(bundle.path)


def test_a_different_expected_sha256_is_refused(tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path)
    with pytest.raises(BundleError, match=f"has sha256 {bundle.sha256}, but {'a' * 64} was expected"):
        verify_bundle(bundle.path, expected_sha256="a" * 64)


def test_a_file_not_named_by_its_sha256_is_refused(tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path)
    renamed = bundle.path.rename(tmp_path / "release.tar.gz")
    with pytest.raises(BundleError, match=r"not named '<sha256>\.tar\.gz'"):
        verify_bundle(renamed)


@pytest.mark.parametrize(
    ("member", "problem"),
    [
        (_member("../escape.py"), "escapes the bundle"),
        (_member("src/../../escape.py"), "escapes the bundle"),
        (_member("/etc/cron.d/evil"), "absolute path"),
        (_member("src/calc/link.py", tarfile.SYMTYPE, "/etc/passwd"), "is a symlink"),
        (_member("src/calc/hard.py", tarfile.LNKTYPE, "src/calc/__init__.py"), "is a hard link"),
        (_member("src/calc/dev", tarfile.CHRTYPE), "not a regular file"),
    ],
    ids=["dotdot", "nested-dotdot", "absolute", "symlink", "hardlink", "device"],
)
def test_a_member_that_could_escape_or_is_not_a_plain_file_is_refused_by_name(
    tmp_path: Path, member: tarfile.TarInfo, problem: str
) -> None:
    path = _raw_bundle_with(tmp_path, member)
    with pytest.raises(BundleError) as caught:
        verify_bundle(path)
    assert problem in str(caught.value)
    assert str(path) in str(caught.value)
    assert repr(member.name) in str(caught.value)


def test_a_member_whose_hash_differs_from_the_manifest_is_refused(tmp_path: Path) -> None:
    manifest = manifest_for().model_copy(update={"files": {"src/calc/__init__.py": "b" * 64}})
    path = write_raw_bundle(
        tmp_path / "raw",
        [
            (_member(MANIFEST_NAME), manifest.model_dump_json().encode()),
            (_member("src/calc/__init__.py"), b"def add(a, b):\n    return 0\n"),
        ],
    )
    with pytest.raises(BundleError, match=r"'src/calc/__init__\.py' has sha256 .* manifest says b{64}"):
        verify_bundle(path)


def test_unpack_writes_a_new_folder_and_never_overwrites_one(tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path)
    dest = tmp_path / "release"
    assert unpack_bundle(bundle.path, dest) == bundle.manifest
    assert (dest / "src/calc/__init__.py").is_file()
    assert (dest / MANIFEST_NAME).is_file()
    with pytest.raises(FileExistsError):
        unpack_bundle(bundle.path, dest)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_unpack_of_a_refused_bundle_creates_nothing(tmp_path: Path) -> None:
    path = _raw_bundle_with(tmp_path, _member("../escape.py"))
    dest = tmp_path / "unpacked" / "release"
    with pytest.raises(BundleError):
        unpack_bundle(path, dest)
    assert not (tmp_path / "unpacked").exists()
    assert not (tmp_path / "escape.py").exists()


def test_a_link_to_a_file_inside_the_tree_is_bundled_as_that_file(tmp_path: Path) -> None:
    tree = write_component(tmp_path / "tree")
    (tree / "src/calc/alias.py").symlink_to("__init__.py")
    bundle = build_bundle(tree, manifest_for(), tmp_path / "out")
    assert bundle.manifest.files["src/calc/alias.py"] == bundle.manifest.files["src/calc/__init__.py"]
    with tarfile.open(bundle.path) as tar:
        assert tar.getmember("src/calc/alias.py").isreg()


def test_a_link_to_a_file_outside_the_tree_is_refused_naming_where_it_leads(tmp_path: Path) -> None:
    secret = tmp_path / "home/.ssh/id_ed25519"
    secret.parent.mkdir(parents=True)
    secret.write_text("PRIVATE KEY")
    tree = write_component(tmp_path / "tree")
    (tree / "src/calc/keys.py").symlink_to(secret)
    with pytest.raises(BundleError) as caught:
        build_bundle(tree, manifest_for(), tmp_path / "out")
    assert f"keys.py is a symlink to {secret}, outside the tree" in str(caught.value)
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []


def test_a_tests_folder_linked_outside_the_tree_is_refused(tmp_path: Path) -> None:
    elsewhere = write_component(tmp_path / "elsewhere")
    tree = write_component(tmp_path / "tree")
    shutil.rmtree(tree / "tests")
    (tree / "tests").symlink_to(elsewhere / "tests")
    with pytest.raises(BundleError, match=r"tests is a symlink to .*elsewhere/tests, outside the tree"):
        build_bundle(tree, manifest_for(), tmp_path / "out")


def test_an_abandoned_bundle_temporary_is_removed_by_the_next_build(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / ".bundle-dead1234.tmp").write_bytes(b"half a tar.gz from a build that was killed")
    bundle = build_bundle(write_component(tmp_path / "tree"), manifest_for(), out)
    assert [path.name for path in out.iterdir()] == [bundle.path.name]


def test_a_bundle_temporary_that_a_live_build_holds_is_left_alone(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    live = out / ".bundle-live1234.tmp"
    live.write_bytes(b"being written")
    with live.open("rb") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        build_bundle(write_component(tmp_path / "tree"), manifest_for(), out)
        assert live.read_bytes() == b"being written"


def _bomb(tmp_path: Path, size: int) -> Path:
    data = bytes(size)
    manifest = manifest_for().model_copy(
        update={"files": {"src/calc/big.bin": hashlib.sha256(data).hexdigest()}}
    )
    return write_raw_bundle(
        tmp_path / "raw",
        [(_member(MANIFEST_NAME), manifest.model_dump_json().encode()), (_member("src/calc/big.bin"), data)],
    )


def test_verifying_a_small_bundle_that_expands_a_lot_stays_in_bounded_memory(tmp_path: Path) -> None:
    path = _bomb(tmp_path, 64 << 20)
    assert path.stat().st_size < 1 << 20
    tracemalloc.start()
    try:
        verify_bundle(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20, f"verifying took {peak / 2**20:.0f} MiB"


def test_a_bundle_whose_files_exceed_the_size_cap_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bundle_module, "MAX_UNPACKED_BYTES", 1 << 20)
    path = _bomb(tmp_path, 2 << 20)
    with pytest.raises(BundleError, match=r"its files add up to more than 1048576 bytes"):
        verify_bundle(path)


def test_a_bundle_with_a_member_before_its_manifest_is_refused(tmp_path: Path) -> None:
    manifest = manifest_for().model_dump_json().encode()
    path = write_raw_bundle(
        tmp_path / "raw", [(_member("src/calc/__init__.py"), b"x = 1\n"), (_member(MANIFEST_NAME), manifest)]
    )
    with pytest.raises(BundleError, match=r"first member is 'src/calc/__init__\.py', not manifest\.json"):
        verify_bundle(path)


def test_a_bundle_name_with_a_trailing_newline_is_refused(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="not named"):
        bundle_sha256(tmp_path / f"{'a' * 64}.tar.gz\n")


def test_a_link_to_a_folder_inside_the_tree_is_refused_not_followed(tmp_path: Path) -> None:
    tree = write_component(tmp_path / "tree")
    (tree / "src/calc/again").symlink_to(tree / "src/calc")
    with pytest.raises(BundleError, match=r"again is a symlink to the folder .*src/calc; a bundle holds"):
        build_bundle(tree, manifest_for(), tmp_path / "out")
