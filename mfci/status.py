"""What happened to one step environment on one arch, in every report and JSON."""

from enum import Enum


class Status(str, Enum):
    PENDING = "pending"     # planned, not settled yet
    RESOLVED = "resolved"   # resolved and published by this run
    HIT = "hit"             # already published: one small read
    FAILED = "failed"       # the flow, the spec or the resolution failed (an error line says why)
    SKIPPED = "skipped"     # the flow declares no @pypi/@conda anywhere
    MISSING = "missing"     # `check`: not published
    WOULD_RESOLVE = "would-resolve"  # `--dry-run`: a run without it would resolve this

    def __str__(self) -> str:
        return self.value
