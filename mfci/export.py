"""`mfci export`: an environment's exact files, with their hashes, in a lock format other
tools install — pylock.toml (PEP 751: uv, pip), a hashed requirements file (pip
--require-hashes), a conda explicit file (conda create --file, micromamba create -f) or a
conda-lock v1 file (conda-lock install).

Each file is named by where it came from (its index or channel), or with `store_urls` by
its object in the store. A wheel mfci built from a source distribution exists only in the
store, so it is always named there. The interpreter of a PyPI environment (a CPython build)
has no place in these formats: a comment and pylock's requires-python say which one it is.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Callable

import yaml

from .errors import UsageError
from .record import EnvRecord, PackageFile
from .urls import filename

FORMATS = ("pylock.toml", "requirements", "conda-explicit", "conda-lock")
# pylock's environments: the arch as PEP 508 markers.
MARKERS = {"linux-64": ("linux", "x86_64"), "linux-aarch64": ("linux", "aarch64"),
           "osx-64": ("darwin", "x86_64"), "osx-arm64": ("darwin", "arm64")}
CONDA_ONLY = ("conda-explicit", "conda-lock")


@dataclass(frozen=True)
class Locked:
    """One file of the environment and the URL the exported file names it by."""

    package: PackageFile
    url: str


def only_in_store(package: PackageFile) -> bool:
    """A wheel built from a source distribution: its URL is the sdist's, its bytes the store's."""
    return filename(package.url) != package.filename


def locate(record: EnvRecord, store_url: Callable[[PackageFile], str], store_urls: bool) -> list[Locked]:
    return [Locked(p, store_url(p) if store_urls or only_in_store(p) else p.url) for p in record.packages
            if p.kind != "python"]


def render(record: EnvRecord, fmt: str, files: list[Locked]) -> str:
    kinds = {locked.package.kind for locked in files}
    name = f"environment {record.env_id[:12]} ({record.arch})"
    if fmt in CONDA_ONLY and "conda" not in kinds:
        raise UsageError(f"{name} is a PyPI environment: export it as pylock.toml or requirements")
    if fmt not in CONDA_ONLY and "conda" in kinds:
        raise UsageError(f"{name} has conda packages: export it as conda-explicit or conda-lock")
    if fmt == "conda-explicit" and "pypi" in kinds:
        pypi = sorted(locked.package.name for locked in files if locked.package.kind == "pypi")
        raise UsageError(f"{name} has PyPI packages ({', '.join(pypi)}), which an explicit file cannot hold: "
                         "export it as conda-lock")
    return {"pylock.toml": pylock, "requirements": requirements, "conda-explicit": conda_explicit,
            "conda-lock": conda_lock}[fmt](record, files)


def _header(record: EnvRecord, comment: str = "#") -> list[str]:
    lines = [f"{comment} mfci export of environment {record.env_id} (spec {record.spec_id[:12]}) "
             f"for {record.arch}, python {record.python}"]
    for package in record.packages:
        if package.kind == "python":
            lines.append(f"{comment} interpreter (not part of this file): CPython {package.version}, {package.url}")
    return lines


def _toml(value) -> str:
    """A TOML value: JSON's escaped ASCII strings are valid TOML basic strings."""
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{key} = {_toml(item)}" for key, item in value.items()) + " }"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, str)):
        return json.dumps(value)
    raise TypeError(f"no TOML for {value!r}")


def pylock(record: EnvRecord, files: list[Locked]) -> str:
    system, machine = MARKERS[record.arch]
    lines = _header(record) + [
        'lock-version = "1.0"',
        f"environments = [{_toml(f'sys_platform == {system!r} and platform_machine == {machine!r}')}]",
        f"requires-python = {_toml(f'=={record.python}.*')}",
        'created-by = "mfci"',
    ]
    for locked in sorted(files, key=lambda locked: locked.package.name):
        package = locked.package
        lines += ["", "[[packages]]", f"name = {_toml(package.name)}"]
        if package.version:
            lines.append(f"version = {_toml(package.version)}")
        table = "wheels" if package.filename.endswith(".whl") else "sdist"
        lines.append(f"[[packages.{table}]]" if table == "wheels" else "[packages.sdist]")
        lines += [f"name = {_toml(package.filename)}", f"url = {_toml(locked.url)}"]
        if package.size is not None:
            lines.append(f"size = {package.size}")
        lines.append(f"hashes = {_toml({'sha256': package.sha256})}")
    return "\n".join(lines) + "\n"


def requirements(record: EnvRecord, files: list[Locked]) -> str:
    lines = _header(record) + ["# pip install --require-hashes -r <this file>"]
    for locked in sorted(files, key=lambda locked: locked.package.name):
        package = locked.package
        named = package.url == locked.url and package.version
        line = f"{package.name}=={package.version}" if named else f"{package.name} @ {locked.url}"
        lines.append(f"{line} \\\n    --hash=sha256:{package.sha256}")
    return "\n".join(lines) + "\n"


def conda_explicit(record: EnvRecord, files: list[Locked]) -> str:
    lines = _header(record) + ["# conda create --name NAME --file <this file>, or micromamba create -n NAME -f <this file>",
                               f"# platform: {record.arch}", "@EXPLICIT"]
    for locked in files:
        package = locked.package
        lines.append(f"{locked.url}#{package.md5}" if package.md5 else f"{locked.url}#sha256:{package.sha256}")
    return "\n".join(lines) + "\n"


def _channel(url: str) -> str:
    """A conda package URL's channel: the URL without /<subdir>/<file>."""
    return url.rsplit("/", 2)[0]


def conda_lock(record: EnvRecord, files: list[Locked]) -> str:
    channels = list(dict.fromkeys(_channel(locked.package.url) for locked in files if locked.package.kind == "conda"))
    packages = []
    for locked in files:
        package = locked.package
        conda = package.kind == "conda"
        hashes = {"md5": package.md5, "sha256": package.sha256} if conda and package.md5 else {"sha256": package.sha256}
        packages.append({"name": package.name, "version": package.version, "manager": "conda" if conda else "pip",
                         "platform": record.arch, "dependencies": {}, "url": locked.url, "hash": hashes,
                         "category": "main", "optional": False})
    document = {
        "version": 1,
        "metadata": {"content_hash": {record.arch: record.spec_id},
                     "channels": [{"url": channel, "used_env_vars": []} for channel in channels],
                     "platforms": [record.arch], "sources": [f"mfci:{record.env_id}"]},
        "package": packages,
    }
    return "\n".join(_header(record)) + "\n" + yaml.safe_dump(document, sort_keys=False)
