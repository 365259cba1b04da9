"""`mfci gc`: remove what nothing reaches, in the order that never leaves a dangling reference.

Roots: every alias and installer pointer; per repository, the last K manifests (the merged
`manifests/<repository>.json` counts as the newest; older ones are the shard parts of
earlier commits); and every object newer than D days or than the grace period (a warm
may be publishing it right now: its packages go up before its record, its record before
its pointers). A pointer stays when it is young or when a kept alias or manifest names its
(spec, arch); a record when it is young or a kept pointer, alias or manifest names it; a
built wheel or package file when it is young or a kept record, installer or built wheel
lists it.

Deletions go in phases — shard parts, pointers, records, built wheels, packages — each
finished before the next, so an interrupted gc (kill -9 included) leaves a store that
`mfci verify` passes: nothing that remains names what was removed. Before the packages go,
the records are listed again: one a warm published meanwhile keeps its packages.
Objects mfci does not write (the seed's, in a shared root) are never touched.
"""

from __future__ import annotations

import re
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Callable, Iterable

from . import faults
from .layout import Layout
from .objects import (
    AliasTarget,
    BuiltWheel,
    InstallerPointer,
    Manifest,
    Pointer,
    read_object,
)
from .record import EnvRecord, PackageFile
from .store.base import Entry, Store
from .verify import ALIAS, INSTALLER, POINTER, RECORD

SHARD_PART = re.compile(r"(?P<repository>.+)/(?P<ref>[^/]+)/\d+-of-\d+\.json")
# The phases, in the order they run (and the kinds a report counts).
PHASES = ("manifest part", "pointer", "record", "built wheel", "package")


@dataclass(frozen=True)
class GcOptions:
    keep_manifests: int = 3
    keep_days: float = 30
    grace_seconds: float = 3600
    dry_run: bool = False
    jobs: int = 8


@dataclass
class GcReport:
    removed: dict = field(default_factory=lambda: {phase: [] for phase in PHASES})   # kind -> [Entry]
    kept: int = 0
    dry_run: bool = False

    @property
    def bytes_freed(self) -> int:
        return sum(entry.size for entries in self.removed.values() for entry in entries)

    @property
    def count(self) -> int:
        return sum(len(entries) for entries in self.removed.values())

    def to_json(self) -> dict:
        return {"dry_run": self.dry_run, "removed": self.count, "bytes_freed": self.bytes_freed, "kept": self.kept,
                "objects": [{"key": entry.key, "kind": kind, "size": entry.size,
                             "modified": entry.modified.isoformat()}
                            for kind, entries in self.removed.items() for entry in entries]}


@dataclass(frozen=True)
class Ref:
    """A record's place: envs/<spec_id>/<arch>/<env_id>.json."""

    spec_id: str
    arch: str
    env_id: str


