"""Fakes for the fast unit layer: an in-memory store (the Store promises, no I/O, counted
calls, a clock for each object's modification) and a resolver that answers given files (recording what it was asked to prefer)."""

from __future__ import annotations

import hashlib
import threading
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

from mfci.store.base import Entry, ObjectMissing, Store, VersionConflict, Versioned
from mfci.urls import safe_relative_path


class MemoryStore(Store):
    url = "memory://store"

    def __init__(self, objects: dict[str, bytes] | None = None):
        self.objects: dict[str, bytes] = dict(objects or {})
        self.modified: dict[str, datetime] = {}   # absent: written now
        self.calls: Counter = Counter()
        self._lock = threading.Lock()

    def put_json(self, key: str, text: str) -> None:
        self.objects[key] = text.encode()

    def read(self, key: str) -> bytes:
        self.calls["read"] += 1
        with self._lock:
            if safe_relative_path(key) not in self.objects:
                raise ObjectMissing(key)
            return self.objects[key]

    def read_versioned(self, key: str) -> Versioned | None:
        try:
            data = self.read(key)
        except ObjectMissing:
            return None
        return Versioned(data, hashlib.sha256(data).hexdigest())

    def exists(self, key: str) -> bool:
        self.calls["exists"] += 1
        return safe_relative_path(key) in self.objects

    def create(self, key: str, data: bytes) -> bool:
        with self._lock:
            if safe_relative_path(key) in self.objects:
                return False
            self.objects[key] = bytes(data)
            self.modified.pop(key, None)
            return True

    def create_from_file(self, key: str, path: Path) -> bool:
        return self.create(key, path.read_bytes())

    def replace(self, key: str, data: bytes, version: str | None) -> None:
        with self._lock:
            current = self.objects.get(safe_relative_path(key))
            if (hashlib.sha256(current).hexdigest() if current is not None else None) != version:
                raise VersionConflict(key)
            self.objects[key] = bytes(data)
            self.modified.pop(key, None)

    def download(self, key: str, destination: Path) -> None:
        destination.write_bytes(self.read(key))

    def entries(self, prefix: str):
        self.calls["list"] += 1
        start = prefix.rstrip("/") + "/" if prefix else ""
        with self._lock:
            found = sorted((k, len(v), self.modified.get(k)) for k, v in self.objects.items() if k.startswith(start))
        return iter(Entry(key, size, modified or datetime.now(timezone.utc)) for key, size, modified in found)

    def delete(self, key: str) -> None:
        self.calls["delete"] += 1
        with self._lock:
            self.objects.pop(safe_relative_path(key), None)


class FakeResolver:
    name = "fake"

    def __init__(self, files):
        self.files, self.calls = files, []

    def resolve(self, spec, arch, prefer=None):
        self.calls.append(prefer)
        return self.files


class FakeResolvers:
    """Resolvers that hand every spec the one fake resolver."""

    def __init__(self, resolver):
        self.resolver = resolver

    def for_spec(self, spec):
        return self.resolver
