"""Finding a published environment: O(1) pointer reads, never a listing.

CONDA_USE_REMOTE_LATEST picks whose publication counts:
  :any:        the latest published by anyone (one pointer, one record: 2 reads)
  :username:   the latest you published
  u1,u2        the latest published by any of them (one pointer per user)
  :none:       no store pointer at all: only what this machine already used
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from .errors import WorkError
from .layout import Layout
from .record import EnvRecord
from .store import ObjectMissing, Store


@dataclass(frozen=True)
class Policy:
    users: tuple[str, ...] | None   # None: anyone
    remote: bool = True

    @classmethod
    def parse(cls, value: str, me: str) -> "Policy":
        value = value.strip()
        if value == ":none:":
            return cls(users=(), remote=False)
        if value == ":any:":
            return cls(users=None)
        if value == ":username:":
            return cls(users=(me,))
        return cls(users=tuple(u.strip() for u in value.split(",") if u.strip()))

    @classmethod
    def from_config(cls) -> "Policy":
        from . import config

        return cls.parse(config.get("CONDA_USE_REMOTE_LATEST"), config.username())


class LocalPins:
    """Records this machine already used, by spec and arch (what :none: may use)."""

    def __init__(self, folder: Path):
        self.folder = folder

    def _path(self, spec_id: str, arch: str) -> Path:
        return self.folder / spec_id / f"{arch}.json"

    def get(self, spec_id: str, arch: str) -> EnvRecord | None:
        try:
            return EnvRecord.from_bytes(self._path(spec_id, arch).read_bytes())
        except (OSError, ValueError, KeyError):
            return None

    def put(self, record: EnvRecord) -> None:
        path = self._path(record.spec_id, record.arch)
        path.parent.mkdir(parents=True, exist_ok=True)
        staged = path.with_suffix(".tmp")
        staged.write_bytes(record.to_bytes())
        staged.replace(path)


def _read_pointer(store: Store, key: str) -> dict | None:
    try:
        return json.loads(store.read(key))
    except ObjectMissing:
        return None
    except ValueError:
        raise WorkError(f"{store.url}/{key} is not valid JSON; run `mfci verify`") from None


def read_record(store: Store, key: str) -> EnvRecord | None:
    """A published record, or None; one that fails validation is an error naming it."""
    try:
        return EnvRecord.from_bytes(store.read(key))
    except ObjectMissing:
        return None
    except (KeyError, TypeError, ValueError) as error:
        raise WorkError(f"{store.url}/{key} is not a valid environment record ({error}); run `mfci verify`") from None


def find_pointer(store: Store, layout: Layout, spec_id: str, arch: str, policy: Policy) -> dict | None:
    """The newest store pointer the policy accepts ({env_id, resolved_by, resolved_at}), or None."""
    if not policy.remote:
        return None
    if policy.users is None:
        keys = [layout.latest(spec_id, arch)]
    else:
        keys = [layout.user_pointer(spec_id, arch, user) for user in policy.users]
    pointers = [p for p in (_read_pointer(store, key) for key in keys) if p]
    return max(pointers, key=lambda p: p.get("resolved_at", "")) if pointers else None


def find(store: Store, layout: Layout, spec_id: str, arch: str, policy: Policy,
         pins: LocalPins | None = None) -> EnvRecord | None:
    if not policy.remote:
        return pins.get(spec_id, arch) if pins else None
    newest = find_pointer(store, layout, spec_id, arch, policy)
    if newest is None:
        return None
    record = read_record(store, layout.record(spec_id, arch, newest["env_id"]))
    if record is None:
        return None
    if pins:
        pins.put(record)
    return record


def find_by_alias(store: Store, layout: Layout, alias, arch: str) -> EnvRecord | None:
    """A named environment's record for the arch: the alias, then the record (2 reads)."""
    from .alias import read_alias

    target = read_alias(store, layout, alias)
    env_id = (target or {}).get("envs", {}).get(arch)
    if not env_id:
        return None
    return read_record(store, layout.record(target["spec_id"], arch, env_id))
