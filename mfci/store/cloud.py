"""What the three object-store backends share: root parsing, key naming, the store
semantics on top of a few SDK primitives, and turning SDK errors into one line.

Each backend (s3.py, gcs.py, azure.py) supplies the primitives and says how to read
its SDK's errors; retries with exponential backoff and jitter on throttling, 5xx and
dropped connections are configured in each SDK (all bounded by the constants below),
so what reaches this module is either an answer or a final failure.

Backends import their SDK lazily: the remote bootstrap imports this package on a worker
that has only its image's SDKs.
"""

from __future__ import annotations

import enum
from abc import abstractmethod
from dataclasses import replace
from pathlib import Path
from typing import Callable, Iterator, TypeVar
from urllib.parse import urlsplit

from ..errors import UsageError, WorkError
from ..urls import safe_relative_path
from .base import Entry, ObjectMissing, Store, StoreSettings, VersionConflict, Versioned

# Tries per request (the first included) and the longest wait between two. With the
# per-request timeout (StoreSettings.timeout) this bounds every store call: a hung
# endpoint costs at most about ATTEMPTS × timeout + the backoff.
ATTEMPTS = 4
BACKOFF_MAX_SECONDS = 10
# Parallel parts of one large transfer; files are also transferred in parallel by callers.
TRANSFER_THREADS = 8
MULTIPART_THRESHOLD = 8 << 20
# Every connection pool must hold the callers' threads times each transfer's parts.
POOL_SIZE = 64

T = TypeVar("T")


class Failure(enum.Enum):
    MISSING = "missing"        # no such object
    CONFLICT = "conflict"      # a create-only or compare-and-swap precondition failed
    NO_BUCKET = "no bucket"    # the bucket or container does not exist
    DENIED = "denied"          # missing, wrong or insufficient credentials
    FORBIDDEN = "forbidden"    # S3's 403 for a key the caller may not list: missing, on a read
    FAILED = "failed"          # anything else the SDK reports, after its retries


# Operations whose 403 may mean "no such key" (S3 without s3:ListBucket).
READS = ("read", "check", "download")


class Absent:
    """The version of an object that must not exist yet (create-only writes)."""


ABSENT = Absent()


def missing_sdk(url: str, modules: str, extra: str) -> UsageError:
    return UsageError(f"store root {url} needs {modules}: pip install 'mfci[{extra}]'")


class CloudStore(Store):
    scheme: str
    container_word = "bucket"

    def __init__(self, url: str, settings: StoreSettings):
        self.settings = settings
        parts = urlsplit(url)
        if not parts.netloc:
            raise UsageError(f"store root {url}: expected {self.scheme}://{self.container_word}/prefix")
        self.bucket = parts.netloc
        self.prefix = parts.path.strip("/")
        if self.prefix:
            safe_relative_path(self.prefix)
        self.url = f"{self.scheme}://{self.bucket}" + (f"/{self.prefix}" if self.prefix else "")

    # --- what each backend supplies -------------------------------------------------

    @abstractmethod
    def _get(self, name: str) -> Versioned: ...

    @abstractmethod
    def _head(self, name: str) -> bool: ...

    @abstractmethod
    def _put(self, name: str, data: bytes, version: str | Absent) -> None:
        """Write if the object's version is `version` (ABSENT: only if it does not exist)."""

    @abstractmethod
    def _upload(self, name: str, path: Path) -> None:
        """Create-only upload of a file, in parallel parts when large."""

    @abstractmethod
    def _download(self, name: str, destination: Path) -> None: ...

    @abstractmethod
    def _entries(self, prefix: str) -> Iterator[Entry]:
        """The objects whose full names start with prefix (keys are full names here)."""

    @abstractmethod
    def _remove(self, name: str) -> None: ...

    @abstractmethod
    def _failure(self, error: Exception) -> Failure | None:
        """How to read an SDK error; None for an exception that is not the SDK's."""

    @abstractmethod
    def _create_hint(self) -> str:
        """How to create the missing bucket or container (the seed's setup step)."""

    # --- the Store interface ----------------------------------------------------------

    def _name(self, key: str) -> str:
        key = safe_relative_path(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def _call(self, what: str, key: str, action: Callable[[], T]) -> T:
        """Run one SDK action; its final failure becomes ObjectMissing, VersionConflict
        or one line naming the object."""
        try:
            return action()
        except Exception as error:
            failure = self._failure(error)
            if failure is None:
                raise
            if failure is Failure.MISSING or (failure is Failure.FORBIDDEN and what in READS):
                raise ObjectMissing(key) from None
            if failure is Failure.CONFLICT:
                raise VersionConflict(key) from None
            if failure is Failure.NO_BUCKET:
                raise self._no_bucket() from None
            detail = " ".join(str(error).split())[:300]
            if failure in (Failure.DENIED, Failure.FORBIDDEN):
                raise UsageError(f"cannot {what} {self.url}/{key}: access denied, check the credentials "
                                 f"({detail})") from None
            raise WorkError(f"cannot {what} {self.url}/{key}: {detail}") from None

    def _no_bucket(self) -> UsageError:
        return UsageError(f"{self.container_word} {self.bucket!r} of store root {self.url} does not exist; "
                          f"mfci never creates it: {self._create_hint()}")

    def read(self, key: str) -> bytes:
        return self._call("read", key, lambda: self._get(self._name(key))).data

    def read_versioned(self, key: str) -> Versioned | None:
        try:
            return self._call("read", key, lambda: self._get(self._name(key)))
        except ObjectMissing:
            return None

    def exists(self, key: str) -> bool:
        try:
            return self._call("check", key, lambda: self._head(self._name(key)))
        except ObjectMissing:
            return False

    def create(self, key: str, data: bytes) -> bool:
        try:
            self._call("write", key, lambda: self._put(self._name(key), data, ABSENT))
            return True
        except VersionConflict:
            return False

    def create_from_file(self, key: str, path: Path) -> bool:
        try:
            self._call("upload", key, lambda: self._upload(self._name(key), path))
            return True
        except VersionConflict:
            return False

    def replace(self, key: str, data: bytes, version: str | None) -> None:
        expected = ABSENT if version is None else version
        try:
            self._call("write", key, lambda: self._put(self._name(key), data, expected))
        except ObjectMissing:
            raise VersionConflict(key) from None  # deleted since it was read: it changed

    def download(self, key: str, destination: Path) -> None:
        self._call("download", key, lambda: self._download(self._name(key), destination))

    def entries(self, prefix: str) -> Iterator[Entry]:
        start = self._name(prefix) + "/" if prefix else (f"{self.prefix}/" if self.prefix else "")
        try:
            found = self._call("list", prefix, lambda: list(self._entries(start)))
        except ObjectMissing:  # listing answers "not found" only for the bucket itself
            raise self._no_bucket() from None
        cut = len(self.prefix) + 1 if self.prefix else 0
        yield from sorted((replace(entry, key=entry.key[cut:]) for entry in found), key=lambda entry: entry.key)

    def delete(self, key: str) -> None:
        try:
            self._call("delete", key, lambda: self._remove(self._name(key)))
        except ObjectMissing:
            pass  # already gone: what was asked
