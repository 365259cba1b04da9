"""A uv project (`pyproject.toml` + `uv.lock`), as Metaflow's `--environment=uv` ships it:
found from a folder upwards, each file on its own, the way Metaflow finds them; the lock
read with tomllib; the packages `uv sync --frozen --no-dev` would install for one target
(arch, python), chosen by the lock's own markers.

The key of a uv environment is the lock's content (its parsed data, so line endings and
formatting do not count) plus the arch: a changed lock is a new environment, an unchanged
one the same."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import tomllib
from packaging.markers import InvalidMarker, Marker
from packaging.utils import canonicalize_name

from .errors import WorkError
from .io.process import run, uv_binary

FILES = ("pyproject.toml", "uv.lock")
# Metaflow's bootstrap leaves it out (`--no-install-package metaflow`): the code package carries it.
NOT_INSTALLED = ("metaflow",)


@dataclass(frozen=True)
class UvProject:
    pyproject: str   # absolute paths
    lock: str

    def to_json(self) -> dict:
        return {"pyproject": self.pyproject, "lock": self.lock}

    @classmethod
    def from_json(cls, data) -> "UvProject | None":
        if not isinstance(data, dict) or not all(isinstance(data.get(k), str) for k in ("pyproject", "lock")):
            return None
        return cls(data["pyproject"], data["lock"])


def find_project(folder: Path) -> UvProject | None:
    """The nearest pyproject.toml and the nearest uv.lock at or above `folder`, or None
    when either is missing (Metaflow's UVEnvironment looks from its working folder so)."""
    found = []
    for name in FILES:
        path = next((f / name for f in (folder.absolute(), *folder.absolute().parents) if (f / name).is_file()), None)
        if path is None:
            return None
        found.append(str(path))
    return UvProject(*found)


@dataclass(frozen=True)
class Wanted:
    """One locked package a target installs."""

    name: str
    version: str
    source: dict
    wheels: tuple[dict, ...]   # {url, hash, size} as the lock gives them


@dataclass(frozen=True)
class UvLock:
    path: str
    digest: str                      # sha256 of the lock's parsed content
    requires_python: str
    packages: tuple[dict, ...] = field(repr=False, compare=False)

    def select(self, environment: dict) -> list[Wanted]:
        """What `uv sync --frozen --no-dev` installs where the markers see `environment`
        (packaging's marker variables): the project's dependencies, followed through the
        lock with their extras, minus the project itself and Metaflow."""
        roots = [p for p in self.packages if p.get("source", {}).get("virtual") == "."
                 or p.get("source", {}).get("editable") == "."]
        if not roots:
            raise WorkError(f"{self.path}: no project at '.' in the lock (a workspace without a root project?)")
        chosen: dict[tuple, set[str]] = {}
        queue = [(roots[0], frozenset())]
        while queue:
            package, extras = queue.pop()
            dependencies = list(package.get("dependencies", []))
            for extra in sorted(extras):
                dependencies += package.get("optional-dependencies", {}).get(extra, [])
            for dependency in dependencies:
                if not self._applies(dependency.get("marker"), environment):
                    continue
                target = self._locked(dependency, environment)
                key = _identity(target)
                wanted = set(dependency.get("extra", []))
                if key in chosen and wanted <= chosen[key]:
                    continue
                chosen[key] = chosen.get(key, set()) | wanted
                queue.append((target, frozenset(chosen[key])))
        by_key = {_identity(p): p for p in self.packages}
        return [Wanted(p["name"], str(p.get("version", "")), p.get("source", {}), tuple(p.get("wheels", [])))
                for p in (by_key[key] for key in sorted(chosen))
                if p not in roots and canonicalize_name(p["name"]) not in NOT_INSTALLED]

    def _applies(self, marker: str | None, environment: dict) -> bool:
        if not marker:
            return True
        try:
            return Marker(marker).evaluate({**environment, "extra": ""})
        except InvalidMarker as error:
            raise WorkError(f"{self.path}: marker {marker!r}: {error}") from None

    def _locked(self, dependency: dict, environment: dict) -> dict:
        """The lock's entry a dependency means: by name, and by version and source when
        the lock forked (several entries of one name), then by the fork's markers."""
        name = canonicalize_name(dependency["name"])
        candidates = [p for p in self.packages if canonicalize_name(p["name"]) == name
                      and dependency.get("version") in (None, p.get("version"))
                      and dependency.get("source") in (None, p.get("source"))]
        if len(candidates) > 1:
            candidates = [p for p in candidates
                          if any(self._applies(m, environment) for m in p.get("resolution-markers", [""]))]
        if not candidates:
            raise WorkError(f"{self.path}: {dependency['name']} is a dependency but no package of the lock matches it")
        return candidates[0]


def _identity(package: dict) -> tuple:
    return package["name"], str(package.get("version", "")), json.dumps(package.get("source", {}), sort_keys=True)


@lru_cache(maxsize=64)
def _read(path: str, mtime_ns: int, size: int) -> UvLock:
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise WorkError(f"{path}: cannot read the lock: {error}") from None
    packages = data.get("package", [])
    if not isinstance(packages, list) or not all(isinstance(p, dict) and isinstance(p.get("name"), str)
                                                 for p in packages):
        raise WorkError(f"{path}: not a uv lock (no [[package]] tables with names)")
    digest = hashlib.sha256(json.dumps(data, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    return UvLock(path, digest, str(data.get("requires-python", "")), tuple(packages))


def read_lock(path: str) -> UvLock:
    """The lock at `path`, parsed once per version of the file."""
    try:
        stat = Path(path).stat()
    except OSError as error:
        raise WorkError(f"{path}: cannot read the lock: {error.strerror}") from None
    return _read(path, stat.st_mtime_ns, stat.st_size)


def project_python(project: UvProject) -> str | None:
    """The python the project asks for: its `.python-version` (as uv reads it, beside the
    pyproject), else the lock's requires-python range; None when it says nothing."""
    pinned = Path(project.pyproject).parent / ".python-version"
    if pinned.is_file():
        lines = [line.strip() for line in pinned.read_text(encoding="utf-8").splitlines()
                 if line.strip() and not line.startswith("#")]
        if lines:
            return lines[0]
    return read_lock(project.lock).requires_python or None


def project_request(request: dict, project: UvProject) -> dict:
    """A step's uv request (the extension's step_request.uv_request) for the project."""
    return {**request, "uv_project": project.to_json(), "python": project_python(project)}


def stale_lock(project: UvProject, environment: dict, timeout: float) -> str | None:
    """uv's own answer when the lock is out of date with its pyproject (`uv lock --check`),
    else None."""
    done = run([uv_binary(), "lock", "--check", "--quiet", "--project", str(Path(project.pyproject).parent)],
               timeout=timeout, what=f"checking {project.lock}", env=environment)
    return None if done.ok else f"{project.pyproject}: {done.error_text()}"
