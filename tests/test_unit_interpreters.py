"""Fast unit layer: which interpreter build an environment gets, and how an archive from the
store is unpacked (never outside its folder, never when it is not a CPython build)."""

import hashlib
import io
import json
import tarfile

import pytest

from mfci.create import install_interpreter
from mfci.errors import WorkError
from mfci.io.http import Downloader
from mfci.pythons import KnownPythons, PythonBuild
from mfci.record import PackageFile
from mfci.resolve.base import ResolutionFailed
from mfci.resolve.interpreter import Interpreters

MIRROR = "https://mirror.example/pbs/20261126"


def build(version, arch="linux-64", suffix="install_only.tar.gz"):
    return PythonBuild(f"cpython-{version}-{arch}", version, arch, f"{MIRROR}/cpython-{version}%2B20261126-{arch}-{suffix}")


def interpreters(tmp_path, builds, hashes):
    listing = tmp_path / "download-metadata.json"
    listing.write_text(json.dumps({b.key: {"url": b.url.replace(MIRROR, "https://github.com/x"), "sha256": digest}
                                   for b, digest in zip(builds, hashes)}))
    known = KnownPythons(frozenset(b.version for b in builds), tuple(builds))
    return Interpreters(known, {"UV_PYTHON_DOWNLOADS_JSON_URL": str(listing)}, Downloader(allow_local_files=True),
                        tmp_path / "cache")


def test_newest_patch_of_a_minor_or_exactly_the_pinned_one(tmp_path):
    builds = [build("3.11.7"), build("3.11.10"), build("3.11.9"), build("3.11.12", "osx-arm64")]
    chosen = interpreters(tmp_path, builds, ["a" * 64, "b" * 64, "c" * 64, "d" * 64])
    newest = chosen.interpreter("3.11", "linux-64")
    assert (newest.kind, newest.name, newest.version, newest.sha256) == ("python", "cpython", "3.11.10", "b" * 64)
    assert newest.url.startswith(MIRROR) and newest.key == f"python/{'b' * 64}/{newest.filename}"
    assert newest.filename == "cpython-3.11.10+20261126-linux-64-install_only.tar.gz"
    assert chosen.interpreter("3.11.7", "linux-64").sha256 == "a" * 64
    with pytest.raises(ResolutionFailed, match="no CPython 3.11.7 build for osx-arm64"):
        chosen.interpreter("3.11.7", "osx-arm64")
    with pytest.raises(ResolutionFailed, match="no CPython 3.12 build for linux-64"):
        chosen.interpreter("3.12", "linux-64")


def test_a_build_without_sha256_or_in_a_format_stdlib_cannot_unpack_is_refused(tmp_path):
    builds = [build("3.11.7"), build("3.12.1", suffix="pgo+lto-full.tar.zst")]
    chosen = interpreters(tmp_path, builds, [None, "e" * 64])
    with pytest.raises(ResolutionFailed, match="gives no sha256 for cpython-3.11.7"):
        chosen.interpreter("3.11", "linux-64")
    with pytest.raises(ResolutionFailed, match="not an archive mfci unpacks"):
        chosen.interpreter("3.12", "linux-64")


def archive(tmp_path, members: dict) -> tuple:
    path = tmp_path / "cpython.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for name, target in members.items():
            info = tarfile.TarInfo(name)
            if isinstance(target, bytes):
                info.size, info.mode = len(target), 0o755
                tar.addfile(info, io.BytesIO(target))
            else:
                info.type, info.linkname = tarfile.SYMTYPE, target
                tar.addfile(info)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return path, PackageFile("cpython", "3.11.7", "python", "https://h/x.tar.gz", path.name, digest, None, "python/x")


def test_unpacked_once_per_build_and_only_inside_its_folder(tmp_path):
    path, package = archive(tmp_path, {"python/bin/python3.11": b"#!/bin/sh\n", "python/bin/python3": "python3.11"})
    folder = tmp_path / "pythons"
    python = install_interpreter(path, package, folder, timeout=5)
    assert python == folder / package.sha256 / "python" / "bin" / "python3" and python.exists()
    path.unlink()  # unpacked already: the archive is not read again
    assert install_interpreter(path, package, folder, timeout=5) == python

    for members, why in (({"python/bin/python3": b"", "../escape": b"x"}, "refusing member '../escape'"),
                         ({"python/bin/python3": "/usr/bin/python3"}, "refusing member"),
                         ({"python/bin/python3": "../../../../etc/passwd"}, "refusing member"),
                         ({"bin/python3": b"not where uv puts it"}, "not a CPython install_only build")):
        bad, package = archive(tmp_path, members)
        with pytest.raises(WorkError, match=why):
            install_interpreter(bad, package, folder, timeout=5)
        assert not (folder / package.sha256).exists() and not (tmp_path / "escape").exists()
    assert [p.name for p in folder.iterdir() if not p.name.startswith(".")] == [python.parent.parent.parent.name]


def test_without_a_configured_list_the_one_of_this_uv_is_read_once_and_kept(tmp_path):
    """uv's built-in list (which `uv python list` prints without hashes) is read from the copy
    uv publishes for its version; kept in the cache folder, it is never fetched again."""
    from importlib.metadata import version

    one = build("3.11.7")
    kept = tmp_path / "cache" / "python-downloads" / f"uv-{version('uv')}.json"
    kept.parent.mkdir(parents=True)
    kept.write_text(json.dumps({one.key: {"url": one.url, "sha256": "F" * 64}}))
    known = KnownPythons(frozenset({"3.11.7"}), (one,))
    chosen = Interpreters(known, {}, Downloader(attempts=1), tmp_path / "cache")
    assert chosen.interpreter("3.11", "linux-64").sha256 == "f" * 64
    assert chosen.source() == "uv's built-in download list"


def test_concurrent_installers_unpack_a_build_once(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    path, package = archive(tmp_path, {"python/bin/python3": b"#!/bin/sh\n"})
    folder = tmp_path / "pythons"
    with ThreadPoolExecutor(max_workers=6) as pool:
        pythons = set(pool.map(lambda _: install_interpreter(path, package, folder, timeout=30), range(12)))
    assert len(pythons) == 1
    assert sorted(p.name for p in folder.iterdir()) == sorted([package.sha256, f".{package.sha256}.mfci-lock"])
