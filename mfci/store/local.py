"""A store in a local (or shared) directory: the embedded default."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator

from filelock import FileLock

from ..errors import UsageError
from ..urls import safe_relative_path
from .base import ObjectMissing, Store, Versioned, VersionConflict

LOCKS_FOLDER = ".locks"


class LocalStore(Store):
    def __init__(self, root: Path):
        if root.exists() and not root.is_dir():
            raise UsageError(f"store root {root} is not a folder")
        self.root = root
        self.url = root.as_uri()

    def _path(self, key: str) -> Path:
        return self.root / safe_relative_path(key)

    def read(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except (FileNotFoundError, NotADirectoryError):
            raise ObjectMissing(key) from None

    def read_versioned(self, key: str) -> Versioned | None:
        try:
            data = self.read(key)
        except ObjectMissing:
            return None
        return Versioned(data, hashlib.sha256(data).hexdigest())

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def _staged(self, key: str) -> Path:
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        os.close(handle)
        return Path(name)

    def _publish_new(self, staged: Path, key: str) -> bool:
        # link() fails when the target exists: an atomic create-only rename.
        try:
            os.link(staged, self._path(key))
            return True
        except FileExistsError:
            return False
        finally:
            staged.unlink(missing_ok=True)

    def create(self, key: str, data: bytes) -> bool:
        if self.exists(key):
            return False
        staged = self._staged(key)
        staged.write_bytes(data)
        return self._publish_new(staged, key)

    def create_from_file(self, key: str, path: Path) -> bool:
        if self.exists(key):
            return False
        staged = self._staged(key)
        shutil.copyfile(path, staged)
        return self._publish_new(staged, key)

    def replace(self, key: str, data: bytes, version: str | None) -> None:
        lock_path = self.root / LOCKS_FOLDER / (hashlib.sha256(key.encode()).hexdigest() + ".lock")
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(lock_path):
            current = self.read_versioned(key)
            if (current.version if current else None) != version:
                raise VersionConflict(key)
            staged = self._staged(key)
            staged.write_bytes(data)
            os.replace(staged, self._path(key))

    def download(self, key: str, destination: Path) -> None:
        try:
            shutil.copyfile(self._path(key), destination)
        except (FileNotFoundError, NotADirectoryError):
            raise ObjectMissing(key) from None

    def list(self, prefix: str) -> Iterator[str]:
        base = self.root / prefix if prefix else self.root
        if not base.is_dir():
            return
        for path in sorted(base.rglob("*")):
            if path.is_file() and not path.name.startswith(".tmp-"):
                relative = path.relative_to(self.root).as_posix()
                if not relative.startswith(LOCKS_FOLDER + "/"):
                    yield relative
