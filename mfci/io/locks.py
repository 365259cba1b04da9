"""An exclusive lock on a file, held through an open descriptor (flock): the OS releases it
when its holder exits or dies, so a crashed process never blocks the others, and two
threads or processes that open the same file exclude each other.

Stdlib only, and for any python >= 3.9: the remote bootstrap takes these locks with
whatever python the worker image has (filelock, which mfci used before, needs 3.11 now)."""

from __future__ import annotations

import fcntl
import os
import time

POLL_SECONDS = 0.05


class LockTimeout(Exception):
    """The lock was still held by another process when the timeout ran out."""

    def __init__(self, lock_file: str):
        super().__init__(f"timed out waiting for the lock {lock_file}")
        self.lock_file = lock_file


class FileLock:
    """`with FileLock(path, timeout):` — timeout in seconds, negative to wait for ever."""

    def __init__(self, lock_file, timeout: float = -1):
        self.lock_file = str(lock_file)
        self.timeout = timeout
        self._fd: int | None = None

    def acquire(self) -> None:
        fd = os.open(self.lock_file, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = None if self.timeout < 0 else time.monotonic() + self.timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                self._fd = fd
                return
            except BlockingIOError:
                if deadline is not None and time.monotonic() >= deadline:
                    os.close(fd)
                    raise LockTimeout(self.lock_file) from None
                time.sleep(POLL_SECONDS)
            except BaseException:
                os.close(fd)
                raise

    def release(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def __enter__(self) -> "FileLock":
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()
