"""A store whose every read is logged (METAFLOW_DEBUG_CONDA=1 at run time): what support
needs to see — which pointer, record or package was read, and whether it was there."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterator

from .base import Entry, ObjectMissing, Store, Versioned


def traced(store: Store, trace: Callable[[str], None] | None) -> Store:
    return TracedStore(store, trace) if trace else store


class TracedStore(Store):
    def __init__(self, store: Store, trace: Callable[[str], None]):
        self.store, self.trace, self.url = store, trace, store.url

    def read(self, key: str) -> bytes:
        try:
            data = self.store.read(key)
        except ObjectMissing:
            self.trace(f"read {key}: missing")
            raise
        self.trace(f"read {key}: {len(data)} bytes")
        return data

    def read_versioned(self, key: str) -> Versioned | None:
        found = self.store.read_versioned(key)
        self.trace(f"read {key}: {f'{len(found.data)} bytes' if found else 'missing'}")
        return found

    def exists(self, key: str) -> bool:
        found = self.store.exists(key)
        self.trace(f"exists {key}: {found}")
        return found

    def download(self, key: str, destination: Path) -> None:
        self.trace(f"download {key}")
        self.store.download(key, destination)

    def create(self, key: str, data: bytes) -> bool:
        return self.store.create(key, data)

    def create_from_file(self, key: str, path: Path) -> bool:
        return self.store.create_from_file(key, path)

    def replace(self, key: str, data: bytes, version: str | None) -> None:
        self.store.replace(key, data, version)

    def entries(self, prefix: str) -> Iterator[Entry]:
        return self.store.entries(prefix)

    def delete(self, key: str) -> None:
        self.store.delete(key)

    def object_url(self, key: str) -> str:
        return self.store.object_url(key)

    def ensure_writable(self) -> None:
        self.store.ensure_writable()
