"""`mfci warm`: discover → spec → plan → resolve → cache → publish, for every arch.

Distinct (spec_id, arch) pairs are resolved once and in parallel; a pair already
published is a hit that costs one small read. A failure fails its own rows only.
"""

from __future__ import annotations

import importlib.metadata
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol

from packaging.utils import canonicalize_name

from .cache import LocalPackages, PackageCache
from .config import Settings
from .consumers import check_consumers
from .errors import WorkError
from .io.http import Downloader
from .io.process import run
from .lookup import published, read_record
from .objects import InstallerPointer, Pointer, now, read_object
from .plan import Plan, PlanOptions, plan_flows
from .publish import (
    merge_manifest,
    publish_manifest_part,
    publish_record,
    update_object,
)
from .pythons import KnownPythons
from .record import EnvRecord
from .resolve import ChannelUnreachable, Preferences, Resolvers, ResolverSettings
from .resolve.base import resolve_alone, resolve_archs
from .resolve.builds import SourceBuilds
from .shard import Shard
from .spec import EnvSpec, StepRequirement, build_spec
from .status import Status
from .store import Store


class Progress(Protocol):
    def total(self, count: int, what: str) -> None: ...
    def advance(self, line: str) -> None: ...
    def note(self, line: str) -> None: ...


@dataclass(frozen=True)
class WarmMode:
    """How a warm treats what is already published (the seed's `--force`, pip-tools' pins)."""

    refresh: bool = False              # resolve again even when published
    upgrade: tuple[str, ...] = ()      # canonical names: re-resolve what holds them, keep the other pins
    dry_run: bool = False              # say what would be resolved or published; write nothing
    read_only: bool = False            # resolve, but write nothing to the store (`mfci diff` of a pull request)

    @classmethod
    def of(cls, refresh: bool, upgrade: list[str] | None, dry_run: bool) -> "WarmMode":
        return cls(refresh, tuple(dict.fromkeys(canonicalize_name(n) for n in upgrade or [])), dry_run)


@dataclass(frozen=True)
class Outcome:
    status: Status       # resolved | hit
    env_id: str | None   # None: --dry-run of an environment not published yet
    resolved_by: str | None
    resolved_at: str | None
    size: int | None = None       # resolved here: bytes of the environment's package files
    seconds: float | None = None  # resolved here: how long resolving and storing took
    note: str | None = None       # resolved here for its arch alone: why

    @classmethod
    def hit(cls, pointer: Pointer) -> "Outcome":
        return cls(Status.HIT, pointer.env_id, pointer.resolved_by, pointer.resolved_at, note=pointer.note or None)


