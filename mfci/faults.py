"""Crash injection for the crash-safety tests: with MFCI_KILL_AT=<checkpoint>[:<n>], the
process SIGKILLs itself the n-th time (default 1st) it passes that checkpoint — the
same death as `kill -9`, at a chosen point of the publish order."""

from __future__ import annotations

import os
import signal
import threading

_passes: dict[str, int] = {}
_lock = threading.Lock()


def checkpoint(name: str) -> None:
    wanted = os.environ.get("MFCI_KILL_AT")
    if not wanted:
        return
    point, _, nth = wanted.partition(":")
    if point != name:
        return
    with _lock:
        _passes[name] = _passes.get(name, 0) + 1
        if _passes[name] >= int(nth or 1):
            os.kill(os.getpid(), signal.SIGKILL)
