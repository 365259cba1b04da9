"""A real conda channel the tests build themselves (conda channels are unreachable here).

Hand-made `.conda` and `.tar.bz2` packages: a venv-style `python` wrapping this machine's
interpreter for every arch, noarch-python packages made from real PyPI wheels (Metaflow's
pinned `requests` and its dependencies), an arch-specific package with cpu and cuda
builds, one that needs a newer glibc, and one package in each archive format only.
Indexed with rattler's `index_fs` in a subprocess (it has crashed at interpreter exit).
"""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
import tarfile
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import zstandard
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

SUBDIRS = ("linux-64", "osx-64", "osx-arm64", "noarch")
ARCH_FIELDS = {"linux-64": ("x86_64", "linux"), "osx-64": ("x86_64", "osx"),
               "osx-arm64": ("arm64", "osx"), "noarch": (None, None)}
PY = "%d.%d" % sys.version_info[:2]
PY_FULL = "%d.%d.%d" % sys.version_info[:3]
WHEELS = ("requests", "urllib3", "idna", "certifi", "charset-normalizer", "six")


@dataclass
class Entry:
    data: bytes = b""
    link: str | None = None          # a symlink target instead of data
    prefix_placeholder: bool = False


@dataclass
class Package:
    name: str
    version: str
    build: str
    subdir: str
    depends: list[str] = field(default_factory=list)
    build_number: int = 0
    noarch: str | None = None
    files: dict[str, Entry] = field(default_factory=dict)
    extra: dict = field(default_factory=dict)

    @property
    def stem(self) -> str:
        return f"{self.name}-{self.version}-{self.build}"

    def index_json(self) -> dict:
        arch, platform = ARCH_FIELDS[self.subdir]
        index = {"name": self.name, "version": self.version, "build": self.build,
                 "build_number": self.build_number, "depends": self.depends, "constrains": [],
                 "subdir": self.subdir, "arch": arch, "platform": platform, "license": "MIT",
                 "timestamp": 1_700_000_000_000, **self.extra}
        if self.noarch:
            index["noarch"] = self.noarch
        return index


def _add(tar: tarfile.TarFile, name: str, entry: Entry) -> None:
    info = tarfile.TarInfo(name)
    info.mtime = 1_700_000_000
    if entry.link is not None:
        info.type, info.linkname = tarfile.SYMTYPE, entry.link
        tar.addfile(info)
    else:
        info.size, info.mode = len(entry.data), 0o755 if name.startswith("bin/") else 0o644
        tar.addfile(info, io.BytesIO(entry.data))


def _info_entries(package: Package) -> dict[str, Entry]:
    paths = []
    for name, entry in sorted(package.files.items()):
        if entry.link is not None:
            paths.append({"_path": name, "path_type": "softlink"})
            continue
        item = {"_path": name, "path_type": "hardlink", "sha256": hashlib.sha256(entry.data).hexdigest(),
                "size_in_bytes": len(entry.data)}
        if entry.prefix_placeholder:
            item.update(prefix_placeholder="/opt/anaconda1anaconda2anaconda3", file_mode="text")
        paths.append(item)
    info = {
        "info/index.json": Entry(json.dumps(package.index_json()).encode()),
        "info/paths.json": Entry(json.dumps({"paths": paths, "paths_version": 1}).encode()),
        "info/files": Entry("\n".join(sorted(package.files)).encode() + b"\n"),
    }
    return info


def _tar_bytes(entries: dict[str, Entry], mode: str = "w") -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=mode) as tar:
        for name, entry in entries.items():
            _add(tar, name, entry)
    return buffer.getvalue()


def write_package(package: Package, channel: Path, fmt: str) -> Path:
    folder = channel / package.subdir
    folder.mkdir(parents=True, exist_ok=True)
    info = _info_entries(package)
    if fmt == ".tar.bz2":
        path = folder / f"{package.stem}.tar.bz2"
        path.write_bytes(_tar_bytes({**info, **package.files}, "w:bz2"))
        return path
    path = folder / f"{package.stem}.conda"
    compress = zstandard.ZstdCompressor(level=3).compress
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr("metadata.json", json.dumps({"conda_pkg_format_version": 2}))
        archive.writestr(f"info-{package.stem}.tar.zst", compress(_tar_bytes(info)))
        archive.writestr(f"pkg-{package.stem}.tar.zst", compress(_tar_bytes(package.files)))
    return path


