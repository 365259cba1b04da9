"""Every package file fetched once, sha256-verified, stored create-only.

Files already in the store cost one existence check and no download. Verified files
are also kept in the local package cache, so creating an environment on the machine
that warmed it downloads nothing.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Callable

from . import faults
from .errors import WorkError
from .io.files import digests_of, sha256_of
from .io.http import Downloader
from .layout import Layout
from .record import Converted, PackageFile
from .store import ObjectMissing, Store

LONG_TRANSFER_BYTES = 32 << 20  # files this large get a line when they start and end


class IntegrityError(WorkError):
    """A file's bytes do not match the sha256 its record promises."""


def verify(path: Path, package: PackageFile, origin: str) -> None:
    sha256, md5 = digests_of(path)
    for name, actual, expected in (("sha256", sha256, package.sha256), ("md5", md5, package.md5)):
        if expected and actual != expected:
            raise IntegrityError(
                f"{package.filename} from {origin}: {name} {actual[:16]}… does not match the "
                f"expected {expected[:16]}…"
            )


class LocalPackages:
    """Verified package files on this machine, by sha256 (content-addressed)."""

    def __init__(self, folder: Path):
        self.folder = folder

    def path(self, package: PackageFile) -> Path:
        return self.folder / package.sha256[:2] / package.sha256 / package.filename

    def get(self, package: PackageFile) -> Path | None:
        """The cached file, re-verified on every read; a corrupt copy is dropped."""
        path = self.path(package)
        if not path.is_file():
            return None
        if sha256_of(path) != package.sha256:
            path.unlink(missing_ok=True)
            return None
        return path

    def adopt(self, staged: Path, package: PackageFile) -> Path:
        target = self.path(package)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staged, target)
        except OSError as error:
            raise WorkError(f"cannot keep {package.filename} in the local cache {self.folder}: "
                            f"{error.strerror or error}") from None
        return target

    @contextlib.contextmanager
    def staging(self):
        """A fresh file in the cache folder for a download in progress, removed unless adopted."""
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            handle, name = tempfile.mkstemp(dir=self.folder, prefix=".part-")
            os.close(handle)
        except OSError as error:
            raise WorkError(f"cannot write to the local cache {self.folder}: {error.strerror or error}") from None
        staged = Path(name)
        try:
            yield staged
        finally:
            staged.unlink(missing_ok=True)


def convert_archive(source: Path, folder: Path, fmt: str) -> Path:
    """.tar.bz2 <-> .conda with conda-package-streaming: it streams both directions without
    unpacking to disk, and is the library conda-package-handling itself is built on."""
    from conda_package_streaming.transmute import transmute, transmute_tar_bz2

    if fmt == ".conda":
        return Path(transmute(str(source), folder))
    return Path(transmute_tar_bz2(str(source), folder))


class PackageCache:
    def __init__(self, store: Store, layout: Layout, local: LocalPackages, downloader: Downloader,
                 note: Callable[[str], None] | None = None):
        self.store = store
        self.layout = layout
        self.local = local
        self.downloader = downloader
        self.note = note  # progress lines for long transfers
        self._guard = threading.Lock()
        self._inflight: dict[str, threading.Lock] = {}

    def store_one(self, package: PackageFile) -> bool:
        """Make sure the store holds the package. True when this call uploaded it."""
        key = self.layout.package(package.key)
        with self._guard:
            key_lock = self._inflight.setdefault(key, threading.Lock())
        with key_lock:  # environments resolved in parallel share files: fetch each once
            return self._store_one(key, package)

    def _store_one(self, key: str, package: PackageFile) -> bool:
        if self.store.exists(key):
            return False
        path = self.local.get(package)
        if path is None:
            with self.local.staging() as staged:
                self.downloader.fetch(package.url, staged, package.size, package.filename)
                verify(staged, package, package.url)
                path = self.local.adopt(staged, package)
        with self._long_transfer("uploading", package.filename, path):
            created = self.store.create_from_file(key, path)
        faults.checkpoint("package-stored")
        return created

    @contextlib.contextmanager
    def _long_transfer(self, verb: str, name: str, path: Path, size: int | None = None):
        size = size if size is not None else (path.stat().st_size if path.exists() else 0)
        if self.note is None or size < LONG_TRANSFER_BYTES:
            yield
            return
        started = time.monotonic()
        self.note(f"{verb} {name} ({size / (1 << 20):.0f} MB) {'to' if verb == 'uploading' else 'from'} {self.store.url}")
        yield
        seconds = max(time.monotonic() - started, 0.001)
        self.note(f"{verb.replace('ing', 'ed')} {name} in {seconds:.1f}s ({size / (1 << 20) / seconds:.0f} MB/s)")

    def store_all(self, packages: list[PackageFile], jobs: int, preferred_format: str = "none") -> list[PackageFile]:
        """Store every package; returns what an environment's record lists (in the same
        order): each conda package with its archive in the preferred format, when one is set."""
        unique = {package.key: package for package in packages}

        def one(package: PackageFile) -> PackageFile:
            self.store_one(package)
            if package.kind == "conda" and preferred_format != "none" and not package.filename.endswith(preferred_format):
                return self.converted(package, preferred_format)
            return package

        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            stored = dict(zip(unique, pool.map(one, unique.values())))
        return [stored[package.key] for package in packages]

    def converted(self, package: PackageFile, fmt: str) -> PackageFile:
        """The package with its archive in the other conda format, stored beside the original.

        Conversion is not byte-reproducible, so the converted archive is content-addressed
        (its sha256 is in its key) and recorded beside the channel's file, which alone makes
        the environment id; an existing conversion is reused."""
        prefix = self.layout.package(f"{package.key}.converted")
        existing = next((key for key in self.store.list(prefix) if key.endswith(fmt)), None)
        if existing:
            sha256, name = existing.split("/")[-2:]
            key = existing.removeprefix(self.layout.packages + "/")
            return replace(package, converted=Converted(name, sha256, None, key))
        source = self.fetch(package)
        with tempfile.TemporaryDirectory(prefix="mfci-convert-") as scratch:
            output = convert_archive(source, Path(scratch), fmt)
            sha256 = sha256_of(output)
            converted = Converted(output.name, sha256, output.stat().st_size,
                                  f"{package.key}.converted/{sha256}/{output.name}")
            with self.local.staging() as staged:
                shutil.copyfile(output, staged)
                path = self.local.adopt(staged, replace(package, converted=converted).installed())
        self.store.create_from_file(self.layout.package(converted.key), path)
        return replace(package, converted=converted)

    def fetch(self, package: PackageFile) -> Path:
        """A verified local copy of a package: from the local cache, else from the store; a
        missing or corrupted store object is fetched again from its source URL when that is
        reachable, and never installed."""
        path = self.local.get(package)
        if path is not None:
            return path
        with self.local.staging() as staged:
            try:
                with self._long_transfer("downloading", package.filename, staged, package.size or 0):
                    self.store.download(self.layout.package(package.key), staged)
                verify(staged, package, self.store.url)
            except (ObjectMissing, IntegrityError) as problem:
                broken = (f"{package.filename} is missing from the store {self.store.url}"
                          if isinstance(problem, ObjectMissing) else str(problem))
                try:  # one quick try: a worker may well have no internet
                    self.downloader.fetch(package.url, staged, package.size, package.filename)
                    verify(staged, package, package.url)
                except WorkError:
                    raise WorkError(f"{broken}, and its source {package.url} cannot replace it; "
                                    "run `mfci warm` again (and `mfci verify`)") from None
            return self.local.adopt(staged, package)
