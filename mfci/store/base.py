"""The one interface every store backend implements.

Immutable objects (package files, environment records) are written create-only;
objects updated in place (pointers, manifests) by compare-and-swap on a version
token. Listing and deleting exist for `show` and maintenance (`verify`, `gc`) only: the
lookup path never lists, and nothing but `gc` deletes.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Iterator


@dataclass(frozen=True)
class StoreSettings:
    """What the cloud backends need from the settings (read once by the entry point)."""

    timeout: float = 20                     # per request: to connect, and per read of the answer
    s3_endpoint: str | None = None          # METAFLOW_S3_ENDPOINT_URL
    azure_endpoint: str | None = None       # METAFLOW_AZURE_STORAGE_BLOB_SERVICE_ENDPOINT
    azure_connection_string: str | None = None

    @classmethod
    def of(cls, settings) -> "StoreSettings":
        return cls(settings["CONDA_MFCI_STORE_TIMEOUT"], settings["S3_ENDPOINT_URL"],
                   settings["AZURE_STORAGE_BLOB_SERVICE_ENDPOINT"],
                   settings.environ.get("AZURE_STORAGE_CONNECTION_STRING"))


class ObjectMissing(Exception):
    """The key does not exist."""


class VersionConflict(Exception):
    """A compare-and-swap lost: someone else wrote the key first."""


@dataclass(frozen=True)
class Versioned:
    data: bytes
    version: str


@dataclass(frozen=True)
class Entry:
    """A listed object: its key, size in bytes and last modification (UTC)."""

    key: str
    size: int
    modified: datetime


class Store(ABC):
    """Keys are '/'-separated paths relative to the store root."""

    url: str

    @abstractmethod
    def read(self, key: str) -> bytes:
        """The object's bytes; ObjectMissing when absent."""

    @abstractmethod
    def read_versioned(self, key: str) -> Versioned | None:
        """The object and its version token, or None when absent."""

    @abstractmethod
    def exists(self, key: str) -> bool: ...

    @abstractmethod
    def create(self, key: str, data: bytes) -> bool:
        """Write only if absent. False when the key already existed (nothing written)."""

    @abstractmethod
    def create_from_file(self, key: str, path: Path) -> bool:
        """Like create, from a local file (large objects never sit in memory)."""

    @abstractmethod
    def replace(self, key: str, data: bytes, version: str | None) -> None:
        """Write if the current version is `version` (None: the key must be absent).

        VersionConflict otherwise."""

    @abstractmethod
    def download(self, key: str, destination: Path) -> None:
        """Copy the object to a local file; ObjectMissing when absent."""

    @abstractmethod
    def entries(self, prefix: str) -> Iterator[Entry]:
        """The objects under a prefix, sorted by key (for maintenance, never for lookups)."""

    def list(self, prefix: str) -> Iterator[str]:
        """Keys under a prefix (for show and maintenance, never for lookups)."""
        return (entry.key for entry in self.entries(prefix))

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove the object; nothing when it is already gone (only `gc` deletes)."""

    def object_url(self, key: str) -> str:
        """Where the object lives, as a URL the backend's own tools read."""
        return f"{self.url}/{key}"

    def ensure_writable(self) -> None:
        """Before a command that writes: exit 2 when the root cannot be written at all.
        (Cloud stores learn it from their first write, which fails as access denied.)"""
