"""`mfci warm`: discover → spec → plan → resolve → cache → publish, for every arch.

Distinct (spec_id, arch) pairs are resolved once and in parallel; a pair already
published is a hit that costs one small read. A failure fails its own rows only.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol

from . import config
from .cache import LocalPackages, PackageCache
from .discover import discover_with_settings
from .errors import WorkError
from .layout import Layout
from .lookup import Policy, find_pointer
from .plan import Plan, Shard, make_plan
from .publish import merge_manifest, now, publish_manifest_part, publish_record, update_json
from .record import EnvRecord
from .resolve import resolver_for
from .spec import EnvSpec, StepRequirement, build_spec, spec_inputs
from .store import Store


class Progress(Protocol):
    def total(self, count: int, what: str) -> None: ...
    def advance(self, line: str) -> None: ...
    def note(self, line: str) -> None: ...


@dataclass
class WarmOptions:
    paths: list[str]
    archs: list[str]
    pythons: list[str]
    jobs: int
    shard: Shard = Shard()


@dataclass(frozen=True)
class Outcome:
    status: str          # resolved | hit
    env_id: str
    resolved_by: str | None
    resolved_at: str | None
    size: int | None = None       # resolved here: bytes of the environment's package files
    seconds: float | None = None  # resolved here: how long resolving and storing took

    @classmethod
    def hit(cls, pointer: dict) -> "Outcome":
        return cls("hit", pointer["env_id"], pointer.get("resolved_by"), pointer.get("resolved_at"))


def plan_flows(options: WarmOptions) -> Plan:
    """Every flow under the paths, discovered and planned: this shard's share of the work."""
    reports = discover_with_settings(options.paths, options.jobs)
    plan = make_plan(reports, options.archs, options.pythons, spec_inputs())
    return plan.share(options.shard)


def published(store: Store, layout: Layout, spec_id: str, arch: str) -> dict | None:
    """The pointer that makes a pair a hit: the one a run would take (CONDA_USE_REMOTE_LATEST).
    Under :none: runs take no pointer at all; anyone's publication then counts, rather than
    none, so that warming again does not resolve everything again."""
    policy = Policy.from_config()
    return find_pointer(store, layout, spec_id, arch, policy if policy.remote else Policy(users=None))


class Warmer:
    def __init__(self, store: Store, progress: Progress):
        self.store = store
        self.layout = Layout.from_config()
        self.progress = progress
        self.user = config.username()
        self.cache = PackageCache(store, self.layout, LocalPackages(config.cache_dir() / "pkgs"),
                                  config.get("CONDA_DEFAULT_PYPI_SOURCE"), note=progress.note)
        self._lock = threading.Lock()
        self.manifest: str | None = None   # the key this warm's manifest (or shard part) went to

    def warm_one(self, spec: EnvSpec, arch: str, jobs: int) -> Outcome:
        """A published (spec, arch) is a hit (one small read); else resolve, store, publish."""
        started = time.monotonic()
        pointer = published(self.store, self.layout, spec.spec_id, arch)
        if pointer:
            return Outcome.hit(pointer)
        resolver = resolver_for(spec)
        files = self.cache.store_all(resolver.resolve(spec, arch), jobs, config.get("CONDA_PREFERRED_FORMAT"))
        record = EnvRecord(spec.spec_id, arch, spec.python, tuple(files), spec.canonical(),
                           resolver=resolver.name, resolved_by=self.user, resolved_at=now())
        publish_record(self.store, self.layout, record)
        return Outcome("resolved", record.env_id, record.resolved_by, record.resolved_at,
                       size=sum(p.size or 0 for p in record.packages), seconds=round(time.monotonic() - started, 1))

    def warm(self, options: WarmOptions) -> Plan:
        plan = plan_flows(options)
        work = dict(plan.specs)
        self.progress.total(len(work), "environments")

        def one(key: tuple[str, str]) -> None:
            spec, (spec_id, arch) = work[key], key
            try:
                rows = plan.settle(spec_id, arch, **asdict(self.warm_one(spec, arch, options.jobs)))
                self.progress.advance(f"{rows[0].status:8} {arch:13} {spec_id[:12]} {_names(rows)}")
            except WorkError as error:  # a configuration error (UsageError) stops everything
                with self._lock:
                    rows = plan.settle(spec_id, arch, status="failed", message=str(error))
                    plan.errors += [{"file": row.requirement.file, "step": row.requirement.step,
                                     "message": f"{row.requirement.flow} on {arch}: {error}"} for row in rows]
                self.progress.advance(f"failed   {arch:13} {spec_id[:12]} {_names(rows)}")

        # Resolutions run `jobs` at a time; each also downloads in parallel. The installers
        # (tens of MB for a cold store) download meanwhile rather than after.
        with ThreadPoolExecutor(max_workers=1) as side:
            installers = side.submit(self.publish_installers, options.archs, list(plan.specs.values()), options.jobs)
            with ThreadPoolExecutor(max_workers=max(1, options.jobs)) as pool:
                list(pool.map(one, sorted(work)))
            plan.errors += installers.result()
        self.manifest = self.publish_manifest(plan, options.paths, options.shard)
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
            if _installer_version(self.store, key) == version:
                return None
            spec = build_spec(StepRequirement("(remote installer)", "", "", pypi={tool: version}), spec_inputs())
            try:
                files = self.cache.store_all(resolver_for(spec).resolve(spec, arch), 2)
                update_json(self.store, key, lambda _old: {"version": version, "package": files[0].to_json()})
            except WorkError as error:
                return {"file": "(remote installer)", "step": None, "message": f"{tool} {version} for {arch}: {error}"}
            return None

        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            outcomes = pool.map(lambda pair: one(*pair), [(tool, arch) for tool in tools for arch in archs])
            return [error for error in outcomes if error]

    def publish_manifest(self, plan: Plan, paths: list[str], shard: Shard) -> str | None:
        repository, ref, top = repository_identity(Path(paths[0]) if paths else Path("."))
        # Size and seconds are what this run measured, no property of the environment.
        entries = [
            {**{k: v for k, v in row.to_json().items() if k not in ("size", "seconds")},
             "file": os.path.relpath(os.path.abspath(row.requirement.file), top),
             "resolved_by": row.resolved_by, "resolved_at": row.resolved_at}
            for row in plan.rows if row.status in ("resolved", "hit")
        ]
        if not shard.whole:
            return publish_manifest_part(self.store, self.layout, repository, ref, shard, entries)
        return merge_manifest(self.store, self.layout, repository, ref, entries) if entries else None


def _installer_version(store: Store, key: str) -> str | None:
    current = store.read_versioned(key)
    return json.loads(current.data).get("version") if current else None


def _names(rows) -> str:
    names = sorted({f"{r.requirement.flow}.{r.requirement.step}" for r in rows})
    return ", ".join(names[:3]) + (f" (+{len(names) - 3})" if len(names) > 3 else "")


def repository_identity(path: Path) -> tuple[str, str, str]:
    """(name, ref, top folder) of the repository holding path: GitHub's, else git's, else the folder's."""
    name = os.environ.get("GITHUB_REPOSITORY", "").replace("/", "-")
    ref = os.environ.get("GITHUB_SHA", "")
    folder = path if path.is_dir() else path.parent

    def git(*args: str) -> str:
        try:
            done = subprocess.run(["git", "-C", str(folder), *args], capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.SubprocessError):
            return ""
        return done.stdout.strip() if done.returncode == 0 else ""
    top = git("rev-parse", "--show-toplevel") or os.getcwd()
    name = name or Path(top).name
    return name or "default", ref or git("rev-parse", "HEAD") or "unknown", top