class Warmer:
    """One warm's parts, made once from the settings: the store, the package cache, the
    resolvers; then `warm` (flows) or `warm_one` (one spec, for `resolve`)."""

    def __init__(self, settings: Settings, store: Store, progress: Progress, resolvers: Resolvers | None = None,
                 mode: WarmMode = WarmMode(), sources: tuple[str, ...] = (), insecure_hosts: tuple[str, ...] = (),
                 known: KnownPythons | None = None):
        """`sources`, `insecure_hosts`: the indexes and channels an environment file names
        itself (credentials included) and its --trusted-host entries. `known`: the CPython
        releases (and builds) uv lists, when the caller has them already."""
        self.settings = settings
        self.store = store
        self.layout = settings.layout
        self.progress = progress
        self.user = settings.user
        self.mode = mode
        self.known = known
        self._given_resolvers = resolvers
        self._equip(sources, insecure_hosts)
        self._lock = threading.Lock()
        self.manifest: str | None = None   # the key this warm's manifest (or shard part) went to

    def _equip(self, sources: tuple[str, ...], insecure_hosts: tuple[str, ...]) -> None:
        """The downloader, package cache and resolvers, authenticated for the configured
        indexes and channels plus those the environments name themselves."""
        local = LocalPackages(self.settings.cache_dir / "pkgs")
        downloader = Downloader(self.settings.credentials.with_sources(sources), allow_local_files=True,
                                insecure_hosts=insecure_hosts)
        self.cache = PackageCache(self.store, self.layout, local, downloader, note=self.progress.note)
        tools = ResolverSettings.of(self.settings)
        builds = SourceBuilds(tools, self.store, self.layout, local, downloader, self.progress.note,
                              publish=not self.mode.read_only)
        self.resolvers = self._given_resolvers or Resolvers(tools, local, downloader, builds, self.known)

    def warm_one(self, spec: EnvSpec, arch: str, jobs: int) -> Outcome:
        """One spec for one arch (`resolve`, a launch): see `warm_archs`."""
        outcome = self.warm_archs({arch: spec}, jobs)[arch]
        if isinstance(outcome, WorkError):
            raise outcome
        return outcome

    def warm_archs(self, specs: dict[str, EnvSpec], jobs: int) -> dict[str, Outcome | WorkError]:
        """One environment on several archs. A published (spec, arch) is a hit (one small
        read); the others are resolved together (one universal resolution where the
        resolver has one), stored and published, each arch failing on its own. --refresh
        resolves again; --upgrade-package re-resolves a published environment that holds
        the package, preferring its other versions (each arch alone)."""
        started = time.monotonic()
        outcomes: dict[str, Outcome | WorkError] = {}
        pending, preferences = {}, {}
        for arch, spec in specs.items():
            pointer = None if self.mode.refresh else published(self.store, self.layout, self.settings.policy,
                                                                spec.spec_id, arch)
            prefer = self._preferences(spec, arch, pointer) if pointer and self.mode.upgrade else None
            if pointer and prefer is None:
                outcomes[arch] = Outcome.hit(pointer)
            elif self.mode.dry_run:
                outcomes[arch] = Outcome(Status.WOULD_RESOLVE, pointer.env_id if pointer else None, None, None)
            else:
                pending[arch] = spec
                if prefer:
                    preferences[arch] = prefer
        if not pending:
            return outcomes
        records = self.resolve(pending, jobs, preferences)

        def publish(arch: str) -> Outcome | WorkError:
            record = records[arch]
            if isinstance(record, WorkError):
                return record
            try:
                publish_record(self.store, self.layout, record)
            except WorkError as error:
                return error
            return Outcome(Status.RESOLVED, record.env_id, record.resolved_by, record.resolved_at,
                           size=sum(p.size or 0 for p in record.packages), seconds=round(time.monotonic() - started, 1),
                           note=record.note or None)

        return outcomes | {arch: publish(arch) for arch in pending}

    def resolve(self, specs: dict[str, EnvSpec], jobs: int,
                preferences: dict[str, Preferences] | None = None) -> dict[str, EnvRecord | WorkError]:
        """New resolutions of one environment on several archs (one universal resolution
        where the resolver has one; each arch alone where it has a preference), each as the
        record that publishes it, or that arch's error. Its package files are stored first
        (a published record names only stored files), unless the mode is read-only."""
        started_at = now()   # a pointer only moves to a later resolution: stamped with its start
        resolver = self.resolvers.for_spec(next(iter(specs.values())))
        if preferences:
            answers = {arch: resolve_alone(resolver, spec, arch, prefer=preferences.get(arch))
                       for arch, spec in specs.items()}
        else:
            answers = resolve_archs(resolver, specs)

        def record(arch: str) -> EnvRecord | WorkError:
            answer, spec = answers[arch], specs[arch]
            if answer.error:
                return answer.error
            files = list(answer.files)
            if not self.mode.read_only:
                try:
                    files = self.cache.store_all(files, jobs, self.settings["CONDA_PREFERRED_FORMAT"])
                except WorkError as error:
                    return error
            return EnvRecord(spec.spec_id, arch, spec.python, tuple(files), spec.canonical(),
                             resolver=resolver.name, resolved_by=self.user, resolved_at=started_at, note=answer.note)

        # Each arch's own files download alongside the others'; files they share, once.
        with ThreadPoolExecutor(max_workers=len(specs)) as pool:
            return dict(zip(specs, pool.map(record, specs)))

    def _preferences(self, spec: EnvSpec, arch: str, pointer: Pointer) -> Preferences | None:
        """The published resolution to stay close to, when it holds a package to upgrade."""
        record = read_record(self.store, self.layout.record(spec.spec_id, arch, pointer.env_id))
        if record is None or not any(canonicalize_name(p.name) in self.mode.upgrade for p in record.packages):
            return None
        return Preferences(record.packages, self.mode.upgrade)

    def plan(self, options: PlanOptions) -> Plan:
        """The flows under the paths, planned; from then on the downloader and resolvers also
        hold the credentials of the indexes and channels that steps name themselves
        (@pypi extra_indices, @conda channels)."""
        plan = plan_flows(options, self.settings, self.known)
        requirements = [row.requirement for row in plan.rows if row.spec]
        sources = tuple(dict.fromkeys(url for r in requirements for url in r.source_urls))
        if sources:
            hosts = tuple(dict.fromkeys(h for r in requirements for h in r.pypi_options.trusted_hosts))
            self._equip(sources, hosts)
        return plan

    def warm(self, options: PlanOptions) -> Plan:
        plan = self.plan(options)
        if not plan.flows:
            return plan
        self.progress.note(plan.discovery_line(options.paths))
        for line in plan.notes:
            self.progress.note(line)
        work = dict(plan.specs)
        self.progress.total(len(work), "environments")

        # With several pythons warmed, each line says which one.
        several = len({spec.python for spec in work.values()}) > 1

        def one(family: dict[str, EnvSpec]) -> None:
            try:
                outcomes = self.warm_archs(family, options.jobs)
            except WorkError as error:  # the resolver itself is unusable; a UsageError stops everything
                outcomes = {arch: error for arch in family}
            for arch, outcome in outcomes.items():
                spec = family[arch]
                target = f"{arch:13} python {spec.python:7}" if several else f"{arch:13}"
                if isinstance(outcome, WorkError):
                    with self._lock:
                        rows = plan.fail(spec.spec_id, arch, str(outcome),
                                         cause="(conda channel)" if isinstance(outcome, ChannelUnreachable) else None)
                    self.progress.advance(f"failed   {target} {spec.spec_id[:12]} {_names(rows)}")
                    continue
                rows = plan.settle(spec.spec_id, arch, **asdict(outcome))
                self.progress.advance(f"{rows[0].status:8} {target} {spec.spec_id[:12]} {_names(rows)}")

        if self.mode.dry_run:  # nothing is resolved or written: no installers, no manifest
            with ThreadPoolExecutor(max_workers=max(1, options.jobs)) as pool:
                list(pool.map(one, families(work)))
            return plan
        # Resolutions run `jobs` at a time; each also downloads in parallel. The installers
        # (tens of MB for a cold store) download meanwhile rather than after.
        with ThreadPoolExecutor(max_workers=1) as side:
            # Remote steps run on their own arch, which --arch may not name.
            archs = sorted(set(options.archs) | {arch for _, arch in plan.specs})
            installers = side.submit(self.publish_installers, archs, list(plan.specs.values()), options.jobs)
            with ThreadPoolExecutor(max_workers=max(1, options.jobs)) as pool:
                list(pool.map(one, families(work)))
            for line in check_consumers(plan, self.store, self.settings, options.jobs):
                self.progress.note(line)
            plan.errors += installers.result()
        try:
            self.manifest = self.publish_manifest(plan, options.paths, options.shard)
        except WorkError as error:
            plan.errors.append({"file": "(manifest)", "step": None, "message": str(error)})
        plan.errors.sort(key=lambda e: (e["file"], e["step"] or "", e["message"]))
        return plan

    def publish_installers(self, archs: list[str], specs: list[EnvSpec], jobs: int) -> list[dict]:
        """What remote bootstraps install with, per target arch, under the installer folder:
        uv always; py-rattler when some environment has conda packages. Remote compute
        (@kubernetes, @batch) is Linux, so macOS archs need none. Returns the errors."""
        tools = ["uv"] + (["py-rattler"] if any(spec.conda for spec in specs) else [])
        archs = [arch for arch in archs if arch.startswith("linux")]

        def one(tool: str, arch: str) -> dict | None:
            version = importlib.metadata.version(tool)
            key = self.layout.installer(tool, arch)
            try:
                current = read_object(self.store, key, InstallerPointer.from_json)
                if current is not None and current.version == version:
                    return None
                spec = build_spec(StepRequirement("(remote installer)", "", "", pypi={tool: version}),
                                  self.settings.spec_inputs, arch)
                files = self.cache.store_all(self.resolvers.pypi().resolve(spec, arch), 2)
                update_object(self.store, key, InstallerPointer.from_json,
                              lambda _old: InstallerPointer(version, files[0]))
            except WorkError as error:
                return {"file": "(remote installer)", "step": None, "message": f"{tool} {version} for {arch}: {error}"}
            return None

        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            outcomes = pool.map(lambda pair: one(*pair), [(tool, arch) for tool in tools for arch in archs])
            return [error for error in outcomes if error]

    def publish_manifest(self, plan: Plan, paths: list[str], shard: Shard) -> str | None:
        repository, ref, top = repository_identity(Path(paths[0]) if paths else Path("."), self.settings.environ)
        # Size and seconds are what this run measured, no property of the environment.
        entries = [
            {**{k: v for k, v in row.to_json().items() if k not in ("size", "seconds")},
             "file": os.path.relpath(os.path.abspath(row.requirement.file), top),
             "resolved_by": row.resolved_by, "resolved_at": row.resolved_at}
            for row in plan.rows if row.status in (Status.RESOLVED, Status.HIT)
        ]
        if not shard.whole:
            return publish_manifest_part(self.store, self.layout, repository, ref, shard, entries)
        return merge_manifest(self.store, self.layout, repository, ref, entries) if entries else None


