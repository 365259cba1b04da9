"""Publishing, in the one order that never shows a reader a dangling reference:
packages (cache.py) → immutable env record → pointers (compare-and-swap) → manifest."""

from __future__ import annotations

import json
import re
from typing import Callable, TypeVar

from . import faults
from .errors import WorkError
from .layout import Layout
from .objects import Manifest, Pointer, now, parse_object, read_object
from .record import EnvRecord
from .shard import MAX_SHARDS, Shard
from .store.base import Store, VersionConflict

CAS_ATTEMPTS = 50
T = TypeVar("T")


def update_object(store: Store, key: str, parse: Callable[[object], T], change: Callable[[T | None], T | None]) -> T | None:
    """Read-modify-write one small object by compare-and-swap, retried on conflict.
    `change` gets the current object (None: absent) and returns the new one, or None to
    leave it as it is."""
    for _ in range(CAS_ATTEMPTS):
        current = store.read_versioned(key)
        try:
            before = parse_object(current.data, parse) if current else None
        except ValueError as error:
            raise WorkError(f"{store.url}/{key} is not valid ({error}); run `mfci verify`") from None
        after = change(before)
        if after is None or after == before:
            return before
        try:
            data = after.to_json() if hasattr(after, "to_json") else after
            store.replace(key, json.dumps(data, indent=1, sort_keys=True).encode(),
                          current.version if current else None)
            return after
        except VersionConflict:
            continue
    raise WorkError(f"{store.url}/{key}: gave up after {CAS_ATTEMPTS} conflicting updates")


def publish_record(store: Store, layout: Layout, record: EnvRecord) -> None:
    store.create(layout.record(record.spec_id, record.arch, record.env_id), record.to_bytes())
    faults.checkpoint("record-published")
    pointer = Pointer(record.env_id, record.resolved_by, record.resolved_at, record.note)
    for key in (layout.latest(record.spec_id, record.arch),
                layout.user_pointer(record.spec_id, record.arch, record.resolved_by)):
        update_object(store, key, Pointer.from_json, lambda old: pointer if pointer.newer_than(old) else None)
        faults.checkpoint("pointer-updated")


def _by_key(entries: list[dict]) -> dict[str, dict]:
    return {"::".join(str(entry[k]) for k in ("file", "step", "arch", "python")): entry for entry in entries}


def merge_manifest(store: Store, layout: Layout, repository: str, ref: str, entries: list[dict]) -> str:
    """Add this warm's (file, step, arch) → env entries to the repository's manifest."""
    key = layout.manifest(repository)

    def merge(old: Manifest | None) -> Manifest:
        return Manifest(repository, ref, {**(old.entries if old else {}), **_by_key(entries)}, now())

    update_object(store, key, Manifest.from_json, merge)
    faults.checkpoint("manifest-merged")
    return key


def publish_manifest_part(store: Store, layout: Layout, repository: str, ref: str, shard: Shard,
                          entries: list[dict]) -> str:
    """One shard's entries, kept apart until `mfci manifest merge` (written even when empty:
    the merge counts parts to know that every shard finished)."""
    key = layout.manifest_part(repository, ref, shard.index, shard.count)
    part = Manifest(repository, ref, _by_key(entries), now(), str(shard))
    update_object(store, key, Manifest.from_json, lambda _old: part)
    return key


_PART_NAME = re.compile(r"(\d+)-of-(\d+)\.json")


def merge_manifest_parts(store: Store, layout: Layout, repository: str, ref: str) -> tuple[str, list[str]]:
    """The repository's manifest from every shard's part at this commit: (its key, the parts used).

    Only complete sets count (i-of-n for every i of some n); a missing shard is an error, so
    a merged manifest never covers part of a commit without saying so."""
    folder = layout.manifest_parts(repository, ref)
    sets: dict[int, dict[int, str]] = {}
    for key in store.list(folder):
        match = _PART_NAME.fullmatch(key.rsplit("/", 1)[-1])
        if match and 1 <= int(match[1]) <= int(match[2]) <= MAX_SHARDS:
            sets.setdefault(int(match[2]), {})[int(match[1])] = key
    if not sets:
        raise WorkError(f"no shard manifests for {repository} at {ref} under {store.url}/{folder}; "
                        "run `mfci warm --shard i/n` in every shard first")
    complete = {count: parts for count, parts in sets.items() if len(parts) == count}
    if not complete:
        count, parts = max(sets.items(), key=lambda item: len(item[1]))
        missing = [f"{i}/{count}" for i in range(1, count + 1) if i not in parts]
        shown = ", ".join(missing[:10]) + (f" (and {len(missing) - 10} more)" if len(missing) > 10 else "")
        raise WorkError(f"{repository} at {ref}: no manifest part yet from shard {shown}")
    used = sorted(key for parts in complete.values() for key in parts.values())
    entries = [entry for key in used for entry in (read_object(store, key, Manifest.from_json) or
                                                    Manifest(repository, ref, {})).entries.values()]
    return merge_manifest(store, layout, repository, ref, entries), used