def python_package(subdir: str) -> Package:
    """A venv-style python: links to this machine's interpreter (runs only here)."""
    home = Path(sys.base_prefix) / "bin"
    files = {
        "pyvenv.cfg": Entry(f"home = {home}\ninclude-system-site-packages = false\nversion = {PY_FULL}\n".encode()),
        f"bin/python{PY}": Entry(link=str(home / f"python{PY}")),
        "bin/python3": Entry(link=f"python{PY}"),
        "bin/python": Entry(link=f"python{PY}"),
        f"lib/python{PY}/site-packages/.keep": Entry(b""),
    }
    needs = "__glibc >=2.17" if subdir.startswith("linux") else "__osx >=10.9"
    return Package("python", PY_FULL, "0_venvwrap", subdir, [needs], files=files,
                   extra={"python_site_packages_path": f"lib/python{PY}/site-packages"})


def _conda_depends(requirement: str) -> str | None:
    parsed = Requirement(requirement)
    if parsed.marker is not None and not parsed.marker.evaluate({"extra": ""}):
        return None
    specifier = ",".join(sorted(str(s) for s in parsed.specifier))
    return f"{canonicalize_name(parsed.name)} {specifier}".strip()


def noarch_from_wheel(wheel: Path) -> Package:
    """A noarch: python conda package holding a pure-Python wheel's files."""
    with zipfile.ZipFile(wheel) as archive:
        files = {f"site-packages/{name}": Entry(archive.read(name))
                 for name in archive.namelist() if not name.endswith("/")}
        metadata = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        lines = archive.read(metadata).decode().splitlines()
    name = next(l.split(":", 1)[1].strip() for l in lines if l.startswith("Name:"))
    version = next(l.split(":", 1)[1].strip() for l in lines if l.startswith("Version:"))
    depends = ["python >=3.8"] + [d for d in (_conda_depends(l.split(":", 1)[1]) for l in lines
                                              if l.startswith("Requires-Dist:")) if d]
    return Package(canonicalize_name(name), version, "py_0", "noarch", depends, noarch="python", files=files)


def tool_package(name: str, subdir: str, build: str = "h0_0", depends=(), build_number: int = 0) -> Package:
    script = f"#!/bin/sh\necho {name} {build} {subdir}\n".encode()
    return Package(name, "1.0", build, subdir, list(depends), build_number,
                   noarch="generic" if subdir == "noarch" else None, files={f"bin/{name}": Entry(script), f"share/{name}/prefix.txt":
                          Entry(b"installed in /opt/anaconda1anaconda2anaconda3\n", prefix_placeholder=True)})


def fetch_wheels(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
                    "--platform", "any", "--implementation", "py", "--abi", "none", "--python-version", PY,
                    "--dest", str(folder), *WHEELS], check=True, capture_output=True)
    return sorted(folder.glob("*.whl"))


def index(channel: Path) -> None:
    script = ("import asyncio, sys, time\nfrom rattler.index import index_fs\n"
              "asyncio.run(index_fs(sys.argv[1], force=True))\ntime.sleep(0.5)\n")
    subprocess.run([sys.executable, "-c", script, str(channel)], check=True, capture_output=True, timeout=120)
    for subdir in SUBDIRS:
        if not (channel / subdir / "repodata.json").is_file():
            raise RuntimeError(f"indexing {channel} wrote no {subdir}/repodata.json")


def build_channel(channel: Path, wheels: Path) -> Path:
    for subdir in SUBDIRS:
        (channel / subdir).mkdir(parents=True, exist_ok=True)
    for subdir in SUBDIRS[:-1]:
        write_package(python_package(subdir), channel, ".conda")
        write_package(tool_package("native-tool", subdir), channel, ".conda")
    for wheel in fetch_wheels(wheels):
        write_package(noarch_from_wheel(wheel), channel, ".conda")
    write_package(tool_package("gpu-app", "linux-64", "cpu_0"), channel, ".conda")
    write_package(tool_package("gpu-app", "linux-64", "cuda_1", ["__cuda >=11"], build_number=1), channel, ".conda")
    write_package(tool_package("needs-new-glibc", "linux-64", depends=["__glibc >=2.34"]), channel, ".conda")
    write_package(tool_package("only-bz2", "noarch"), channel, ".tar.bz2")
    write_package(tool_package("only-conda", "noarch"), channel, ".conda")
    started = time.monotonic()
    index(channel)
    assert time.monotonic() - started < 120
    return channel
