"""CPython builds shaped like python-build-standalone's `install_only` archives, and uv's
download list describing them: the real builds are unreachable from these machines.

A real build is made from an interpreter on this machine (the one running the tests, and
pyenv's others): its executable, libpython and standard library under `python/`, with the
executable's library search path made relative (`$ORIGIN/../lib`, as python-build-standalone
does), so that the unpacked copy runs on its own files wherever it is. A fake build has the
shape only (for archs no test runs)."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path

RELEASE = "20261126"
GITHUB = "https://github.com/astral-sh/python-build-standalone/releases/download"
# conda arch -> (target triple, uv's os, arch, libc)
PLATFORMS = {"linux-64": ("x86_64-unknown-linux-gnu", "linux", "x86_64", "gnu"),
             "linux-aarch64": ("aarch64-unknown-linux-gnu", "linux", "aarch64", "gnu"),
             "osx-64": ("x86_64-apple-darwin", "darwin", "x86_64", "none"),
             "osx-arm64": ("aarch64-apple-darwin", "darwin", "aarch64", "none")}
# Left out of a real build's standard library: big, and nothing a test imports (nor the
# static libpython under config-*).
SKIPPED = {"test", "idlelib", "tkinter", "turtledemo", "ensurepip", "__pycache__", "site-packages", "lib2to3"}


@dataclass(frozen=True)
class Build:
    version: str
    arch: str
    archive: Path

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.archive.read_bytes()).hexdigest()


def archive_name(version: str, arch: str) -> str:
    return f"cpython-{version}+{RELEASE}-{PLATFORMS[arch][0]}-install_only.tar.gz"


def _write(archive: Path, add) -> Path:
    archive.parent.mkdir(parents=True, exist_ok=True)
    with open(archive, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=1, mtime=0) as zipped:
        with tarfile.open(fileobj=zipped, mode="w", format=tarfile.PAX_FORMAT) as tar:
            add(tar)
    return archive


def _bytes(tar: tarfile.TarFile, name: str, data: bytes, mode: int = 0o644) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode = len(data), mode
    tar.addfile(info, io.BytesIO(data))


def _link(tar: tarfile.TarFile, name: str, target: str) -> None:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = tarfile.SYMTYPE, target
    tar.addfile(info)


def real_build(prefix: Path, folder: Path) -> Build:
    """A relocatable build of the CPython installed at `prefix` (a pyenv-style tree)."""
    executable = sorted(p for p in (prefix / "bin").glob("python3.*") if p.name.count(".") == 1
                        and not p.is_symlink())[0]
    minor = executable.name.removeprefix("python")
    version = next(line.split()[1] for line in [_version_line(executable)])
    library = f"{prefix}/lib".encode() + b"\0"
    relative = b"$ORIGIN/../lib"
    binary = executable.read_bytes()
    if library in binary:  # a shared build: find libpython beside the unpacked copy, not here
        binary = binary.replace(library, relative + b"\0" * (len(library) - len(relative)))

    def add(tar: tarfile.TarFile) -> None:
        _bytes(tar, f"python/bin/{executable.name}", binary, 0o755)
        for alias in ("python3", "python"):
            _link(tar, f"python/bin/{alias}", executable.name)
        for shared in (prefix / "lib").glob("libpython*"):
            tar.add(shared, f"python/lib/{shared.name}")
        stdlib = prefix / "lib" / f"python{minor}"
        for path in sorted(stdlib.rglob("*")):
            relative_path = path.relative_to(stdlib)
            if SKIPPED & set(relative_path.parts) or relative_path.parts[0].startswith("config-") or path.is_dir():
                continue
            tar.add(path, f"python/lib/python{minor}/{relative_path}", recursive=False)
        tar.addfile(_folder(f"python/lib/python{minor}/site-packages"))

    return Build(version, "linux-64", _write(folder / archive_name(version, "linux-64"), add))


def _folder(name: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.mode = tarfile.DIRTYPE, 0o755
    return info


def _version_line(executable: Path) -> str:
    import subprocess

    return subprocess.run([str(executable), "--version"], capture_output=True, text=True, check=True).stdout


def fake_build(version: str, arch: str, folder: Path) -> Build:
    """The shape of a build only: an archive no test runs."""
    minor = ".".join(version.split(".")[:2])

    def add(tar: tarfile.TarFile) -> None:
        _bytes(tar, f"python/bin/python{minor}", f"#!/bin/sh\necho 'CPython {version} for {arch}: a fake'\n".encode(),
               0o755)
        _link(tar, "python/bin/python3", f"python{minor}")
        _bytes(tar, f"python/lib/python{minor}/os.py", b"")

    return Build(version, arch, _write(folder / archive_name(version, arch), add))


def downloads_list(builds: list[Build]) -> dict:
    """uv's download list (the format of UV_PYTHON_DOWNLOADS_JSON_URL) naming the builds at
    their GitHub URLs, as uv's own list does: a mirror (UV_PYTHON_INSTALL_MIRROR) serves them."""
    entries = {}
    for build in builds:
        triple, os_name, family, libc = PLATFORMS[build.arch]
        major, minor, patch = (int(part) for part in build.version.split("."))
        entries[f"cpython-{build.version}-{'macos' if os_name == 'darwin' else os_name}-{family}-{libc}"] = {
            "name": "cpython", "arch": {"family": family, "variant": None}, "os": os_name, "libc": libc,
            "major": major, "minor": minor, "patch": patch, "prerelease": "",
            "url": f"{GITHUB}/{RELEASE}/{archive_name(build.version, build.arch).replace('+', '%2B')}",
            "sha256": build.sha256, "variant": None, "build": RELEASE,
        }
    return entries


def publish(builds: list[Build], folder: Path) -> Path:
    """A mirror's folder: the archives under <release>/, and the download list beside them."""
    (folder / RELEASE).mkdir(parents=True, exist_ok=True)
    for build in builds:
        target = folder / RELEASE / build.archive.name
        if not target.exists():
            target.hardlink_to(build.archive)
    (folder / "download-metadata.json").write_text(json.dumps(downloads_list(builds), indent=1))
    return folder


def machine_builds(folder: Path) -> list[Build]:
    """Builds for the suite: a real one of this python and of pyenv's newest 3.12 for
    linux-64, and fakes of both for every other arch the tests warm."""
    prefixes = [Path(sys.base_prefix), *sorted(Path(sys.base_prefix).parent.glob("3.12.*"))[-1:]]
    real = [real_build(prefix, folder) for prefix in prefixes]
    fakes = [fake_build(build.version, arch, folder) for build in real for arch in PLATFORMS if arch != "linux-64"]
    return real + fakes
