"""Publishing, in the one order that never shows a reader a dangling reference:
packages (cache.py) → immutable env record → pointers (compare-and-swap) → manifest."""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from typing import Callable

from .errors import WorkError
from .faults import checkpoint
from .layout import Layout
from .plan import Shard
from .record import EnvRecord
from .store import Store, VersionConflict

CAS_ATTEMPTS = 50


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def update_json(store: Store, key: str, change: Callable[[dict | None], dict | None]) -> dict | None:
    """Read-modify-write one JSON object by compare-and-swap, retried on conflict."""
    for _ in range(CAS_ATTEMPTS):
        current = store.read_versioned(key)
        before = json.loads(current.data) if current else None
        after = change(before)
        if after is None or after == before:
            return before
        try:
            store.replace(key, json.dumps(after, indent=1, sort_keys=True).encode(),
                          current.version if current else None)
            return after
        except VersionConflict:
            continue
    raise WorkError(f"{key}: gave up after {CAS_ATTEMPTS} conflicting updates")


def publish_record(store: Store, layout: Layout, record: EnvRecord) -> None:
    store.create(layout.record(record.spec_id, record.arch, record.env_id), record.to_bytes())
    checkpoint("record-published")
    pointer = {"env_id": record.env_id, "resolved_by": record.resolved_by, "resolved_at": record.resolved_at}
    for key in (layout.latest(record.spec_id, record.arch),
                layout.user_pointer(record.spec_id, record.arch, record.resolved_by)):
        update_json(store, key, lambda _old: pointer)
        checkpoint("pointer-updated")


def _by_key(entries: list[dict]) -> dict[str, dict]:
    return {"::".join(str(entry[k]) for k in ("file", "step", "arch", "python")): entry for entry in entries}


def merge_manifest(store: Store, layout: Layout, repository: str, ref: str, entries: list[dict]) -> str:
    """Add this warm's (file, step, arch) → env entries to the repository's manifest."""
    key = layout.manifest(repository)

    def merge(old: dict | None) -> dict:
        merged = {**(old or {}).get("entries", {}), **_by_key(entries)}
        return {"repository": repository, "ref": ref, "updated_at": now(), "entries": merged}

    update_json(store, key, merge)
    checkpoint("manifest-merged")
    return key


def publish_manifest_part(store: Store, layout: Layout, repository: str, ref: str, shard: Shard,
                          entries: list[dict]) -> str:
    """One shard's entries, kept apart until `mfci manifest merge` (written even when empty:
    the merge counts parts to know that every shard finished)."""
    key = layout.manifest_part(repository, ref, shard.index, shard.count)
    part = {"repository": repository, "ref": ref, "shard": str(shard), "updated_at": now(),
            "entries": _by_key(entries)}
    update_json(store, key, lambda _old: part)
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
        if match:
            sets.setdefault(int(match[2]), {})[int(match[1])] = key
    if not sets:
        raise WorkError(f"no shard manifests for {repository} at {ref} under {store.url}/{folder}; "
                        "run `mfci warm --shard i/n` in every shard first")
    complete = {count: parts for count, parts in sets.items() if len(parts) == count}
    if not complete:
        count, parts = max(sets.items(), key=lambda item: len(item[1]))
        missing = ", ".join(f"{i}/{count}" for i in range(1, count + 1) if i not in parts)
        raise WorkError(f"{repository} at {ref}: no manifest part yet from shard {missing}")
    used = sorted(key for parts in complete.values() for key in parts.values())
    entries = [entry for key in used for entry in json.loads(store.read(key))["entries"].values()]
    return merge_manifest(store, layout, repository, ref, entries), used
