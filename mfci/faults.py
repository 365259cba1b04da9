"""The one seam for tests that inject faults: crash points in the publish order.

In the product, `checkpoint` does nothing and reads nothing. An entry point calls
`arm(settings_environ)` once; only when MFCI_KILL_AT=<checkpoint>[:<n>] is set does it
install a checkpoint that SIGKILLs the process the n-th time (default 1st) it passes
that point — the same death as `kill -9`, at a chosen point."""

from __future__ import annotations

import os
import signal
import threading
from typing import Callable, Mapping


def _nothing(name: str) -> None:
    return None


checkpoint: Callable[[str], None] = _nothing


def arm(environ: Mapping[str, str]) -> None:
    wanted = environ.get("MFCI_KILL_AT")
    if not wanted:
        return
    point, _, nth = wanted.partition(":")
    passes = 0
    lock = threading.Lock()

    def kill_at(name: str) -> None:
        nonlocal passes
        if name != point:
            return
        with lock:
            passes += 1
            if passes >= int(nth or 1):
                os.kill(os.getpid(), signal.SIGKILL)

    global checkpoint
    checkpoint = kill_at
