"""Which CPython versions exist, and which build of one an environment gets: the releases
uv knows (its download list — built in, or `UV_PYTHON_DOWNLOADS_JSON_URL` — read through
`uv python list`, offline for the built-in one), so that `--python 3.11.99` or a flow's
`python="3"` is refused by name rather than resolved, published and looked up for ever in
vain, and so that an X.Y request picks one exact X.Y.Z build per arch, with the URL uv
itself would download it from (`UV_PYTHON_INSTALL_MIRROR` applied)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from .io.process import run, uv_binary

LIST_TIMEOUT = 60
VERSION = re.compile(r"(\d+)\.(\d+)(?:\.(\d+))?")


# An arch in uv's terms (os, arch, libc): the builds an environment for it can run on.
UV_PLATFORMS = {"linux-64": ("linux", "x86_64", "gnu"), "linux-aarch64": ("linux", "aarch64", "gnu"),
                "osx-64": ("macos", "x86_64", "none"), "osx-arm64": ("macos", "aarch64", "none")}


@dataclass(frozen=True)
class PythonBuild:
    """One relocatable CPython build in uv's download list."""

    key: str        # uv's name for it: cpython-3.11.7-linux-x86_64-gnu
    version: str    # X.Y.Z
    arch: str       # conda's name of its platform
    url: str        # where uv would download it from, its mirror settings applied


@dataclass(frozen=True)
class KnownPythons:
    versions: frozenset[str]   # X.Y.Z of every CPython release uv can install
    builds: tuple[PythonBuild, ...] = ()   # the default (GIL) builds for mfci's archs

    def check(self, text: str) -> str:
        """The version as given when it names a release (X.Y: some X.Y.Z exists); else
        ValueError saying what is wrong."""
        value = str(text).strip()
        match = VERSION.fullmatch(value)
        if not match:
            raise ValueError(f"python {value!r} is not a version X.Y or X.Y.Z (such as 3.11 or 3.11.9)")
        if match[3] is None:
            if not any(v.startswith(value + ".") for v in self.versions):
                raise ValueError(f"python {value} is not a CPython release")
        elif value not in self.versions:
            raise ValueError(f"python {value} is not a CPython release")
        return value

    def build(self, python: str, arch: str) -> PythonBuild:
        """The build an environment for python X.Y.Z (that one) or X.Y (the newest X.Y.Z)
        gets on an arch; LookupError naming both when uv's list has none."""
        exact = python.count(".") == 2
        candidates = [b for b in self.builds if b.arch == arch
                      and (b.version == python if exact else b.version.startswith(python + "."))]
        if not candidates:
            raise LookupError(f"no CPython {python} build for {arch} in uv's download list "
                              "(UV_PYTHON_DOWNLOADS_JSON_URL, else the one built into uv)")
        return max(candidates, key=lambda b: tuple(int(part) for part in b.version.split(".")))


def known_pythons(environment: dict | None = None) -> KnownPythons:
    done = run([uv_binary(), "python", "list", "--all-versions", "--all-platforms", "--all-arches",
                "--only-downloads", "--output-format", "json"], timeout=LIST_TIMEOUT,
               what="listing CPython releases", env=environment, check=True)
    entries = [entry for entry in json.loads(done.stdout or "[]")
               if entry.get("implementation") == "cpython" and VERSION.fullmatch(entry.get("version", ""))]
    archs = {platform: arch for arch, platform in UV_PLATFORMS.items()}
    builds = tuple(PythonBuild(entry["key"], entry["version"], archs[platform], entry["url"])
                   for entry in entries if entry.get("variant") == "default" and entry.get("url")
                   and (platform := (entry.get("os"), entry.get("arch"), entry.get("libc"))) in archs)
    return KnownPythons(frozenset(entry["version"] for entry in entries), builds)


# CPython minors mfci knows to be released, oldest first: the candidates a python range is
# narrowed to. A fixed list, so that CI and every laptop choose alike (updated with mfci).
CPYTHON_MINORS = tuple(f"3.{minor}" for minor in range(6, 15))


def exact_python(text: str) -> str | None:
    """X.Y or X.Y.Z when the request names one version (`3.11`, `==3.11.*`, `3.11.4`)."""
    value = str(text).strip().removeprefix("==").strip().removesuffix(".*")
    return value if VERSION.fullmatch(value) else None


def python_range(text: str):
    """A range as Metaflow (and conda) accepts one — `>=3.10,<3.11`, `~=3.10`, `3.10.*` — as
    a PEP 440 SpecifierSet; ValueError when it is not one."""
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    value = "".join(str(text).split())
    try:
        specifiers = SpecifierSet(value)
    except InvalidSpecifier:
        raise ValueError(f"python {text!r} is neither a version X.Y, X.Y.Z nor a range such as "
                         "'>=3.10,<3.12'") from None
    if not len(specifiers):
        raise ValueError(f"python {text!r} is not a version or a range")
    return specifiers


def _admits(specifiers, minor: str) -> bool:
    return any(specifiers.contains(f"{minor}.{patch}") for patch in range(0, 40))


def choose_pythons(requested: str | None, preferred: list[str]) -> list[str]:
    """The concrete pythons (X.Y or X.Y.Z) a step is warmed and looked up with.

    No request: the preferred ones (`--python`, else CONDA_MFCI_PYTHON). One version: that
    one. A range: the preferred ones it admits; if it admits none, the newest minor below
    its upper bound when it has one, else the oldest minor above its lower bound — a
    choice that does not move when newer pythons are released. ValueError for a request
    that is neither a version nor a range, or a range no CPython minor fits."""
    if not requested:
        return list(preferred)
    exact = exact_python(requested)
    if exact:
        return [exact]
    if re.fullmatch(r"\s*\d+\s*", str(requested)):
        raise ValueError(f"python {requested!r} is not a version X.Y or X.Y.Z (such as 3.11 or 3.11.9)")
    specifiers = python_range(requested)
    admitted = [python for python in preferred if specifiers.contains(python if python.count(".") == 2
                                                                      else f"{python}.0")]
    if admitted:
        return admitted
    minors = [minor for minor in CPYTHON_MINORS if _admits(specifiers, minor)]
    if not minors:
        raise ValueError(f"no CPython {CPYTHON_MINORS[0]}–{CPYTHON_MINORS[-1]} fits python {requested!r}")
    bounded = any(spec.operator in ("<", "<=", "==", "~=") for spec in specifiers)
    return [minors[-1] if bounded else minors[0]]
