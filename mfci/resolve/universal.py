"""One resolution of a PyPI environment for all its archs: the project uv locks, and each
arch's share of the lock.

uv resolves universally when it locks a project; the project mfci writes declares the
target archs as its `environments` (nothing else is resolved) and as its
`required-environments` (a version without a wheel for one of them is passed over, so
every arch gets the same versions). uv needs some interpreter to lock a project, not the
target's, so the project's requires-python is only a floor and the target python is part
of every environment marker. Which files of the lock an arch installs is what its marker
environment selects (pure logic, here); which wheel of each, `targets.best_wheel`."""

from __future__ import annotations

import json
from collections import Counter

from packaging.markers import Marker
from packaging.utils import canonicalize_name
from packaging.version import Version

from .targets import MACHINES


def _platform(arch: str) -> tuple[str, str, str]:
    """(sys_platform, platform_system, platform_machine) of an arch, as markers spell them."""
    return (("linux", "Linux") if arch.startswith("linux") else ("darwin", "Darwin")) + (MACHINES[arch],)


def environment_marker(arch: str, python: str) -> str:
    """The PEP 508 marker of one target: its platform and python (X.Y or X.Y.Z)."""
    system, _, machine = _platform(arch)
    version = (f"python_full_version == '{python}'" if python.count(".") == 2
               else f"python_version == '{python}'")
    return f"sys_platform == '{system}' and platform_machine == '{machine}' and {version}"


def marker_environment(arch: str, python: str) -> dict[str, str]:
    """The values markers are evaluated with for a target (X.Y means its first release,
    as `uv pip compile --python-version X.Y` takes it)."""
    system, platform_system, machine = _platform(arch)
    full = python if python.count(".") == 2 else f"{python}.0"
    return {"sys_platform": system, "platform_system": platform_system, "platform_machine": machine,
            "os_name": "posix", "python_version": ".".join(full.split(".")[:2]), "python_full_version": full,
            "implementation_name": "cpython", "implementation_version": full,
            "platform_python_implementation": "CPython", "platform_release": "", "platform_version": "",
            "extra": ""}


def for_arch(lock: dict, arch: str, python: str) -> list[dict]:
    """The packages of a universal pylock.toml that the target installs."""
    environment = marker_environment(arch, python)
    return [entry for entry in lock.get("packages", [])
            if "marker" not in entry or Marker(entry["marker"]).evaluate(environment)]


def split_versions(lock: dict, specs: dict) -> dict[str, dict[str, str]]:
    """The packages the lock gives different versions on different archs: name -> {arch: version}."""
    versions: dict[str, dict[str, str]] = {}
    for arch, spec in specs.items():
        for entry in for_arch(lock, arch, spec.python):
            versions.setdefault(canonicalize_name(entry["name"]), {})[arch] = str(entry.get("version", ""))
    return {name: by_arch for name, by_arch in versions.items() if len(set(by_arch.values())) > 1}


def shared_pins(split: dict[str, dict[str, str]]) -> list[str]:
    """Constraints that ask every arch for the version the oldest-served arch got."""
    return [f"{name}=={min(by_arch.values(), key=Version)}" for name, by_arch in sorted(split.items())]


def apart(split: dict[str, dict[str, str]]) -> dict[str, str]:
    """arch -> why its versions are not the others' (the version most archs have, the newest
    on a tie, is the shared one)."""
    notes: dict[str, list[str]] = {}
    for name, by_arch in sorted(split.items()):
        counts = Counter(by_arch.values())
        shared = max(counts, key=lambda version: (counts[version], Version(version)))
        for arch, version in sorted(by_arch.items()):
            if version != shared:
                notes.setdefault(arch, []).append(f"{name} {version} (other archs: {shared})")
    return {arch: "no version for every arch: " + ", ".join(items) for arch, items in notes.items()}


def project(requirements: list[str], python: str = "", archs: list[str] = (), floor: str = "",
            constraints: list[str] = (), sources=(), named_indexes=()) -> str:
    """A pyproject.toml of the requirements and their [tool.uv.sources] (what `uv pip
    compile` reads); with archs, the project uv locks: for exactly those targets, wheels
    only. `floor`: a python uv may lock with (any interpreter it finds at least that new)."""
    lines = ["[project]", 'name = "mfci-environment"', 'version = "0"',
             f"dependencies = {json.dumps(requirements)}"]
    if archs:
        markers = json.dumps([environment_marker(arch, python) for arch in archs])
        lines += [f'requires-python = ">={floor}"', "", "[tool.uv]", "package = false", "no-build = true",
                  f"environments = {markers}", f"required-environments = {markers}"]
        if constraints:
            lines.append(f"constraint-dependencies = {json.dumps(constraints)}")
    if sources:
        lines += ["", "[tool.uv.sources]"]
        lines += [f"{json.dumps(name)} = {{ index = {json.dumps(index)} }}" for name, index in sources]
    for name, url in named_indexes:
        lines += ["", "[[tool.uv.index]]", f"name = {json.dumps(name)}", f"url = {json.dumps(url)}",
                  "explicit = true"]
    return "\n".join(lines) + "\n"
