"""One shard of a matrix of warm jobs sharing one work list."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from .errors import UsageError

MAX_SHARDS = 1000


@dataclass(frozen=True)
class Shard:
    """Shard `index` of `count` matrix jobs sharing one work list (1-based, as users count).

    A (spec_id, arch) pair belongs to the shard its own hash names, not to a position in
    the list: shards agree on every pair they both see even if one of them failed to load
    a flow the others loaded, so the shards never overlap and never leave a gap."""

    index: int = 1
    count: int = 1

    @classmethod
    def parse(cls, text: str) -> "Shard":
        match = re.fullmatch(r"\s*(\d{1,6})\s*/\s*(\d{1,6})\s*", text)
        if not match or not 1 <= int(match[1]) <= int(match[2]) <= MAX_SHARDS:
            raise UsageError(f"--shard {text!r}: expected i/n with 1 <= i <= n <= {MAX_SHARDS}, such as 2/3")
        return cls(int(match[1]), int(match[2]))

    @property
    def whole(self) -> bool:
        return self.count == 1

    def owns(self, spec_id: str, arch: str) -> bool:
        digest = hashlib.sha256(f"{spec_id}/{arch}".encode()).digest()
        return int.from_bytes(digest[:8], "big") % self.count == self.index - 1

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"
