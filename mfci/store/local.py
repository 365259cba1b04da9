"""A store in a local (or shared) directory: the embedded default.

Create-only writes stage a file beside the target and hard-link it into place (link()
fails when the target exists); on filesystems without hard links (some NFS, FUSE and
SMB mounts) the same is done under a per-key lock. No key may lead out of the root
through a symbolic link. An I/O failure (no space, read-only, permission) is one line
naming the object, and leaves no staging file behind.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import tempfile
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

from ..errors import UsageError, WorkError
from ..io.locks import FileLock
from ..urls import safe_relative_path
from .base import Entry, ObjectMissing, Store, VersionConflict, Versioned

LOCKS_FOLDER = ".locks"
STAGING_PREFIX = ".tmp-"
NO_HARD_LINKS = {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK, errno.ENOSYS}


class LocalStore(Store):
    def __init__(self, root: Path):
        if root.exists() and not root.is_dir():
            raise UsageError(f"store root {root} is not a folder")
        self.root = root
        self.url = root.as_uri()

    # --- paths ---------------------------------------------------------------------

    def _path(self, key: str) -> Path:
        path = self.root / safe_relative_path(key)
        real_root = self.root.resolve()
        if not path.resolve().is_relative_to(real_root):
            raise WorkError(f"{self.url}/{key} leads outside the store root through a symbolic link "
                            f"(to {path.resolve()}); mfci does not write or read there")
        return path

    @contextmanager
    def _io(self, what: str, key: str):
        """OSErrors of one operation as one line naming the object."""
        try:
            yield
        except (FileNotFoundError, NotADirectoryError):
            raise ObjectMissing(key) from None
        except OSError as error:
            raise WorkError(f"cannot {what} {self.url}/{key}: {error.strerror or error}") from None

    def ensure_writable(self) -> None:
        """Exit 2 when the root cannot be written at all (read-only, no permission)."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            probe = tempfile.NamedTemporaryFile(dir=self.root, prefix=STAGING_PREFIX)
            probe.close()
        except OSError as error:
            raise UsageError(f"store root {self.root} is not writable: {error.strerror or error}") from None

    # --- reads ---------------------------------------------------------------------

    def read(self, key: str) -> bytes:
        path = self._path(key)
        with self._io("read", key):
            return path.read_bytes()

    def read_versioned(self, key: str) -> Versioned | None:
        try:
            data = self.read(key)
        except ObjectMissing:
            return None
        return Versioned(data, hashlib.sha256(data).hexdigest())

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def object_url(self, key: str) -> str:
        return self._path(key).as_uri()

    def download(self, key: str, destination: Path) -> None:
        path = self._path(key)
        with self._io("read", key):
            shutil.copyfile(path, destination)

    def entries(self, prefix: str) -> Iterator[Entry]:
        base = self.root / prefix if prefix else self.root
        if not base.is_dir():
            return
        for path in sorted(base.rglob("*")):
            if path.name.startswith(STAGING_PREFIX):
                continue
            relative = path.relative_to(self.root).as_posix()
            if relative.startswith(LOCKS_FOLDER + "/"):
                continue
            try:
                if not path.is_file():
                    continue
                status = path.stat()
            except FileNotFoundError:  # removed since it was listed
                continue
            yield Entry(relative, status.st_size, datetime.fromtimestamp(status.st_mtime, timezone.utc))

    # --- writes --------------------------------------------------------------------

    @contextmanager
    def _staged(self, key: str, what: str):
        """A staging file beside the target, removed whatever happens."""
        target = self._path(key)
        with self._io(what, key):
            target.parent.mkdir(parents=True, exist_ok=True)
            handle, name = tempfile.mkstemp(dir=target.parent, prefix=STAGING_PREFIX)
            os.close(handle)
        staged = Path(name)
        try:
            with self._io(what, key):
                yield staged
        finally:
            staged.unlink(missing_ok=True)

    def _lock(self, key: str) -> FileLock:
        lock_path = self.root / LOCKS_FOLDER / (hashlib.sha256(key.encode()).hexdigest() + ".lock")
        with self._io("lock", key):
            lock_path.parent.mkdir(parents=True, exist_ok=True)
        return FileLock(lock_path)

    def _publish_new(self, staged: Path, key: str) -> bool:
        target = self._path(key)
        try:
            os.link(staged, target)
            return True
        except FileExistsError:
            return False
        except OSError as error:
            if error.errno not in NO_HARD_LINKS:
                raise
        with self._lock(key):  # no hard links here: create-only under the key's lock
            if target.exists():
                return False
            os.replace(staged, target)
            return True

    def _create(self, key: str, write) -> bool:
        if self.exists(key):
            return False
        with self._staged(key, "write") as staged:
            write(staged)
            return self._publish_new(staged, key)

    def create(self, key: str, data: bytes) -> bool:
        return self._create(key, lambda staged: staged.write_bytes(data))

    def create_from_file(self, key: str, path: Path) -> bool:
        return self._create(key, lambda staged: shutil.copyfile(path, staged))

    def delete(self, key: str) -> None:
        # Empty folders stay: removing one could pull it from under a writer that has
        # just made it for its staging file.
        path = self._path(key)
        try:
            with self._io("delete", key):
                path.unlink(missing_ok=True)
        except ObjectMissing:
            pass

    def replace(self, key: str, data: bytes, version: str | None) -> None:
        with self._lock(key):
            current = self.read_versioned(key)
            if (current.version if current else None) != version:
                raise VersionConflict(key)
            with self._staged(key, "write") as staged:
                staged.write_bytes(data)
                os.replace(staged, self._path(key))