class Collector:
    def __init__(self, store: Store, layout: Layout, options: GcOptions, note: Callable[[str], None] | None = None):
        self.store, self.layout, self.options = store, layout, options
        self.note = note or (lambda text: None)
        self.now = datetime.now(timezone.utc)
        # An object younger than this is kept whatever references it.
        self.cutoff = self.now - max(timedelta(days=options.keep_days), timedelta(seconds=options.grace_seconds))

    def young(self, entry: Entry) -> bool:
        return entry.modified > self.cutoff

    def _envs(self, key: str) -> str:
        return key[len(self.layout.envs) + 1:]

    def run(self) -> GcReport:
        layout = self.layout
        self.note(f"mfci gc: listing {self.store.url}")
        entries = {entry.key: entry for entry in self.store.entries("")}
        envs = [e for k, e in entries.items() if k.startswith(layout.envs + "/")]
        records = {e.key: e for e in envs if RECORD.fullmatch(self._envs(e.key))}
        pointers = {e.key: e for e in envs if POINTER.fullmatch(self._envs(e.key))}
        aliases = [e.key for e in envs if ALIAS.fullmatch(self._envs(e.key))]
        installers = [k for k in entries if k.startswith(layout.installers + "/")
                      and INSTALLER.fullmatch(k[len(layout.installers) + 1:])]
        builds = {k: e for k, e in entries.items() if k.startswith(layout.builds + "/") and k.endswith(".json")}
        packages = {k: e for k, e in entries.items() if k.startswith(layout.packages + "/") and k not in builds}

        # Roots: aliases, and the manifests kept.
        named: set[Ref] = set()
        for key in aliases:
            target = read_object(self.store, key, AliasTarget.from_json)
            named |= {Ref(ref.spec_id, arch, ref.env_id) for arch, ref in (target.envs.items() if target else ())}
        parts_dropped = []
        for manifest_keys in self._manifests_kept(entries, parts_dropped):
            for key in manifest_keys:
                manifest = read_object(self.store, key, Manifest.from_json)
                for entry in (manifest.entries.values() if manifest else ()):
                    if all(isinstance(entry.get(name), str) for name in ("spec_id", "arch", "env_id")):
                        named.add(Ref(entry["spec_id"], entry["arch"], entry["env_id"]))
        named_pairs = {(ref.spec_id, ref.arch) for ref in named}

        # Pointers, then the records they (and the roots) name.
        pointers_kept, pointers_dropped = [], []
        for key, entry in pointers.items():
            match = POINTER.fullmatch(self._envs(key))
            kept = self.young(entry) or (match["spec"], match["arch"]) in named_pairs
            (pointers_kept if kept else pointers_dropped).append(key)
        reached = set(named)
        for key in pointers_kept:
            match = POINTER.fullmatch(self._envs(key))
            pointer = read_object(self.store, key, Pointer.from_json)
            if pointer:
                reached.add(Ref(match["spec"], match["arch"], pointer.env_id))
        records_kept, records_dropped = [], []
        for key, entry in records.items():
            match = RECORD.fullmatch(self._envs(key))
            kept = self.young(entry) or Ref(match["spec"], match["arch"], match["env"]) in reached
            (records_kept if kept else records_dropped).append(key)

        files_kept = self._files_of_records(records_kept) | self._files_of_installers(installers)
        builds_kept, builds_dropped = [], []
        for key, entry in builds.items():
            built = read_object(self.store, key, BuiltWheel.from_json)
            listed = built is not None and self.layout.package(built.package.key) in files_kept
            (builds_kept if self.young(entry) or listed else builds_dropped).append(key)
        for key in builds_kept:
            built = read_object(self.store, key, BuiltWheel.from_json)
            files_kept |= self._files(built.package) if built else set()

        report = GcReport(dry_run=self.options.dry_run)
        plan = [("manifest part", parts_dropped), ("pointer", pointers_dropped), ("record", records_dropped),
                ("built wheel", builds_dropped)]
        for kind, keys in plan:
            self._remove(kind, [entries[key] for key in sorted(keys)], report)
        # Records published while this gc ran keep their packages too.
        if not self.options.dry_run:
            late = [e.key for e in self.store.entries(layout.envs)
                    if e.key not in records and RECORD.fullmatch(self._envs(e.key))]
            files_kept |= self._files_of_records(late)
        packages_dropped = [e for k, e in sorted(packages.items()) if k not in files_kept and not self.young(e)]
        self._remove("package", packages_dropped, report)
        report.kept = len(entries) - report.count
        return report

    def _manifests_kept(self, entries: dict[str, Entry], dropped: list[str]) -> Iterable[list[str]]:
        """Per repository, the keys of its last K manifests (each a merged manifest, or the
        shard parts of one commit); the shard parts of older commits go to `dropped`
        unless they are young."""
        layout = self.layout
        per_repository: dict[str, list[tuple[datetime, list[str]]]] = defaultdict(list)
        for key, entry in entries.items():
            if key.startswith(layout.manifests + "/") and key.endswith(".json"):
                repository = key[len(layout.manifests) + 1:-len(".json")]
                # The merged manifest is the newest of its repository whatever its time says.
                per_repository[repository].append((datetime.max.replace(tzinfo=timezone.utc), [key]))
        commits: dict[tuple[str, str], list[str]] = defaultdict(list)
        for key in entries:
            match = SHARD_PART.fullmatch(key[len("shard-manifests/"):]) if key.startswith("shard-manifests/") else None
            if match:
                commits[(match["repository"], match["ref"])].append(key)
        for (repository, _ref), keys in commits.items():
            per_repository[repository].append((max(entries[key].modified for key in keys), sorted(keys)))
        for manifests in per_repository.values():
            manifests.sort(key=lambda item: item[0], reverse=True)
            for index, (_when, keys) in enumerate(manifests):
                if index < self.options.keep_manifests or any(self.young(entries[key]) for key in keys):
                    yield keys
                else:
                    dropped.extend(keys)

    def _files(self, package: PackageFile) -> set[str]:
        files = {self.layout.package(package.key)}
        if package.converted:
            files.add(self.layout.package(package.converted.key))
        return files

    def _files_of_records(self, keys: list[str]) -> set[str]:
        files: set[str] = set()
        for key in keys:
            record = read_object(self.store, key, EnvRecord.from_json)
            for package in record.packages if record else ():
                files |= self._files(package)
        return files

    def _files_of_installers(self, keys: list[str]) -> set[str]:
        files: set[str] = set()
        for key in keys:
            installer = read_object(self.store, key, InstallerPointer.from_json)
            files |= self._files(installer.package) if installer else set()
        return files

    def _remove(self, kind: str, doomed: list[Entry], report: GcReport) -> None:
        """One phase: every object of it gone before the next phase starts."""
        report.removed[kind] = doomed
        if self.options.dry_run or not doomed:
            return
        self.note(f"mfci gc: removing {len(doomed)} {kind}{'s' if len(doomed) != 1 else ''}")

        def remove(entry: Entry) -> None:
            self.store.delete(entry.key)
            faults.checkpoint("gc-deleted")

        with ThreadPoolExecutor(max_workers=self.options.jobs) as pool:
            list(pool.map(remove, doomed))


def collect(store: Store, layout: Layout, options: GcOptions, note: Callable[[str], None] | None = None) -> GcReport:
    return Collector(store, layout, options, note).run()
