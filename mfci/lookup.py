"""Finding a published environment: O(1) pointer reads, never a listing.

CONDA_USE_REMOTE_LATEST picks whose publication counts:
  :any:        the latest published by anyone (one pointer, one record: 2 reads)
  :username:   the latest you published
  u1,u2        the latest published by any of them (one pointer per user)
  :none:       no store pointer at all: only what this machine already used
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .io.files import atomic_write
from .layout import Layout
from .objects import AliasTarget, Pointer, moment, read_object
from .record import EnvRecord
from .store.base import Store


@dataclass(frozen=True)
class Policy:
    users: tuple[str, ...] | None   # None: anyone
    remote: bool = True

    @classmethod
    def parse(cls, value: str, me: str) -> "Policy":
        """A CONDA_USE_REMOTE_LATEST value (already checked by the settings)."""
        value = value.strip()
        if value == ":none:":
            return cls(users=(), remote=False)
        if value == ":any:":
            return cls(users=None)
        if value == ":username:":
            return cls(users=(me,))
        return cls(users=tuple(u.strip() for u in value.split(",") if u.strip()))

    @property
    def for_publishing(self) -> "Policy":
        """Whose publication makes a pair published for warm and check: the one a run would
        take; under :none: (runs take no pointer at all) anyone's, so that warming again
        does not resolve everything again."""
        return self if self.remote else Policy(users=None)


class LocalPins:
    """Records this machine already used, by spec and arch (what :none: may use)."""

    def __init__(self, folder: Path):
        self.folder = folder

    def _path(self, spec_id: str, arch: str) -> Path:
        return self.folder / spec_id / f"{arch}.json"

    def get(self, spec_id: str, arch: str) -> EnvRecord | None:
        try:
            return EnvRecord.from_bytes(self._path(spec_id, arch).read_bytes())
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def put(self, record: EnvRecord) -> None:
        try:
            atomic_write(self._path(record.spec_id, record.arch), record.to_bytes())
        except OSError:
            pass  # a pin is a convenience for :none: runs; the environment was found regardless


def miss_reason(policy: Policy, spec_id: str, arch: str, where: str) -> str:
    """Why a lookup found nothing, in the words a run prints."""
    if not policy.remote:
        return (f"CONDA_USE_REMOTE_LATEST=:none:, so the store ({where}) was not consulted, and this machine has "
                f"not used an environment for spec {spec_id[:12]} on {arch}")
    return f"no environment published for spec {spec_id[:12]} on {arch} in {where}"


def find_pointer(store: Store, layout: Layout, spec_id: str, arch: str, policy: Policy) -> Pointer | None:
    """The newest store pointer the policy accepts, or None."""
    if not policy.remote:
        return None
    if policy.users is None:
        keys = [layout.latest(spec_id, arch)]
    else:
        keys = [layout.user_pointer(spec_id, arch, user) for user in policy.users]
    pointers = [p for p in (read_object(store, key, Pointer.from_json) for key in keys) if p]
    return max(pointers, key=lambda p: moment(p.resolved_at)) if pointers else None


def published(store: Store, layout: Layout, policy: Policy, spec_id: str, arch: str) -> Pointer | None:
    """The pointer that makes a (spec, arch) pair a hit for warm and check."""
    return find_pointer(store, layout, spec_id, arch, policy.for_publishing)


def read_record(store: Store, key: str) -> EnvRecord | None:
    """A published record, or None; one that fails validation is an error naming it."""
    return read_object(store, key, EnvRecord.from_json)


def find(store: Store, layout: Layout, spec_id: str, arch: str, policy: Policy,
         pins: LocalPins | None = None) -> EnvRecord | None:
    if not policy.remote:
        return pins.get(spec_id, arch) if pins else None
    newest = find_pointer(store, layout, spec_id, arch, policy)
    if newest is None:
        return None
    record = read_record(store, layout.record(spec_id, arch, newest.env_id))
    if record is None:
        return None
    if pins:
        pins.put(record)
    return record


def read_alias(store: Store, layout: Layout, alias) -> AliasTarget | None:
    return read_object(store, alias.key(layout), AliasTarget.from_json)


def find_by_alias(store: Store, layout: Layout, alias, arch: str) -> EnvRecord | None:
    """A named environment's record for the arch: the alias, then the record (2 reads)."""
    target = read_alias(store, layout, alias)
    ref = target.envs.get(arch) if target else None
    if ref is None:
        return None
    return read_record(store, layout.record(ref.spec_id, arch, ref.env_id))
