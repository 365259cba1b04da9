"""Every package file fetched once, sha256-verified, stored create-only.

Files already in the store cost one existence check and no download. Verified files
are also kept in the local package cache, so creating an environment on the machine
that warmed it downloads nothing.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import netrc
import os
import shutil
import tempfile
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Callable
from urllib.parse import urlsplit

from .errors import WorkError
from .faults import checkpoint
from .layout import Layout
from .record import PackageFile
from .store import ObjectMissing, Store

ATTEMPTS = 4
CHUNK = 1 << 20


class IntegrityError(WorkError):
    """A file's bytes do not match the sha256 its record promises."""


def digests_of(path: Path) -> tuple[str, str]:
    """(sha256, md5) of a file, read once."""
    sha256, md5 = hashlib.sha256(), hashlib.md5()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            sha256.update(chunk)
            md5.update(chunk)
    return sha256.hexdigest(), md5.hexdigest()


def sha256_of(path: Path) -> str:
    return digests_of(path)[0]


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
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staged, target)
        return target

    def staging(self) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(dir=self.folder, prefix=".part-")
        os.close(handle)
        return Path(name)


def convert_archive(source: Path, folder: Path, fmt: str) -> Path:
    """.tar.bz2 <-> .conda with conda-package-streaming: it streams both directions without
    unpacking to disk, and is the library conda-package-handling itself is built on."""
    from conda_package_streaming.transmute import transmute, transmute_tar_bz2

    if fmt == ".conda":
        return Path(transmute(str(source), folder))
    return Path(transmute_tar_bz2(str(source), folder))


def _credentials_for(url: str, index_url: str | None) -> str | None:
    """Basic auth for a download: the configured index's credentials for its host, else netrc."""
    host = urlsplit(url).hostname
    if index_url:
        index = urlsplit(index_url)
        if index.username and index.hostname == host:
            return f"{index.username}:{index.password or ''}"
    try:
        entry = netrc.netrc().authenticators(host) if host else None
    except (OSError, netrc.NetrcParseError):
        entry = None
    return f"{entry[0]}:{entry[2]}" if entry else None


def download(url: str, destination: Path, index_url: str | None = None, attempts: int = ATTEMPTS,
             timeout: float = 60) -> None:
    """GET a URL to a file, retrying transient failures with backoff."""
    request = urllib.request.Request(url, headers={"User-Agent": "mfci"})
    credentials = _credentials_for(url, index_url)
    if credentials:
        token = base64.b64encode(credentials.encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    for attempt in range(attempts):
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response, open(destination, "wb") as out:
                shutil.copyfileobj(response, out, CHUNK)
            return
        except (OSError, urllib.error.URLError) as error:
            status = getattr(error, "code", None)
            if (status is not None and status < 500 and status != 429) or attempt == attempts - 1:
                raise WorkError(f"cannot download {url}: {error}") from None
            time.sleep(0.5 * 2**attempt)


LONG_TRANSFER_BYTES = 32 << 20  # files this large get a line when they start and end


class PackageCache:
    def __init__(self, store: Store, layout: Layout, local: LocalPackages, index_url: str | None = None,
                 note: Callable[[str], None] | None = None):
        self.store = store
        self.layout = layout
        self.local = local
        self.index_url = index_url
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
            staged = self.local.staging()
            try:
                download(package.url, staged, self.index_url)
                verify(staged, package, package.url)
                path = self.local.adopt(staged, package)
            finally:
                staged.unlink(missing_ok=True)
        with self._long_transfer("uploading", package.filename, path):
            created = self.store.create_from_file(key, path)
        checkpoint("package-stored")
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
        """Store every package; returns what an environment installs (in the same order):
        each conda package in the preferred archive format when one is set."""
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
        """The package in the other conda archive format, stored beside the original.

        Converted objects are content-addressed (their sha256 is in the key), so warms on
        different machines never overwrite each other's conversion; an existing one is reused."""
        prefix = self.layout.package(f"{package.key}.converted")
        existing = next((key for key in self.store.list(prefix) if key.endswith(fmt)), None)
        if existing:
            sha256, name = existing.split("/")[-2:]
            return replace(package, filename=name, sha256=sha256, size=None, md5=None,
                           key=existing.removeprefix(self.layout.packages + "/"))
        source = self.fetch(package)
        with tempfile.TemporaryDirectory(prefix="mfci-convert-") as scratch:
            output = convert_archive(source, Path(scratch), fmt)
            sha256 = sha256_of(output)
            result = replace(package, filename=output.name, sha256=sha256, size=output.stat().st_size, md5=None,
                             key=f"{package.key}.converted/{sha256}/{output.name}")
            staged = self.local.staging()
            shutil.copyfile(output, staged)
        path = self.local.adopt(staged, result)
        self.store.create_from_file(self.layout.package(result.key), path)
        return result

    def fetch(self, package: PackageFile) -> Path:
        """A verified local copy of a package: from the local cache, else from the store; a
        missing or corrupted store object is fetched again from its source URL when that is
        reachable, and never installed."""
        path = self.local.get(package)
        if path is not None:
            return path
        staged = self.local.staging()
        try:
            try:
                with self._long_transfer("downloading", package.filename, staged, package.size or 0):
                    self.store.download(self.layout.package(package.key), staged)
                verify(staged, package, self.store.url)
            except (ObjectMissing, IntegrityError) as problem:
                broken = (f"{package.filename} is missing from the store {self.store.url}"
                          if isinstance(problem, ObjectMissing) else str(problem))
                try:  # one quick try: a worker may well have no internet
                    download(package.url, staged, self.index_url, attempts=1, timeout=15)
                    verify(staged, package, package.url)
                except WorkError:
                    raise WorkError(f"{broken}, and its source {package.url} cannot replace it; "
                                    "run `mfci warm` again (and `mfci verify`)") from None
            return self.local.adopt(staged, package)
        finally:
            staged.unlink(missing_ok=True)
