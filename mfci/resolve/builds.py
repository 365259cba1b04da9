"""Wheels built from source distributions: once, for every machine that shares the store.

A requirement published as source only is built on the machine that resolves it, for the
target's python, with `uv build`. The wheel goes to the store under its content address,
then a small pointer naming it (create-only), keyed by the source distribution's sha256,
the python (`cp311`) and this machine's platform tag: the next warm, on this machine or a
fresh one with the same store, reuses it instead of building again. What a build is for:
this machine's platform only; whether its wheel serves another arch (a pure-Python one
serves all) is the resolver's to decide.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import Callable

from ..io.files import sha256_of
from ..io.http import Downloader
from ..io.process import run, uv_binary
from ..objects import BuiltWheel, read_object
from ..record import PackageFile
from ..secrets import scrub
from ..urls import filename, package_key
from .base import ResolutionFailed
from .targets import current_platform_tags


class SourceBuilds:
    def __init__(self, settings, store, layout, local, downloader: Downloader,
                 note: Callable[[str], None] | None = None, publish: bool = True):
        """`publish=False`: a wheel built here stays on this machine (`mfci diff` of a pull
        request writes nothing where runs and warms read)."""
        self.settings = settings        # ResolverSettings: the tools' environment, indexes, timeout
        self.store = store
        self.layout = layout
        self.local = local              # LocalPackages: the built wheel is kept here too
        self.downloader = downloader
        self.note = note or (lambda line: None)
        self.publish = publish
        # A native build needs this machine's libc: the platform names its version where
        # there is one (manylinux_2_36_x86_64, macosx_14_0_arm64).
        tags = current_platform_tags()
        self.platform = next((tag for tag in tags if tag.startswith("manylinux_")), tags[0])
        self._guard = threading.Lock()
        self._keys: dict[str, threading.Lock] = {}
        self._built: dict[str, PackageFile] = {}

    def wheel(self, name: str, version: str, sdist: dict, python: str, environment: dict) -> PackageFile:
        """The wheel of this source distribution for this python on this machine's
        platform: from this run, else from the store, else built now (and stored).
        `environment`: uv's, with the indexes its build backend comes from."""
        digest = sdist["hashes"]["sha256"]
        major, minor = python.split(".")[:2]
        tag = f"cp{major}{minor}"
        key = self.layout.build(digest, tag, self.platform)
        with self._guard:
            key_lock = self._keys.setdefault(key, threading.Lock())
        with key_lock:   # environments resolved in parallel that need the same build wait for it
            if key not in self._built:
                published = read_object(self.store, key, BuiltWheel.from_json)
                if published is None:
                    published = self._build(name, version, sdist, python, tag, key, environment)
                self._built[key] = published.package
            return self._built[key]

    def _build(self, name: str, version: str, sdist: dict, python: str, tag: str, key: str,
               environment: dict) -> BuiltWheel:
        digest = sdist["hashes"]["sha256"]
        what = f"{name} {version}"
        with tempfile.TemporaryDirectory(prefix="mfci-build-") as scratch:
            archive = Path(scratch, filename(sdist["url"]))
            self.downloader.fetch(sdist["url"], archive, sdist.get("size"), archive.name)
            if sha256_of(archive) != digest:
                raise ResolutionFailed(f"{archive.name}: sha256 does not match the index")
            self.note(f"building {what} from source for python {python} (it has no wheel)…")
            started = time.monotonic()
            out = Path(scratch, "out")
            built = run([uv_binary(), "build", "--wheel", "--no-config", "--quiet", "--python", python,
                         "--out-dir", str(out), str(archive)],
                        timeout=self.settings.tool_timeout, what=f"building {what} from source",
                        env=environment, cwd=scratch)
            wheel = next(out.glob("*.whl"), None) if out.is_dir() else None
            if not built.ok or wheel is None:
                raise ResolutionFailed(f"{what} has only a source distribution and building it for python "
                                       f"{python} failed: {built.error_text()}")
            self.note(f"built {wheel.name} in {time.monotonic() - started:.0f}s")
            sha256 = sha256_of(wheel)
            package = PackageFile(
                name=name, version=version, kind="pypi", url=scrub(sdist["url"]), filename=wheel.name,
                sha256=sha256, size=wheel.stat().st_size,
                key=f"{package_key('pypi', sdist['url'])}.built/{sha256}/{wheel.name}",
            )
            with self.local.staging() as staged:
                shutil.copyfile(wheel, staged)
                path = self.local.adopt(staged, package)
        built_wheel = BuiltWheel(digest, tag, self.platform, package)
        if not self.publish:
            return built_wheel
        # The wheel before the pointer to it, so that no reader meets a pointer to nothing.
        self.store.create_from_file(self.layout.package(package.key), path)
        if self.store.create(key, json.dumps(built_wheel.to_json(), indent=1, sort_keys=True).encode()):
            return built_wheel
        # Another machine built it meanwhile: theirs is the one every environment names.
        return read_object(self.store, key, BuiltWheel.from_json) or built_wheel