def families(work: dict[tuple[str, str], EnvSpec]) -> list[dict[str, EnvSpec]]:
    """The pairs to warm as environments: the archs of one PyPI environment together (one
    universal resolution answers them), every other pair on its own (conda solves per arch)."""
    grouped: list[dict[str, EnvSpec]] = []
    by_family: dict[str, list[dict[str, EnvSpec]]] = {}
    for (_, arch), spec in sorted(work.items()):
        if spec.kind != "pypi":
            grouped.append({arch: spec})
            continue
        # Two specs of one family on one arch (a GPU step's and a CPU step's): two families.
        candidates = by_family.setdefault(spec.family_id, [])
        family = next((f for f in candidates if arch not in f), None)
        if family is None:
            family = {}
            candidates.append(family)
            grouped.append(family)
        family[arch] = spec
    return grouped


def _names(rows) -> str:
    names = sorted({f"{r.requirement.flow}.{r.requirement.step}" for r in rows})
    return ", ".join(names[:3]) + (f" (+{len(names) - 3})" if len(names) > 3 else "")


def repository_identity(path: Path, environ) -> tuple[str, str, str]:
    """(name, ref, top folder) of the repository holding path: GitHub's, else git's, else the folder's."""
    name = environ.get("GITHUB_REPOSITORY", "").replace("/", "-")
    ref = environ.get("GITHUB_SHA", "")
    folder = path if path.is_dir() else path.parent

    def git(*args: str) -> str:
        try:
            done = run(["git", "-C", str(folder), *args], timeout=30, what="asking git")
        except WorkError:
            return ""
        return done.stdout.strip() if done.ok else ""
    top = git("rev-parse", "--show-toplevel") or os.getcwd()
    name = name or Path(top).name
    return name or "default", ref or git("rev-parse", "HEAD") or "unknown", top
