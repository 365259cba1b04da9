"""The interpreter of a PyPI environment: a relocatable CPython build (python-build-standalone's
`install_only` archive), taken the way uv takes it.

uv's download list names, for each CPython release and platform, one archive and its sha256:
the list built into uv, or the one `UV_PYTHON_DOWNLOADS_JSON_URL` points at. `uv python list`
says which builds exist and the URL uv would download each from (`UV_PYTHON_INSTALL_MIRROR`
applied); the list itself gives the sha256 (`uv python list` does not print it; for the
built-in list mfci reads the copy uv publishes for its own version, kept in the cache folder).
The archive is then stored like any package file, content-addressed by that sha256, so every
environment on the same build shares one copy."""

from __future__ import annotations

import importlib.metadata
import json
import tempfile
import threading
from pathlib import Path
from typing import Mapping

from ..io.files import atomic_write
from ..io.http import Downloader
from ..pythons import KnownPythons
from ..record import SHA256, PackageFile
from ..secrets import scrub
from ..spec import EnvSpec
from ..urls import filename
from .base import ArchResolution, Preferences, ResolutionFailed, Resolver, resolve_archs

# Where uv publishes the list built into each of its versions (the source of its binary's copy).
UV_BUILT_IN_LIST = "https://raw.githubusercontent.com/astral-sh/uv/{version}/crates/uv-python/download-metadata.json"
# Archives stdlib's tarfile unpacks on every python a worker may have (not .tar.zst).
ARCHIVES = (".tar.gz", ".tgz", ".tar.bz2", ".tar.xz")


class Interpreters:
    """The interpreter build an environment gets, per (python, arch); the list's hashes read once."""

    def __init__(self, known: KnownPythons, environment: Mapping[str, str], downloader: Downloader, cache_dir: Path):
        self.known = known
        self.configured = environment.get("UV_PYTHON_DOWNLOADS_JSON_URL") or None
        self.downloader = downloader
        self.cache_dir = cache_dir
        self._hashes: dict[str, str] | None = None
        self._lock = threading.Lock()

    def interpreter(self, python: str, arch: str) -> PackageFile:
        try:
            build = self.known.build(python, arch)
        except LookupError as error:
            raise ResolutionFailed(str(error)) from None
        name = filename(build.url)
        if not name.endswith(ARCHIVES):
            raise ResolutionFailed(f"CPython {build.version} for {arch}: {name} is not an archive mfci unpacks "
                                   f"({', '.join(ARCHIVES)}); point UV_PYTHON_DOWNLOADS_JSON_URL at install_only builds")
        sha256 = self.hashes().get(name)
        if sha256 is None:
            raise ResolutionFailed(f"CPython {build.version} for {arch}: {self.source()} gives no sha256 for {name}")
        return PackageFile("cpython", build.version, "python", scrub(build.url), name, sha256, None,
                           key=f"python/{sha256}/{name}")

    def source(self) -> str:
        return f"UV_PYTHON_DOWNLOADS_JSON_URL {scrub(self.configured)}" if self.configured else "uv's built-in download list"

    def hashes(self) -> dict[str, str]:
        """Archive file name -> sha256, for every build of the list that has one."""
        with self._lock:
            if self._hashes is None:
                try:
                    entries = json.loads(self._list_bytes())
                except ValueError as error:
                    raise ResolutionFailed(f"{self.source()} is not JSON: {error}") from None
                if not isinstance(entries, dict):
                    raise ResolutionFailed(f"{self.source()} is not uv's download list (a JSON object of builds)")
                self._hashes = {filename(entry["url"]): entry["sha256"].lower() for entry in entries.values()
                                if isinstance(entry, dict) and isinstance(entry.get("url"), str)
                                and isinstance(entry.get("sha256"), str) and SHA256.fullmatch(entry["sha256"].lower())}
            return self._hashes

    def _list_bytes(self) -> bytes:
        if self.configured:
            url = self.configured if "://" in self.configured else Path(self.configured).absolute().as_uri()
            return self._download(url)
        version = importlib.metadata.version("uv")
        kept = self.cache_dir / "python-downloads" / f"uv-{version}.json"
        if kept.is_file():
            return kept.read_bytes()
        data = self._download(UV_BUILT_IN_LIST.format(version=version))
        atomic_write(kept, data)  # the list of a uv version never changes
        return data

    def _download(self, url: str) -> bytes:
        with tempfile.TemporaryDirectory(prefix="mfci-pythons-") as scratch:
            path = Path(scratch, "download-metadata.json")
            self.downloader.fetch(url, path, None, "uv's Python download list")
            return path.read_bytes()


class WithInterpreter:
    """A PyPI resolver whose environments also list their interpreter build."""

    def __init__(self, resolver: Resolver, interpreters: Interpreters):
        self.resolver = resolver
        self.interpreters = interpreters
        self.name = resolver.name

    def resolve(self, spec: EnvSpec, arch: str, prefer: Preferences | None = None) -> list[PackageFile]:
        interpreter = self.interpreters.interpreter(spec.python, arch)   # fails fast, before resolving
        return [*self.resolver.resolve(spec, arch, prefer), interpreter]

    def resolve_archs(self, specs: dict[str, EnvSpec]) -> dict[str, ArchResolution]:
        interpreters, answers = {}, {}
        for arch, spec in specs.items():
            try:
                interpreters[arch] = self.interpreters.interpreter(spec.python, arch)
            except ResolutionFailed as error:
                answers[arch] = ArchResolution(error=error)
        rest = {arch: spec for arch, spec in specs.items() if arch in interpreters}
        resolved = resolve_archs(self.resolver, rest) if rest else {}
        return answers | {arch: answer.plus(interpreters[arch]) for arch, answer in resolved.items()}
