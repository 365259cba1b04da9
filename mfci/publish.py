"""Publishing, in the one order that never shows a reader a dangling reference:
packages (cache.py) → immutable env record → pointers (compare-and-swap) → manifest."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Callable

from .errors import WorkError
from .faults import checkpoint
from .layout import Layout
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


def merge_manifest(store: Store, layout: Layout, repository: str, ref: str, entries: list[dict]) -> str:
    """Add this warm's (file, step, arch) → env entries to the repository's manifest."""
    key = layout.manifest(repository)

    def merge(old: dict | None) -> dict:
        merged = dict((old or {}).get("entries", {}))
        for entry in entries:
            merged["::".join(str(entry[k]) for k in ("file", "step", "arch", "python"))] = entry
        return {"repository": repository, "ref": ref, "updated_at": now(), "entries": merged}

    update_json(store, key, merge)
    checkpoint("manifest-merged")
    return key
