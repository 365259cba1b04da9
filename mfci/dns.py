"""One DNS lookup per host for the life of a command.

A warm opens hundreds of connections to the same few index and store hosts, many at once.
Resolvers in CI sandboxes stall concurrent lookups of one name (5 s timeouts were measured
here on a quarter of them), and a command's lifetime is far shorter than any record's TTL
that matters: the first lookup of a host answers the others, which wait for it."""

from __future__ import annotations

import socket
import threading

_lookup = socket.getaddrinfo
_answers: dict[tuple, list] = {}
_locks: dict[tuple, threading.Lock] = {}
_guard = threading.Lock()


def _remembered(host, port, family=0, type=0, proto=0, flags=0):
    key = (host, port, family, type, proto, flags)
    with _guard:
        lock = _locks.setdefault(key, threading.Lock())
    with lock:
        if key not in _answers:
            _answers[key] = _lookup(host, port, family, type, proto, flags)
        return _answers[key]


def remember_lookups() -> None:
    """Make socket.getaddrinfo remember its answers for this process (the CLI only)."""
    socket.getaddrinfo = _remembered
